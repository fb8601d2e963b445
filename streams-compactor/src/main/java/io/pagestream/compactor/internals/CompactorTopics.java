package io.pagestream.compactor.internals;

import io.pagestream.schemas.PagestreamException;
import io.pagestream.schemas.RetriablePagestreamException;
import io.pagestream.schemas.SnapshotContract;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Creates the snapshots and catalog topics of a journal when they are missing (compacted; the catalog in one partition). */
public final class CompactorTopics {
    private static final Logger log = LoggerFactory.getLogger(CompactorTopics.class);

    private CompactorTopics() {}

    /** Room a chunk record needs beyond its page bytes (key, Avro fields, record and batch headers). */
    public static final int CHUNK_OVERHEAD_BYTES = 64 * 1024;

    /**
     * @param chunkBytes page bytes per chunk: a new snapshots topic accepts records this large plus the overhead
     * @return the number of partitions of the snapshots topic
     * @throws RetriablePagestreamException when the journal topic does not exist (yet)
     */
    public static int ensure(Admin admin, String journal, int chunkBytes, Duration timeout) {
        int journalPartitions = partitions(admin, journal, timeout).orElseThrow(() -> new RetriablePagestreamException(
                "journal topic " + journal + " does not exist: the compactor starts once a writer created it"));
        Map<String, String> compacted = Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT);
        Map<String, String> snapshots = Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
                TopicConfig.MAX_MESSAGE_BYTES_CONFIG, String.valueOf(chunkBytes + CHUNK_OVERHEAD_BYTES));
        create(admin, new NewTopic(SnapshotContract.snapshotsTopic(journal), Optional.of(journalPartitions), Optional.empty())
                .configs(snapshots), timeout);
        create(admin, new NewTopic(SnapshotContract.catalogTopic(journal), Optional.of(1), Optional.empty()).configs(compacted),
                timeout);
        return partitions(admin, SnapshotContract.snapshotsTopic(journal), timeout).orElseThrow();
    }

    private static void create(Admin admin, NewTopic topic, Duration timeout) {
        try {
            admin.createTopics(List.of(topic)).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            log.info("created topic {}: {} partition(s), {}", topic.name(), topic.numPartitions(), topic.configs());
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw new PagestreamException("cannot create topic " + topic.name() + ": " + e.getCause(), e.getCause());
            }
        } catch (TimeoutException e) {
            throw new RetriablePagestreamException("creating topic " + topic.name() + " timed out after " + timeout.toMillis() + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PagestreamException("interrupted while creating topic " + topic.name(), e);
        }
    }

    private static Optional<Integer> partitions(Admin admin, String topic, Duration timeout) {
        try {
            TopicDescription description = admin.describeTopics(List.of(topic)).allTopicNames()
                    .get(timeout.toMillis(), TimeUnit.MILLISECONDS).get(topic);
            return Optional.of(description.partitions().size());
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                return Optional.empty();
            }
            throw new PagestreamException("cannot describe topic " + topic + ": " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new RetriablePagestreamException("describing topic " + topic + " timed out after " + timeout.toMillis() + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PagestreamException("interrupted while describing topic " + topic, e);
        }
    }
}
