package io.pagestream.replica.internals;

import io.pagestream.schemas.RetriablePagestreamException;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

/** Reads ranges of one partition at a time with a group-less consumer, failing when Kafka stops making progress. */
public final class PartitionReader {
    /**
     * Short: a poll that fetches only records to skip (transaction markers, aborted data) returns nothing and waits its
     * whole timeout, while the position it reached may already be the end of the range.
     */
    private static final Duration POLL = Duration.ofMillis(5);

    private final Consumer<byte[], byte[]> consumer;
    private final Duration timeout;

    /** Handles one record; returns false to stop reading. */
    @FunctionalInterface
    public interface RecordHandler {
        boolean accept(ConsumerRecord<byte[], byte[]> record) throws IOException;
    }

    public PartitionReader(Consumer<byte[], byte[]> consumer, Duration timeout) {
        this.consumer = consumer;
        this.timeout = timeout;
    }

    /** The topic's partition count, 0 when the topic does not exist. */
    public int partitionCount(String topic) {
        List<PartitionInfo> partitions = consumer.partitionsFor(topic, timeout);
        return partitions == null ? 0 : partitions.size();
    }

    /** The offset after the last committed record (read_committed: the last stable offset). */
    public long endOffset(TopicPartition partition) {
        return consumer.endOffsets(List.of(partition), timeout).get(partition);
    }

    public long beginningOffset(TopicPartition partition) {
        return consumer.beginningOffsets(List.of(partition), timeout).get(partition);
    }

    /** Hands every record from {@code from} up to {@code toExclusive} to the handler, until it returns false. */
    public void read(TopicPartition partition, long from, long toExclusive, RecordHandler handler) throws IOException {
        consumer.assign(List.of(partition));
        consumer.seek(partition, from);
        long lastPosition = -1;
        long lastProgress = System.nanoTime();
        while (consumer.position(partition, timeout) < toExclusive) {
            long position = consumer.position(partition, timeout);
            if (position != lastPosition) {
                lastPosition = position;
                lastProgress = System.nanoTime();
            } else if (System.nanoTime() - lastProgress > timeout.toNanos()) {
                throw new RetriablePagestreamException("reading " + partition + " made no progress at offset " + position
                        + " for " + timeout.toMillis() + " ms (reading up to offset " + toExclusive + ")");
            }
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(POLL)) {
                if (record.offset() >= toExclusive || !handler.accept(record)) {
                    return;
                }
            }
        }
    }

    /** Origin of a record in error messages: {@code topic-partition@offset}. */
    public static String origin(ConsumerRecord<?, ?> record) {
        return record.topic() + "-" + record.partition() + "@" + record.offset();
    }
}
