package io.pagestream.replica;

import static org.assertj.core.api.Assertions.assertThat;

import io.pagestream.broker.KafkaBrokerExtension;
import io.pagestream.replica.internals.SnapshotUpload;
import io.pagestream.schemas.SnapshotCodec;
import io.pagestream.schemas.SnapshotContract;
import io.pagestream.schemas.avro.CatalogEntry;
import io.pagestream.schemas.avro.JournalEntry;
import io.pagestream.schemas.avro.RestorePoint;
import io.pagestream.vfs.KafkaJournal;
import io.pagestream.vfs.PagestreamVfs;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
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
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The journal's retention against replicas: a new replica a snapshot starts reads no journal record before the
 * snapshot's; a replica the retention left behind starts over from a newer snapshot (its old file kept aside), or halts
 * naming its position and where the partition now begins when no snapshot continues from there. Replay with
 * {@code -Dpagestream.seed=N}.
 */
class TrimmedJournalIT {
    private static final String TOPIC = "trimmed-it";
    private static final String KEPT = "kept.db";
    private static final String LOST = "lost.db";

    @RegisterExtension
    static final KafkaBrokerExtension broker = new KafkaBrokerExtension();

    @TempDir
    Path dir;

    private final long seed = Long.getLong("pagestream.seed", System.currentTimeMillis());
    private final Map<String, Map<Long, String>> shaByLsn = new ConcurrentHashMap<>();
    private final Map<String, byte[]> latestImage = new ConcurrentHashMap<>();
    private final Map<String, Long> latestLsn = new ConcurrentHashMap<>();

    @Test
    void aReplicaLeftBehindByRetentionStartsOverFromANewerSnapshotOrHaltsSayingWhere() throws Exception {
        System.out.println("TrimmedJournalIT seed=" + seed + " (replay with -Dpagestream.seed=" + seed + ")");
        Random random = new Random(seed);
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
            Map<String, String> compact = Map.of("cleanup.policy", "compact");
            admin.createTopics(List.of(new NewTopic(TOPIC, 1, (short) 1).configs(Map.of("retention.ms", "-1")),
                    new NewTopic(SnapshotContract.snapshotsTopic(TOPIC), 1, (short) 1).configs(compact),
                    new NewTopic(SnapshotContract.catalogTopic(TOPIC), 1, (short) 1).configs(compact))).all().get();
        }
        Path writerDir = Files.createDirectories(dir.resolve("writer"));
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("bootstrap.servers", broker.bootstrapServers(),
                        "journal.topic", TOPIC, "vfs.name", "trimmed-it"))
                .commitObserver((dbId, lsn, image) -> {
                    byte[] bytes = image.readAll();
                    latestImage.put(dbId, bytes);
                    latestLsn.merge(dbId, lsn, Math::max);
                    shaByLsn.computeIfAbsent(dbId, id -> new ConcurrentHashMap<>()).put(lsn, sha256(bytes));
                })
                .install();
                Connection kept = DriverManager.getConnection(vfs.jdbcUrl(writerDir.resolve(KEPT)));
                Connection lost = DriverManager.getConnection(vfs.jdbcUrl(writerDir.resolve(LOST)));
                KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
                        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(), ProducerConfig.ACKS_CONFIG, "all"),
                        new ByteArraySerializer(), new ByteArraySerializer())) {
            for (Connection connection : List.of(kept, lost)) {
                try (Statement s = connection.createStatement()) {
                    s.execute("create table t(id integer primary key, payload blob)");
                }
            }
            commit(vfs, random, kept, lost);
            Path oldDir = dir.resolve("old");
            awaitReplica(settings(oldDir, "old"), KEPT, LOST);
            long oldKeptLsn = latestLsn.get(KEPT);
            long oldLostLsn = latestLsn.get(LOST);

            commit(vfs, random, kept, lost);
            RestorePoint point = snapshot(producer, KEPT);
            long firstKept = point.getJournalOffset() + 1;
            commit(vfs, random, kept, lost);

            // A new replica of kept.db, started from the snapshot, reads no journal record before it.
            OffsetsReadInterceptor.LOWEST.clear();
            Map<String, Object> fresh = new LinkedHashMap<>(settings(dir.resolve("fresh"), "fresh"));
            fresh.put("replica.dbs", KEPT);
            fresh.put("consumer.interceptor.classes", OffsetsReadInterceptor.class.getName());
            awaitReplica(fresh, KEPT);
            assertThat(OffsetsReadInterceptor.LOWEST.get(new TopicPartition(TOPIC, 0))).as("seed %d", seed)
                    .isNotNull().isGreaterThanOrEqualTo(firstKept);

            try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
                admin.deleteRecords(Map.of(new TopicPartition(TOPIC, 0), RecordsToDelete.beforeOffset(firstKept))).all().get();
            }
            commit(vfs, random, kept, lost);

            OffsetsReadInterceptor.LOWEST.clear();
            Map<String, Object> old = new LinkedHashMap<>(settings(oldDir, "old"));
            old.put("consumer.interceptor.classes", OffsetsReadInterceptor.class.getName());
            try (Replica replica = Replica.start(old)) {
                assertThat(replica.await(KEPT, latestLsn.get(KEPT), Duration.ofSeconds(60))).as("seed %d", seed).isTrue();
                ReplicaStatus status = replica.status().get(KEPT);
                assertThat(status.appliedEntries()).as("only the entries after the snapshot")
                        .isEqualTo(latestLsn.get(KEPT) - point.getLsn());
                assertThat(sha256(Files.readAllBytes(status.file()))).as("seed %d", seed)
                        .isEqualTo(shaByLsn.get(KEPT).get(latestLsn.get(KEPT)));
                Path aside = oldDir.resolve("." + KEPT + ".trimmed-at-lsn-" + oldKeptLsn);
                assertThat(sha256(Files.readAllBytes(aside))).isEqualTo(shaByLsn.get(KEPT).get(oldKeptLsn));

                ReplicaStatus halted = replica.status().get(LOST);
                assertThat(halted.halted()).isTrue();
                assertThat(halted.error().getMessage()).contains("replica of " + LOST + " at LSN " + oldLostLsn,
                        TOPIC + "-0 now begins at offset " + firstKept, "no usable snapshot");
                assertThat(halted.position().lsn()).isEqualTo(oldLostLsn);
                assertThat(sha256(Files.readAllBytes(halted.file()))).isEqualTo(shaByLsn.get(LOST).get(oldLostLsn));
            }
            assertThat(OffsetsReadInterceptor.LOWEST.get(new TopicPartition(TOPIC, 0))).isGreaterThanOrEqualTo(firstKept);
        }
    }

    /** A few single-row commits on each database, flushed to the journal. */
    private void commit(PagestreamVfs vfs, Random random, Connection... connections) throws Exception {
        for (Connection connection : connections) {
            try (Statement s = connection.createStatement()) {
                for (int i = 0; i < 5; i++) {
                    s.execute("insert into t(payload) values (randomblob(" + (100 + random.nextInt(3000)) + "))");
                }
            }
        }
        assertThat(vfs.flush(Duration.ofSeconds(60))).isTrue();
    }

    private void awaitReplica(Map<String, Object> settings, String... dbIds) throws Exception {
        try (Replica replica = Replica.start(settings)) {
            for (String dbId : dbIds) {
                assertThat(replica.await(dbId, latestLsn.get(dbId), Duration.ofSeconds(60))).as("seed %d: %s", seed, dbId)
                        .isTrue();
                assertThat(sha256(Files.readAllBytes(replica.status().get(dbId).file())))
                        .isEqualTo(shaByLsn.get(dbId).get(latestLsn.get(dbId)));
            }
        }
    }

    /** Uploads the database's file at its newest commit as a snapshot and lists it in the catalog. */
    private RestorePoint snapshot(KafkaProducer<byte[], byte[]> producer, String dbId) throws Exception {
        KafkaJournal.Entry at = KafkaJournal.entries(broker.bootstrapServers(), TOPIC).get(dbId).getLast();
        JournalEntry entry = at.entry();
        assertThat(entry.getLsn()).isEqualTo(latestLsn.get(dbId));
        Path copy = Files.write(dir.resolve("snapshot-copy"), latestImage.get(dbId));
        ReplicaPosition position = new ReplicaPosition(entry.getLsn(), entry.getPostChecksum(), entry.getPageSize(),
                entry.getPageCount(), at.partition(), at.offset(), entry.getCommitTimeMillis());
        RestorePoint point;
        try (SnapshotUpload upload = new SnapshotUpload(producer, SnapshotContract.snapshotsTopic(TOPIC), 0, dbId, copy,
                position, 16 * 1024)) {
            while (!upload.sendSome(1 << 20)) {
                producer.flush();
            }
            point = upload.complete(Duration.ofSeconds(30), System.currentTimeMillis());
        }
        producer.send(new ProducerRecord<>(SnapshotContract.catalogTopic(TOPIC), 0, dbId.getBytes(StandardCharsets.UTF_8),
                SnapshotCodec.encodeCatalog(new CatalogEntry(dbId, List.of(point), 0L)))).get();
        return point;
    }

    private Map<String, Object> settings(Path replicaDir, String name) {
        return Map.of("bootstrap.servers", broker.bootstrapServers(), "journal.topic", TOPIC, "replica.dir",
                replicaDir.toString(), "replica.name", name, "replica.dbs", KEPT + "," + LOST);
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
