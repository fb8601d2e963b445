package io.pagestream.vfs;

import io.pagestream.schemas.JournalRecord;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Child process of {@link LargeTransactionIT}: one transaction far larger than its heap, then a small one, published to a
 * sink that keeps only the newest position and counts what it is sent.
 */
public final class LargeTransactionWriter {
    /** Takes records one at a time, as a Kafka producer does, keeping none of them. */
    private static final class CountingSink implements JournalSink {
        private final Map<String, JournalPosition> newest = new HashMap<>();
        private long records;
        private long bytes;

        @Override
        public synchronized CompletableFuture<Void> send(List<JournalRecord> batch) {
            for (JournalRecord record : batch) {
                records++;
                bytes += record.value().length;
                JournalPositions.of(record).ifPresent(position -> newest.put(record.key(), position));
            }
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public void claim(String dbId) {}

        @Override
        public synchronized Optional<JournalPosition> lastPosition(String dbId) {
            return Optional.ofNullable(newest.get(dbId));
        }

        @Override
        public int maxRecordBytes() {
            return 1 << 20;
        }

        @Override
        public void close() {}
    }

    public static void main(String[] args) throws Exception {
        Path db = Path.of(args[0]);
        CountingSink sink = new CountingSink();
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("vfs.name", "large")).sink(sink).install();
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(db));
                Statement s = c.createStatement()) {
            s.execute("create table t(id integer primary key, b blob)");
            try {
                s.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000)"
                        + " INSERT INTO t(b) SELECT randomblob(4000) FROM n");
                System.out.println("large transaction committed");
            } catch (SQLException e) {
                System.out.println("large transaction refused: " + vfs.lastCommitRefusal("large.db").orElseThrow().getMessage());
            }
            s.execute("insert into t(b) values (x'01')");
            vfs.flush(Duration.ofSeconds(30));
            System.out.println("completed failed=" + vfs.failedEntries() + " newest LSN "
                    + sink.lastPosition("large.db").map(JournalPosition::lsn).orElse(0L) + " records " + sink.records
                    + " bytes " + sink.bytes);
        }
    }
}
