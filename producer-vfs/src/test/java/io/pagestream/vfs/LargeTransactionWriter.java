package io.pagestream.vfs;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;

/** Child process of {@link LargeTransactionIT}: one transaction far larger than its heap (refused), then a small one. */
public final class LargeTransactionWriter {
    public static void main(String[] args) throws Exception {
        Path db = Path.of(args[0]);
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("vfs.name", "large")).sink(new InMemoryJournalSink(1 << 20)).install();
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
            System.out.println("completed failed=" + vfs.failedEntries());
        }
    }
}
