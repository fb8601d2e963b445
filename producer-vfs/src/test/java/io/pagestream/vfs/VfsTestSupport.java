package io.pagestream.vfs;

import static org.assertj.core.api.Assertions.assertThat;

import io.pagestream.schemas.JournalRecord;
import io.pagestream.schemas.avro.JournalEntry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.sqlite.SQLiteConfig;

/** Shared plumbing for the VFS capture tests: an installed VFS with an in-memory sink and per-LSN file hashes. */
final class VfsTestSupport {
    private static final AtomicInteger VFS_COUNTER = new AtomicInteger();

    private VfsTestSupport() {}

    /**
     * A freshly installed VFS (unique name) publishing to an {@link InMemoryJournalSink}; its commit observer
     * records the SHA-256 of the writer's file image at every LSN into {@link #hashes}.
     */
    static final class Harness implements AutoCloseable {
        final InMemoryJournalSink sink;
        final PagestreamVfs vfs;
        final Map<String, String> hashes;
        /** LSNs the observer saw more than once (must stay empty); the observer itself must never throw. */
        final List<String> duplicateLsns = java.util.Collections.synchronizedList(new ArrayList<>());

        Harness() {
            this(new ConcurrentHashMap<>(), 1_000_000);
        }

        /** @param hashes shared across installations when a test reopens the database through another VFS */
        Harness(Map<String, String> hashes, int maxRecordBytes) {
            this(hashes, new InMemoryJournalSink(maxRecordBytes));
        }

        /** @param sink shared across installations when the journal must outlive a writer, as a topic does */
        Harness(Map<String, String> hashes, InMemoryJournalSink sink) {
            this.hashes = hashes;
            this.sink = sink;
            this.vfs = PagestreamVfs.builder(Map.of("vfs.name", "capture" + VFS_COUNTER.incrementAndGet()))
                    .sink(sink)
                    .commitObserver((dbId, lsn, image) -> {
                        String previous = hashes.put(dbId + "@" + lsn, JournalReplay.sha256(image.readAll()));
                        if (previous != null) {
                            duplicateLsns.add(dbId + "@" + lsn);
                        }
                    })
                    .install();
        }

        Connection connect(Path db) throws SQLException {
            return configure(DriverManager.getConnection(vfs.jdbcUrl(db)));
        }

        /** A connection whose COMMITs wait for the sink ({@code commit.mode=sync}). */
        Connection connectSync(Path db) throws SQLException {
            return configure(DriverManager.getConnection(vfs.jdbcUrl(db) + "&" + PagestreamConfig.COMMIT_MODE_URI_PARAMETER + "=sync"));
        }

        Connection connect(Path db, String dbId) throws SQLException {
            return configure(DriverManager.getConnection(vfs.jdbcUrl(db, dbId)));
        }

        void flush() throws InterruptedException {
            assertThat(vfs.flush(Duration.ofSeconds(10))).as("flush within 10 s").isTrue();
            assertThat(vfs.failedEntries()).as("failed entries").isZero();
            assertThat(duplicateLsns).as("LSNs committed twice").isEmpty();
        }

        List<JournalRecord> records() {
            return sink.records();
        }

        @Override
        public void close() {
            vfs.close();
        }
    }

    private static Connection configure(Connection connection) throws SQLException {
        exec(connection, "PRAGMA busy_timeout=5000");
        return connection;
    }

    /** A plain sqlite-jdbc connection (default unix VFS, no capture). */
    static Connection plainConnection(Path db) throws SQLException {
        return DriverManager.getConnection("jdbc:sqlite:" + db.toAbsolutePath());
    }

    static Connection readOnlyConnection(Path db) throws SQLException {
        SQLiteConfig config = new SQLiteConfig();
        config.setReadOnly(true);
        return config.createConnection("jdbc:sqlite:" + db.toAbsolutePath());
    }

    /** Runs each statement on its own, closed, JDBC statement (autocommit: each DML statement is a transaction). */
    static void exec(Connection connection, String... sqls) throws SQLException {
        for (String sql : sqls) {
            try (Statement statement = connection.createStatement()) {
                statement.execute(sql);
            }
        }
    }

    /** BEGIN; statements; COMMIT. */
    static void tx(Connection connection, String... sqls) throws SQLException {
        exec(connection, "BEGIN");
        boolean done = false;
        try {
            exec(connection, sqls);
            exec(connection, "COMMIT");
            done = true;
        } finally {
            if (!done) {
                try {
                    exec(connection, "ROLLBACK");
                } catch (SQLException ignored) {
                    // no transaction open any more
                }
            }
        }
    }

    static String queryString(Connection connection, String sql) throws SQLException {
        try (Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    static long queryLong(Connection connection, String sql) throws SQLException {
        try (Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery(sql)) {
            assertThat(rs.next()).as("row of " + sql).isTrue();
            return rs.getLong(1);
        }
    }

    static List<Long> queryLongs(Connection connection, String sql) throws SQLException {
        List<Long> values = new ArrayList<>();
        try (Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery(sql)) {
            while (rs.next()) {
                values.add(rs.getLong(1));
            }
        }
        return values;
    }

    /**
     * Replays {@code records} into fresh replicas under {@code replicaDir}, checking after every applied entry
     * that the replica's SHA-256 equals the writer's file image at that LSN (from the commit observer).
     */
    static JournalReplay replayVerifyingEveryLsn(List<JournalRecord> records, Path replicaDir, Map<String, String> hashes) {
        try {
            Files.createDirectories(replicaDir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        JournalReplay replay = new JournalReplay(replicaDir);
        Map<String, Integer> changeCounters = new HashMap<>();
        replay.applyAll(records, (entry, replica) -> {
            String key = entry.getDbId() + "@" + entry.getLsn();
            assertThat(hashes).as("commit observer saw " + key).containsKey(key);
            assertThat(JournalReplay.sha256(replica)).as("replica identical to the writer after " + key)
                    .isEqualTo(hashes.get(key));
            // SQLite readers of a replica keep their cached pages while the counter is unchanged.
            if (entry.getPageCount() > 0) {
                int counter = changeCounter(replica);
                Integer previous = changeCounters.put(entry.getDbId(), counter);
                assertThat(Integer.valueOf(counter).equals(previous)).as("file change counter unchanged after " + key).isFalse();
            }
        });
        return replay;
    }

    /** Replica and writer files are byte-identical (call only when no connection to the writer is open). */
    static void assertIdentical(Path replica, Path writer) throws IOException {
        byte[] expected = Files.readAllBytes(writer);
        byte[] actual = Files.readAllBytes(replica);
        assertThat(actual.length).as("replica size").isEqualTo(expected.length);
        assertThat(JournalReplay.sha256(actual)).as("replica content").isEqualTo(JournalReplay.sha256(expected));
    }

    /** Page size in a database file's header (bytes 16-17; 1 means 65536). */
    static int headerPageSize(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        int size = ((bytes[16] & 0xFF) << 8) | (bytes[17] & 0xFF);
        return size == 1 ? 65536 : size;
    }

    /** The file change counter (page 1, bytes 24..27), which SQLite readers compare to notice a change. */
    static int changeCounter(Path file) {
        try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(file)) {
            java.nio.ByteBuffer counter = java.nio.ByteBuffer.allocate(4);
            channel.read(counter, 24);
            return counter.getInt(0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<Long> lsns(List<JournalEntry> entries) {
        return entries.stream().map(JournalEntry::getLsn).toList();
    }

    static List<Long> range(long fromInclusive, long toInclusive) {
        List<Long> values = new ArrayList<>();
        for (long v = fromInclusive; v <= toInclusive; v++) {
            values.add(v);
        }
        return values;
    }

    static String header(JournalRecord record, String name) {
        for (JournalRecord.Header header : record.headers()) {
            if (header.name().equals(name)) {
                return new String(header.value(), StandardCharsets.US_ASCII);
            }
        }
        return null;
    }

    static <T> List<T> concat(List<T> first, List<T> second) {
        List<T> all = new ArrayList<>(first);
        all.addAll(second);
        return all;
    }
}
