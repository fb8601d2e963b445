package io.pagestream.compactor.internals;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/** Reads a range of a journal partition directly (read_committed, no consumer group), a poll's worth at a time. */
final class JournalReader {
    private static final Duration POLL = Duration.ofMillis(200);

    private final Map<String, Object> consumerSettings;

    /** @param consumerSettings bootstrap servers and client settings; read_committed, no group id */
    JournalReader(Map<String, Object> consumerSettings) {
        Map<String, Object> settings = new HashMap<>(consumerSettings);
        // Reading from offset 0 starts at the partition's first record, whatever retention deleted.
        settings.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        this.consumerSettings = Map.copyOf(settings);
    }

    /** Hands the records at offsets {@code from} (inclusive) to {@code to} (exclusive) over, in order. */
    void read(TopicPartition partition, long from, long to, Consumer<List<ConsumerRecord<byte[], byte[]>>> records) {
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerSettings, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            consumer.assign(List.of(partition));
            consumer.seek(partition, from);
            while (consumer.position(partition) < to) {
                ConsumerRecords<byte[], byte[]> polled = consumer.poll(POLL);
                List<ConsumerRecord<byte[], byte[]>> inRange = polled.records(partition).stream()
                        .filter(record -> record.offset() < to).toList();
                if (!inRange.isEmpty()) {
                    records.accept(inRange);
                }
            }
        }
    }
}
