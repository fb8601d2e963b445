package io.pagestream.cli;

import io.pagestream.broker.EmbeddedKafkaBroker;
import io.pagestream.compactor.Compactor;
import io.pagestream.compactor.CompactorStatus;
import io.pagestream.replica.Replica;
import io.pagestream.replica.Restore;
import io.pagestream.replica.RestoreResult;
import io.pagestream.replica.RestoreTarget;
import io.pagestream.replica.RestoreWindow;
import io.pagestream.vfs.PagestreamConfig;
import io.pagestream.vfs.PagestreamVfs;
import io.pagestream.vfs.WriterPosition;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code pagestream bench restore}: restores and a new replica's bootstrap from the compactor's snapshots, against
 * copying the writer's file, and the compactor's rate against the writer's.
 */
@Command(name = "restore", mixinStandardHelpOptions = true,
        description = {"Builds a database of --size through the VFS, then a history of many small transactions, lets the"
                + " compactor snapshot it, and measures side by side: restoring the latest state and 5 random points, and a"
                + " new replica's bootstrap, each against cp of the writer's file; the compactor's entries/s against the"
                + " writer's. Last line: one JSON object."})
final class BenchRestoreCommand implements Callable<Integer> {
    private static final String DB_ID = "bench-restore.db";
    private static final int ROW_BYTES = 4000;
    private static final int ROWS_PER_BULK_TRANSACTION = 2048;

    @Option(names = "--quick", description = "A smaller run (64 MiB, 20000 small transactions).")
    boolean quick;

    @Option(names = "--size", description = "Database size in MiB (default 1024; 64 with --quick).")
    Integer sizeMib;

    @Option(names = "--transactions", description = "Small transactions of the history (default 1000000; 20000 with --quick).")
    Integer transactions;

    @Option(names = "--seed", description = "Random seed (default: the current time).")
    Long seed;

    @Option(names = "--dir", description = "Directory for the databases (default: a new temporary directory).")
    Path dir;

    private final PrintStream out = System.out;

    @Override
    public Integer call() throws Exception {
        long size = (long) (sizeMib != null ? sizeMib : quick ? 64 : 1024) << 20;
        int history = transactions != null ? transactions : quick ? 20_000 : 1_000_000;
        long runSeed = seed != null ? seed : System.currentTimeMillis();
        Random random = new Random(runSeed);
        Path workDir = dir != null ? Files.createDirectories(dir.toAbsolutePath()) : Files.createTempDirectory("pagestream-bench-");
        Path writerFile = Files.createDirectories(workDir.resolve("writer")).resolve(DB_ID);
        out.printf("pagestream bench restore%s: %d MiB, %d small transactions, seed %d, files in %s%n", quick ? " --quick" : "",
                size >> 20, history, runSeed, workDir);
        Map<String, Object> json = new LinkedHashMap<>();
        EmbeddedKafkaBroker broker = Benchmarks.startBroker(null);
        try {
            String topic = "pagestream.bench.restore." + System.currentTimeMillis();
            long lastLsn;
            double writerTps;
            try (PagestreamVfs vfs = PagestreamVfs.install(Map.of(PagestreamConfig.BOOTSTRAP_SERVERS_CONFIG,
                            broker.bootstrapServers(), PagestreamConfig.JOURNAL_TOPIC_CONFIG, topic,
                            PagestreamConfig.VFS_NAME_CONFIG, "pagestream-bench-restore"));
                    Connection writer = DriverManager.getConnection(vfs.jdbcUrl(writerFile))) {
                long rows = build(writer, size, random);
                Benchmarks.flush(vfs);
                out.printf("built %d MiB (%d rows)%n", Files.size(writerFile) >> 20, rows);
                writerTps = smallTransactions(writer, rows, history, random);
                Benchmarks.flush(vfs);
                lastLsn = vfs.position(DB_ID).map(WriterPosition::committedLsn).orElseThrow();
                out.printf("history: %d transactions at %.0f txn/s, LSN %d%n", history, writerTps, lastLsn);
            }
            Map<String, Object> settings = Map.of("bootstrap.servers", broker.bootstrapServers(), "journal.topic", topic);
            double compactorRate = compact(settings, workDir, lastLsn);
            json.put("writer_small_txn_per_s", Math.round(writerTps));
            json.put("compactor_entries_per_s", Math.round(compactorRate));
            json.put("compactor_ratio", Benchmarks.round(compactorRate / writerTps));

            double cpSeconds = copySeconds(writerFile, workDir.resolve("copy.db"));
            json.put("database_bytes", Files.size(writerFile));
            json.put("cp_s", Benchmarks.round(cpSeconds));
            try (Restore restore = Restore.open(settings)) {
                long started = System.nanoTime();
                RestoreResult latest = restore.restore(DB_ID, RestoreTarget.latest(), workDir.resolve("latest.db"), true, p -> { });
                double latestSeconds = (System.nanoTime() - started) / 1e9;
                json.put("restore_latest_s", Benchmarks.round(latestSeconds));
                json.put("restore_latest_ratio_vs_cp", Benchmarks.round(latestSeconds / cpSeconds));
                json.put("restore_latest_entries_applied", latest.entriesApplied());
                json.put("restore_latest_bytes", latest.bytes());
                RestoreWindow window = restore.list(DB_ID);
                double total = 0;
                long entries = 0;
                for (int i = 0; i < 5; i++) {
                    long lsn = window.firstLsn() + (long) (random.nextDouble() * (window.lastLsn() - window.firstLsn()));
                    started = System.nanoTime();
                    RestoreResult result = restore.restore(DB_ID, RestoreTarget.lsn(lsn), workDir.resolve("random.db"), true,
                            p -> { });
                    total += (System.nanoTime() - started) / 1e9;
                    entries += result.entriesApplied();
                }
                json.put("restore_random_mean_s", Benchmarks.round(total / 5));
                json.put("restore_random_ratio", Benchmarks.round(total / 5 / latestSeconds));
                json.put("restore_random_mean_entries_applied", entries / 5);
            }
            double bootstrapSeconds = bootstrap(settings, workDir, lastLsn);
            json.put("bootstrap_s", Benchmarks.round(bootstrapSeconds));
            json.put("bootstrap_ratio_vs_cp", Benchmarks.round(bootstrapSeconds / cpSeconds));
        } finally {
            broker.close();
            Benchmarks.deleteRecursively(broker.dataDir());
        }
        json.put("quick", quick);
        out.println(Benchmarks.jsonLine(json));
        return 0;
    }

    /** Rows of random bytes in large transactions until the file reaches {@code size}; returns the row count. */
    private static long build(Connection writer, long size, Random random) throws Exception {
        try (Statement s = writer.createStatement()) {
            s.execute("PRAGMA synchronous=OFF");
            s.execute("create table t(id integer primary key, counter integer not null, payload blob not null)");
        }
        long rows = 0;
        long wanted = size / ROW_BYTES;
        byte[] payload = new byte[ROW_BYTES];
        try (PreparedStatement insert = writer.prepareStatement("insert into t(counter, payload) values (0, ?)")) {
            while (rows < wanted) {
                writer.setAutoCommit(false);
                for (int i = 0; i < ROWS_PER_BULK_TRANSACTION && rows < wanted; i++, rows++) {
                    random.nextBytes(payload);
                    insert.setBytes(1, payload);
                    insert.executeUpdate();
                }
                writer.commit();
                writer.setAutoCommit(true);
            }
        }
        return rows;
    }

    /** One-row updates of random rows, each its own transaction; returns the writer's rate. */
    private static double smallTransactions(Connection writer, long rows, int count, Random random) throws Exception {
        try (PreparedStatement update = writer.prepareStatement("update t set counter = counter + 1 where id = ?")) {
            long started = System.nanoTime();
            for (int i = 0; i < count; i++) {
                update.setLong(1, 1 + (long) (random.nextDouble() * rows));
                update.executeUpdate();
            }
            return count / ((System.nanoTime() - started) / 1e9);
        }
    }

    /**
     * Runs the compactor over the whole journal; returns its entries/s from its first applied entry to the last (its
     * start-up, joining the group and taking its tasks, is printed apart), once it holds a snapshot of the last LSN.
     */
    private double compact(Map<String, Object> settings, Path workDir, long lastLsn) throws Exception {
        Map<String, Object> compactorSettings = new LinkedHashMap<>(settings);
        compactorSettings.put("state.dir", workDir.resolve("compactor").toString());
        // Snapshots while catching up come from the journal ratio; once caught up, one of the last LSN within 20 s.
        compactorSettings.put("snapshot.interval.ms", "20000");
        long started = System.nanoTime();
        long firstSeen = 0;
        long firstLsn = 0;
        double rate = 0;
        try (Compactor compactor = Compactor.start(compactorSettings)) {
            while (true) {
                if (compactor.failure() != null) {
                    throw new IllegalStateException("the compactor failed: " + compactor.failure(), compactor.failure());
                }
                CompactorStatus status = compactor.status().get(DB_ID);
                if (status != null && status.halted()) {
                    throw new IllegalStateException("the compactor halted " + DB_ID + ": " + status.error().getMessage());
                }
                long now = System.nanoTime();
                if (firstSeen == 0 && status != null && status.appliedLsn() > 0) {
                    firstSeen = now;
                    firstLsn = status.appliedLsn();
                    out.printf("compactor: started in %.1f s%n", (now - started) / 1e9);
                }
                if (rate == 0 && status != null && status.appliedLsn() >= lastLsn) {
                    rate = (lastLsn - firstLsn) / Math.max(1e-3, (now - firstSeen) / 1e9);
                    out.printf("compactor: %d entries, %.0f entries/s after its start%n", lastLsn, rate);
                }
                if (status != null && status.newestRestorePoint() != null && status.newestRestorePoint().getLsn() >= lastLsn) {
                    out.printf("compactor: snapshot at LSN %d%n", status.newestRestorePoint().getLsn());
                    return rate;
                }
                Thread.sleep(20);
            }
        }
    }

    private static double copySeconds(Path from, Path to) throws Exception {
        long started = System.nanoTime();
        Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
        double seconds = (System.nanoTime() - started) / 1e9;
        Files.delete(to);
        return seconds;
    }

    /** A new replica, from its start to holding the last LSN. */
    private static double bootstrap(Map<String, Object> settings, Path workDir, long lastLsn) throws Exception {
        Map<String, Object> replicaSettings = new LinkedHashMap<>(settings);
        replicaSettings.put("replica.dir", workDir.resolve("replica").toString());
        replicaSettings.put("replica.dbs", DB_ID);
        long started = System.nanoTime();
        try (Replica replica = Replica.start(replicaSettings)) {
            if (!replica.await(DB_ID, lastLsn, Duration.ofMinutes(30))) {
                throw new IllegalStateException("the new replica did not reach LSN " + lastLsn + " within 30 minutes");
            }
            return (System.nanoTime() - started) / 1e9;
        }
    }
}
