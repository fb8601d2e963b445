package io.pagestream.replica.internals;

import static org.assertj.core.api.Assertions.assertThat;

import io.pagestream.replica.CapturedJournal;
import io.pagestream.schemas.JournalContract;
import io.pagestream.schemas.JournalRecord;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The start-up scan trusts a record's "base entry" headers only once its body is decoded and agrees: a false base
 * header or a damaged base entry never becomes a new replica's start, and a database without a usable base entry is
 * reported with the offsets tried. Randomized damage: replay with {@code -Dpagestream.seed=N}.
 */
class StartOffsetsTest {
    private static final long SEED = Long.getLong("pagestream.seed", System.nanoTime());
    private static final String TOPIC = "journal";
    private static final TopicPartition PARTITION = new TopicPartition(TOPIC, 0);
    private static final String DB = "scanned.db";

    @TempDir
    Path dir;

    /** LSN 1 (base) to 4, one record each. */
    private List<JournalRecord> entries;

    @BeforeAll
    static void printSeed() {
        System.out.println("StartOffsetsTest seed=" + SEED + " (replay with -Dpagestream.seed=" + SEED + ")");
    }

    @BeforeEach
    void writeJournal() throws Exception {
        entries = CapturedJournal.fourEntries(dir.resolve("writer"), DB);
    }

    /** Scans a one-partition topic holding the records at offsets 0, 1, 2… for a new replica of {@link #DB}. */
    private static StartOffsets.Start scan(JournalRecord... records) {
        MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest");
        consumer.assign(List.of(PARTITION));
        consumer.updateBeginningOffsets(Map.of(PARTITION, 0L));
        consumer.updateEndOffsets(Map.of(PARTITION, (long) records.length));
        for (int offset = 0; offset < records.length; offset++) {
            consumer.addRecord(CapturedJournal.consumerRecord(TOPIC, 0, offset, records[offset]));
        }
        return StartOffsets.compute(consumer, List.of(PARTITION), Map.of(), DB::equals, true, Duration.ofSeconds(5));
    }

    @Test
    void aGenuineBaseEntryIsWhereANewReplicaStarts() {
        StartOffsets.Start start = scan(entries.get(0), entries.get(1), entries.get(2));
        assertThat(start.newReplicas()).containsExactly(Map.entry(DB, new StartOffsets.NewReplica(0, 0, null)));
        assertThat(start.offsets()).containsExactly(Map.entry(PARTITION, 0L));
    }

    @Test
    void aFalseBaseHeaderNewerThanTheTrueBaseEntryIsPassedOverForTheTrueOne() {
        JournalRecord falseBase = CapturedJournal.withHeader(entries.get(2), JournalContract.HEADER_PRE_CHECKSUM,
                JournalContract.hex(JournalContract.EMPTY_CHECKSUM));
        StartOffsets.Start start = scan(entries.get(0), entries.get(1), falseBase, entries.get(3));
        assertThat(start.newReplicas().get(DB)).isEqualTo(new StartOffsets.NewReplica(0, 0, null));
    }

    @Test
    void aDamagedOnlyBaseEntryLeavesTheDatabaseWithAnErrorNamingTheOffsetsTried() {
        SplittableRandom random = new SplittableRandom(SEED);
        JournalRecord damaged = CapturedJournal.damaged(entries.get(0), random, 1 + random.nextInt(8));
        StartOffsets.Start start = scan(damaged, entries.get(1), entries.get(2));
        StartOffsets.NewReplica replica = start.newReplicas().get(DB);
        assertThat(replica.unusable()).as("seed %d", SEED).isNotNull();
        assertThat(replica.unusable().getMessage()).as("seed %d", SEED).contains(DB)
                .contains("no usable base entry among its records (partition 0, offsets 0..2)").containsPattern("@0(?!\\d)");
        assertThat(replica.offset()).isZero();
        assertThat(start.offsets()).as("nothing to read for it").containsExactly(Map.entry(PARTITION, 3L));
    }

    @Test
    void aDatabaseWithoutAnyBaseEntryIsReportedWithItsOffsets() {
        StartOffsets.NewReplica replica = scan(entries.get(1), entries.get(2)).newReplicas().get(DB);
        assertThat(replica.unusable()).hasMessageContaining(DB)
                .hasMessageContaining("none of its records (partition 0, offsets 0..1) is a base entry");
    }
}
