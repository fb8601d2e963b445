package io.pagestream.compactor;

import io.pagestream.schemas.JournalContract;
import io.pagestream.schemas.PagestreamConfigException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;

/**
 * Compactor configuration. Kafka Streams settings pass through under {@code streams.}, settings of the producer that
 * writes snapshot chunks under {@code producer.}.
 */
public final class CompactorConfig extends AbstractConfig {
    public static final String BOOTSTRAP_SERVERS_CONFIG = "bootstrap.servers";
    public static final String BOOTSTRAP_SERVERS_DOC = "Kafka brokers holding the journal (host:port,...).";

    public static final String JOURNAL_TOPIC_CONFIG = "journal.topic";
    public static final String JOURNAL_TOPIC_DOC = "Topic holding every database's journal; snapshots go to <topic>.snapshots,"
            + " restore points to <topic>.catalog.";

    public static final String APPLICATION_ID_CONFIG = "application.id";
    public static final String APPLICATION_ID_DOC = "Kafka Streams application id: instances sharing it split the journal's"
            + " partitions; it prefixes the consumer group and the internal topics.";

    public static final String STATE_DIR_CONFIG = "state.dir";
    public static final String STATE_DIR_DOC = "Directory of this instance's local state: the replica files the journal is"
            + " applied to (replicas/<partition>/), Kafka Streams' state (streams/) and snapshot copies being sent (copies/).";

    public static final String SNAPSHOT_JOURNAL_RATIO_CONFIG = "snapshot.journal.ratio";
    public static final String SNAPSHOT_JOURNAL_RATIO_DOC = "A database is snapshotted when the journal bytes it got since"
            + " its last snapshot exceed this fraction of its size.";

    public static final String SNAPSHOT_INTERVAL_MS_CONFIG = "snapshot.interval.ms";
    public static final String SNAPSHOT_INTERVAL_MS_DOC = "A database that changed is snapshotted at least this often.";

    public static final String SNAPSHOT_CHECK_INTERVAL_MS_CONFIG = "snapshot.check.interval.ms";
    public static final String SNAPSHOT_CHECK_INTERVAL_MS_DOC = "How often (wall clock) each task checks whether a snapshot"
            + " is due and sends the next part of the one under way.";

    public static final String SNAPSHOT_CHUNK_BYTES_CONFIG = "snapshot.chunk.bytes";
    public static final String SNAPSHOT_CHUNK_BYTES_DOC = "Page bytes per snapshot chunk record (at least one page). A chunk"
            + " record must fit the snapshots topic's max.message.bytes (a snapshots topic the compactor creates allows it"
            + " plus 64 KiB) and, with 64 KiB to spare, the snapshot producer's max.request.size (checked at start).";

    public static final String SNAPSHOT_BYTES_PER_PUNCTUATION_CONFIG = "snapshot.bytes.per.punctuation";
    public static final String SNAPSHOT_BYTES_PER_PUNCTUATION_DOC = "Snapshot bytes Kafka has not acknowledged yet, at most:"
            + " each check tops them up to this, so that a check stays well within Kafka Streams' transaction timeout and"
            + " poll interval and never waits for the producer; a large database is sent over many checks while the journal"
            + " keeps being applied in between.";

    public static final String RETENTION_MS_CONFIG = "retention.ms";
    public static final String RETENTION_MS_DOC = "Restore points older than this are dropped from the catalog and their"
            + " snapshot chunks tombstoned; a database's newest restore point is always kept. The journal is trimmed below"
            + " the oldest record a kept restore point (or a database without one yet) still needs.";

    public static final String RETENTION_CHECK_INTERVAL_MS_CONFIG = "retention.check.interval.ms";
    public static final String RETENTION_CHECK_INTERVAL_MS_DOC = "How often (wall clock) each task expires restore points"
            + " past retention and trims its journal partition. A trim uses what the partition needed at the previous"
            + " check, once that state is committed, so the journal is trimmed one interval behind.";

    public static final String RETENTION_PROTECTED_GROUPS_CONFIG = "retention.protected.groups";
    public static final String RETENTION_PROTECTED_GROUPS_DOC = "Consumer groups (e.g. replicas' pagestream-replica-<name>)"
            + " whose committed offsets the journal is never trimmed past; a listed group without a committed offset on a"
            + " partition keeps that partition from being trimmed at all.";

    public static final String STREAMS_PREFIX = "streams.";
    public static final String PRODUCER_PREFIX = "producer.";

    private static final ConfigDef CONFIG = new ConfigDef()
            .define(BOOTSTRAP_SERVERS_CONFIG, Type.LIST, ConfigDef.NO_DEFAULT_VALUE, Importance.HIGH, BOOTSTRAP_SERVERS_DOC)
            .define(JOURNAL_TOPIC_CONFIG, Type.STRING, JournalContract.DEFAULT_TOPIC, new ConfigDef.NonEmptyString(),
                    Importance.HIGH, JOURNAL_TOPIC_DOC)
            .define(APPLICATION_ID_CONFIG, Type.STRING, "pagestream-compactor", new ConfigDef.NonEmptyString(),
                    Importance.HIGH, APPLICATION_ID_DOC)
            .define(STATE_DIR_CONFIG, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new ConfigDef.NonEmptyString(),
                    Importance.HIGH, STATE_DIR_DOC)
            .define(SNAPSHOT_JOURNAL_RATIO_CONFIG, Type.DOUBLE, 0.5, Range.atLeast(0.0), Importance.MEDIUM,
                    SNAPSHOT_JOURNAL_RATIO_DOC)
            .define(SNAPSHOT_INTERVAL_MS_CONFIG, Type.LONG, 3_600_000L, Range.atLeast(1), Importance.MEDIUM,
                    SNAPSHOT_INTERVAL_MS_DOC)
            .define(SNAPSHOT_CHECK_INTERVAL_MS_CONFIG, Type.LONG, 200L, Range.atLeast(1), Importance.LOW,
                    SNAPSHOT_CHECK_INTERVAL_MS_DOC)
            .define(SNAPSHOT_CHUNK_BYTES_CONFIG, Type.INT, 512 * 1024, Range.atLeast(1), Importance.MEDIUM,
                    SNAPSHOT_CHUNK_BYTES_DOC)
            .define(SNAPSHOT_BYTES_PER_PUNCTUATION_CONFIG, Type.LONG, 64L << 20, Range.atLeast(1), Importance.LOW,
                    SNAPSHOT_BYTES_PER_PUNCTUATION_DOC)
            .define(RETENTION_MS_CONFIG, Type.LONG, 7 * 24 * 3_600_000L, Range.atLeast(0), Importance.MEDIUM,
                    RETENTION_MS_DOC)
            .define(RETENTION_CHECK_INTERVAL_MS_CONFIG, Type.LONG, 60_000L, Range.atLeast(1), Importance.LOW,
                    RETENTION_CHECK_INTERVAL_MS_DOC)
            .define(RETENTION_PROTECTED_GROUPS_CONFIG, Type.LIST, "", Importance.MEDIUM, RETENTION_PROTECTED_GROUPS_DOC);

    private CompactorConfig(Map<?, ?> originals) {
        super(CONFIG, originals, false);
    }

    /** Parses settings, turning Kafka's ConfigException into Pagestream's config error. */
    public static CompactorConfig of(Map<?, ?> originals) {
        try {
            return new CompactorConfig(originals);
        } catch (ConfigException e) {
            throw new PagestreamConfigException("invalid compactor configuration: " + e.getMessage());
        }
    }

    /** The configuration's documentation. */
    public static ConfigDef definition() {
        return CONFIG;
    }

    public String journalTopic() {
        return getString(JOURNAL_TOPIC_CONFIG);
    }

    public String applicationId() {
        return getString(APPLICATION_ID_CONFIG);
    }

    public Path stateDir() {
        return Path.of(getString(STATE_DIR_CONFIG)).toAbsolutePath();
    }

    public double journalRatio() {
        return getDouble(SNAPSHOT_JOURNAL_RATIO_CONFIG);
    }

    public Duration snapshotInterval() {
        return Duration.ofMillis(getLong(SNAPSHOT_INTERVAL_MS_CONFIG));
    }

    public Duration checkInterval() {
        return Duration.ofMillis(getLong(SNAPSHOT_CHECK_INTERVAL_MS_CONFIG));
    }

    public int chunkBytes() {
        return getInt(SNAPSHOT_CHUNK_BYTES_CONFIG);
    }

    public long bytesPerPunctuation() {
        return getLong(SNAPSHOT_BYTES_PER_PUNCTUATION_CONFIG);
    }

    public Duration retention() {
        return Duration.ofMillis(getLong(RETENTION_MS_CONFIG));
    }

    public Duration retentionCheckInterval() {
        return Duration.ofMillis(getLong(RETENTION_CHECK_INTERVAL_MS_CONFIG));
    }

    public List<String> protectedGroups() {
        return getList(RETENTION_PROTECTED_GROUPS_CONFIG);
    }

    /** The settings under {@code streams.}, prefix removed. */
    public Map<String, Object> streamsOverrides() {
        return originalsWithPrefix(STREAMS_PREFIX);
    }

    /** The settings under {@code producer.}, prefix removed. */
    public Map<String, Object> producerOverrides() {
        return originalsWithPrefix(PRODUCER_PREFIX);
    }
}
