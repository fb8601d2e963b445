package io.pagestream.replica;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pagestream.broker.KafkaBrokerExtension;
import io.pagestream.replica.internals.SnapshotUpload;
import io.pagestream.schemas.PagestreamException;
import io.pagestream.schemas.SnapshotCodec;
import io.pagestream.schemas.SnapshotContract;
import io.pagestream.schemas.avro.CatalogEntry;
import io.pagestream.schemas.avro.JournalEntry;
import io.pagestream.schemas.avro.RestorePoint;
import io.pagestream.schemas.avro.SnapshotChunk;
import io.pagestream.vfs.KafkaJournal;
import io.pagestream.vfs.PagestreamVfs;
import io.pagestream.vfs.WorkloadGenerator;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Writer VFS → real broker, snapshots taken during a seeded workload on two databases (growth, deletes, VACUUM, a
 * page-size change): a restore to any LSN, time or journal offset is byte-identical to the writer's file then, across
 * snapshot boundaries; a damaged chunk falls back to an older start; bad targets and outputs are refused clearly.
 * Replay with {@code -Dpagestream.seed=N}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RestoreIT {
    private static final String TOPIC = "restore-it";
    private static final List<String> DBS = List.of("alpha.db", "beta.db");
    private static final int STEPS = 90;
    private static final int CHUNK_BYTES = 16 * 1024;

    @RegisterExtension
    static final KafkaBrokerExtension broker = new KafkaBrokerExtension();

    @TempDir
    static Path dir;

    private final long seed = Long.getLong("pagestream.seed", System.currentTimeMillis());
    /** sha256 of the writer's file after each LSN, per database. */
    private final Map<String, Map<Long, String>> shaByLsn = new ConcurrentHashMap<>();
    /** The writer's file after its newest commit, per database. */
    private final Map<String, byte[]> latestImage = new ConcurrentHashMap<>();
    private final Map<String, List<RestorePoint>> catalog = new LinkedHashMap<>();
    private Map<String, List<KafkaJournal.Entry>> journal;
    private KafkaProducer<byte[], byte[]> producer;

    @BeforeAll
    void writeWorkloadTakingSnapshots() throws Exception {
        System.out.println("RestoreIT seed=" + seed + " (replay with -Dpagestream.seed=" + seed + ")");
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
            Map<String, String> compact = Map.of("cleanup.policy", "compact");
            admin.createTopics(List.of(
                    new NewTopic(SnapshotContract.snapshotsTopic(TOPIC), 1, (short) 1).configs(compact),
                    new NewTopic(SnapshotContract.catalogTopic(TOPIC), 1, (short) 1).configs(compact))).all().get();
        }
        producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                ProducerConfig.ACKS_CONFIG, "all", ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 4 << 20),
                new ByteArraySerializer(), new ByteArraySerializer());
        Path writerDir = Files.createDirectories(dir.resolve("writer"));
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("bootstrap.servers", broker.bootstrapServers(),
                        "journal.topic", TOPIC, "journal.topic.partitions", "2", "vfs.name", "restore-it"))
                .commitObserver((dbId, lsn, image) -> {
                    byte[] bytes = image.readAll();
                    latestImage.put(dbId, bytes);
                    shaByLsn.computeIfAbsent(dbId, id -> new ConcurrentHashMap<>()).put(lsn, sha256(bytes));
                })
                .install()) {
            List<Connection> connections = new ArrayList<>();
            List<WorkloadGenerator> generators = new ArrayList<>();
            for (String dbId : DBS) {
                Connection connection = DriverManager.getConnection(vfs.jdbcUrl(writerDir.resolve(dbId)));
                connections.add(connection);
                try (Statement s = connection.createStatement()) {
                    s.execute("PRAGMA journal_mode=DELETE");
                }
                WorkloadGenerator.createSharedSchema(connection);
                // beta changes its page size (PRAGMA page_size + VACUUM) half-way.
                WorkloadGenerator generator = new WorkloadGenerator(seed * 31 + dbId.hashCode(), connection,
                        dbId.substring(0, 1), new WorkloadGenerator.Options(true, false,
                                dbId.equals("beta.db") ? STEPS / 2 : 0, 1024));
                generator.setUp();
                generators.add(generator);
            }
            for (int step = 1; step <= STEPS; step++) {
                for (WorkloadGenerator generator : generators) {
                    generator.step();
                }
                if (step == STEPS / 3) {
                    try (Statement s = connections.getFirst().createStatement()) {
                        s.execute("VACUUM");
                    }
                }
                if (step % (STEPS / 3) == 0) {
                    for (String dbId : DBS) {
                        takeSnapshot(vfs, dbId);
                    }
                }
            }
            // A few commits after the last snapshot, so the journal goes on beyond it.
            for (Connection connection : connections) {
                try (Statement s = connection.createStatement()) {
                    for (int i = 0; i < 3; i++) {
                        s.execute("insert into markers(token) values ('after-snapshots-" + i + "')");
                    }
                }
                connection.close();
            }
            assertThat(vfs.flush(Duration.ofSeconds(60))).isTrue();
        }
        journal = readJournal();
        assertThat(journal.get("beta.db")).as("beta changed its page size").extracting(p -> p.entry().getPageSize())
                .contains(1024, 4096);
    }

    @AfterAll
    void closeProducer() {
        producer.close();
    }

    @Test
    @Order(1)
    void listNamesEveryRestorePointAndTheWindowFromTheFirstBaseToTheNewestEntry() {
        try (Restore restore = Restore.open(settings())) {
            for (String dbId : DBS) {
                RestoreWindow window = restore.list(dbId);
                List<KafkaJournal.Entry> entries = journal.get(dbId);
                assertThat(window.restorePoints()).extracting(RestorePointSummary::snapshotId)
                        .containsExactlyElementsOf(catalog.get(dbId).stream().map(RestorePoint::getSnapshotId).toList());
                assertThat(window.restorePoints()).extracting(RestorePointSummary::lsn)
                        .containsExactlyElementsOf(catalog.get(dbId).stream().map(RestorePoint::getLsn).toList());
                assertThat(window.firstLsn()).isEqualTo(1);
                assertThat(window.lastLsn()).isEqualTo(entries.getLast().entry().getLsn());
                assertThat(window.firstTime()).isEqualTo(Instant.ofEpochMilli(entries.getFirst().entry().getCommitTimeMillis()));
                assertThat(window.lastTime()).isEqualTo(Instant.ofEpochMilli(entries.getLast().entry().getCommitTimeMillis()));
            }
        }
    }

    @Test
    @Order(2)
    void planStartsFromTheNewestSnapshotAtOrBeforeTheTargetOrFromTheBaseEntry() {
        try (Restore restore = Restore.open(settings())) {
            for (String dbId : DBS) {
                RestorePoint first = catalog.get(dbId).getFirst();
                KafkaJournal.Entry target = byLsn(dbId, first.getLsn() + 2);
                RestorePlan plan = restore.plan(dbId, RestoreTarget.lsn(target.entry().getLsn()));
                assertThat(plan.snapshot()).map(RestorePointSummary::snapshotId).contains(first.getSnapshotId());
                assertThat(plan.journalFromOffset()).isEqualTo(first.getJournalOffset() + 1);
                assertThat(plan.journalRecords()).isEqualTo(target.offset() - first.getJournalOffset());

                KafkaJournal.Entry early = byLsn(dbId, first.getLsn() - 1);
                RestorePlan fromBase = restore.plan(dbId, RestoreTarget.lsn(early.entry().getLsn()));
                assertThat(fromBase.snapshot()).isEmpty();
                assertThat(fromBase.lsn()).isEqualTo(early.entry().getLsn());
                assertThat(fromBase.journalRecords()).isEqualTo(early.offset() - fromBase.journalFromOffset() + 1);
            }
        }
    }

    @Test
    @Order(3)
    void restoresToEveryFewLsnsEqualTheWritersFileThen() throws Exception {
        try (Restore restore = Restore.open(settings())) {
            for (String dbId : DBS) {
                long last = journal.get(dbId).getLast().entry().getLsn();
                List<Long> lsns = new ArrayList<>();
                for (long lsn = 1; lsn <= last; lsn += 7) {
                    lsns.add(lsn);
                }
                catalog.get(dbId).forEach(p -> lsns.addAll(List.of(p.getLsn(), p.getLsn() + 1)));
                lsns.removeIf(lsn -> lsn > last);
                lsns.add(last);
                for (long lsn : lsns) {
                    Path output = dir.resolve("lsn").resolve(dbId + "-" + lsn);
                    RestoreResult result = restore.restore(dbId, RestoreTarget.lsn(lsn), output, false, progress -> {});
                    assertThat(result.lsn()).isEqualTo(lsn);
                    assertThat(sha256(Files.readAllBytes(output))).as("seed %d: %s at LSN %d", seed, dbId, lsn)
                            .isEqualTo(shaByLsn.get(dbId).get(lsn));
                    Files.delete(output);
                }
                List<RestoreProgress> reports = new ArrayList<>();
                RestoreResult latest = restore.restore(dbId, RestoreTarget.latest(), dir.resolve(dbId + "-latest"), false,
                        reports::add);
                assertThat(latest.lsn()).isEqualTo(last);
                assertThat(latest.snapshotId()).contains(catalog.get(dbId).getLast().getSnapshotId());
                assertThat(latest.entriesApplied()).isEqualTo(3);
                assertThat(reports).filteredOn(r -> r.stage() == RestoreProgress.Stage.DOWNLOAD).last()
                        .satisfies(r -> assertThat(r.done()).isEqualTo(r.total()).isEqualTo(
                                catalog.get(dbId).getLast().getPageCount() * catalog.get(dbId).getLast().getPageSize()));
                assertThat(reports).filteredOn(r -> r.stage() == RestoreProgress.Stage.REPLAY).hasSize(3);
                assertThat(reports.getLast().stage()).isEqualTo(RestoreProgress.Stage.VERIFY);
            }
        }
        assertThat(Files.list(dir.resolve("lsn"))).as("no temporary file left").isEmpty();
    }

    @Test
    @Order(4)
    void restoresToTimesAndOffsetsEndAtTheLastEntryAtOrBeforeThem() throws Exception {
        Random random = new Random(seed);
        try (Restore restore = Restore.open(settings())) {
            for (String dbId : DBS) {
                List<KafkaJournal.Entry> entries = journal.get(dbId);
                for (int i = 0; i < 4; i++) {
                    KafkaJournal.Entry pick = entries.get(random.nextInt(entries.size()));
                    Instant time = Instant.ofEpochMilli(pick.entry().getCommitTimeMillis());
                    long expected = entries.stream().filter(p -> p.entry().getCommitTimeMillis() <= time.toEpochMilli())
                            .mapToLong(p -> p.entry().getLsn()).max().orElseThrow();
                    assertRestores(restore, dbId, RestoreTarget.time(time), expected);
                }
                int partition = entries.getFirst().partition();
                for (int i = 0; i < 4; i++) {
                    long offset = entries.getFirst().offset()
                            + random.nextLong(entries.getLast().offset() - entries.getFirst().offset() + 1);
                    long expected = entries.stream().filter(p -> p.offset() <= offset).mapToLong(p -> p.entry().getLsn())
                            .max().orElseThrow();
                    assertRestores(restore, dbId, RestoreTarget.offset(partition, offset), expected);
                }
            }
        }
    }

    @Test
    @Order(5)
    void aTargetOutsideTheWindowIsRefusedNamingTheWindow() {
        String dbId = DBS.getFirst();
        List<KafkaJournal.Entry> entries = journal.get(dbId);
        long last = entries.getLast().entry().getLsn();
        String window = "LSN 1 (" + Instant.ofEpochMilli(entries.getFirst().entry().getCommitTimeMillis()) + ") to LSN " + last
                + " (" + Instant.ofEpochMilli(entries.getLast().entry().getCommitTimeMillis()) + ")";
        Path output = dir.resolve("outside.db");
        try (Restore restore = Restore.open(settings())) {
            assertThatThrownBy(() -> restore.restore(dbId, RestoreTarget.lsn(last + 1), output, false, p -> {}))
                    .isInstanceOf(PagestreamException.class)
                    .hasMessageContaining("db " + dbId).hasMessageContaining("LSN " + (last + 1) + " is outside the restore window")
                    .hasMessageContaining(window);
            Instant before = Instant.ofEpochMilli(entries.getFirst().entry().getCommitTimeMillis() - 60_000);
            assertThatThrownBy(() -> restore.plan(dbId, RestoreTarget.time(before)))
                    .hasMessageContaining("time " + before + " is outside the restore window").hasMessageContaining(window);
        }
        assertThat(output).doesNotExist();
    }

    @Test
    @Order(6)
    void anExistingOutputIsRefusedWithoutForceAndReplacedWithIt() throws Exception {
        String dbId = DBS.getFirst();
        Path output = Files.writeString(dir.resolve("existing.db"), "keep me");
        try (Restore restore = Restore.open(settings())) {
            assertThatThrownBy(() -> restore.restore(dbId, RestoreTarget.lsn(3), output, false, p -> {}))
                    .hasMessageContaining("output " + output).hasMessageContaining("exists");
            assertThat(Files.readString(output)).isEqualTo("keep me");
            restore.restore(dbId, RestoreTarget.lsn(3), output, true, p -> {});
        }
        assertThat(sha256(Files.readAllBytes(output))).isEqualTo(shaByLsn.get(dbId).get(3L));
        try (var files = Files.list(dir)) {
            assertThat(files.map(Path::toString)).noneMatch(name -> name.endsWith(".restoring"));
        }
    }

    @Test
    @Order(7)
    void aDamagedChunkIsNamedAndTheRestoreFallsBackToAnOlderSnapshot() throws Exception {
        String dbId = DBS.getLast();
        KafkaJournal.Entry target = journal.get(dbId).getLast();
        long lsn = target.entry().getLsn();
        RestorePoint damaged = uploadDamaged(dbId, target);
        List<RestorePoint> points = new ArrayList<>(catalog.get(dbId));
        points.add(damaged);
        publishCatalog(dbId, points);

        Path output = dir.resolve("fallback.db");
        try (Restore restore = Restore.open(settings())) {
            assertThat(restore.plan(dbId, RestoreTarget.latest()).snapshot()).map(RestorePointSummary::snapshotId)
                    .contains(damaged.getSnapshotId());
            RestoreResult result = restore.restore(dbId, RestoreTarget.latest(), output, false, p -> {});
            assertThat(result.lsn()).isEqualTo(lsn);
            assertThat(result.snapshotId()).contains(catalog.get(dbId).getLast().getSnapshotId());
            assertThat(result.fallbacks()).singleElement().asString()
                    .contains("db " + dbId, "snapshot " + damaged.getSnapshotId(), "chunk 1 at ", "is damaged",
                            "falling back to snapshot " + catalog.get(dbId).getLast().getSnapshotId());
        }
        assertThat(sha256(Files.readAllBytes(output))).isEqualTo(shaByLsn.get(dbId).get(lsn));
    }

    /**
     * After the damaged snapshot of order 7 is the newest of one database: with the journal trimmed below the newest
     * good snapshots, a new replica can only start from them, and ends equal to the writer.
     */
    @Test
    @Order(8)
    void aNewReplicaStartsFromTheNewestUsableSnapshotAndReadsOnlyTheJournalAfterIt() throws Exception {
        Map<TopicPartition, RecordsToDelete> trim = new LinkedHashMap<>();
        for (String dbId : DBS) {
            RestorePoint newest = catalog.get(dbId).getLast();
            trim.merge(new TopicPartition(TOPIC, newest.getJournalPartition()),
                    RecordsToDelete.beforeOffset(newest.getJournalOffset() + 1),
                    (a, b) -> RecordsToDelete.beforeOffset(Math.min(a.beforeOffset(), b.beforeOffset())));
        }
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
            admin.deleteRecords(trim).all().get();
        }
        Map<String, Object> settings = new LinkedHashMap<>(settings());
        settings.put("replica.dir", dir.resolve("bootstrapped").toString());
        settings.put("replica.dbs", String.join(",", DBS));
        try (Replica replica = Replica.start(settings)) {
            for (String dbId : DBS) {
                long last = journal.get(dbId).getLast().entry().getLsn();
                assertThat(replica.await(dbId, last, Duration.ofSeconds(60))).as("seed %d: %s", seed, dbId).isTrue();
                ReplicaStatus status = replica.status().get(dbId);
                assertThat(status.appliedEntries()).as("only the entries after the snapshot")
                        .isEqualTo(last - catalog.get(dbId).getLast().getLsn());
                assertThat(sha256(Files.readAllBytes(status.file()))).as("seed %d: %s", seed, dbId)
                        .isEqualTo(shaByLsn.get(dbId).get(last));
            }
        }
    }

    /** A restore opened through the VFS under a new db id is a new database: its first commit publishes a base entry. */
    @Test
    @Order(9)
    void aRestoredDatabaseOpenedUnderANewIdBranchesIntoItsOwnHistory() throws Exception {
        String dbId = DBS.getFirst();
        long lsn = journal.get(dbId).getLast().entry().getLsn() - 1; // reachable after order 8 trimmed the journal
        Path branch = dir.resolve("branch").resolve("alpha-at-" + lsn + ".db");
        Files.createDirectories(branch.getParent());
        try (Restore restore = Restore.open(settings())) {
            restore.restore(dbId, RestoreTarget.lsn(lsn), branch, false, p -> {});
        }
        try (PagestreamVfs vfs = PagestreamVfs.install(Map.of("bootstrap.servers", broker.bootstrapServers(),
                        "journal.topic", TOPIC, "vfs.name", "restore-it-branch"));
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(branch, "alpha-branch"));
                Statement s = c.createStatement()) {
            s.execute("insert into markers(token) values ('on the branch')");
            assertThat(vfs.flush(Duration.ofSeconds(60))).isTrue();
        }
        List<KafkaJournal.Entry> branchJournal = readJournal().get("alpha-branch");
        assertThat(branchJournal).extracting(p -> p.entry().getLsn()).containsExactly(1L);
        assertThat(branchJournal.getFirst().entry().getBase()).isTrue();
        assertThat(readJournal().get(dbId).getLast().entry().getLsn()).as("the original goes on unchanged")
                .isEqualTo(journal.get(dbId).getLast().entry().getLsn());

        Map<String, Object> settings = new LinkedHashMap<>(settings());
        settings.put("replica.dir", dir.resolve("branch-replica").toString());
        settings.put("replica.dbs", "alpha-branch");
        try (Replica replica = Replica.start(settings)) {
            assertThat(replica.await("alpha-branch", 1, Duration.ofSeconds(60))).isTrue();
            assertThat(sha256(Files.readAllBytes(replica.status().get("alpha-branch").file())))
                    .isEqualTo(sha256(Files.readAllBytes(branch)));
        }
    }

    private void assertRestores(Restore restore, String dbId, RestoreTarget target, long expectedLsn) throws Exception {
        Path output = dir.resolve("targets").resolve(dbId + "-" + System.nanoTime());
        RestoreResult result = restore.restore(dbId, target, output, false, progress -> {});
        assertThat(result.lsn()).as("seed %d: %s %s", seed, dbId, target).isEqualTo(expectedLsn);
        assertThat(sha256(Files.readAllBytes(output))).as("seed %d: %s %s", seed, dbId, target)
                .isEqualTo(shaByLsn.get(dbId).get(expectedLsn));
        Files.delete(output);
    }

    /** Snapshots the database as of its newest commit (no transaction runs now) and lists it in the catalog. */
    private void takeSnapshot(PagestreamVfs vfs, String dbId) throws Exception {
        assertThat(vfs.flush(Duration.ofSeconds(60))).isTrue();
        byte[] image = latestImage.get(dbId);
        KafkaJournal.Entry at = readJournal().get(dbId).getLast();
        assertThat(sha256(image)).isEqualTo(shaByLsn.get(dbId).get(at.entry().getLsn()));
        Path copy = Files.write(dir.resolve("snapshot-copy"), image);
        try (SnapshotUpload upload = new SnapshotUpload(producer, SnapshotContract.snapshotsTopic(TOPIC), 0, dbId, copy,
                position(at), CHUNK_BYTES)) {
            while (!upload.sendSome(1 << 20)) {
                producer.flush();
            }
            catalog.computeIfAbsent(dbId, id -> new ArrayList<>())
                    .add(upload.complete(Duration.ofSeconds(30), System.currentTimeMillis()));
        }
        publishCatalog(dbId, catalog.get(dbId));
    }

    /** A snapshot of the entry's database whose chunk 1 has one page byte flipped, sent to the snapshots topic. */
    private RestorePoint uploadDamaged(String dbId, KafkaJournal.Entry at) throws Exception {
        MockProducer<byte[], byte[]> captured = new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer());
        Path copy = Files.write(dir.resolve("damaged-copy"), latestImage.get(dbId));
        RestorePoint point;
        try (SnapshotUpload upload = new SnapshotUpload(captured, SnapshotContract.snapshotsTopic(TOPIC), 0, dbId, copy,
                position(at), CHUNK_BYTES)) {
            upload.sendSome(Long.MAX_VALUE);
            point = upload.complete(Duration.ofSeconds(5), System.currentTimeMillis());
        }
        assertThat(point.getChunkCount()).isGreaterThan(1);
        long first = -1;
        long last = -1;
        for (ProducerRecord<byte[], byte[]> record : captured.history()) {
            byte[] value = record.value();
            SnapshotChunk chunk = SnapshotCodec.decodeChunk(value, "captured");
            if (chunk.getIndex() == 1) {
                byte[] pages = SnapshotCodec.bytes(chunk.getPages());
                pages[pages.length / 2] ^= 0x40;
                chunk.setPages(ByteBuffer.wrap(pages));
                value = SnapshotCodec.encodeChunk(chunk);
            }
            long offset = producer.send(new ProducerRecord<>(record.topic(), record.partition(), record.key(), value)).get().offset();
            first = first < 0 ? offset : first;
            last = offset;
        }
        point.setFirstChunkOffset(first);
        point.setLastChunkOffset(last);
        return point;
    }

    private void publishCatalog(String dbId, List<RestorePoint> points) throws Exception {
        byte[] value = SnapshotCodec.encodeCatalog(new CatalogEntry(dbId, points, 0L));
        producer.send(new ProducerRecord<>(SnapshotContract.catalogTopic(TOPIC), 0, dbId.getBytes(StandardCharsets.UTF_8),
                value)).get();
    }

    private static ReplicaPosition position(KafkaJournal.Entry at) {
        JournalEntry entry = at.entry();
        return new ReplicaPosition(entry.getLsn(), entry.getPostChecksum(), entry.getPageSize(), entry.getPageCount(),
                at.partition(), at.offset(), entry.getCommitTimeMillis());
    }

    private KafkaJournal.Entry byLsn(String dbId, long lsn) {
        return journal.get(dbId).stream().filter(p -> p.entry().getLsn() == lsn).findFirst().orElseThrow();
    }

    private static Map<String, Object> settings() {
        return Map.of("bootstrap.servers", broker.bootstrapServers(), "journal.topic", TOPIC);
    }

    private static Map<String, List<KafkaJournal.Entry>> readJournal() {
        return KafkaJournal.entries(broker.bootstrapServers(), TOPIC);
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
