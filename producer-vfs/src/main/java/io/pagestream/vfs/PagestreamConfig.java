package io.pagestream.vfs;

import io.pagestream.schemas.JournalContract;
import io.pagestream.schemas.PagestreamConfigException;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;

/** Writer configuration. Kafka producer settings pass through under the {@code producer.} prefix. */
public final class PagestreamConfig extends AbstractConfig {
    public static final String BOOTSTRAP_SERVERS_CONFIG = "bootstrap.servers";
    public static final String BOOTSTRAP_SERVERS_DOC = "Kafka brokers to publish the journal to (host:port,...).";

    public static final String JOURNAL_TOPIC_CONFIG = "journal.topic";
    public static final String JOURNAL_TOPIC_DOC = "Topic holding every database's journal; record key = db id.";

    public static final String JOURNAL_TOPIC_PARTITIONS_CONFIG = "journal.topic.partitions";
    public static final String JOURNAL_TOPIC_PARTITIONS_DOC = "Partitions when the journal topic is created.";

    public static final String JOURNAL_TOPIC_REPLICATION_FACTOR_CONFIG = "journal.topic.replication.factor";
    public static final String JOURNAL_TOPIC_REPLICATION_FACTOR_DOC =
            "Replication factor when the journal topic is created; -1 takes the broker default.";

    public static final String JOURNAL_TOPIC_CREATE_CONFIG = "journal.topic.create";
    public static final String JOURNAL_TOPIC_CREATE_DOC = "Create the journal topic at start-up when it is missing.";

    public static final String VFS_NAME_CONFIG = "vfs.name";
    public static final String VFS_NAME_DOC = "Name the VFS registers under: jdbc:sqlite:file:app.db?vfs=NAME.";

    public static final String RECORD_MAX_BYTES_CONFIG = "record.max.bytes";
    public static final String RECORD_MAX_BYTES_DOC = "Largest record value published; larger entries are split into"
            + " fragments. Must fit the topic's max.message.bytes and the producer's max.request.size.";

    public static final String STARTUP_TIMEOUT_MS_CONFIG = "startup.timeout.ms";
    public static final String STARTUP_TIMEOUT_MS_DOC = "How long installation waits for Kafka to check the journal topic,"
            + " and how long each Kafka call, and the scan of the journal's newest records as a whole, may take when a"
            + " database reads back where its journal ends (at its first write transaction, and after a failed publish).";

    public static final String COMMIT_MODE_CONFIG = "commit.mode";
    public static final String COMMIT_MODE_DOC = "'async': COMMIT returns once the entry is durable in the local outbox, and"
            + " publishing runs in the background. 'sync': COMMIT returns only once Kafka acknowledged the entry; when it"
            + " does not within commit.sync.timeout.ms, the transaction fails (SQLITE_IOERR) and rolls back. Per database"
            + " with the URI parameter pagestream_commit_mode=sync|async.";

    public static final String COMMIT_SYNC_TIMEOUT_MS_CONFIG = "commit.sync.timeout.ms";
    public static final String COMMIT_SYNC_TIMEOUT_MS_DOC = "How long a synchronous COMMIT waits for Kafka's acknowledgement.";

    /** {@link #COMMIT_MODE_CONFIG} values. */
    public enum CommitMode {
        ASYNC,
        SYNC
    }

    public static final String OUTBOX_MAX_BYTES_CONFIG = "outbox.max.bytes";
    public static final String OUTBOX_MAX_BYTES_DOC = "Entries committed locally but not yet acknowledged by Kafka that a"
            + " database's outbox may hold (they also wait in memory to be sent). When it is full, a commit waits or fails"
            + " as outbox.full.policy says; an entry larger than the bound is still taken when the outbox is empty.";

    public static final String OUTBOX_FULL_POLICY_CONFIG = "outbox.full.policy";
    public static final String OUTBOX_FULL_POLICY_DOC = "What a commit does when the outbox is full: 'block' waits up to"
            + " outbox.full.timeout.ms for Kafka to acknowledge entries, then fails; 'fail' fails at once. A failed commit"
            + " rolls back with SQLITE_FULL and the reason is logged; nothing committed is ever dropped.";

    public static final String OUTBOX_FULL_TIMEOUT_MS_CONFIG = "outbox.full.timeout.ms";
    public static final String OUTBOX_FULL_TIMEOUT_MS_DOC = "How long a commit waits for room in a full outbox under the"
            + " 'block' policy.";

    public static final String PUBLISH_INTERVAL_MS_CONFIG = "publish.interval.ms";
    public static final String PUBLISH_INTERVAL_MS_DOC = "Async commits: the shortest time between two Kafka transactions of"
            + " one database. An entry committed after a quiet spell is sent at once; under load, entries gather for up to"
            + " this long and go as one transaction. Each transaction costs the broker and the producer several requests"
            + " and log writes, which compete with the application when they share its CPUs: a longer interval makes"
            + " publishing cheaper, at the cost of that much more replication lag under load. Synchronous COMMITs never"
            + " wait for it.";

    public static final String CLOSE_TIMEOUT_MS_CONFIG = "close.timeout.ms";
    public static final String CLOSE_TIMEOUT_MS_DOC = "How long closing the VFS waits for Kafka to take the entries still"
            + " waiting; after it, publishing stops at the first failed attempt (or when nothing is left), and what is left"
            + " stays in the outbox and is published first at the next start. An attempt already in flight finishes first,"
            + " within the Kafka producer's own timeouts.";

    /** {@link #OUTBOX_FULL_POLICY_CONFIG} values. */
    public enum OutboxFullPolicy {
        BLOCK,
        FAIL
    }

    public static final String PRODUCER_PREFIX = "producer.";

    /** sqlite3 URI parameter setting a database's commit mode (sync or async), at its first open in the process. */
    public static final String COMMIT_MODE_URI_PARAMETER = "pagestream_commit_mode";

    /** sqlite3 URI parameter setting a database's id; the file name otherwise. */
    public static final String DB_ID_URI_PARAMETER = "pagestream_db_id";

    private static final ConfigDef CONFIG = new ConfigDef()
            .define(BOOTSTRAP_SERVERS_CONFIG, Type.LIST, "", Importance.HIGH, BOOTSTRAP_SERVERS_DOC)
            .define(JOURNAL_TOPIC_CONFIG, Type.STRING, JournalContract.DEFAULT_TOPIC, new ConfigDef.NonEmptyString(),
                    Importance.HIGH, JOURNAL_TOPIC_DOC)
            .define(JOURNAL_TOPIC_PARTITIONS_CONFIG, Type.INT, 1, Range.atLeast(1), Importance.MEDIUM,
                    JOURNAL_TOPIC_PARTITIONS_DOC)
            .define(JOURNAL_TOPIC_REPLICATION_FACTOR_CONFIG, Type.SHORT, (short) -1, Importance.MEDIUM,
                    JOURNAL_TOPIC_REPLICATION_FACTOR_DOC)
            .define(JOURNAL_TOPIC_CREATE_CONFIG, Type.BOOLEAN, true, Importance.LOW, JOURNAL_TOPIC_CREATE_DOC)
            .define(VFS_NAME_CONFIG, Type.STRING, "pagestream", new ConfigDef.NonEmptyStringWithoutControlChars(),
                    Importance.MEDIUM, VFS_NAME_DOC)
            .define(RECORD_MAX_BYTES_CONFIG, Type.INT, 1_000_000, Range.between(16 * 1024, 64 * 1024 * 1024),
                    Importance.LOW, RECORD_MAX_BYTES_DOC)
            .define(STARTUP_TIMEOUT_MS_CONFIG, Type.LONG, 30_000L, Range.between(1, Integer.MAX_VALUE), Importance.LOW,
                    STARTUP_TIMEOUT_MS_DOC)
            .define(COMMIT_MODE_CONFIG, Type.STRING, "async", ConfigDef.CaseInsensitiveValidString.in("async", "sync"),
                    Importance.HIGH, COMMIT_MODE_DOC)
            .define(COMMIT_SYNC_TIMEOUT_MS_CONFIG, Type.LONG, 10_000L, Range.between(1, Integer.MAX_VALUE), Importance.MEDIUM,
                    COMMIT_SYNC_TIMEOUT_MS_DOC)
            .define(OUTBOX_MAX_BYTES_CONFIG, Type.LONG, 256L << 20, Range.atLeast(1), Importance.MEDIUM,
                    OUTBOX_MAX_BYTES_DOC)
            .define(OUTBOX_FULL_POLICY_CONFIG, Type.STRING, "block", ConfigDef.CaseInsensitiveValidString.in("block", "fail"),
                    Importance.MEDIUM, OUTBOX_FULL_POLICY_DOC)
            .define(OUTBOX_FULL_TIMEOUT_MS_CONFIG, Type.LONG, 30_000L, Range.between(0, Integer.MAX_VALUE), Importance.LOW,
                    OUTBOX_FULL_TIMEOUT_MS_DOC)
            .define(PUBLISH_INTERVAL_MS_CONFIG, Type.LONG, 15L, Range.between(0, 60_000), Importance.MEDIUM,
                    PUBLISH_INTERVAL_MS_DOC)
            .define(CLOSE_TIMEOUT_MS_CONFIG, Type.LONG, 30_000L, Range.between(0, Integer.MAX_VALUE), Importance.LOW,
                    CLOSE_TIMEOUT_MS_DOC);

    private PagestreamConfig(Map<?, ?> originals) {
        super(CONFIG, originals, false);
    }

    /** Parses settings, turning Kafka's ConfigException into Pagestream's config error. */
    public static PagestreamConfig of(Map<?, ?> originals) {
        try {
            return new PagestreamConfig(originals);
        } catch (ConfigException e) {
            throw new PagestreamConfigException("invalid Pagestream configuration: " + e.getMessage());
        }
    }

    public String vfsName() {
        return getString(VFS_NAME_CONFIG);
    }

    public String topic() {
        return getString(JOURNAL_TOPIC_CONFIG);
    }

    public int recordMaxBytes() {
        return getInt(RECORD_MAX_BYTES_CONFIG);
    }

    public CommitMode commitMode() {
        return CommitMode.valueOf(getString(COMMIT_MODE_CONFIG).toUpperCase(java.util.Locale.ROOT));
    }

    public long commitSyncTimeoutMs() {
        return getLong(COMMIT_SYNC_TIMEOUT_MS_CONFIG);
    }

    public long outboxMaxBytes() {
        return getLong(OUTBOX_MAX_BYTES_CONFIG);
    }

    public OutboxFullPolicy outboxFullPolicy() {
        return OutboxFullPolicy.valueOf(getString(OUTBOX_FULL_POLICY_CONFIG).toUpperCase(java.util.Locale.ROOT));
    }

    public long outboxFullTimeoutMs() {
        return getLong(OUTBOX_FULL_TIMEOUT_MS_CONFIG);
    }

    public long publishIntervalMs() {
        return getLong(PUBLISH_INTERVAL_MS_CONFIG);
    }

    public Duration closeTimeout() {
        return Duration.ofMillis(getLong(CLOSE_TIMEOUT_MS_CONFIG));
    }

    /** The settings under {@code producer.}, prefix removed. */
    public Map<String, Object> producerOverrides() {
        return originalsWithPrefix(PRODUCER_PREFIX);
    }
}
