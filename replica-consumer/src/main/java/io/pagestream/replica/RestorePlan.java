package io.pagestream.replica;

import java.time.Instant;
import java.util.Optional;

/**
 * How a restore reaches its target: the entry it ends at, the snapshot it starts from (empty: a base entry in the
 * journal), and the journal records it reads after that.
 *
 * @param journalFromOffset first journal offset read ({@code journalRecords} is 0 when the snapshot is the target)
 */
public record RestorePlan(String dbId, RestoreTarget target, long lsn, Instant commitTime,
        Optional<RestorePointSummary> snapshot, int journalPartition, long journalFromOffset, long journalRecords) {

    @Override
    public String toString() {
        String start = snapshot.map(s -> "snapshot " + s.snapshotId() + " at LSN " + s.lsn() + " (" + s.chunkCount()
                + " chunks, " + s.bytes() + " bytes)").orElse("the base entry at journal offset " + journalPartition + ":"
                + journalFromOffset);
        return "restore db " + dbId + " to LSN " + lsn + " (committed " + commitTime + ") from " + start + ", then "
                + journalRecords + " journal records" + (journalRecords == 0 ? "" : " from offset " + journalPartition
                + ":" + journalFromOffset);
    }
}
