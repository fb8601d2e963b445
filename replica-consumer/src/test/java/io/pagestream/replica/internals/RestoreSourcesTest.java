package io.pagestream.replica.internals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pagestream.replica.RestoreTarget;
import io.pagestream.replica.RestoreWindow;
import io.pagestream.schemas.CorruptEntryException;
import io.pagestream.schemas.JournalCodec;
import io.pagestream.schemas.JournalRecord;
import io.pagestream.schemas.PageDiff;
import io.pagestream.schemas.PagestreamException;
import io.pagestream.schemas.avro.JournalEntry;
import io.pagestream.schemas.avro.PageDelta;
import io.pagestream.schemas.avro.RestorePoint;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.internals.AutoOffsetResetStrategy;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The restore window and what a target means, from a journal read through a {@link MockConsumer}: db "a" interleaved
 * with db "b", one entry of "a" fragmented, a second base entry, and restore points.
 */
class RestoreSourcesTest {
    private static final long SEED = Long.getLong("pagestream.seed", System.nanoTime());
    private static final String TOPIC = "journal";
    private static final int PAGE_SIZE = 1024;
    private static final long T0 = 1_700_000_000_000L;

    private final TopicPartition partition = new TopicPartition(TOPIC, 0);
    /** Offset of the last record of a's LSN i at index i - 1. */
    private final List<Long> offsetsOfA = new ArrayList<>();
    private final List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
    private JournalIndex index;

    @BeforeAll
    static void printSeed() {
        System.out.println("RestoreSourcesTest seed=" + SEED + " (replay with -Dpagestream.seed=" + SEED + ")");
    }

    @BeforeEach
    void readJournal() throws Exception {
        Random random = new Random(SEED);
        // a: LSN 1 base (t0), 2 (t0+10), 3 fragmented (t0+20), 4 (t0+20, same millisecond), 5 base (t0+40), 6 (t0+50)
        long[] times = {T0, T0 + 10, T0 + 20, T0 + 20, T0 + 40, T0 + 50};
        for (int lsn = 1; lsn <= 6; lsn++) {
            add(entry("b", lsn, lsn == 1, times[lsn - 1] + 1, 1, random));
            boolean base = lsn == 1 || lsn == 5;
            for (JournalRecord record : JournalCodec.toRecords(entry("a", lsn, base, times[lsn - 1], lsn == 3 ? 40 : 2, random),
                    16 * 1024)) {
                add(record);
            }
            offsetsOfA.add((long) records.size() - 1);
        }
        index = scan("a");
    }

    private JournalIndex scan(String dbId) throws Exception {
        return JournalIndex.scan(reader(), partition, dbId);
    }

    /** A reader of {@link #records} that hands out only those at or after the offset sought. */
    private PartitionReader reader() {
        MockConsumer<byte[], byte[]> consumer = new MockConsumer<>(AutoOffsetResetStrategy.EARLIEST.name());
        consumer.updatePartitions(TOPIC, List.of(new PartitionInfo(TOPIC, 0, Node.noNode(), new Node[0], new Node[0])));
        consumer.updateBeginningOffsets(Map.of(partition, 0L));
        consumer.updateEndOffsets(Map.of(partition, (long) records.size()));
        consumer.schedulePollTask(() -> records.stream().filter(r -> r.offset() >= consumer.position(partition))
                .forEach(consumer::addRecord));
        return new PartitionReader(consumer, Duration.ofSeconds(5));
    }

    @Test
    void theIndexHoldsTheDatabasesEntriesWithTheirRecordOffsets() {
        assertThat(index.entries()).extracting(JournalIndex.Entry::lsn).containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
        assertThat(index.entries()).extracting(JournalIndex.Entry::lastOffset).containsExactlyElementsOf(offsetsOfA);
        JournalIndex.Entry fragmented = index.byLsn(3).orElseThrow();
        assertThat(fragmented.firstOffset()).as("seed %d", SEED).isLessThan(fragmented.lastOffset());
        assertThat(index.endOffset()).isEqualTo(records.size());
    }

    @Test
    void withoutRestorePointsTheWindowRunsFromTheOldestBaseAndTargetsResolveToTheLastEntryAtOrBefore() {
        RestoreSources sources = new RestoreSources("a", index, List.of());
        RestoreWindow window = sources.window();
        assertThat(window.firstLsn()).isEqualTo(1);
        assertThat(window.lastLsn()).isEqualTo(6);
        assertThat(window.lastTime()).isEqualTo(Instant.ofEpochMilli(T0 + 50));

        assertThat(sources.resolve(RestoreTarget.latest()).lsn()).isEqualTo(6);
        assertThat(sources.resolve(RestoreTarget.time(Instant.ofEpochMilli(T0 + 15))).lsn()).isEqualTo(2);
        assertThat(sources.resolve(RestoreTarget.time(Instant.ofEpochMilli(T0 + 20))).lsn()).isEqualTo(4);
        // An offset of b's record, and one inside a's fragmented entry: the entry of a whose last record is before it.
        assertThat(sources.resolve(RestoreTarget.offset(0, offsetsOfA.get(1) + 1)).lsn()).isEqualTo(2);
        assertThat(sources.resolve(RestoreTarget.offset(0, offsetsOfA.get(2) - 1)).lsn()).isEqualTo(2);
        assertThat(sources.resolve(RestoreTarget.offset(0, offsetsOfA.get(2))).lsn()).isEqualTo(3);

        RestoreSources.Target four = sources.resolve(RestoreTarget.lsn(4));
        assertThat(sources.starts(four)).singleElement().satisfies(start -> assertThat(start.base().lsn()).isEqualTo(1));
        assertThat(sources.starts(sources.resolve(RestoreTarget.lsn(6)))).singleElement()
                .satisfies(start -> assertThat(start.base().lsn()).isEqualTo(5));
    }

    @Test
    void restorePointsComeFirstNewestAtOrBeforeTheTargetThenTheBaseEntry() {
        RestoreSources sources = new RestoreSources("a", index, List.of(point("s2", 2), point("s4", 4)));
        List<RestoreSources.Start> starts = sources.starts(sources.resolve(RestoreTarget.lsn(4)));
        assertThat(starts).extracting(RestoreSources.Start::lsn).containsExactly(4L, 2L, 1L);
        assertThat(starts.getFirst().point().getSnapshotId()).isEqualTo("s4");
        assertThat(sources.window().restorePoints()).extracting(s -> s.snapshotId()).containsExactly("s2", "s4");
    }

    @Test
    void targetsOutsideTheWindowAreRefusedNamingIt() {
        RestoreSources sources = new RestoreSources("a", index, List.of());
        String window = "LSN 1 (" + Instant.ofEpochMilli(T0) + ") to LSN 6 (" + Instant.ofEpochMilli(T0 + 50) + ")";
        for (RestoreTarget target : List.of(RestoreTarget.lsn(7), RestoreTarget.lsn(0),
                RestoreTarget.time(Instant.ofEpochMilli(T0 - 1)), RestoreTarget.time(Instant.ofEpochMilli(T0 + 51)),
                RestoreTarget.offset(1, 3), RestoreTarget.offset(0, records.size()), RestoreTarget.offset(0, 0))) {
            assertThatThrownBy(() -> sources.resolve(target)).isInstanceOf(PagestreamException.class)
                    .hasMessageContaining("db a: " + target + " is outside the restore window, " + window);
        }
    }

    @Test
    void aDatabaseWithNeitherRestorePointNorBaseEntryCannotBeRestored() throws Exception {
        RestoreSources sources = new RestoreSources("c", scan("c"), List.of());
        assertThatThrownBy(sources::window).isInstanceOf(PagestreamException.class)
                .hasMessageContaining("db c cannot be restored: it has no restore point and no base entry");
    }

    @Test
    void aBoundedScanReadsFromAnOffsetAndStopsAfterTheEntryWanted() throws Exception {
        JournalIndex tail = JournalIndex.scan(reader(), partition, "a", offsetsOfA.get(2) + 1, Long.MAX_VALUE,
                entry -> entry.lsn() >= 5);
        assertThat(tail.entries()).extracting(JournalIndex.Entry::lsn).containsExactly(4L, 5L);
        assertThat(tail.fromBeginning()).isFalse();
        assertThat(tail.endOffset()).isEqualTo(records.size());

        RestoreSources sources = new RestoreSources("a", tail, List.of(point("s3", 3)));
        assertThat(sources.resolve(RestoreTarget.lsn(4)).lsn()).isEqualTo(4);
        assertThat(sources.starts(sources.resolve(RestoreTarget.lsn(5)))).extracting(RestoreSources.Start::lsn)
                .containsExactly(3L, 5L);
        JournalIndex upToOffset = JournalIndex.scan(reader(), partition, "a", offsetsOfA.get(2) + 1, offsetsOfA.get(3) + 1,
                entry -> false);
        assertThat(upToOffset.entries()).extracting(JournalIndex.Entry::lsn).containsExactly(4L);
    }

    @Test
    void anUnreadableRecordFailsTargetsAtOrAfterItNamingItButNotTargetsAStartSkipsIt() throws Exception {
        long garbage = records.size();
        records.add(new ConsumerRecord<>(TOPIC, 0, garbage, "a".getBytes(java.nio.charset.StandardCharsets.UTF_8),
                "not an entry".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        add(entry("a", 7, false, T0 + 60, 1, new Random(SEED)));
        JournalIndex withGarbage = scan("a");
        assertThat(withGarbage.unreadable()).singleElement().satisfies(u -> assertThat(u.offset()).isEqualTo(garbage));

        RestoreSources sources = new RestoreSources("a", withGarbage, List.of());
        assertThat(sources.resolve(RestoreTarget.lsn(6)).lsn()).isEqualTo(6);
        for (RestoreTarget target : List.of(RestoreTarget.latest(), RestoreTarget.lsn(7))) {
            assertThatThrownBy(() -> sources.resolve(target)).isInstanceOf(CorruptEntryException.class)
                    .hasMessageContaining("db a: cannot restore to " + target)
                    .hasMessageContaining(TOPIC + "-0@" + garbage + " (db a) is unreadable");
        }
        // A base entry after the unreadable record starts a restore that does not read it.
        add(entry("a", 8, true, T0 + 70, 1, new Random(SEED)));
        add(entry("a", 9, false, T0 + 80, 1, new Random(SEED)));
        RestoreSources afterBase = new RestoreSources("a", scan("a"), List.of());
        assertThat(afterBase.resolve(RestoreTarget.latest()).lsn()).isEqualTo(9);
    }

    private void add(JournalEntry entry) {
        JournalCodec.toRecords(entry, 1 << 20).forEach(this::add);
    }

    private void add(JournalRecord record) {
        records.add(new ConsumerRecord<>(TOPIC, 0, records.size(), record.keyBytes(), record.value()));
    }

    private RestorePoint point(String snapshotId, long lsn) {
        JournalIndex.Entry entry = index.byLsn(lsn).orElseThrow();
        return new RestorePoint(snapshotId, lsn, entry.commitTimeMillis(), PAGE_SIZE, 2L, entry.postChecksum(), 1, 0, 0L, 0L,
                0, entry.lastOffset(), T0);
    }

    private static JournalEntry entry(String dbId, long lsn, boolean base, long time, int pages, Random random) {
        List<PageDelta> deltas = new ArrayList<>();
        for (int pgno = 1; pgno <= pages; pgno++) {
            byte[] page = new byte[PAGE_SIZE];
            random.nextBytes(page);
            deltas.add(PageDiff.fullPage(pgno, page));
        }
        return JournalEntry.newBuilder().setDbId(dbId).setLsn(lsn).setBase(base).setPreChecksum(base ? 0 : lsn - 1)
                .setPostChecksum(lsn).setPageSize(PAGE_SIZE).setPageCount(pages).setCommitTimeMillis(time).setDeltas(deltas)
                .build();
    }
}
