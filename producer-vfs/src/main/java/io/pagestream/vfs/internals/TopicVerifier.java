package io.pagestream.vfs.internals;

import io.pagestream.schemas.PagestreamConfigException;
import io.pagestream.schemas.RetriablePagestreamException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates the journal topic when missing and refuses settings that would lose journal data: only the compactor trims
 * the journal, below what its restore points still need; expiry by age or size, or compaction, would not know that.
 */
public final class TopicVerifier {
    private static final Logger log = LoggerFactory.getLogger(TopicVerifier.class);
    /** Room for key, headers and batch framing on top of a record value. */
    public static final int RECORD_OVERHEAD = 16 * 1024;

    private TopicVerifier() {}

    public static void ensure(Admin admin, String topic, int partitions, short replicationFactor, boolean create,
            int recordMaxBytes, long timeoutMs) {
        try {
            boolean exists = admin.listTopics().names().get(timeoutMs, TimeUnit.MILLISECONDS).contains(topic);
            if (!exists) {
                if (!create) {
                    throw new PagestreamConfigException("journal topic '" + topic + "' does not exist and journal.topic.create=false");
                }
                NewTopic newTopic = new NewTopic(topic, Optional.of(partitions),
                        replicationFactor < 0 ? Optional.empty() : Optional.of(replicationFactor))
                        .configs(Map.of(TopicConfig.RETENTION_MS_CONFIG, "-1",
                                TopicConfig.RETENTION_BYTES_CONFIG, "-1",
                                TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE));
                try {
                    admin.createTopics(List.of(newTopic)).all().get(timeoutMs, TimeUnit.MILLISECONDS);
                    log.info("pagestream: created journal topic {} ({} partitions, unlimited retention)", topic, partitions);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw e;
                    }
                }
            }
            Config config = describe(admin, topic, timeoutMs);
            List<String> problems = problems(config, recordMaxBytes);
            if (!problems.isEmpty()) {
                throw new PagestreamConfigException("journal topic '" + topic + "' would lose data: " + String.join("; ", problems)
                        + ". Only the compactor trims the journal, below what its restore points still need.");
            }
        } catch (ExecutionException e) {
            throw new RetriablePagestreamException("cannot check journal topic '" + topic + "': " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new RetriablePagestreamException("cannot reach Kafka within " + timeoutMs + " ms to check journal topic '"
                    + topic + "'", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RetriablePagestreamException("interrupted while checking journal topic '" + topic + "'", e);
        }
    }

    /**
     * A topic just created is known to the controller before every broker's metadata has it, so describing it
     * may briefly answer "unknown topic": ask again until the deadline.
     */
    private static Config describe(Admin admin, String topic, long timeoutMs)
            throws ExecutionException, InterruptedException, TimeoutException {
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (true) {
            try {
                return admin.describeConfigs(Set.of(resource)).all().get(timeoutMs, TimeUnit.MILLISECONDS).get(resource);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
                    throw e;
                }
                if (System.nanoTime() > deadline) {
                    throw new PagestreamConfigException("journal topic '" + topic + "' is not visible to the broker within "
                            + timeoutMs + " ms of start-up (deleted meanwhile?)");
                }
                Thread.sleep(50);
            }
        }
    }

    static List<String> problems(Config config, int recordMaxBytes) {
        List<String> problems = new ArrayList<>();
        String cleanup = value(config, TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE);
        if (cleanup.contains(TopicConfig.CLEANUP_POLICY_COMPACT)) {
            problems.add("cleanup.policy=" + cleanup + " would keep only the newest entry per database (set cleanup.policy=delete)");
        }
        String retentionMs = value(config, TopicConfig.RETENTION_MS_CONFIG, "-1");
        if (Long.parseLong(retentionMs) >= 0) {
            problems.add("retention.ms=" + retentionMs + " deletes entries by age (set retention.ms=-1)");
        }
        String retentionBytes = value(config, TopicConfig.RETENTION_BYTES_CONFIG, "-1");
        if (Long.parseLong(retentionBytes) >= 0) {
            problems.add("retention.bytes=" + retentionBytes + " deletes entries by size (set retention.bytes=-1)");
        }
        String maxMessage = value(config, TopicConfig.MAX_MESSAGE_BYTES_CONFIG, "1048588");
        if (Long.parseLong(maxMessage) < (long) recordMaxBytes + RECORD_OVERHEAD) {
            problems.add("max.message.bytes=" + maxMessage + " is below record.max.bytes " + recordMaxBytes + " + "
                    + RECORD_OVERHEAD + " bytes of framing (lower record.max.bytes)");
        }
        return problems;
    }

    private static String value(Config config, String name, String fallback) {
        var entry = config.get(name);
        return entry == null || entry.value() == null ? fallback : entry.value();
    }
}
