package io.pagestream.replica;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerInterceptor;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/** Records the lowest offset a consumer was handed per topic-partition, for tests that bound what a replica reads. */
public final class OffsetsReadInterceptor implements ConsumerInterceptor<byte[], byte[]> {
    /** Lowest offset handed out per partition, over every consumer configured with this interceptor. */
    public static final Map<TopicPartition, Long> LOWEST = new ConcurrentHashMap<>();

    @Override
    public ConsumerRecords<byte[], byte[]> onConsume(ConsumerRecords<byte[], byte[]> records) {
        for (ConsumerRecord<byte[], byte[]> record : records) {
            LOWEST.merge(new TopicPartition(record.topic(), record.partition()), record.offset(), Math::min);
        }
        return records;
    }

    @Override
    public void onCommit(Map<TopicPartition, OffsetAndMetadata> offsets) {}

    @Override
    public void close() {}

    @Override
    public void configure(Map<String, ?> configs) {}
}
