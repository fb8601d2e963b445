package io.pagestream.vfs;

import io.pagestream.schemas.PagestreamConfigException;
import io.pagestream.schemas.PagestreamException;
import io.pagestream.vfs.internals.CommitObserver;
import io.pagestream.vfs.internals.JournalPublisher;
import io.pagestream.vfs.internals.CommitSettings;
import io.pagestream.vfs.internals.VfsBridge;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The Pagestream SQLite VFS. Install it once per JVM, then open databases through it:
 *
 * <pre>{@code
 * PagestreamVfs.install(Map.of("bootstrap.servers", "localhost:9092"));
 * Connection c = DriverManager.getConnection("jdbc:sqlite:file:/data/app.db?vfs=pagestream");
 * }</pre>
 *
 * Every committed write transaction of a database opened this way is published, in commit order, as one
 * journal entry keyed by the database id (the file name, or the {@code pagestream_db_id} URI parameter).
 * Publishing is asynchronous: COMMIT returns once SQLite has committed locally, with the entry staged (before the
 * commit point) in the database's outbox; a background thread publishes the outbox in order.
 */
public final class PagestreamVfs implements AutoCloseable {
    private static final Map<String, PagestreamVfs> INSTALLED = new HashMap<>();

    private final PagestreamConfig config;
    private final JournalSink sink;
    private final JournalPublisher publisher;
    private final VfsBridge bridge;

    private PagestreamVfs(PagestreamConfig config, JournalSink sink, CommitObserver observer) {
        this.config = config;
        this.sink = sink;
        this.publisher = new JournalPublisher(sink, "pagestream-" + config.vfsName(), config.publishIntervalMs(),
                config.closeTimeout());
        try {
            this.bridge = new VfsBridge(config.vfsName(), PagestreamConfig.DB_ID_URI_PARAMETER, publisher, observer,
                    CommitSettings.of(config));
        } catch (RuntimeException e) {
            publisher.close();
            throw e;
        }
    }

    /** Installs the VFS publishing to Kafka; returns the installed one when called again with the same settings. */
    public static PagestreamVfs install(Map<String, ?> settings) {
        return builder(settings).install();
    }

    public static Builder builder(Map<String, ?> settings) {
        return new Builder(settings);
    }

    /** The VFS installed under {@code name}, if any. */
    public static synchronized Optional<PagestreamVfs> installed(String name) {
        return Optional.ofNullable(INSTALLED.get(name));
    }

    public String name() {
        return config.vfsName();
    }

    /** {@code jdbc:sqlite:file:<path>?vfs=<name>}. */
    public String jdbcUrl(Path database) {
        return "jdbc:sqlite:file:" + database.toAbsolutePath() + "?vfs=" + name();
    }

    /** {@link #jdbcUrl(Path)} with an explicit database id. */
    public String jdbcUrl(Path database, String dbId) {
        return jdbcUrl(database) + "&" + PagestreamConfig.DB_ID_URI_PARAMETER + "=" + dbId;
    }

    /**
     * Waits until every transaction committed so far is acknowledged by the sink and its position recorded, or never
     * will be: a writer fenced by another drops what it had not published ({@link #failedEntries()},
     * {@link #fencedBy(String)}).
     *
     * @return false if the timeout passed first
     */
    public boolean flush(Duration timeout) throws InterruptedException {
        return publisher.flush(timeout);
    }

    /**
     * Entries that could not be published (each is logged with its db id and LSN): those a fenced writer held, and
     * committed transactions whose entry could not be built or staged (later commits are then refused).
     */
    public long failedEntries() {
        return publisher.failedCount();
    }

    /**
     * Where the database {@code dbId} stands in this process: the LSN of its newest committed transaction (committed
     * locally, in the outbox or beyond) and of the newest one Kafka acknowledged. For read-your-writes, wait until a
     * replica has applied {@code committedLsn}. Before the database's first write transaction in this process both are
     * the position recorded at the last acknowledgement.
     *
     * @return empty when no database with that id is open through this VFS
     */
    public Optional<WriterPosition> position(String dbId) {
        return bridge.position(dbId);
    }

    /**
     * Why commits to {@code dbId} fail, when another writer claimed it: its commits then fail with SQLITE_READONLY
     * and nothing more of it is published from this process.
     */
    public Optional<WriterFencedException> fencedBy(String dbId) {
        return bridge.fencedBy(dbId);
    }

    /**
     * Why the latest COMMIT of {@code dbId} that Pagestream refused failed. SQLite reports only a result code
     * (SQLITE_IOERR: Kafka did not acknowledge a synchronous commit in time, or where the journal ends is unknown, or
     * the database cannot be reconciled with its outbox, state file and journal — an unreadable outbox, one holding
     * another history's entries — or its entry could not be built or staged, or an earlier committed transaction's
     * entry was lost (then until the database is reopened in a new VFS);
     * SQLITE_FULL: the outbox is full; SQLITE_READONLY: another writer fenced this one; SQLITE_ERROR: a journal mode
     * the commit mode cannot work with); this names the database and the reason, as the log does.
     */
    public Optional<PagestreamException> lastCommitRefusal(String dbId) {
        return bridge.lastRefusal(dbId);
    }

    /** Publishes what is committed, unregisters the VFS and closes the sink. Close connections first. */
    @Override
    public void close() {
        synchronized (PagestreamVfs.class) {
            if (INSTALLED.get(name()) != this) {
                return;
            }
            INSTALLED.remove(name());
        }
        publisher.close();
        bridge.unregister();
        sink.close();
    }

    public static final class Builder {
        private final Map<String, Object> settings;
        private JournalSink sink;
        private CommitObserver observer;

        private Builder(Map<String, ?> settings) {
            this.settings = new HashMap<>(settings);
        }

        /** Publish somewhere other than Kafka (e.g. {@link InMemoryJournalSink} in tests). */
        public Builder sink(JournalSink sink) {
            this.sink = sink;
            return this;
        }

        /** Test hook: sees every committed transaction's file image. */
        public Builder commitObserver(CommitObserver observer) {
            this.observer = observer;
            return this;
        }

        public PagestreamVfs install() {
            PagestreamConfig config = PagestreamConfig.of(settings);
            synchronized (PagestreamVfs.class) {
                PagestreamVfs existing = INSTALLED.get(config.vfsName());
                if (existing != null) {
                    if (!existing.config.originals().equals(config.originals()) || sink != null || observer != null) {
                        throw new PagestreamConfigException("VFS '" + config.vfsName() + "' is already installed with other"
                                + " settings; close it first or choose another vfs.name");
                    }
                    return existing;
                }
                JournalSink target = Objects.requireNonNullElseGet(sink, () -> new KafkaJournalSink(config));
                PagestreamVfs vfs;
                try {
                    vfs = new PagestreamVfs(config, target, observer);
                } catch (RuntimeException e) {
                    target.close();
                    throw e;
                }
                INSTALLED.put(config.vfsName(), vfs);
                return vfs;
            }
        }
    }
}
