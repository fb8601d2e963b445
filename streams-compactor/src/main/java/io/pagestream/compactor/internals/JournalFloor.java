package io.pagestream.compactor.internals;

import io.pagestream.schemas.avro.RestorePoint;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;

/**
 * The lowest offset of one journal partition that something still needs, so that trimming the journal below it loses
 * nothing: each database's oldest kept restore point (replay continues after its record), the first record of a
 * database without one (its whole history), the first fragment of an entry not complete yet, and each protected
 * consumer group's committed offset.
 *
 * @param offset records below it may be deleted; {@link Long#MAX_VALUE} when nothing on the partition holds it back
 * @param heldBy what holds it there, for the log
 */
public record JournalFloor(long offset, String heldBy) {
    static final JournalFloor NOTHING_NEEDED = new JournalFloor(Long.MAX_VALUE, "nothing");

    /**
     * What a partition's task needs.
     *
     * @param restorePoints each database's kept restore points, oldest first (those of another partition are not this
     *     one's concern)
     * @param firstOffsets the offset of each database's first record the task saw
     * @param databases every database the task has a replica of
     * @param pendingFrom the first fragment of the earliest entry not complete yet, if any
     */
    public static JournalFloor ofTask(int partition, Map<String, List<RestorePoint>> restorePoints,
            Map<String, Long> firstOffsets, Set<String> databases, OptionalLong pendingFrom) {
        JournalFloor floor = pendingFrom.isPresent()
                ? new JournalFloor(pendingFrom.getAsLong(), "an entry whose fragments are not all read yet")
                : NOTHING_NEEDED;
        Set<String> unlisted = new TreeSet<>(databases);
        unlisted.addAll(firstOffsets.keySet());
        for (Map.Entry<String, List<RestorePoint>> database : restorePoints.entrySet()) {
            if (database.getValue().isEmpty()) {
                continue;
            }
            unlisted.remove(database.getKey());
            RestorePoint oldest = database.getValue().getFirst();
            if (oldest.getJournalPartition() == partition) {
                floor = floor.lower(oldest.getJournalOffset() + 1, "db " + database.getKey() + "'s oldest restore point,"
                        + " snapshot " + oldest.getSnapshotId() + " at LSN " + oldest.getLsn());
            }
        }
        for (String dbId : unlisted) {
            Long first = firstOffsets.get(dbId);
            floor = first == null
                    ? floor.lower(0, "db " + dbId + ", without a restore point and whose first record is not known")
                    : floor.lower(first, "db " + dbId + ", without a restore point yet");
        }
        return floor;
    }

    /**
     * This floor held back to consumer groups' committed offsets on the partition.
     *
     * @param committed each group's committed offset; empty for a group without one, which holds the whole partition
     */
    public JournalFloor heldBy(Map<String, OptionalLong> committed) {
        JournalFloor floor = this;
        for (Map.Entry<String, OptionalLong> group : committed.entrySet()) {
            floor = group.getValue().isPresent()
                    ? floor.lower(group.getValue().getAsLong(), "consumer group " + group.getKey())
                    : floor.lower(0, "consumer group " + group.getKey() + ", which has no committed offset");
        }
        return floor;
    }

    private JournalFloor lower(long candidate, String reason) {
        return candidate < offset ? new JournalFloor(candidate, reason) : this;
    }
}
