package io.pagestream.compactor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pagestream.broker.KafkaBrokerExtension;
import io.pagestream.schemas.avro.RestorePoint;
import io.pagestream.vfs.PagestreamVfs;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Writer VFS → real Kafka broker → compactor (Kafka Streams, exactly-once): two databases written with a seeded
 * workload get snapshotted again and again; every restore point any catalog record names rebuilds, from its chunks,
 * exactly the writer's file at its LSN. A damaged journal record halts its database only; a compactor restarted on
 * its directory resumes where its replica files are. Replay with {@code -Dpagestream.seed=N}.
 */
class CompactorIT {
    @RegisterExtension
    static final KafkaBrokerExtension broker = new KafkaBrokerExtension();

    private static final List<String> DATABASES = List.of("alpha.db", "beta.db");
    private static final Duration PATIENCE = Duration.ofMinutes(2);

    @TempDir
    Path dir;

    private String topic;
    private long seed;
    private Random random;
    private PagestreamVfs vfs;
    private final Map<String, Connection> connections = new LinkedHashMap<>();
    /** The writer's file at every commit: sha256 by LSN, by db id. */
    private final Map<String, Map<Long, String>> images = new ConcurrentHashMap<>();
    private final Map<String, Long> writerLsn = new ConcurrentHashMap<>();

    @BeforeEach
    void startWriters(TestInfo test) throws Exception {
        seed = Long.getLong("pagestream.seed", System.currentTimeMillis());
        System.out.println("CompactorIT." + test.getTestMethod().orElseThrow().getName() + " seed=" + seed
                + " (replay with -Dpagestream.seed=" + seed + ")");
        random = new Random(seed);
        topic = "compactor-it-" + test.getTestMethod().orElseThrow().getName();
        vfs = PagestreamVfs.builder(Map.of("bootstrap.servers", broker.bootstrapServers(), "journal.topic", topic,
                        "journal.topic.partitions", "2", "vfs.name", topic))
                .commitObserver((dbId, lsn, image) -> {
                    images.computeIfAbsent(dbId, id -> new ConcurrentHashMap<>()).put(lsn, sha256(image.readAll()));
                    writerLsn.merge(dbId, lsn, Math::max);
                })
                .install();
        Path writerDir = Files.createDirectories(dir.resolve("writer"));
        for (String dbId : DATABASES) {
            Connection connection = DriverManager.getConnection(vfs.jdbcUrl(writerDir.resolve(dbId)));
            try (Statement s = connection.createStatement()) {
                s.execute("CREATE TABLE items(id INTEGER PRIMARY KEY, data BLOB)");
            }
            connections.put(dbId, connection);
        }
        assertThat(vfs.flush(PATIENCE)).isTrue();
    }

    @AfterEach
    void stopWriters() throws Exception {
        for (Connection connection : connections.values()) {
            connection.close();
        }
        vfs.close();
    }

    @Test
    void everyRestorePointRebuildsTheWritersFileAtItsLsn() throws Exception {
        try (Compactor compactor = Compactor.start(settings("everything"))) {
            write(80);
            awaitCaughtUp(compactor, DATABASES);
            awaitRestorePoints(compactor, "alpha.db", 4);
            awaitRestorePoints(compactor, "beta.db", 4);
        }
        verifyCatalog(DATABASES);
    }

    @Test
    void aDamagedRecordHaltsItsDatabaseWhileTheOtherKeepsGettingSnapshots() throws Exception {
        try (Compactor compactor = Compactor.start(settings("damaged"))) {
            write(20);
            awaitCaughtUp(compactor, DATABASES);
            RestorePoint alpha = awaitRestorePoints(compactor, "alpha.db", 1);
            long damagedOffset = sendDamaged("alpha.db", alpha.getJournalPartition());
            write(40);
            await().atMost(PATIENCE).untilAsserted(() -> assertThat(compactor.status().get("alpha.db").error())
                    .as("alpha.db halted").isNotNull());
            assertThat(compactor.status().get("alpha.db").error().getMessage())
                    .contains("alpha.db").contains(topic + "-" + alpha.getJournalPartition() + "@" + damagedOffset);
            int betaPoints = verifiedCount("beta.db");
            write(40);
            awaitCaughtUp(compactor, List.of("beta.db"));
            awaitRestorePoints(compactor, "beta.db", betaPoints + 1);
            assertThat(compactor.status().get("beta.db").error()).isNull();
            assertThat(compactor.status().get("alpha.db").error()).isNotNull();
        }
        verifyCatalog(DATABASES);
    }

    @Test
    void aRestartedCompactorResumesFromItsReplicaFilesAndKeepsSnapshotting() throws Exception {
        Map<String, Object> settings = settings("restarted");
        Map<String, Integer> before = new HashMap<>();
        try (Compactor compactor = Compactor.start(settings)) {
            write(40);
            awaitCaughtUp(compactor, DATABASES);
            for (String dbId : DATABASES) {
                awaitRestorePoints(compactor, dbId, 2);
            }
        }
        for (String dbId : DATABASES) {
            before.put(dbId, verifiedCount(dbId));
        }
        write(30);
        try (Compactor compactor = Compactor.start(settings)) {
            write(30);
            awaitCaughtUp(compactor, DATABASES);
            for (String dbId : DATABASES) {
                awaitRestorePoints(compactor, dbId, before.get(dbId) + 1);
                assertThat(compactor.status().get(dbId).error()).isNull();
            }
        }
        verifyCatalog(DATABASES);
    }

    private Map<String, Object> settings(String name) {
        Map<String, Object> settings = new HashMap<>();
        settings.put("bootstrap.servers", broker.bootstrapServers());
        settings.put("journal.topic", topic);
        settings.put("application.id", "compactor-it-" + name);
        settings.put("state.dir", dir.resolve("compactor").toString());
        settings.put("snapshot.journal.ratio", "0.2");
        settings.put("snapshot.check.interval.ms", "100");
        // Several chunks per snapshot and several checks per snapshot.
        settings.put("snapshot.chunk.bytes", "8192");
        settings.put("snapshot.bytes.per.punctuation", "16384");
        return settings;
    }

    /** Commits {@code count} seeded transactions, spread over the databases. */
    private void write(int count) throws Exception {
        for (int i = 0; i < count; i++) {
            Connection connection = connections.get(DATABASES.get(random.nextInt(DATABASES.size())));
            if (random.nextInt(5) == 0) {
                try (Statement s = connection.createStatement()) {
                    s.execute("DELETE FROM items WHERE id IN (SELECT id FROM items ORDER BY random() LIMIT 2)");
                }
            } else {
                try (PreparedStatement insert = connection.prepareStatement("INSERT INTO items(data) VALUES (?)")) {
                    byte[] data = new byte[200 + random.nextInt(6000)];
                    random.nextBytes(data);
                    insert.setBytes(1, data);
                    insert.executeUpdate();
                }
            }
        }
        assertThat(vfs.flush(PATIENCE)).isTrue();
    }

    private void awaitCaughtUp(Compactor compactor, List<String> dbIds) {
        await().atMost(PATIENCE).untilAsserted(() -> {
            for (String dbId : dbIds) {
                CompactorStatus status = compactor.status().get(dbId);
                assertThat(status).as(dbId).isNotNull();
                assertThat(status.error()).as(dbId).isNull();
                assertThat(status.appliedLsn()).as(dbId).isEqualTo(writerLsn.get(dbId));
            }
        });
    }

    /**
     * Keeps writing, a few commits per look, until the catalog lists at least {@code count} restore points of the
     * database; returns the newest.
     */
    private RestorePoint awaitRestorePoints(Compactor compactor, String dbId, int count) {
        await().atMost(PATIENCE).pollInterval(Duration.ofMillis(300)).untilAsserted(() -> {
            assertThat(compactor.status().get(dbId).error()).as(dbId).isNull();
            int listed = verifiedCount(dbId);
            if (listed < count) {
                write(4);
            }
            assertThat(listed).as("restore points of %s", dbId).isGreaterThanOrEqualTo(count);
        });
        try (SnapshotReader reader = new SnapshotReader(broker.bootstrapServers(), topic)) {
            return reader.catalog(dbId).getLast().entry().getRestorePoints().getLast();
        }
    }

    /** Restore points of the database's newest catalog record. */
    private int verifiedCount(String dbId) {
        try (SnapshotReader reader = new SnapshotReader(broker.bootstrapServers(), topic)) {
            List<SnapshotReader.Listed> listed = reader.catalog(dbId);
            return listed.isEmpty() ? 0 : listed.getLast().entry().getRestorePoints().size();
        }
    }

    /**
     * Every restore point of every catalog record rebuilds exactly the writer's file at its LSN, and each record's
     * restore points are in LSN order (the codec refuses anything else) and extend the previous record's.
     */
    private void verifyCatalog(List<String> dbIds) {
        try (SnapshotReader reader = new SnapshotReader(broker.bootstrapServers(), topic)) {
            for (String dbId : dbIds) {
                List<SnapshotReader.Listed> listed = reader.catalog(dbId);
                assertThat(listed).as("seed %d: catalog of %s", seed, dbId).isNotEmpty();
                Map<String, Long> rebuilt = new HashMap<>();
                long newest = 0;
                for (SnapshotReader.Listed record : listed) {
                    List<RestorePoint> points = record.entry().getRestorePoints();
                    assertThat(points.getLast().getLsn()).as("seed %d: catalog of %s at %d", seed, dbId, record.offset())
                            .isGreaterThan(newest);
                    newest = points.getLast().getLsn();
                    for (RestorePoint point : points) {
                        if (rebuilt.putIfAbsent(point.getSnapshotId(), point.getLsn()) == null) {
                            String writer = images.get(dbId).get(point.getLsn());
                            assertThat(sha256(reader.rebuild(dbId, point)))
                                    .as("seed %d: %s at LSN %d from snapshot %s", seed, dbId, point.getLsn(), point.getSnapshotId())
                                    .isEqualTo(writer);
                        }
                    }
                }
                System.out.println("CompactorIT: " + dbId + ": " + listed.size() + " catalog records, " + rebuilt.size()
                        + " snapshots rebuilt at LSNs " + rebuilt.values().stream().sorted().toList());
            }
        }
    }

    /** A bit-flipped copy of nothing: random bytes keyed as the database's record, in its journal partition. */
    private long sendDamaged(String dbId, int partition) throws Exception {
        byte[] garbage = new byte[300];
        random.nextBytes(garbage);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                broker.bootstrapServers()), new ByteArraySerializer(), new ByteArraySerializer())) {
            RecordMetadata sent = producer.send(new ProducerRecord<>(topic, partition, dbId.getBytes(StandardCharsets.UTF_8),
                    garbage)).get();
            return sent.offset();
        }
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
