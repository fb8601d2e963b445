package io.pagestream.replica.internals;

import static io.pagestream.replica.CapturedJournal.exec;
import static io.pagestream.replica.CapturedJournal.sha256;
import static org.assertj.core.api.Assertions.assertThat;

import io.pagestream.replica.CapturedJournal;
import io.pagestream.replica.ReplicaListener;
import io.pagestream.replica.ReplicaPosition;
import io.pagestream.replica.ReplicaStatus;
import io.pagestream.schemas.FragmentAssembler;
import io.pagestream.schemas.JournalApplier;
import io.pagestream.schemas.JournalCodec;
import io.pagestream.schemas.JournalContract;
import io.pagestream.schemas.JournalRecord;
import io.pagestream.schemas.avro.JournalEntry;
import io.pagestream.vfs.WorkloadGenerator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The replica engine without Kafka: genuine journal records (databases written through the VFS) handed to
 * {@link ReplicaEngine#process} the way polls would, checked byte for byte against the writer's file at each
 * LSN and against {@link JournalApplier} applying the same entries one by one. Between two hand-overs the
 * engine holds no lock on its files (an apply releases SQLite's lock before {@code process} returns), so
 * reading them with Java there cannot drop one. Randomized: replay with {@code -Dpagestream.seed=N}.
 */
class ReplicaEngineTest {
    private static final long SEED = Long.getLong("pagestream.seed", System.nanoTime());
    private static final String TOPIC = "journal";
    private static final int DEFAULT_BATCH_PAGES = 16_384;

    @TempDir
    Path dir;

    @BeforeAll
    static void printSeed() {
        System.out.println("ReplicaEngineTest seed=" + SEED + " (replay with -Dpagestream.seed=" + SEED + ")");
    }

    /** The applies the engine reported, in order. */
    private static final class RecordingListener implements ReplicaListener {
        final List<String> applies = new ArrayList<>();

        @Override
        public void applied(String dbId, ReplicaPosition position, int entries) {
            applies.add(dbId + " x" + entries);
        }
    }

    /** Hands journal records to an engine at consecutive offsets of one partition, as polls would. */
    private static final class Feed {
        private long nextOffset;

        List<ConsumerRecord<byte[], byte[]>> of(List<JournalRecord> records) {
            List<ConsumerRecord<byte[], byte[]>> handOver = new ArrayList<>(records.size());
            for (JournalRecord record : records) {
                handOver.add(CapturedJournal.consumerRecord(TOPIC, 0, nextOffset++, record));
            }
            return handOver;
        }

        long lastOffset() {
            return nextOffset - 1;
        }
    }

    private ReplicaEngine engine(String replicaDir, int maxBatchPages, ReplicaListener listener) {
        return new ReplicaEngine(dir.resolve(replicaDir), Set.of(), listener, Duration.ofSeconds(10), maxBatchPages);
    }

    private Path replicaFile(String replicaDir, String dbId) {
        return dir.resolve(replicaDir).resolve(ReplicaEngine.fileName(dbId));
    }

    @Test
    void aHandOverOfManyEntriesIsOneApplyPerDatabaseUnlessItOutgrowsTheBatchLimit() throws Exception {
        try (CapturedJournal journal = new CapturedJournal(dir.resolve("writer"), 1 << 20)) {
            try (Connection a = journal.connect("a.db"); Connection b = journal.connect("b.db")) {
                exec(a, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
                exec(b, "CREATE TABLE u(id INTEGER PRIMARY KEY, v BLOB)");
                for (int i = 0; i < 15; i++) {
                    exec(a, "INSERT INTO t(v) VALUES ('row " + i + "')");
                    exec(b, "INSERT INTO u(v) VALUES (randomblob(" + (500 * i) + "))");
                }
                exec(a, "UPDATE t SET v = v || '!' WHERE id % 3 = 0");
            }
            List<JournalRecord> records = journal.records();

            RecordingListener listener = new RecordingListener();
            Feed feed = new Feed();
            try (ReplicaEngine engine = engine("one-batch", DEFAULT_BATCH_PAGES, listener)) {
                engine.process(feed.of(records));
                assertThat(listener.applies).as("one atomic apply per database").containsExactly("a.db x17", "b.db x16");
                ReplicaStatus a = engine.status().get("a.db");
                assertThat(a.error()).isNull();
                assertThat(a.position().lsn()).isEqualTo(17);
                assertThat(a.position().offset()).isEqualTo(offsetOfLast(records, "a.db"));
                assertThat(a.appliedEntries()).isEqualTo(17);
                assertThat(a.duplicatesSkipped()).isZero();
                assertThat(engine.status().get("b.db").position().lsn()).isEqualTo(16);
            }
            assertThat(sha256(replicaFile("one-batch", "a.db"))).isEqualTo(journal.writerHash("a.db", 17));
            assertThat(sha256(replicaFile("one-batch", "b.db"))).isEqualTo(journal.writerHash("b.db", 16));

            RecordingListener limited = new RecordingListener();
            try (ReplicaEngine engine = engine("small-batches", 3, limited)) {
                engine.process(new Feed().of(records));
                assertThat(limited.applies.stream().filter(apply -> apply.startsWith("b.db")).count())
                        .as("applies of b.db with at most 3 staged pages each: %s", limited.applies).isGreaterThan(3);
                assertThat(engine.status().get("b.db").appliedEntries()).isEqualTo(16);
            }
            assertThat(sha256(replicaFile("small-batches", "b.db"))).isEqualTo(journal.writerHash("b.db", 16));
            assertThat(sha256(replicaFile("small-batches", "a.db"))).isEqualTo(journal.writerHash("a.db", 17));
        }
    }

    @Test
    void anLsnGapHaltsTheDatabaseWithTheExpectedAndActualLsnAndTheOffset() throws Exception {
        try (CapturedJournal journal = new CapturedJournal(dir.resolve("gap-writer"), 1 << 20)) {
            try (Connection c = journal.connect("gap.db")) {
                exec(c, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
                for (int i = 0; i < 3; i++) {
                    exec(c, "INSERT INTO t(v) VALUES ('row " + i + "')");
                }
            }
            List<List<JournalRecord>> entries = journal.recordsByEntry("gap.db");
            List<JournalRecord> withoutThree = new ArrayList<>();
            for (int lsn : List.of(1, 2, 4)) {
                withoutThree.addAll(entries.get(lsn - 1));
            }
            Feed feed = new Feed();
            try (ReplicaEngine engine = engine("gap", DEFAULT_BATCH_PAGES, new RecordingListener())) {
                engine.process(feed.of(withoutThree));
                ReplicaStatus status = engine.status().get("gap.db");
                assertThat(status.halted()).isTrue();
                assertThat(status.error()).isInstanceOf(io.pagestream.schemas.PositionMismatchException.class)
                        .hasMessageContaining("replica of gap.db").hasMessageContaining("@" + feed.lastOffset())
                        .hasMessageContaining("LSN out of order").hasMessageContaining("expected LSN 3, got 4");
                io.pagestream.schemas.PositionMismatchException mismatch =
                        (io.pagestream.schemas.PositionMismatchException) status.error();
                assertThat(mismatch.expectedLsn()).isEqualTo(3);
                assertThat(mismatch.actualLsn()).isEqualTo(4);
                assertThat(status.position().lsn()).as("the replica stays at its last good entry").isEqualTo(2);
            }
            assertThat(sha256(replicaFile("gap", "gap.db"))).isEqualTo(journal.writerHash("gap.db", 2));
        }
    }

    @Test
    void aBaseEntryMidStreamReplacesTheReplicaAndStartsOneThatJoinedLate() throws Exception {
        String db = "rebased.db";
        try (CapturedJournal journal = new CapturedJournal(dir.resolve("writer"), 1 << 20)) {
            try (Connection c = journal.connect(db)) {
                exec(c, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)", "INSERT INTO t(v) VALUES ('a')",
                        "INSERT INTO t(v) VALUES ('b')");
            }
            journal.records();
            // Changed outside the VFS while none of its connections is open: the writer's next commit is a base entry.
            try (Connection plain = DriverManager.getConnection("jdbc:sqlite:" + journal.writerFile(db))) {
                exec(plain, "INSERT INTO t(v) VALUES ('outside')", "CREATE TABLE w(x)");
            }
            try (Connection c = journal.connect(db)) {
                exec(c, "INSERT INTO t(v) VALUES ('after')", "DELETE FROM t WHERE id = 1");
            }
            List<List<JournalRecord>> entries = journal.recordsByEntry(db);
            assertThat(CapturedJournal.entries(flatten(entries))).extracting(JournalEntry::getBase)
                    .containsExactly(true, false, false, true, false);

            Feed feed = new Feed();
            try (ReplicaEngine engine = engine("followed", DEFAULT_BATCH_PAGES, ReplicaListener.NONE)) {
                engine.process(feed.of(flatten(entries.subList(0, 3))));
                assertThat(engine.status().get(db).position().lsn()).isEqualTo(3);
                assertThat(sha256(replicaFile("followed", db))).isEqualTo(journal.writerHash(db, 3));
                engine.process(feed.of(flatten(entries.subList(3, 5))));
                assertThat(engine.status().get(db).error()).isNull();
                assertThat(engine.status().get(db).position().lsn()).isEqualTo(5);
            }
            assertThat(sha256(replicaFile("followed", db))).isEqualTo(journal.writerHash(db, 5));

            try (ReplicaEngine engine = engine("all-at-once", DEFAULT_BATCH_PAGES, ReplicaListener.NONE)) {
                engine.process(new Feed().of(flatten(entries)));
                assertThat(engine.status().get(db).position().lsn()).isEqualTo(5);
            }
            assertThat(sha256(replicaFile("all-at-once", db))).isEqualTo(journal.writerHash(db, 5));

            // A replica that joins after LSN 1 skips the entries before the base entry chosen for it and starts there.
            Feed lateFeed = new Feed();
            try (ReplicaEngine engine = engine("late", DEFAULT_BATCH_PAGES, ReplicaListener.NONE)) {
                List<ConsumerRecord<byte[], byte[]>> before = lateFeed.of(flatten(entries.subList(1, 3)));
                engine.startNewReplicas(Map.of(db, new StartOffsets.NewReplica(0, lateFeed.lastOffset() + 1, null)));
                engine.process(before);
                assertThat(engine.hasReplica(db)).as("no replica before a base entry").isFalse();
                assertThat(Files.exists(replicaFile("late", db))).isFalse();
                engine.process(lateFeed.of(flatten(entries.subList(3, 5))));
                ReplicaStatus status = engine.status().get(db);
                assertThat(status.error()).isNull();
                assertThat(status.position().lsn()).isEqualTo(5);
                assertThat(status.appliedEntries()).isEqualTo(2);
            }
            assertThat(sha256(replicaFile("late", db))).isEqualTo(journal.writerHash(db, 5));
        }
    }

    @Test
    void growthShrinkAndPageSizeChangesApplyByteIdentical() throws Exception {
        String db = "resized.db";
        try (CapturedJournal journal = new CapturedJournal(dir.resolve("writer"), 1 << 20)) {
            try (Connection c = journal.connect(db)) {
                exec(c, "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)",
                        rows(200, 3000),                                   // grows by hundreds of pages
                        "UPDATE t SET b = randomblob(100) WHERE id % 2 = 0", // pages freed, file keeps its size
                        "DELETE FROM t WHERE id > 20",
                        "VACUUM",                                          // shrinks
                        "PRAGMA page_size=1024", "VACUUM",                 // page-size change: every page rewritten
                        rows(100, 1500),
                        "PRAGMA auto_vacuum=INCREMENTAL", "VACUUM",
                        "DELETE FROM t WHERE id % 3 <> 0",
                        "PRAGMA incremental_vacuum",                       // shrinks without VACUUM
                        "PRAGMA page_size=8192", "VACUUM",
                        "DELETE FROM t");
            }
            List<List<JournalRecord>> entries = journal.recordsByEntry(db);
            List<JournalEntry> decoded = CapturedJournal.entries(flatten(entries));
            List<Integer> pageSizes = decoded.stream().map(JournalEntry::getPageSize).distinct().toList();
            assertThat(pageSizes).as("page sizes the journal went through").containsExactly(4096, 1024, 8192);
            assertThat(pageCountsRise(decoded) && pageCountsFall(decoded)).as("the file grew and shrank").isTrue();
            long last = decoded.getLast().getLsn();

            Feed feed = new Feed();
            try (ReplicaEngine engine = engine("entry-by-entry", DEFAULT_BATCH_PAGES, ReplicaListener.NONE)) {
                for (List<JournalRecord> entry : entries) {
                    engine.process(feed.of(entry));
                    long lsn = engine.status().get(db).position().lsn();
                    assertThat(sha256(replicaFile("entry-by-entry", db))).as("replica at LSN %d", lsn)
                            .isEqualTo(journal.writerHash(db, lsn));
                }
                assertThat(engine.status().get(db).position().lsn()).isEqualTo(last);
            }
            for (int maxBatchPages : new int[] {DEFAULT_BATCH_PAGES, 7}) {
                String replicas = "batched-" + maxBatchPages;
                try (ReplicaEngine engine = engine(replicas, maxBatchPages, ReplicaListener.NONE)) {
                    engine.process(new Feed().of(flatten(entries)));
                    assertThat(engine.status().get(db).error()).isNull();
                    assertThat(engine.status().get(db).position().lsn()).isEqualTo(last);
                }
                assertThat(sha256(replicaFile(replicas, db))).as("batches of up to %d pages", maxBatchPages)
                        .isEqualTo(journal.writerHash(db, last));
            }
        }
    }

    @Test
    void aFragmentedEntrySplitAcrossTwoHandOversIsAppliedOnceComplete() throws Exception {
        String db = "fragmented.db";
        try (CapturedJournal journal = new CapturedJournal(dir.resolve("writer"), 16 * 1024)) {
            try (Connection c = journal.connect(db)) {
                exec(c, "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)", "INSERT INTO t(b) VALUES (randomblob(10))",
                        "INSERT INTO t(b) VALUES (randomblob(120000))", "INSERT INTO t(b) VALUES (randomblob(10))");
            }
            List<List<JournalRecord>> entries = journal.recordsByEntry(db);
            List<JournalRecord> large = entries.get(2);
            assertThat(large).as("fragments of LSN 3").hasSizeGreaterThan(4);
            List<JournalRecord> first = new ArrayList<>(flatten(entries.subList(0, 2)));
            first.addAll(large.subList(0, large.size() / 2));
            List<JournalRecord> second = new ArrayList<>(large.subList(large.size() / 2, large.size()));
            second.addAll(entries.get(3));

            Feed feed = new Feed();
            try (ReplicaEngine engine = engine("replicas", DEFAULT_BATCH_PAGES, ReplicaListener.NONE)) {
                engine.process(feed.of(first));
                ReplicaStatus status = engine.status().get(db);
                assertThat(status.error()).isNull();
                assertThat(status.position().lsn()).as("entries before the incomplete one are applied").isEqualTo(2);
                assertThat(sha256(replicaFile("replicas", db))).isEqualTo(journal.writerHash(db, 2));
                engine.process(feed.of(second));
                status = engine.status().get(db);
                assertThat(status.error()).isNull();
                assertThat(status.position().lsn()).isEqualTo(4);
                assertThat(status.position().offset()).isEqualTo(feed.lastOffset());
            }
            assertThat(sha256(replicaFile("replicas", db))).isEqualTo(journal.writerHash(db, 4));
        }
    }

    /** One record of the hand-over script; {@code completes} is the entry its arrival completes, if any. */
    private record Step(JournalRecord record, JournalEntry completes) {}

    /** Where the reference copy of one database stands: {@link JournalApplier} applying each entry in turn. */
    private static final class Reference {
        final Path file;
        long lsn;

        Reference(Path file) {
            this.file = file;
        }
    }

    @Test
    void seededRandomHandOversMatchApplyingEachEntryInTurn() throws Exception {
        // SplittableRandom: nearby seeds (1, 2, 3...) still choose differently.
        SplittableRandom random = new SplittableRandom(SEED);
        int steps = 30;
        int maxBatchPages = new int[] {1, 5, 64, DEFAULT_BATCH_PAGES}[random.nextInt(4)];
        List<String> dbs = List.of("r0.db", "r1.db");
        List<JournalRecord> records;
        Map<String, String> writerHashes = new HashMap<>();
        try (CapturedJournal journal = new CapturedJournal(dir.resolve("writer"), 8 * 1024)) {
            List<Connection> connections = new ArrayList<>();
            List<WorkloadGenerator> generators = new ArrayList<>();
            for (int i = 0; i < dbs.size(); i++) {
                Connection c = journal.connect(dbs.get(i));
                connections.add(c);
                if (i == 1) {
                    exec(c, "PRAGMA auto_vacuum=INCREMENTAL");
                }
                WorkloadGenerator.createSharedSchema(c);
                WorkloadGenerator generator = new WorkloadGenerator(SEED * 31 + i, c, "g" + i,
                        new WorkloadGenerator.Options(true, i == 1, steps / 2 + i, i == 0 ? 1024 : 8192));
                generator.setUp();
                generators.add(generator);
            }
            for (int step = 0; step < steps; step++) {
                for (WorkloadGenerator generator : generators) {
                    generator.step();
                }
            }
            for (Connection c : connections) {
                c.close();
            }
            records = journal.records();
            for (JournalEntry entry : CapturedJournal.entries(records)) {
                writerHashes.put(entry.getDbId() + "@" + entry.getLsn(), journal.writerHash(entry.getDbId(), entry.getLsn()));
            }
        }

        // The journal as written, with now and then an earlier entry delivered again. An entry's records are
        // consecutive (the VFS publishes them in one send), so a record completing an entry ends its group.
        List<Step> script = new ArrayList<>();
        List<List<Step>> entries = new ArrayList<>();
        Map<String, FragmentAssembler> assemblers = new HashMap<>();
        List<Step> group = new ArrayList<>();
        for (JournalRecord record : records) {
            Optional<JournalEntry> complete = assemblers.computeIfAbsent(record.key(), key -> new FragmentAssembler())
                    .accept(JournalCodec.decode(record.value(), record.key()), record.key());
            Step step = new Step(record, complete.orElse(null));
            script.add(step);
            group.add(step);
            if (complete.isPresent()) {
                entries.add(List.copyOf(group));
                group.clear();
                if (random.nextInt(10) == 0) {
                    script.addAll(entries.get(random.nextInt(entries.size())));
                }
            }
        }
        long fragments = records.stream().filter(record -> record.headers().stream()
                .anyMatch(header -> header.name().equals(JournalContract.HEADER_FRAGMENT))).count();
        System.out.println("ReplicaEngineTest seed=" + SEED + ": " + records.size() + " records (" + fragments
                + " fragments), " + script.size() + " in the topic with entries sent again, batches of up to " + maxBatchPages
                + " pages");
        assertThat(entries.stream().map(entry -> entry.getLast().completes().getPageSize()).distinct())
                .as("page sizes the workload went through").contains(1024, 4096, 8192);

        Map<String, Reference> references = new HashMap<>();
        for (String db : dbs) {
            references.put(db, new Reference(dir.resolve("reference-" + db)));
        }
        // The topic: script position = offset, so a restarted engine can be fed again from its positions.
        List<ConsumerRecord<byte[], byte[]>> topic = new Feed().of(script.stream().map(Step::record).toList());
        ReplicaEngine engine = engine("replicas", maxBatchPages, ReplicaListener.NONE);
        try {
            int next = 0;
            int handOvers = 0;
            while (next < script.size()) {
                int end = Math.min(script.size(), next + 1 + random.nextInt(12));
                engine.process(topic.subList(next, end));
                handOvers++;
                for (Step step : script.subList(next, end)) {
                    JournalEntry entry = step.completes();
                    Reference reference = entry == null ? null : references.get(entry.getDbId());
                    if (reference != null && entry.getLsn() > reference.lsn) {
                        JournalApplier.apply(entry, reference.file);
                        reference.lsn = entry.getLsn();
                    }
                }
                next = end;
                for (String db : dbs) {
                    Reference reference = references.get(db);
                    String what = "seed " + SEED + ", hand-over " + handOvers + ": replica of " + db;
                    ReplicaStatus status = engine.status().get(db);
                    if (reference.lsn == 0) {
                        assertThat(status == null ? 0 : status.position().lsn()).as(what).isZero();
                        continue;
                    }
                    assertThat(status.error()).as(what).isNull();
                    assertThat(status.position().lsn()).as(what).isEqualTo(reference.lsn);
                    assertSameBytes(replicaFile("replicas", db), reference.file, what);
                    assertThat(sha256(replicaFile("replicas", db))).as(what + " vs its writer")
                            .isEqualTo(writerHashes.get(db + "@" + reference.lsn));
                }
                if (random.nextInt(8) == 0) {
                    // A restart: the replicas resume from their recorded positions, and the topic is read again from
                    // the oldest of them (from the start while a database has no replica yet), as the service does.
                    engine.close();
                    engine = engine("replicas", maxBatchPages, ReplicaListener.NONE);
                    Map<String, ReplicaPosition> resumed = engine.openExisting();
                    assertThat(resumed.keySet()).as("seed %d: resumed replicas", SEED).containsExactlyInAnyOrderElementsOf(
                            dbs.stream().filter(db -> references.get(db).lsn > 0).toList());
                    next = resumed.size() < dbs.size() ? 0
                            : (int) resumed.values().stream().mapToLong(ReplicaPosition::offset).min().orElseThrow() + 1;
                }
            }
            for (String db : dbs) {
                ReplicaStatus status = engine.status().get(db);
                assertThat(status.position().lsn()).as("seed %d: %s fully applied", SEED, db)
                        .isEqualTo(CapturedJournal.entries(records).stream().filter(e -> e.getDbId().equals(db))
                                .mapToLong(JournalEntry::getLsn).max().orElseThrow());
            }
        } finally {
            engine.close();
        }
    }

    private static void assertSameBytes(Path actual, Path expected, String what) throws IOException {
        byte[] actualBytes = Files.readAllBytes(actual);
        byte[] expectedBytes = Files.readAllBytes(expected);
        assertThat(Arrays.mismatch(actualBytes, expectedBytes))
                .as("%s: first differing byte (sizes %d and %d)", what, actualBytes.length, expectedBytes.length)
                .isEqualTo(-1);
    }

    private static String rows(int count, int blobBytes) {
        return "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " + count + ")"
                + " INSERT INTO t(b) SELECT randomblob(" + blobBytes + ") FROM n";
    }

    private static boolean pageCountsRise(List<JournalEntry> entries) {
        for (int i = 1; i < entries.size(); i++) {
            if (entries.get(i).getPageSize() == entries.get(i - 1).getPageSize()
                    && entries.get(i).getPageCount() > entries.get(i - 1).getPageCount()) {
                return true;
            }
        }
        return false;
    }

    private static boolean pageCountsFall(List<JournalEntry> entries) {
        for (int i = 1; i < entries.size(); i++) {
            if (entries.get(i).getPageSize() == entries.get(i - 1).getPageSize()
                    && entries.get(i).getPageCount() < entries.get(i - 1).getPageCount()) {
                return true;
            }
        }
        return false;
    }

    private static <T> List<T> flatten(List<List<T>> lists) {
        return lists.stream().flatMap(List::stream).toList();
    }

    private static long offsetOfLast(List<JournalRecord> records, String dbId) {
        for (int i = records.size() - 1; i >= 0; i--) {
            if (records.get(i).key().equals(dbId)) {
                return i;
            }
        }
        throw new AssertionError("no record of " + dbId);
    }

    /**
     * A replica process killed during its very first apply leaves, once the hot journal is rolled back, an empty
     * file whose position record says "at LSN 0, applying up to LSN n". Resuming it "after LSN 0" at its (absent)
     * Kafka offset made the next process read from the end of the journal and halt on a gap; it must start over
     * from the database's newest base entry, like a new replica.
     */
    @Test
    void replicaWhoseFirstApplyWasInterruptedStartsOverFromABaseEntry() throws Exception {
        Path replica = Files.createFile(dir.resolve("alpha.db"));
        try (PositionFile positions = PositionFile.open(replica)) {
            positions.write("alpha.db", ReplicaPosition.EMPTY, new ReplicaPosition(5, 0x1234, 4096, 3, 0, 42, 0));
        }
        try (ReplicaEngine engine = new ReplicaEngine(dir, Set.of("alpha.db"), ReplicaListener.NONE, Duration.ofSeconds(1),
                100)) {
            assertThat(engine.openExisting()).as("replicas to resume after their recorded position").isEmpty();
            assertThat(engine.hasReplica("alpha.db")).as("has a replica, so needs no base entry").isFalse();
            assertThat(engine.status()).isEmpty();
        }
    }
}
