package io.pagestream.replica.internals;

import io.pagestream.replica.ReplicaPosition;
import io.pagestream.schemas.JournalContract;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a replica service starts reading each partition: right after the recorded position of every replica
 * it already has, and at the newest base entry of every database it does not have yet. Finding base entries
 * reads the partitions' record headers once (a base entry's pre-checksum header is 0).
 */
public final class StartOffsets {
    private static final Logger log = LoggerFactory.getLogger(StartOffsets.class);
    private static final String EMPTY_CHECKSUM = JournalContract.hex(JournalContract.EMPTY_CHECKSUM);

    private StartOffsets() {}

    /**
     * @param existing positions of the replicas already present
     * @param wantsBase databases whose newest base entry to look for; none skips the header scan
     */
    public static Map<TopicPartition, Long> compute(Consumer<byte[], byte[]> consumer, Collection<TopicPartition> partitions,
            Map<String, ReplicaPosition> existing, Predicate<String> wantsBase, boolean scanForBases, Duration timeout) {
        Map<TopicPartition, Long> ends = consumer.endOffsets(partitions, timeout);
        Map<TopicPartition, Long> start = new HashMap<>();
        for (ReplicaPosition position : existing.values()) {
            for (TopicPartition partition : partitions) {
                if (partition.partition() == position.partition()) {
                    start.merge(partition, position.offset() + 1, Math::min);
                }
            }
        }
        if (scanForBases) {
            newestBases(consumer, partitions, ends, wantsBase).forEach((partition, offset) -> start.merge(partition, offset, Math::min));
        }
        for (TopicPartition partition : partitions) {
            start.putIfAbsent(partition, ends.get(partition));
        }
        return start;
    }

    /** Per partition, the lowest offset among the newest base entries of the databases wanted. */
    private static Map<TopicPartition, Long> newestBases(Consumer<byte[], byte[]> consumer,
            Collection<TopicPartition> partitions, Map<TopicPartition, Long> ends, Predicate<String> wanted) {
        consumer.seekToBeginning(partitions);
        Map<String, ConsumerRecord<?, ?>> newestBase = new HashMap<>();
        Map<String, Long> newestBaseLsn = new HashMap<>();
        Map<String, Long> firstFragmentOffset = new HashMap<>();
        Map<String, Long> baseOffset = new HashMap<>();
        long scanned = 0;
        while (partitions.stream().anyMatch(p -> consumer.position(p) < ends.get(p))) {
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                scanned++;
                if (record.key() == null) {
                    continue;
                }
                String dbId = new String(record.key(), StandardCharsets.UTF_8);
                if (!wanted.test(dbId)) {
                    continue;
                }
                String fragment = header(record, JournalContract.HEADER_FRAGMENT);
                if (fragment != null && fragment.startsWith("0/")) {
                    firstFragmentOffset.put(dbId, record.offset());
                }
                long lsn = lsn(record);
                // Newest by LSN, first copy of it: a base entry re-delivered later is a duplicate, not a newer start.
                if (EMPTY_CHECKSUM.equals(header(record, JournalContract.HEADER_PRE_CHECKSUM))
                        && lsn > newestBaseLsn.getOrDefault(dbId, 0L)) {
                    long offset = fragment == null ? record.offset() : firstFragmentOffset.getOrDefault(dbId, record.offset());
                    newestBase.put(dbId, record);
                    newestBaseLsn.put(dbId, lsn);
                    baseOffset.put(dbId, offset);
                }
            }
        }
        Map<TopicPartition, Long> start = new HashMap<>();
        newestBase.forEach((dbId, record) -> start.merge(new TopicPartition(record.topic(), record.partition()),
                baseOffset.get(dbId), Math::min));
        log.info("scanned {} journal records: newest base entries of {} database(s) found", scanned, newestBase.size());
        return start;
    }

    private static long lsn(ConsumerRecord<?, ?> record) {
        try {
            String lsn = header(record, JournalContract.HEADER_LSN);
            return lsn == null ? 0 : Long.parseLong(lsn);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static String header(ConsumerRecord<?, ?> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null ? null : new String(header.value(), StandardCharsets.US_ASCII);
    }
}
