package io.pagestream.replica;

import java.time.Instant;
import java.util.List;

/**
 * What a database can be restored to: every LSN from {@code firstLsn} to {@code lastLsn} (commit times
 * {@code firstTime}..{@code lastTime}), starting from one of its restore points or from a base entry in the journal.
 *
 * @param restorePoints the database's snapshots, oldest first
 */
public record RestoreWindow(String dbId, List<RestorePointSummary> restorePoints, long firstLsn, Instant firstTime,
        long lastLsn, Instant lastTime) {

    public RestoreWindow {
        restorePoints = List.copyOf(restorePoints);
    }

    public boolean contains(long lsn) {
        return lsn >= firstLsn && lsn <= lastLsn;
    }

    @Override
    public String toString() {
        return "LSN " + firstLsn + " (" + firstTime + ") to LSN " + lastLsn + " (" + lastTime + ")";
    }
}
