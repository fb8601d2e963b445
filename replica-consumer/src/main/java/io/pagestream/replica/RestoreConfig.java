package io.pagestream.replica;

import io.pagestream.schemas.JournalContract;
import io.pagestream.schemas.PagestreamConfigException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;

/** Restore configuration. Kafka consumer settings pass through under the {@code consumer.} prefix. */
public final class RestoreConfig extends AbstractConfig {
    public static final String READ_TIMEOUT_MS_CONFIG = "restore.read.timeout.ms";
    public static final String READ_TIMEOUT_MS_DOC = "How long reading the journal, catalog or snapshots topic may go"
            + " without progress before the restore fails.";

    private static final ConfigDef CONFIG = new ConfigDef()
            .define(ReplicaConfig.BOOTSTRAP_SERVERS_CONFIG, Type.LIST, ConfigDef.NO_DEFAULT_VALUE, Importance.HIGH,
                    ReplicaConfig.BOOTSTRAP_SERVERS_DOC)
            .define(ReplicaConfig.JOURNAL_TOPIC_CONFIG, Type.STRING, JournalContract.DEFAULT_TOPIC,
                    new ConfigDef.NonEmptyString(), Importance.HIGH, ReplicaConfig.JOURNAL_TOPIC_DOC
                            + " Snapshots and catalog are read from <journal.topic>.snapshots and <journal.topic>.catalog.")
            .define(READ_TIMEOUT_MS_CONFIG, Type.LONG, 30_000L, Range.atLeast(1), Importance.LOW, READ_TIMEOUT_MS_DOC);

    private RestoreConfig(Map<?, ?> originals) {
        super(CONFIG, originals, false);
    }

    /** Parses settings, turning Kafka's ConfigException into Pagestream's config error. */
    public static RestoreConfig of(Map<?, ?> originals) {
        try {
            return new RestoreConfig(originals);
        } catch (ConfigException e) {
            throw new PagestreamConfigException("invalid restore configuration: " + e.getMessage());
        }
    }

    /** The configuration's documentation. */
    public static ConfigDef definition() {
        return CONFIG;
    }

    public String topic() {
        return getString(ReplicaConfig.JOURNAL_TOPIC_CONFIG);
    }

    public Duration readTimeout() {
        return Duration.ofMillis(getLong(READ_TIMEOUT_MS_CONFIG));
    }

    /** Settings of the restore's consumer: group-less, read_committed, never committing, never creating topics. */
    public Map<String, Object> consumerSettings() {
        Map<String, Object> settings = new HashMap<>();
        settings.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, getList(ReplicaConfig.BOOTSTRAP_SERVERS_CONFIG));
        settings.put(ConsumerConfig.CLIENT_ID_CONFIG, "pagestream-restore");
        settings.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 8 << 20);
        settings.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 100);
        settings.putAll(originalsWithPrefix(ReplicaConfig.CONSUMER_PREFIX));
        settings.remove(ConsumerConfig.GROUP_ID_CONFIG);
        settings.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
        settings.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        settings.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        settings.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        // A chunk range or start offset already deleted from the log reads from the log's start, so it shows as missing.
        settings.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        return settings;
    }
}
