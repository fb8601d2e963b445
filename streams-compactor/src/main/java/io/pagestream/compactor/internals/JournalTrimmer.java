package io.pagestream.compactor.internals;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes journal records below a partition's floor with Admin {@code deleteRecords}, on a thread of its own so that
 * a stream thread never waits for Kafka; the floor is first held back to the committed offsets of the compactor's own
 * consumer group and of the protected groups. One request per partition at a time; a failed one is retried at the
 * partition's next check.
 */
public final class JournalTrimmer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(JournalTrimmer.class);

    private final Admin admin;
    private final String journal;
    private final List<String> groups;
    private final Duration timeout;
    private final ExecutorService executor;
    private final Set<Integer> underWay = ConcurrentHashMap.newKeySet();
    /** The low watermark each partition was last trimmed to, so that only an advance is logged. */
    private final Map<Integer, Long> trimmedBelow = new ConcurrentHashMap<>();

    /** @param groups consumer groups whose committed offsets hold trimming back: the compactor's own first */
    public JournalTrimmer(Admin admin, String journal, List<String> groups, Duration timeout) {
        this.admin = admin;
        this.journal = journal;
        this.groups = List.copyOf(groups);
        this.timeout = timeout;
        this.executor = Executors.newSingleThreadExecutor(Thread.ofPlatform().name("pagestream-journal-trimmer").daemon()
                .factory());
    }

    /** Trims the partition below the floor, held back to the groups' offsets, unless a trim of it is still under way. */
    void trim(int partition, JournalFloor floor) {
        if (!underWay.add(partition)) {
            return;
        }
        executor.execute(() -> {
            try {
                trimNow(new TopicPartition(journal, partition), floor);
            } catch (ExecutionException e) {
                log.warn("journal {}-{}: not trimmed this time: {}", journal, partition, e.getCause().toString());
            } catch (TimeoutException e) {
                log.warn("journal {}-{}: not trimmed this time: Kafka did not answer within {} ms", journal, partition,
                        timeout.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (RuntimeException e) {
                log.warn("journal {}-{}: not trimmed this time: {}", journal, partition, e.toString());
            } finally {
                underWay.remove(partition);
            }
        });
    }

    private void trimNow(TopicPartition partition, JournalFloor floor)
            throws ExecutionException, InterruptedException, TimeoutException {
        Map<String, ListConsumerGroupOffsetsSpec> specs = new LinkedHashMap<>();
        groups.forEach(group -> specs.put(group, new ListConsumerGroupOffsetsSpec().topicPartitions(List.of(partition))));
        Map<String, Map<TopicPartition, OffsetAndMetadata>> offsets = admin.listConsumerGroupOffsets(specs).all()
                .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        Map<String, OptionalLong> committed = new LinkedHashMap<>();
        for (String group : groups) {
            OffsetAndMetadata offset = offsets.getOrDefault(group, Map.of()).get(partition);
            committed.put(group, offset == null ? OptionalLong.empty() : OptionalLong.of(offset.offset()));
        }
        JournalFloor held = floor.heldBy(committed);
        if (held.offset() <= 0) {
            log.debug("journal {}: not trimmed, held at offset 0 by {}", partition, held.heldBy());
            return;
        }
        long lowWatermark = admin.deleteRecords(Map.of(partition, RecordsToDelete.beforeOffset(held.offset())))
                .lowWatermarks().get(partition).get(timeout.toMillis(), TimeUnit.MILLISECONDS).lowWatermark();
        Long before = trimmedBelow.put(partition.partition(), lowWatermark);
        if (before == null || before < lowWatermark) {
            log.info("journal {}: records below offset {} deleted (needed from offset {} on, by {})", partition, lowWatermark,
                    held.offset(), held.heldBy());
        }
    }

    @Override
    public void close() {
        executor.shutdownNow();
        try {
            executor.awaitTermination(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
