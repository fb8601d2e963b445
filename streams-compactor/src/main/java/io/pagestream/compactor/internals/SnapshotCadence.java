package io.pagestream.compactor.internals;

import io.pagestream.schemas.avro.RestorePoint;
import java.time.Duration;

/** Decides when a database is due for a snapshot: it changed since its newest restore point, and enough did. */
public final class SnapshotCadence {
    private final double journalRatio;
    private final Duration interval;

    /**
     * @param journalRatio a snapshot is due when the journal bytes since the newest one exceed this fraction of the
     *     database's size
     * @param interval a database that changed gets a snapshot at least this often
     */
    public SnapshotCadence(double journalRatio, Duration interval) {
        this.journalRatio = journalRatio;
        this.interval = interval;
    }

    /**
     * @param appliedLsn the LSN the compactor's replica of the database is at
     * @param databaseBytes the database's size at that LSN
     * @param journalBytes journal bytes of the database applied since its newest restore point
     * @param newest its newest restore point, or null when it has none
     */
    public boolean isDue(long appliedLsn, long databaseBytes, long journalBytes, RestorePoint newest, long nowMillis) {
        if (appliedLsn <= 0 || (newest != null && appliedLsn <= newest.getLsn())) {
            return false;
        }
        // Without a restore point the database can only be rebuilt from its whole journal: snapshot at once.
        return newest == null
                || journalBytes > journalRatio * databaseBytes
                || nowMillis - newest.getCreatedMillis() >= interval.toMillis();
    }
}
