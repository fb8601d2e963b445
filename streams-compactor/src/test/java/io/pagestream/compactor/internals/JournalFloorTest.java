package io.pagestream.compactor.internals;

import static org.assertj.core.api.Assertions.assertThat;

import io.pagestream.schemas.avro.RestorePoint;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Seeded random journal partitions (entries of several databases, some split into interleaved fragments, some not
 * complete yet; databases with and without restore points): trimming below the floor never loses a record that a kept
 * restore point, a database without one, or an incomplete entry needs, and the floor is no lower than one of them
 * requires. Replay with {@code -Dpagestream.seed=N}.
 */
class JournalFloorTest {
    private static final int PARTITION = 1;

    /** One database's entries on the partition: each the offsets of its fragments, in order. */
    private record Database(String dbId, List<List<Long>> entries, List<Long> open) {}

    @Test
    void trimmingBelowTheFloorKeepsEverythingStillNeeded() {
        long seed = Long.getLong("pagestream.seed", System.currentTimeMillis());
        System.out.println("JournalFloorTest seed=" + seed + " (replay with -Dpagestream.seed=" + seed + ")");
        Random random = new Random(seed);
        for (int round = 0; round < 2_000; round++) {
            String what = "seed " + seed + ", round " + round;
            Map<String, Database> databases = journal(random);
            Map<String, Long> firstOffsets = new HashMap<>();
            Map<String, List<RestorePoint>> catalog = new TreeMap<>();
            Map<String, Long> needed = new TreeMap<>(); // each database's lowest offset still needed
            for (Database database : databases.values()) {
                long first = database.entries().isEmpty() ? database.open().getFirst() : database.entries().getFirst().getFirst();
                boolean firstKnown = random.nextInt(10) != 0;
                if (firstKnown) {
                    firstOffsets.put(database.dbId(), first);
                }
                List<RestorePoint> kept = keptRestorePoints(random, database);
                if (!kept.isEmpty()) {
                    catalog.put(database.dbId(), kept);
                    needed.put(database.dbId(), kept.getFirst().getJournalOffset() + 1);
                } else {
                    needed.put(database.dbId(), firstKnown ? first : 0);
                }
            }
            // Another partition's restore points are not this partition's concern.
            catalog.put("elsewhere.db", List.of(point(0, 0, PARTITION + 1)));
            OptionalLong pendingFrom = databases.values().stream().filter(d -> !d.open().isEmpty())
                    .mapToLong(d -> d.open().getFirst()).min();

            JournalFloor floor = JournalFloor.ofTask(PARTITION, catalog, firstOffsets, databases.keySet(), pendingFrom);

            for (Database database : databases.values()) {
                long need = needed.get(database.dbId());
                for (List<Long> entry : database.entries()) {
                    for (long offset : entry) {
                        if (offset >= need) {
                            assertThat(offset).as("%s: %s's record at %d (%s)", what, database.dbId(), offset, floor)
                                    .isGreaterThanOrEqualTo(floor.offset());
                        }
                    }
                }
                for (long offset : database.open()) {
                    assertThat(offset).as("%s: %s's incomplete entry at %d", what, database.dbId(), offset)
                            .isGreaterThanOrEqualTo(floor.offset());
                }
            }
            long lowest = needed.values().stream().mapToLong(Long::longValue).min().orElse(Long.MAX_VALUE);
            assertThat(floor.offset()).as("%s: as high as allowed", what)
                    .isEqualTo(Math.min(lowest, pendingFrom.orElse(Long.MAX_VALUE)));
        }
    }

    @Test
    void aPartitionWithoutDatabasesIsHeldOnlyByTheGroups() {
        JournalFloor floor = JournalFloor.ofTask(PARTITION, Map.of(), Map.of(), Set.of(), OptionalLong.empty());
        assertThat(floor.offset()).isEqualTo(Long.MAX_VALUE);
        Map<String, OptionalLong> groups = new LinkedHashMap<>();
        groups.put("compactor", OptionalLong.of(500));
        groups.put("replica-a", OptionalLong.of(120));
        assertThat(floor.heldBy(groups)).isEqualTo(new JournalFloor(120, "consumer group replica-a"));
    }

    @Test
    void aGroupWithoutACommittedOffsetHoldsTheWholePartition() {
        JournalFloor floor = JournalFloor.ofTask(PARTITION, Map.of("a.db", List.of(point(3, 90, PARTITION))),
                Map.of("a.db", 0L), Set.of("a.db"), OptionalLong.empty());
        assertThat(floor.offset()).isEqualTo(91);
        Map<String, OptionalLong> groups = new LinkedHashMap<>();
        groups.put("compactor", OptionalLong.of(200));
        groups.put("replica-b", OptionalLong.empty());
        assertThat(floor.heldBy(groups).offset()).isZero();
        assertThat(floor.heldBy(groups).heldBy()).contains("replica-b").contains("no committed offset");
    }

    @Test
    void aDatabaseWithoutRestorePointsKeepsItsWholeHistory() {
        JournalFloor floor = JournalFloor.ofTask(PARTITION, Map.of("a.db", List.of(point(3, 90, PARTITION))),
                Map.of("a.db", 0L, "b.db", 40L), Set.of("a.db", "b.db"), OptionalLong.empty());
        assertThat(floor).isEqualTo(new JournalFloor(40, "db b.db, without a restore point yet"));
        JournalFloor unknown = JournalFloor.ofTask(PARTITION, Map.of(), Map.of(), Set.of("c.db"), OptionalLong.empty());
        assertThat(unknown.offset()).isZero();
    }

    /** A partition's records: databases taking turns, an entry of 1 to 3 fragments interleaving with the others'. */
    private static Map<String, Database> journal(Random random) {
        Map<String, Database> databases = new TreeMap<>();
        int count = 1 + random.nextInt(4);
        Map<String, List<Long>> building = new HashMap<>();
        Map<String, Integer> remaining = new HashMap<>();
        int records = 1 + random.nextInt(60);
        for (long offset = random.nextInt(5); offset < records; offset++) {
            String dbId = "db" + random.nextInt(count);
            Database database = databases.computeIfAbsent(dbId, id -> new Database(id, new ArrayList<>(), new ArrayList<>()));
            if (!remaining.containsKey(dbId)) {
                remaining.put(dbId, 1 + random.nextInt(3));
                building.put(dbId, new ArrayList<>());
            }
            building.get(dbId).add(offset);
            if (remaining.merge(dbId, -1, Integer::sum) == 0) {
                remaining.remove(dbId);
                database.entries().add(building.remove(dbId));
            }
        }
        building.forEach((dbId, fragments) -> databases.get(dbId).open().addAll(fragments));
        return databases;
    }

    /** An ordered random subset of the database's complete entries, as the restore points retention kept. */
    private static List<RestorePoint> keptRestorePoints(Random random, Database database) {
        List<RestorePoint> kept = new ArrayList<>();
        if (database.entries().isEmpty() || random.nextInt(4) == 0) {
            return kept;
        }
        int from = random.nextInt(database.entries().size());
        for (int lsn = from; lsn < database.entries().size(); lsn++) {
            if (lsn == from || random.nextBoolean()) {
                kept.add(point(lsn + 1, database.entries().get(lsn).getLast(), PARTITION));
            }
        }
        return kept;
    }

    private static RestorePoint point(long lsn, long journalOffset, int journalPartition) {
        return new RestorePoint("s" + lsn, lsn, 0L, 4096, 1L, 0L, 1, 0, 0L, 0L, journalPartition, journalOffset, 0L);
    }
}
