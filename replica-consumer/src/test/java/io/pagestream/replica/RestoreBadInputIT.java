package io.pagestream.replica;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pagestream.broker.KafkaBrokerExtension;
import io.pagestream.replica.internals.SnapshotUpload;
import io.pagestream.schemas.CorruptEntryException;
import io.pagestream.schemas.PagestreamException;
import io.pagestream.schemas.SnapshotCodec;
import io.pagestream.schemas.SnapshotContract;
import io.pagestream.schemas.avro.CatalogEntry;
import io.pagestream.schemas.avro.JournalEntry;
import io.pagestream.vfs.KafkaJournal;
import io.pagestream.schemas.avro.RestorePoint;
import io.pagestream.schemas.avro.SnapshotChunk;
import io.pagestream.vfs.PagestreamVfs;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Restores over bad input in a real broker: an unreadable journal record fails only the restores that must replay it,
 * naming its offset; a damaged chunk of the only snapshot that reaches the target (the journal trimmed below it) fails
 * the restore naming db, snapshot and chunk, and leaves no output.
 */
class RestoreBadInputIT {
    @RegisterExtension
    static final KafkaBrokerExtension broker = new KafkaBrokerExtension();

    @TempDir
    static Path dir;

    private static final Map<String, Map<Long, String>> shaByLsn = new ConcurrentHashMap<>();
    private static final Map<String, Map<Long, byte[]>> imageByLsn = new ConcurrentHashMap<>();
    private static KafkaProducer<byte[], byte[]> producer;

    /** A journal entry and the offset of its last record. */

    @BeforeAll
    static void startProducer() {
        producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                ProducerConfig.ACKS_CONFIG, "all"), new ByteArraySerializer(), new ByteArraySerializer());
    }

    @AfterAll
    static void stopProducer() {
        producer.close();
    }

    @Test
    void anUnreadableJournalRecordFailsOnlyRestoresThatReplayItNamingItsOffset() throws Exception {
        String topic = "restore-bad-record";
        String dbId = "x.db";
        write(topic, dbId, 5);
        long garbage = producer.send(new ProducerRecord<>(topic, 0, dbId.getBytes(StandardCharsets.UTF_8),
                "not an entry".getBytes(StandardCharsets.UTF_8))).get().offset();
        write(topic, dbId, 3);

        try (Restore restore = Restore.open(Map.of("bootstrap.servers", broker.bootstrapServers(), "journal.topic", topic))) {
            long last = restore.list(dbId).lastLsn();
            Path before = dir.resolve("before-garbage.db");
            restore.restore(dbId, RestoreTarget.lsn(last - 3), before, false, p -> {});
            assertThat(sha256(Files.readAllBytes(before))).isEqualTo(shaByLsn.get(dbId).get(last - 3));

            Path after = dir.resolve("after-garbage.db");
            assertThatThrownBy(() -> restore.restore(dbId, RestoreTarget.lsn(last), after, false, p -> {}))
                    .isInstanceOf(CorruptEntryException.class)
                    .hasMessageContaining(topic + "-0@" + garbage + " (db " + dbId + ")")
                    .hasMessageContaining("not a Pagestream journal record");
            assertThat(after).doesNotExist();
        }
        assertThat(Files.list(dir).map(Path::toString)).noneMatch(name -> name.endsWith(".restoring"));
    }

    @Test
    void aDamagedChunkOfTheOnlySnapshotReachingTheTargetFailsTheRestoreNamingIt() throws Exception {
        String topic = "restore-bad-chunk";
        String dbId = "y.db";
        write(topic, dbId, 10);
        List<KafkaJournal.Entry> journal = readJournal(topic);
        KafkaJournal.Entry at = journal.get(4);
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(SnapshotContract.snapshotsTopic(topic), 1, (short) 1),
                    new NewTopic(SnapshotContract.catalogTopic(topic), 1, (short) 1))).all().get();
            RestorePoint damaged = uploadDamaged(topic, dbId, at);
            producer.send(new ProducerRecord<>(SnapshotContract.catalogTopic(topic), 0, dbId.getBytes(StandardCharsets.UTF_8),
                    SnapshotCodec.encodeCatalog(new CatalogEntry(dbId, List.of(damaged), 0L)))).get();
            long target = journal.get(7).entry().getLsn();
            // While the journal holds its base entry, the restore falls back to it: read only now, from the beginning.
            Path fromBase = dir.resolve("from-base.db");
            try (Restore restore = Restore.open(Map.of("bootstrap.servers", broker.bootstrapServers(), "journal.topic", topic))) {
                RestoreResult result = restore.restore(dbId, RestoreTarget.lsn(target), fromBase, false, p -> {});
                assertThat(result.snapshotId()).isEmpty();
                assertThat(result.fallbacks()).singleElement().asString().contains("snapshot " + damaged.getSnapshotId(),
                        "is damaged", "falling back to the journal's base entry at LSN " + journal.getFirst().entry().getLsn());
            }
            assertThat(sha256(Files.readAllBytes(fromBase))).isEqualTo(shaByLsn.get(dbId).get(target));
            // The journal's base entry is gone: only the snapshot reaches later LSNs.
            admin.deleteRecords(Map.of(new TopicPartition(topic, 0), RecordsToDelete.beforeOffset(at.offset() + 1))).all().get();

            Path output = dir.resolve("no-fallback.db");
            try (Restore restore = Restore.open(Map.of("bootstrap.servers", broker.bootstrapServers(), "journal.topic", topic))) {
                assertThat(restore.list(dbId).firstLsn()).isEqualTo(at.entry().getLsn());
                assertThatThrownBy(() -> restore.restore(dbId, RestoreTarget.lsn(target), output, false, p -> {}))
                        .isInstanceOf(PagestreamException.class)
                        .hasMessageContaining("db " + dbId + ", snapshot " + damaged.getSnapshotId())
                        .hasMessageContaining("chunk 1 at " + SnapshotContract.snapshotsTopic(topic) + "-0@")
                        .hasMessageContaining("is damaged")
                        .hasMessageContaining("no older restore point or base entry in the journal reaches LSN " + target);
            }
            assertThat(output).doesNotExist();
        }
    }

    /** {@code commits} committed transactions on the database through the VFS, flushed to Kafka. */
    private static void write(String topic, String dbId, int commits) throws Exception {
        Path file = Files.createDirectories(dir.resolve("writer-" + topic)).resolve(dbId);
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("bootstrap.servers", broker.bootstrapServers(),
                        "journal.topic", topic, "vfs.name", topic))
                .commitObserver((id, lsn, image) -> {
                    byte[] bytes = image.readAll();
                    imageByLsn.computeIfAbsent(id, k -> new ConcurrentHashMap<>()).put(lsn, bytes);
                    shaByLsn.computeIfAbsent(id, k -> new ConcurrentHashMap<>()).put(lsn, sha256(bytes));
                })
                .install();
                Connection connection = DriverManager.getConnection(vfs.jdbcUrl(file));
                Statement s = connection.createStatement()) {
            s.execute("create table if not exists t(id integer primary key, body text)");
            for (int i = 1; i < commits; i++) {
                s.execute("insert into t(body) values ('" + "row ".repeat(300 * i) + "')");
            }
            assertThat(vfs.flush(Duration.ofSeconds(60))).isTrue();
        }
    }

    /** A snapshot of the entry's database whose chunk 1 has one page byte flipped, sent to the snapshots topic. */
    private static RestorePoint uploadDamaged(String topic, String dbId, KafkaJournal.Entry at) throws Exception {
        MockProducer<byte[], byte[]> captured = new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer());
        JournalEntry entry = at.entry();
        Path copy = Files.write(dir.resolve("copy-" + dbId), imageByLsn.get(dbId).get(entry.getLsn()));
        RestorePoint point;
        try (SnapshotUpload upload = new SnapshotUpload(captured, SnapshotContract.snapshotsTopic(topic), 0, dbId, copy,
                new ReplicaPosition(entry.getLsn(), entry.getPostChecksum(), entry.getPageSize(), entry.getPageCount(), 0,
                        at.offset(), entry.getCommitTimeMillis()), entry.getPageSize())) {
            upload.sendSome(Long.MAX_VALUE);
            point = upload.complete(Duration.ofSeconds(5), System.currentTimeMillis());
        }
        assertThat(point.getChunkCount()).isGreaterThan(1);
        List<Long> offsets = new ArrayList<>();
        for (ProducerRecord<byte[], byte[]> record : captured.history()) {
            byte[] value = record.value();
            SnapshotChunk chunk = SnapshotCodec.decodeChunk(value, "captured");
            if (chunk.getIndex() == 1) {
                byte[] pages = SnapshotCodec.bytes(chunk.getPages());
                pages[pages.length / 3] ^= 0x01;
                chunk.setPages(ByteBuffer.wrap(pages));
                value = SnapshotCodec.encodeChunk(chunk);
            }
            offsets.add(producer.send(new ProducerRecord<>(record.topic(), record.partition(), record.key(), value)).get().offset());
        }
        point.setFirstChunkOffset(offsets.getFirst());
        point.setLastChunkOffset(offsets.getLast());
        return point;
    }

    private static List<KafkaJournal.Entry> readJournal(String topic) {
        return KafkaJournal.entries(broker.bootstrapServers(), topic).values().stream().flatMap(List::stream).toList();
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
