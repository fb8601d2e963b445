package io.pagestream.compactor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pagestream.broker.KafkaBrokerExtension;
import io.pagestream.replica.Restore;
import io.pagestream.replica.RestoreResult;
import io.pagestream.replica.RestoreTarget;
import io.pagestream.schemas.SnapshotContract;
import io.pagestream.schemas.avro.RestorePoint;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bounded retention against a real broker: with a retention of seconds, the compactor expires old restore points,
 * tombstones their chunks and trims the journal, yet every kept restore point still restores exactly the writer's file
 * at its LSN; a protected consumer group and a database without restore points hold trimming back; an instance without
 * replica files rebuilds from the snapshots of a trimmed journal. Replay with {@code -Dpagestream.seed=N}.
 */
class CompactorRetentionIT {
    @RegisterExtension
    static final KafkaBrokerExtension broker = new KafkaBrokerExtension();

    /** In journal partitions 0 and 1 of the writers' 2-partition topic. */
    private static final List<String> DATABASES = List.of("alpha.db", "beta.db");
    /** Like beta.db, in journal partition 1. */
    private static final String UNLISTED = "unlisted.db";
    private static final Duration PATIENCE = Duration.ofMinutes(3);

    @TempDir
    Path dir;

    private String topic;
    private long seed;
    private SeededWriters writers;

    @BeforeEach
    void startWriters(TestInfo test) throws Exception {
        String name = test.getTestMethod().orElseThrow().getName();
        seed = Long.getLong("pagestream.seed", System.currentTimeMillis());
        System.out.println("CompactorRetentionIT." + name + " seed=" + seed + " (replay with -Dpagestream.seed=" + seed + ")");
        topic = "retention-it-" + name;
        writers = new SeededWriters(broker.bootstrapServers(), topic, dir.resolve("writer"), DATABASES, seed);
    }

    @AfterEach
    void stopWriters() throws Exception {
        writers.close();
    }

    @Test
    void expiredRestorePointsAreTombstonedAndTheJournalTrimmedWhileEveryKeptOneStillRestores() throws Exception {
        Map<String, Object> settings = settings("trimmed");
        try (Compactor compactor = Compactor.start(settings)) {
            writers.write(20);
            await().atMost(PATIENCE).pollInterval(Duration.ofMillis(300)).untilAsserted(() -> {
                writers.write(4);
                for (String dbId : DATABASES) {
                    assertRunning(compactor, dbId);
                    assertThat(expired(dbId)).as("expired restore points of %s", dbId).isNotEmpty();
                    assertThat(beginning(partitionOf(dbId))).as("%s's partition trimmed past an expired restore point", dbId)
                            .isGreaterThan(expired(dbId).getFirst().getJournalOffset());
                    assertThat(restorePointsKept(dbId)).as("restore points of %s kept", dbId).isGreaterThanOrEqualTo(2);
                }
            });
        }
        verifyRetention();

        // The same application on a machine without its replica files: the journal's beginning is gone.
        writers.write(10);
        settings.put("state.dir", dir.resolve("other-instance").toString());
        try (Compactor compactor = Compactor.start(settings)) {
            await().atMost(PATIENCE).untilAsserted(() -> {
                for (String dbId : DATABASES) {
                    assertRunning(compactor, dbId);
                    assertThat(compactor.status().get(dbId).appliedLsn()).as(dbId).isEqualTo(writers.lsn(dbId));
                }
            });
            Map<String, Long> newest = new HashMap<>();
            DATABASES.forEach(dbId -> newest.put(dbId, newestKept(dbId).getLsn()));
            await().atMost(PATIENCE).pollInterval(Duration.ofMillis(300)).untilAsserted(() -> {
                writers.write(4);
                for (String dbId : DATABASES) {
                    assertRunning(compactor, dbId);
                    assertThat(newestKept(dbId).getLsn()).as("newest restore point of %s", dbId).isGreaterThan(newest.get(dbId));
                }
            });
        }
        verifyRetention();
    }

    @Test
    void aProtectedGroupAndADatabaseWithoutRestorePointsHoldTrimmingBack() throws Exception {
        writers.write(20);
        long unlistedOffset = sendUnreadable(UNLISTED, partitionOf(UNLISTED));
        writers.write(10);
        long protectedOffset = end(partitionOf("alpha.db"));
        Map<TopicPartition, OffsetAndMetadata> held = Map.of(
                new TopicPartition(topic, partitionOf("alpha.db")), new OffsetAndMetadata(protectedOffset),
                new TopicPartition(topic, partitionOf(UNLISTED)), new OffsetAndMetadata(end(partitionOf(UNLISTED))));
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
            admin.alterConsumerGroupOffsets("protected-replica", held).all().get();
        }
        Map<String, Object> settings = settings("held");
        settings.put("retention.protected.groups", "protected-replica");
        try (Compactor compactor = Compactor.start(settings)) {
            await().atMost(PATIENCE).pollInterval(Duration.ofMillis(300)).untilAsserted(() -> {
                writers.write(4);
                assertThat(compactor.status().get(UNLISTED)).as(UNLISTED).isNotNull();
                assertThat(compactor.status().get(UNLISTED).error()).as(UNLISTED + " halted, never snapshotted").isNotNull();
                for (String dbId : DATABASES) {
                    assertRunning(compactor, dbId);
                    assertThat(expired(dbId)).as("expired restore points of %s", dbId).isNotEmpty();
                    assertThat(firstKept(dbId).getJournalOffset()).as("%s's oldest kept restore point", dbId)
                            .isGreaterThan(Math.max(protectedOffset, unlistedOffset));
                }
                assertThat(beginning(partitionOf("alpha.db"))).as("held by the protected group").isEqualTo(protectedOffset);
                assertThat(beginning(partitionOf(UNLISTED))).as("held by " + UNLISTED).isEqualTo(unlistedOffset);
            });
            // More snapshots and checks go by; trimming stays where it is held.
            await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300))
                    .until(() -> {
                        writers.write(2);
                        return beginning(partitionOf("alpha.db")) == protectedOffset
                                && beginning(partitionOf(UNLISTED)) == unlistedOffset;
                    });
        }
        verifyRetention();
    }

    private static void assertRunning(Compactor compactor, String dbId) {
        CompactorStatus status = compactor.status().get(dbId);
        assertThat(status).as(dbId).isNotNull();
        assertThat(status.error()).as(dbId).isNull();
    }

    private Map<String, Object> settings(String name) {
        Map<String, Object> settings = new HashMap<>();
        settings.put("bootstrap.servers", broker.bootstrapServers());
        settings.put("journal.topic", topic);
        settings.put("application.id", "retention-it-" + name);
        settings.put("state.dir", dir.resolve("compactor").toString());
        settings.put("snapshot.journal.ratio", "0.2");
        settings.put("snapshot.check.interval.ms", "100");
        settings.put("snapshot.chunk.bytes", "8192");
        settings.put("snapshot.bytes.per.punctuation", "16384");
        settings.put("retention.ms", "10000");
        settings.put("retention.check.interval.ms", "500");
        return settings;
    }

    /**
     * After the compactor stopped: the journal was trimmed, but not below any kept restore point's next record; each
     * kept restore point restores the writer's file at its LSN, as does the newest entry; every chunk of every expired
     * snapshot has its tombstone.
     */
    private void verifyRetention() throws Exception {
        try (SnapshotReader reader = new SnapshotReader(broker.bootstrapServers(), topic);
                Restore restore = Restore.open(Map.of("bootstrap.servers", broker.bootstrapServers(), "journal.topic", topic))) {
            for (String dbId : DATABASES) {
                List<RestorePoint> kept = reader.catalog(dbId).getLast().entry().getRestorePoints();
                long beginning = beginning(partitionOf(dbId));
                assertThat(beginning).as("seed %d: %s's partition trimmed", seed, dbId).isPositive();
                for (RestorePoint point : kept) {
                    assertThat(point.getJournalOffset() + 1).as("seed %d: %s's snapshot %s", seed, dbId, point.getSnapshotId())
                            .isGreaterThanOrEqualTo(beginning);
                    assertRestores(restore, dbId, point.getLsn());
                }
                assertRestores(restore, dbId, writers.lsn(dbId));
                List<RestorePoint> expired = expired(dbId);
                for (RestorePoint point : expired) {
                    Set<String> tombstones = reader.tombstones(point.getSnapshotPartition());
                    for (int index = 0; index < point.getChunkCount(); index++) {
                        String key = new String(SnapshotContract.chunkKey(dbId, point.getSnapshotId(), index),
                                StandardCharsets.UTF_8);
                        assertThat(tombstones).as("seed %d: tombstone of expired chunk %s", seed, key).contains(key);
                    }
                }
                System.out.printf("{\"test\":\"CompactorRetentionIT\",\"db\":\"%s\",\"journalBeginning\":%d,\"journalEnd\":%d,"
                        + "\"restorePointsKept\":%d,\"restorePointsExpired\":%d,\"oldestKeptLsn\":%d,\"newestLsn\":%d}%n", dbId,
                        beginning, end(partitionOf(dbId)), kept.size(), expired.size(), kept.getFirst().getLsn(),
                        writers.lsn(dbId));
            }
        }
    }

    private void assertRestores(Restore restore, String dbId, long lsn) throws Exception {
        Path output = dir.resolve("restores").resolve(dbId + "-" + lsn);
        Files.createDirectories(output.getParent());
        RestoreResult result = restore.restore(dbId, RestoreTarget.lsn(lsn), output, true, progress -> { });
        assertThat(result.lsn()).isEqualTo(lsn);
        assertThat(SeededWriters.sha256(Files.readAllBytes(output))).as("seed %d: %s restored at LSN %d", seed, dbId, lsn)
                .isEqualTo(writers.image(dbId, lsn));
        Files.delete(output);
    }

    /** Restore points some catalog record of the database named that its newest record no longer names. */
    private List<RestorePoint> expired(String dbId) {
        try (SnapshotReader reader = new SnapshotReader(broker.bootstrapServers(), topic)) {
            List<SnapshotReader.Listed> listed = reader.catalog(dbId);
            if (listed.isEmpty()) {
                return List.of();
            }
            Set<String> kept = listed.getLast().entry().getRestorePoints().stream().map(RestorePoint::getSnapshotId)
                    .collect(Collectors.toSet());
            Map<String, RestorePoint> named = new LinkedHashMap<>();
            listed.forEach(record -> record.entry().getRestorePoints().forEach(p -> named.putIfAbsent(p.getSnapshotId(), p)));
            return named.values().stream().filter(point -> !kept.contains(point.getSnapshotId())).toList();
        }
    }

    private int restorePointsKept(String dbId) {
        try (SnapshotReader reader = new SnapshotReader(broker.bootstrapServers(), topic)) {
            return reader.restorePoints(dbId);
        }
    }

    private RestorePoint firstKept(String dbId) {
        try (SnapshotReader reader = new SnapshotReader(broker.bootstrapServers(), topic)) {
            return reader.catalog(dbId).getLast().entry().getRestorePoints().getFirst();
        }
    }

    private RestorePoint newestKept(String dbId) {
        try (SnapshotReader reader = new SnapshotReader(broker.bootstrapServers(), topic)) {
            return reader.catalog(dbId).getLast().entry().getRestorePoints().getLast();
        }
    }

    private static int partitionOf(String dbId) {
        return Utils.toPositive(Utils.murmur2(dbId.getBytes(StandardCharsets.UTF_8))) % 2;
    }

    private long beginning(int partition) {
        try (KafkaConsumer<byte[], byte[]> consumer = consumer()) {
            TopicPartition journalPartition = new TopicPartition(topic, partition);
            return consumer.beginningOffsets(List.of(journalPartition)).get(journalPartition);
        }
    }

    private long end(int partition) {
        try (KafkaConsumer<byte[], byte[]> consumer = consumer()) {
            TopicPartition journalPartition = new TopicPartition(topic, partition);
            return consumer.endOffsets(List.of(journalPartition)).get(journalPartition);
        }
    }

    private KafkaConsumer<byte[], byte[]> consumer() {
        return new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** Bytes keyed as a database's record that are no journal record: the compactor halts that database at once. */
    private long sendUnreadable(String dbId, int partition) throws Exception {
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                broker.bootstrapServers()), new ByteArraySerializer(), new ByteArraySerializer())) {
            return producer.send(new ProducerRecord<>(topic, partition, dbId.getBytes(StandardCharsets.UTF_8),
                    "not a journal record".getBytes(StandardCharsets.UTF_8))).get().offset();
        }
    }
}
