package io.pagestream.compactor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pagestream.broker.KafkaBrokerExtension;
import io.pagestream.schemas.avro.RestorePoint;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
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
    private SeededWriters writers;

    @BeforeEach
    void startWriters(TestInfo test) throws Exception {
        String name = test.getTestMethod().orElseThrow().getName();
        seed = Long.getLong("pagestream.seed", System.currentTimeMillis());
        System.out.println("CompactorIT." + name + " seed=" + seed + " (replay with -Dpagestream.seed=" + seed + ")");
        topic = "compactor-it-" + name;
        writers = new SeededWriters(broker.bootstrapServers(), topic, dir.resolve("writer"), DATABASES, seed);
    }

    @AfterEach
    void stopWriters() throws Exception {
        writers.close();
    }

    @Test
    void everyRestorePointRebuildsTheWritersFileAtItsLsn() throws Exception {
        try (Compactor compactor = Compactor.start(settings("everything"))) {
            writers.write(80);
            awaitCaughtUp(compactor, DATABASES);
            awaitRestorePoints(compactor, "alpha.db", 4);
            awaitRestorePoints(compactor, "beta.db", 4);
        }
        verifyCatalog();
    }

    @Test
    void aDamagedRecordHaltsItsDatabaseWhileTheOtherKeepsGettingSnapshots() throws Exception {
        try (Compactor compactor = Compactor.start(settings("damaged"))) {
            writers.write(20);
            awaitCaughtUp(compactor, DATABASES);
            RestorePoint alpha = awaitRestorePoints(compactor, "alpha.db", 1);
            long lastBeforeDamage = writers.lsn("alpha.db");
            long damagedOffset = sendDamaged("alpha.db", alpha.getJournalPartition());
            writers.write(40);
            await().atMost(PATIENCE).untilAsserted(() -> assertThat(compactor.status().get("alpha.db").error())
                    .as("alpha.db halted").isNotNull());
            assertThat(compactor.status().get("alpha.db").error().getMessage())
                    .contains("alpha.db").contains(topic + "-" + alpha.getJournalPartition() + "@" + damagedOffset);
            int betaPoints = restorePoints("beta.db");
            awaitRestorePoints(compactor, "beta.db", betaPoints + 2);
            assertThat(compactor.status().get("alpha.db").error()).isNotNull();
            // A snapshot under way when the damaged record came may still be listed; nothing after the record is.
            assertThat(compactor.status().get("alpha.db").newestRestorePoint().getLsn()).isBetween(alpha.getLsn(),
                    lastBeforeDamage);
        }
        verifyCatalog();
    }

    @Test
    void aRestartedCompactorResumesFromItsReplicaFilesAndKeepsSnapshotting() throws Exception {
        Map<String, Object> settings = settings("restarted");
        Map<String, Integer> before = new HashMap<>();
        try (Compactor compactor = Compactor.start(settings)) {
            writers.write(40);
            awaitCaughtUp(compactor, DATABASES);
            for (String dbId : DATABASES) {
                awaitRestorePoints(compactor, dbId, 2);
            }
        }
        for (String dbId : DATABASES) {
            before.put(dbId, restorePoints(dbId));
        }
        writers.write(30);
        try (Compactor compactor = Compactor.start(settings)) {
            writers.write(30);
            awaitCaughtUp(compactor, DATABASES);
            for (String dbId : DATABASES) {
                awaitRestorePoints(compactor, dbId, before.get(dbId) + 1);
                assertThat(compactor.status().get(dbId).error()).isNull();
            }
        }
        verifyCatalog();
    }

    @Test
    void anInstanceWithoutReplicaFilesTakesOverFromTheCommittedOffsets() throws Exception {
        Map<String, Object> settings = settings("moved");
        Map<String, Integer> before = new HashMap<>();
        try (Compactor compactor = Compactor.start(settings)) {
            writers.write(30);
            awaitCaughtUp(compactor, DATABASES);
            for (String dbId : DATABASES) {
                awaitRestorePoints(compactor, dbId, 2);
            }
        }
        for (String dbId : DATABASES) {
            before.put(dbId, restorePoints(dbId));
        }
        writers.write(20);
        // The same application on another machine: its partitions' replica files are not there.
        settings.put("state.dir", dir.resolve("other-instance").toString());
        try (Compactor compactor = Compactor.start(settings)) {
            awaitCaughtUp(compactor, DATABASES);
            for (String dbId : DATABASES) {
                awaitRestorePoints(compactor, dbId, before.get(dbId) + 1);
            }
        }
        verifyCatalog();
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

    private void awaitCaughtUp(Compactor compactor, List<String> dbIds) {
        await().atMost(PATIENCE).untilAsserted(() -> {
            for (String dbId : dbIds) {
                CompactorStatus status = compactor.status().get(dbId);
                assertThat(status).as(dbId).isNotNull();
                assertThat(status.error()).as(dbId).isNull();
                assertThat(status.appliedLsn()).as(dbId).isEqualTo(writers.lsn(dbId));
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
            int listed = restorePoints(dbId);
            if (listed < count) {
                writers.write(4);
            }
            assertThat(listed).as("restore points of %s", dbId).isGreaterThanOrEqualTo(count);
        });
        try (SnapshotReader reader = new SnapshotReader(broker.bootstrapServers(), topic)) {
            return reader.catalog(dbId).getLast().entry().getRestorePoints().getLast();
        }
    }

    private int restorePoints(String dbId) {
        try (SnapshotReader reader = new SnapshotReader(broker.bootstrapServers(), topic)) {
            return reader.restorePoints(dbId);
        }
    }

    private void verifyCatalog() {
        try (SnapshotReader reader = new SnapshotReader(broker.bootstrapServers(), topic)) {
            for (String dbId : DATABASES) {
                System.out.println("CompactorIT: " + dbId + ": snapshots rebuilt at LSNs " + reader.verifyCatalog(dbId, writers, seed));
            }
        }
    }

    /** Random bytes keyed as the database's record, in its journal partition: not a journal record at all. */
    private long sendDamaged(String dbId, int partition) throws Exception {
        byte[] garbage = new byte[300];
        for (int i = 0; i < garbage.length; i++) {
            garbage[i] = (byte) writers.nextInt(256);
        }
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                broker.bootstrapServers()), new ByteArraySerializer(), new ByteArraySerializer())) {
            return producer.send(new ProducerRecord<>(topic, partition, dbId.getBytes(StandardCharsets.UTF_8), garbage)).get()
                    .offset();
        }
    }
}
