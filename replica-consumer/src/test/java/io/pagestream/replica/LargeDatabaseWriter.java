package io.pagestream.replica;

import io.pagestream.vfs.PagestreamVfs;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;

/**
 * Run by {@link LargeDatabaseIT} in a JVM with a small heap: publishes a small database (creating the journal topic),
 * prints {@code ready}, and once a line arrives on stdin opens a database created outside the VFS through it and commits
 * once, so that commit publishes a base entry of the whole file. Arguments: bootstrap servers, topic, database file.
 * Prints how long the commit and the publishing took and the heap's peak use, then {@code flushed <ok> failed <n>}.
 */
public final class LargeDatabaseWriter {
    private LargeDatabaseWriter() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> settings = Map.of("bootstrap.servers", args[0], "journal.topic", args[1]);
        Path db = Path.of(args[2]);
        try (PagestreamVfs vfs = PagestreamVfs.install(settings)) {
            try (Connection small = DriverManager.getConnection(vfs.jdbcUrl(db.resolveSibling("small.db")));
                    Statement s = small.createStatement()) {
                s.execute("create table t(x)");
            }
            System.out.println("ready " + vfs.flush(Duration.ofMinutes(1)));
            new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            commitLarge(vfs, db);
        }
    }

    private static void commitLarge(PagestreamVfs vfs, Path db) throws Exception {
        try (Connection c = DriverManager.getConnection(vfs.jdbcUrl(db));
                Statement s = c.createStatement()) {
            long started = System.nanoTime();
            s.execute("insert into marker(note) values ('published as a base entry')");
            long committed = System.nanoTime();
            boolean flushed = vfs.flush(Duration.ofMinutes(5));
            long published = System.nanoTime();
            long peak = 0;
            for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
                if (pool.getType() == MemoryType.HEAP) {
                    peak += pool.getPeakUsage().getUsed();
                }
            }
            System.out.printf("{\"writer_heap_max_mib\":%d,\"writer_heap_pool_peaks_mib\":%d,\"commit_ms\":%d,\"publish_ms\":%d}%n",
                    Runtime.getRuntime().maxMemory() >> 20, peak >> 20, (committed - started) / 1_000_000,
                    (published - committed) / 1_000_000);
            System.out.println("flushed " + flushed + " failed " + vfs.failedEntries());
        }
    }
}
