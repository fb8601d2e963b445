package io.pagestream.broker;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(value = 120, unit = TimeUnit.SECONDS)
class EmbeddedKafkaBrokerIT {

    private static final String TOPIC = "pages";

    @Test
    void transactionalProduceIsReadCommitted() throws Exception {
        Path dataDir;
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start()) {
            dataDir = broker.dataDir();
            assertThat(broker.bootstrapServers()).isEqualTo("127.0.0.1:" + broker.port());
            assertThat(dataDir.resolve("meta.properties")).exists();

            createTopic(broker, TOPIC);
            produceTransactionally(broker, "tx-1", List.of("a", "b", "c"));

            // Through a consumer group, so the offsets topic must work on one node as well.
            assertThat(consumeCommitted(broker, TOPIC, 3, "group-1")).containsExactly("a", "b", "c");

            broker.close();
            broker.close(); // idempotent
        }
        assertThat(dataDir).doesNotExist();
    }

    @Test
    void restartOnSameDataDirKeepsTopicsAndRecords(@TempDir Path dataDir) throws Exception {
        int port;
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(
                EmbeddedKafkaBroker.Options.defaults().withDataDir(dataDir))) {
            port = broker.port();
            createTopic(broker, TOPIC);
            produceTransactionally(broker, "tx-restart", List.of("before"));
        }
        assertThat(dataDir.resolve("meta.properties")).exists();
        String clusterId = readClusterId(dataDir);

        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(
                EmbeddedKafkaBroker.Options.defaults().withDataDir(dataDir).withPort(port))) {
            assertThat(broker.port()).isEqualTo(port);
            assertThat(broker.clusterId()).isEqualTo(clusterId);
            try (Admin admin = admin(broker)) {
                assertThat(admin.listTopics().names().get(10, TimeUnit.SECONDS)).contains(TOPIC);
            }
            // Same transactional id: the coordinator must have recovered its state too.
            produceTransactionally(broker, "tx-restart", List.of("after"));
            assertThat(consumeCommitted(broker, TOPIC, 2, null)).containsExactly("before", "after");
        }
        assertThat(dataDir).exists(); // caller-owned directory is never deleted
    }

    @Test
    void extraBrokerPropertiesOverrideDefaults() throws Exception {
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(
                EmbeddedKafkaBroker.Options.defaults().withBrokerProperty("num.partitions", "3")
                        .withBrokerProperty("auto.create.topics.enable", "true"))) {
            try (Admin admin = admin(broker)) {
                admin.createTopics(List.of(new NewTopic("three", Optional.empty(),
                        Optional.empty()))).all().get(10, TimeUnit.SECONDS);
                var description = admin.describeTopics(Set.of("three")).allTopicNames()
                        .get(10, TimeUnit.SECONDS).get("three");
                assertThat(description.partitions()).hasSize(3);
            }
        }
    }

    private static Admin admin(EmbeddedKafkaBroker broker) {
        return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()));
    }

    private static void createTopic(EmbeddedKafkaBroker broker, String topic) throws Exception {
        try (Admin admin = admin(broker)) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(10, TimeUnit.SECONDS);
        }
    }

    private static void produceTransactionally(EmbeddedKafkaBroker broker, String transactionalId,
                                               List<String> values) {
        Map<String, Object> config = Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId,
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.MAX_BLOCK_MS_CONFIG, 15_000);
        try (var producer = new KafkaProducer<>(config, new StringSerializer(), new StringSerializer())) {
            producer.initTransactions();
            producer.beginTransaction();
            for (String value : values) {
                producer.send(new ProducerRecord<>(TOPIC, "key", value));
            }
            producer.commitTransaction();
        }
    }

    private static List<String> consumeCommitted(EmbeddedKafkaBroker broker, String topic, int expected,
                                                 String groupId) {
        Map<String, Object> config = new HashMap<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false));
        if (groupId != null) {
            config.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        }
        List<String> values = new ArrayList<>();
        try (var consumer = new KafkaConsumer<>(config, new StringDeserializer(), new StringDeserializer())) {
            if (groupId != null) {
                consumer.subscribe(List.of(topic));
            } else {
                var partition = new TopicPartition(topic, 0);
                consumer.assign(List.of(partition));
                consumer.seekToBeginning(List.of(partition));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (values.size() < expected && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
                    values.add(record.value());
                }
            }
            if (groupId != null) {
                consumer.commitSync(Duration.ofSeconds(10));
            }
        }
        return values;
    }

    private static String readClusterId(Path dataDir) throws Exception {
        var props = new Properties();
        try (var in = Files.newInputStream(dataDir.resolve("meta.properties"))) {
            props.load(in);
        }
        return props.getProperty("cluster.id");
    }
}
