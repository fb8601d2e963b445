package io.pagestream.vfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pagestream.broker.KafkaBrokerExtension;
import io.pagestream.schemas.PagestreamConfigException;
import io.pagestream.schemas.RetriablePagestreamException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The journal topic is created with unlimited retention, and settings that would lose entries are refused. */
class TopicSettingsIT {
    @RegisterExtension
    static final KafkaBrokerExtension broker = new KafkaBrokerExtension();

    private static Map<String, Object> settings(String topic) {
        return Map.of("bootstrap.servers", broker.bootstrapServers(), "journal.topic", topic, "journal.topic.partitions", "3");
    }

    @Test
    void missingTopicIsCreatedWithUnlimitedRetentionAndConfiguredPartitions() throws Exception {
        new KafkaJournalSink(PagestreamConfig.of(settings("created"))).close();
        try (Admin admin = admin()) {
            assertThat(admin.describeTopics(List.of("created")).allTopicNames().get().get("created").partitions()).hasSize(3);
            ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, "created");
            Config config = admin.describeConfigs(Set.of(resource)).all().get().get(resource);
            assertThat(config.get("retention.ms").value()).isEqualTo("-1");
            assertThat(config.get("retention.bytes").value()).isEqualTo("-1");
            assertThat(config.get("cleanup.policy").value()).isEqualTo("delete");
        }
    }

    @Test
    void topicWithTimeRetentionIsRefusedWithAClearError() throws Exception {
        createTopic("expiring", Map.of("retention.ms", "604800000"));
        assertThatThrownBy(() -> new KafkaJournalSink(PagestreamConfig.of(settings("expiring"))))
                .isInstanceOf(PagestreamConfigException.class)
                .hasMessageContaining("journal topic 'expiring' would lose data")
                .hasMessageContaining("retention.ms=604800000");
    }

    @Test
    void compactedTopicIsRefused() throws Exception {
        createTopic("compacted", Map.of("cleanup.policy", "compact"));
        assertThatThrownBy(() -> new KafkaJournalSink(PagestreamConfig.of(settings("compacted"))))
                .isInstanceOf(PagestreamConfigException.class)
                .hasMessageContaining("cleanup.policy=compact");
    }

    @Test
    void topicTooSmallForRecordsIsRefused() throws Exception {
        createTopic("small", Map.of("retention.ms", "-1", "max.message.bytes", "100000"));
        assertThatThrownBy(() -> new KafkaJournalSink(PagestreamConfig.of(settings("small"))))
                .isInstanceOf(PagestreamConfigException.class)
                .hasMessageContaining("max.message.bytes=100000");
    }

    @Test
    void unreachableBrokerIsARetriableErrorNamingTheTopic() {
        Map<String, Object> unreachable = Map.of("bootstrap.servers", "127.0.0.1:1", "startup.timeout.ms", "1500");
        assertThatThrownBy(() -> new KafkaJournalSink(PagestreamConfig.of(unreachable)))
                .isInstanceOf(RetriablePagestreamException.class)
                .hasMessageContaining("pagestream.journal");
    }

    @Test
    void lastPositionIsTheNewestEntryOfTheDatabaseInTheTopicTail() throws Exception {
        Map<String, Object> settings = Map.of("bootstrap.servers", broker.bootstrapServers(), "journal.topic", "positions",
                "journal.topic.partitions", "2", "record.max.bytes", "20000");
        KafkaJournalSink sink = new KafkaJournalSink(PagestreamConfig.of(settings));
        try {
            java.util.Random random = new java.util.Random(7);
            List<java.util.concurrent.CompletableFuture<Void>> sent = new java.util.ArrayList<>();
            for (int lsn = 1; lsn <= 700; lsn++) {
                for (String db : List.of("a.db", "b.db")) {
                    if (db.equals("b.db") && lsn > 300) {
                        continue; // b's newest entry lies far behind the tail: the scan widens its window
                    }
                    byte[] page = new byte[lsn % 100 == 0 ? 65536 : 512]; // some entries are fragmented
                    random.nextBytes(page);
                    var entry = io.pagestream.schemas.avro.JournalEntry.newBuilder().setDbId(db).setLsn(lsn).setBase(false)
                            .setPreChecksum(lsn - 1).setPostChecksum(lsn * 1000L + db.length()).setPageSize(page.length)
                            .setPageCount(1).setCommitTimeMillis(0)
                            .setDeltas(List.of(io.pagestream.schemas.PageDiff.fullPage(1, page))).build();
                    sent.add(sink.send(io.pagestream.schemas.JournalCodec.toRecords(entry, sink.maxRecordBytes())));
                }
            }
            java.util.concurrent.CompletableFuture.allOf(sent.toArray(java.util.concurrent.CompletableFuture[]::new)).get();
            assertThat(sink.lastPosition("a.db")).contains(new JournalPosition(700, 700_000L + 4));
            assertThat(sink.lastPosition("b.db")).contains(new JournalPosition(300, 300_000L + 4));
            assertThat(sink.lastPosition("c.db")).isEmpty();
        } finally {
            sink.close();
        }
    }

    @Test
    void aTransactionAnotherWriterLeftOpenIsNotTakenForTheEndOfTheJournalsBehindIt() throws Exception {
        Map<String, Object> settings = Map.of("bootstrap.servers", broker.bootstrapServers(), "journal.topic", "open-txn",
                "journal.topic.partitions", "1");
        KafkaJournalSink sink = new KafkaJournalSink(PagestreamConfig.of(settings));
        try (org.apache.kafka.clients.producer.KafkaProducer<byte[], byte[]> other = new org.apache.kafka.clients.producer.KafkaProducer<>(
                Map.of("bootstrap.servers", broker.bootstrapServers(), "transactional.id", "a-writer-that-dies"),
                new org.apache.kafka.common.serialization.ByteArraySerializer(),
                new org.apache.kafka.common.serialization.ByteArraySerializer())) {
            sendEntry(sink, "a.db", 1);
            sendEntry(sink, "a.db", 2);
            other.initTransactions();
            other.beginTransaction();
            other.send(new org.apache.kafka.clients.producer.ProducerRecord<>("open-txn", "b.db".getBytes(), new byte[10])).get();
            sendEntry(sink, "a.db", 3); // committed, but behind b.db's open transaction
            assertThatThrownBy(() -> sink.lastPosition("a.db")).isInstanceOf(JournalEndHiddenException.class)
                    .isInstanceOf(RetriablePagestreamException.class)
                    .hasMessageContaining("db a.db").hasMessageContaining("a transaction still open at offset 4")
                    .satisfies(e -> assertThat(((JournalEndHiddenException) e).ownTransaction()).as("not a.db's own").isFalse());
            other.abortTransaction();
            assertThat(sink.lastPosition("a.db")).contains(new JournalPosition(3, 3_000L));
        } finally {
            sink.close();
        }
        // A transaction of the database's own transactional id (a send that failed mid-transaction) is told apart.
        KafkaJournalSink again = new KafkaJournalSink(PagestreamConfig.of(settings));
        try (org.apache.kafka.clients.producer.KafkaProducer<byte[], byte[]> own = new org.apache.kafka.clients.producer.KafkaProducer<>(
                Map.of("bootstrap.servers", broker.bootstrapServers(), "transactional.id", "pagestream:open-txn:a.db"),
                new org.apache.kafka.common.serialization.ByteArraySerializer(),
                new org.apache.kafka.common.serialization.ByteArraySerializer())) {
            own.initTransactions();
            own.beginTransaction();
            own.send(new org.apache.kafka.clients.producer.ProducerRecord<>("open-txn", "a.db".getBytes(), new byte[10])).get();
            assertThatThrownBy(() -> again.lastPosition("a.db")).isInstanceOf(JournalEndHiddenException.class)
                    .hasMessageContaining("this writer's own unfinished transaction")
                    .satisfies(e -> assertThat(((JournalEndHiddenException) e).ownTransaction()).isTrue());
            again.claim("a.db"); // aborts it
            assertThat(again.lastPosition("a.db")).contains(new JournalPosition(3, 3_000L));
        } finally {
            again.close();
        }
    }

    private static void sendEntry(KafkaJournalSink sink, String db, long lsn) throws Exception {
        var entry = io.pagestream.schemas.avro.JournalEntry.newBuilder().setDbId(db).setLsn(lsn).setBase(false)
                .setPreChecksum((lsn - 1) * 1000L).setPostChecksum(lsn * 1000L).setPageSize(512).setPageCount(1)
                .setCommitTimeMillis(0).setDeltas(List.of(io.pagestream.schemas.PageDiff.fullPage(1, new byte[512]))).build();
        sink.send(io.pagestream.schemas.JournalCodec.toRecords(entry, sink.maxRecordBytes())).get();
    }

    private static void createTopic(String name, Map<String, String> configs) throws Exception {
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(name, Optional.of(1), Optional.empty()).configs(configs))).all().get();
        }
    }

    private static Admin admin() {
        return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()));
    }
}
