package io.pagestream.replica;

import io.pagestream.schemas.JournalContract;
import io.pagestream.schemas.PagestreamConfigException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;

/** Replica configuration. Kafka consumer settings pass through under the {@code consumer.} prefix. */
public final class ReplicaConfig extends AbstractConfig {
    public static final String BOOTSTRAP_SERVERS_CONFIG = "bootstrap.servers";
    public static final String BOOTSTRAP_SERVERS_DOC = "Kafka brokers holding the journal (host:port,...).";

    public static final String JOURNAL_TOPIC_CONFIG = "journal.topic";
    public static final String JOURNAL_TOPIC_DOC = "Topic holding every database's journal; record key = db id.";

    public static final String REPLICA_DIR_CONFIG = "replica.dir";
    public static final String REPLICA_DIR_DOC = "Directory holding one replica file per database, named after its db id,"
            + " with its recorded position beside it (<file>-pagestream-replica).";

    public static final String REPLICA_DBS_CONFIG = "replica.dbs";
    public static final String REPLICA_DBS_DOC = "Database ids to replicate; empty for every database in the journal.";

    public static final String REPLICA_NAME_CONFIG = "replica.name";
    public static final String REPLICA_NAME_DOC = "Name of this replica; its consumer group is pagestream-replica-<name>"
            + " (committed offsets show its lag in kafka-consumer-groups). Empty: the replica directory's name.";

    public static final String BUSY_TIMEOUT_MS_CONFIG = "replica.busy.timeout.ms";
    public static final String BUSY_TIMEOUT_MS_DOC = "How long an apply waits for readers holding the database before it"
            + " logs a warning and waits again. Readers should set a busy_timeout too.";

    public static final String BATCH_MAX_PAGES_CONFIG = "replica.batch.max.pages";
    public static final String BATCH_MAX_PAGES_DOC = "Pages one atomic apply may stage in memory; a catching-up replica"
            + " applies many entries at once up to this.";

    public static final String STARTUP_TIMEOUT_MS_CONFIG = "startup.timeout.ms";
    public static final String STARTUP_TIMEOUT_MS_DOC = "How long start-up waits for Kafka and the journal topic.";

    public static final String CONSUMER_PREFIX = "consumer.";

    /** Consumer group of a replica named {@code name}. */
    public static String groupId(String name) {
        return "pagestream-replica-" + name;
    }

    private static final ConfigDef CONFIG = new ConfigDef()
            .define(BOOTSTRAP_SERVERS_CONFIG, Type.LIST, ConfigDef.NO_DEFAULT_VALUE, Importance.HIGH,
                    BOOTSTRAP_SERVERS_DOC)
            .define(JOURNAL_TOPIC_CONFIG, Type.STRING, JournalContract.DEFAULT_TOPIC, new ConfigDef.NonEmptyString(),
                    Importance.HIGH, JOURNAL_TOPIC_DOC)
            .define(REPLICA_DIR_CONFIG, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new ConfigDef.NonEmptyString(),
                    Importance.HIGH, REPLICA_DIR_DOC)
            .define(REPLICA_DBS_CONFIG, Type.LIST, "", Importance.HIGH, REPLICA_DBS_DOC)
            .define(REPLICA_NAME_CONFIG, Type.STRING, "", new ConfigDef.NonNullValidator(), Importance.MEDIUM,
                    REPLICA_NAME_DOC)
            .define(BUSY_TIMEOUT_MS_CONFIG, Type.LONG, 10_000L, Range.atLeast(1), Importance.LOW, BUSY_TIMEOUT_MS_DOC)
            .define(BATCH_MAX_PAGES_CONFIG, Type.INT, 16_384, Range.atLeast(1), Importance.LOW, BATCH_MAX_PAGES_DOC)
            .define(STARTUP_TIMEOUT_MS_CONFIG, Type.LONG, 30_000L, Range.atLeast(1), Importance.LOW,
                    STARTUP_TIMEOUT_MS_DOC);

    private ReplicaConfig(Map<?, ?> originals) {
        super(CONFIG, originals, false);
    }

    /** Parses settings, turning Kafka's ConfigException into Pagestream's config error. */
    public static ReplicaConfig of(Map<?, ?> originals) {
        try {
            return new ReplicaConfig(originals);
        } catch (ConfigException e) {
            throw new PagestreamConfigException("invalid replica configuration: " + e.getMessage());
        }
    }

    /** The configuration's documentation (the CLI prints it). */
    public static ConfigDef definition() {
        return CONFIG;
    }

    public String topic() {
        return getString(JOURNAL_TOPIC_CONFIG);
    }

    public Path directory() {
        return Path.of(getString(REPLICA_DIR_CONFIG)).toAbsolutePath();
    }

    public Set<String> databases() {
        return new LinkedHashSet<>(getList(REPLICA_DBS_CONFIG));
    }

    public String name() {
        String name = getString(REPLICA_NAME_CONFIG);
        return name.isEmpty() ? directory().getFileName().toString() : name;
    }

    public Duration busyTimeout() {
        return Duration.ofMillis(getLong(BUSY_TIMEOUT_MS_CONFIG));
    }

    public int batchMaxPages() {
        return getInt(BATCH_MAX_PAGES_CONFIG);
    }

    public Duration startupTimeout() {
        return Duration.ofMillis(getLong(STARTUP_TIMEOUT_MS_CONFIG));
    }

    /** The settings under {@code consumer.}, prefix removed. */
    public Map<String, Object> consumerOverrides() {
        return originalsWithPrefix(CONSUMER_PREFIX);
    }
}
