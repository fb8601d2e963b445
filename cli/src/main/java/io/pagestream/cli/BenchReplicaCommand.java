package io.pagestream.cli;

import io.pagestream.broker.EmbeddedKafkaBroker;
import io.pagestream.replica.Replica;
import io.pagestream.replica.ReplicaConfig;
import io.pagestream.replica.ReplicaListener;
import io.pagestream.replica.ReplicaPosition;
import io.pagestream.replica.ReplicaStatus;
import io.pagestream.vfs.KafkaJournalSink;
import io.pagestream.vfs.PagestreamConfig;
import io.pagestream.vfs.PagestreamVfs;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code pagestream bench replica}: how fast a new replica catches up compared with the writer that
 * produced the journal, and how soon a commit on the writer is visible to a reader of a live replica.
 */
@Command(name = "replica", mixinStandardHelpOptions = true,
        description = {"Measures, with an in-process broker: catch-up (a new replica applying a journal of single-row INSERT"
                + " entries from LSN 1, against the writer's sustained rate producing them) and visibility (writer commit to"
                + " the row being visible to a reader of the replica, writer paced at a fixed rate). Last line: one JSON object."})
final class BenchReplicaCommand implements Callable<Integer> {
    @Option(names = "--quick", description = "A smaller run (under a minute).")
    boolean quick;

    @Option(names = "--entries", description = "Journal entries for the catch-up (default 100000; 20000 with --quick).")
    Integer entries;

    @Option(names = "--writer-sync", defaultValue = "FULL",
            description = "PRAGMA synchronous of the writer producing the catch-up journal (default ${DEFAULT-VALUE},"
                    + " SQLite's default). The writer's rate at synchronous=OFF is measured too, on up to 20000 transactions,"
                    + " for catchup_ratio_sync_off_writer.")
    String writerSync;

    @Option(names = "--rate", defaultValue = "1000", description = "Paced writer rate for visibility, txn/s (default ${DEFAULT-VALUE}).")
    int rate;

    @Option(names = "--visibility-seconds", description = "Duration of the paced run (default 15; 5 with --quick).")
    Integer visibilitySeconds;

    @Option(names = "--dir", description = "Directory for the databases (default: a new temporary directory).")
    Path dir;

    @Option(names = {"-c", "--config"}, description = "Pagestream VFS setting of the writer, e.g. -c publish.interval.ms=50.")
    Map<String, String> writerConfig = new LinkedHashMap<>();

    private final PrintStream out = System.out;
    private final Map<String, Long> writerLsn = new ConcurrentHashMap<>();

    @Override
    public Integer call() throws Exception {
        int catchupEntries = entries != null ? entries : quick ? 20_000 : 100_000;
        int pacedSeconds = visibilitySeconds != null ? visibilitySeconds : quick ? 5 : 15;
        Path workDir = dir != null ? Files.createDirectories(dir.toAbsolutePath()) : Files.createTempDirectory("pagestream-bench-");
        Map<String, Object> json = new LinkedHashMap<>();
        out.printf("pagestream bench replica%s: %d catch-up entries (writer synchronous=%s), visibility at %d txn/s for %d s,"
                + " databases in %s%n", quick ? " --quick" : "", catchupEntries, writerSync, rate, pacedSeconds, workDir);
        EmbeddedKafkaBroker broker = Benchmarks.startBroker(null);
        try {
            String topic = "pagestream.bench.replica." + System.currentTimeMillis();
            Map<String, Object> writerSettings = new LinkedHashMap<>(writerConfig);
            writerSettings.putAll(Map.of(PagestreamConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                    PagestreamConfig.JOURNAL_TOPIC_CONFIG, topic, PagestreamConfig.VFS_NAME_CONFIG, "pagestream-bench-replica"));
            MeasuringJournalSink sink = new MeasuringJournalSink(new KafkaJournalSink(PagestreamConfig.of(writerSettings)));
            try (PagestreamVfs vfs = PagestreamVfs.builder(writerSettings).sink(sink)
                    .commitObserver((dbId, lsn, image) -> writerLsn.merge(dbId, lsn, Math::max)).install()) {
                catchUp(vfs, sink, broker, topic, workDir, catchupEntries, json);
                visibility(vfs, broker, topic, workDir, pacedSeconds, json);
            }
        } finally {
            broker.close();
            Benchmarks.deleteRecursively(broker.dataDir());
        }
        json.put("quick", quick);
        out.println(Benchmarks.jsonLine(json));
        return 0;
    }

    /** Single-row INSERT transactions of ~100-byte rows; returns the writer's rate, COMMITs until Kafka acknowledged them. */
    private static double produce(PagestreamVfs vfs, Path file, String sync, int count) throws Exception {
        try (Connection writer = DriverManager.getConnection(vfs.jdbcUrl(file))) {
            try (Statement s = writer.createStatement()) {
                s.execute("PRAGMA synchronous=" + sync);
                s.execute("create table t(id integer primary key, payload text not null)");
            }
            Benchmarks.flush(vfs);
            Random random = new Random(42);
            try (PreparedStatement insert = writer.prepareStatement("insert into t(payload) values (?)")) {
                long start = System.nanoTime();
                for (int i = 0; i < count; i++) {
                    insert.setString(1, Benchmarks.letters(random, 100));
                    insert.executeUpdate();
                }
                Benchmarks.flush(vfs);
                return count / ((System.nanoTime() - start) / 1e9);
            }
        }
    }

    private void catchUp(PagestreamVfs vfs, MeasuringJournalSink sink, EmbeddedKafkaBroker broker, String topic, Path workDir,
            int count, Map<String, Object> json) throws Exception {
        String dbId = "catchup.db";
        int offSample = Math.min(count, 20_000);
        double offWriterTps = produce(vfs, workDir.resolve("catchup-sync-off.db"), "OFF", offSample);
        double writerTps = produce(vfs, workDir.resolve(dbId), writerSync, count);
        long lastLsn = writerLsn.get(dbId);
        long journalBytes = sink.bytes(dbId);
        long[] firstApply = new long[2]; // time, LSN of the first atomic apply
        ReplicaListener timing = new ReplicaListener() {
            @Override
            public void applied(String db, ReplicaPosition position, int entries) {
                if (firstApply[0] == 0) {
                    firstApply[0] = System.nanoTime();
                    firstApply[1] = position.lsn();
                }
            }
        };
        long replicaStart = System.nanoTime();
        try (Replica replica = Replica.start(replicaSettings(broker, topic, workDir.resolve("catchup-replica"), dbId), timing)) {
            awaitLsn(replica, dbId, lastLsn, Duration.ofMinutes(10));
        }
        long replicaEnd = System.nanoTime();
        double seconds = (replicaEnd - replicaStart) / 1e9;
        double replicaTps = lastLsn / seconds;
        double megabytesPerSecond = journalBytes / seconds / 1e6;
        // Steady apply rate: from the first atomic apply to the last, start-up (topic scan, first fetch) excluded.
        double applyTps = firstApply[1] < lastLsn ? (lastLsn - firstApply[1]) / ((replicaEnd - firstApply[0]) / 1e9)
                : replicaTps; // one apply took everything: there is no steady state to measure
        out.println();
        out.printf("catch-up: writer (synchronous=%s) produced %d single-row INSERT entries at %.0f txn/s (COMMITs, until Kafka"
                + " acknowledged); at synchronous=OFF it ran at %.0f txn/s (%d transactions)%n", writerSync, count, writerTps,
                offWriterTps, offSample);
        out.printf("          a new replica applied all %d entries from LSN 1 in %.2f s (start-up included): %.0f entries/s,"
                + " %.1f MB/s of journal%n", lastLsn, seconds, replicaTps, megabytesPerSecond);
        out.printf("          catch-up ratio %.1f (replica entries/s / writer txn/s); %.1f against the synchronous=OFF writer%n",
                replicaTps / writerTps, replicaTps / offWriterTps);
        out.printf("          steady apply rate after start-up (%.2f s): %.0f entries/s, ratio %.1f; %.1f against the"
                + " synchronous=OFF writer%n", (firstApply[0] - replicaStart) / 1e9, applyTps, applyTps / writerTps,
                applyTps / offWriterTps);
        json.put("catchup_entries", lastLsn);
        json.put("catchup_writer_sync", writerSync);
        json.put("catchup_writer_tps", Math.round(writerTps));
        json.put("catchup_writer_tps_sync_off", Math.round(offWriterTps));
        json.put("catchup_replica_entries_per_s", Math.round(replicaTps));
        json.put("catchup_ratio", Benchmarks.round(replicaTps / writerTps));
        json.put("catchup_ratio_sync_off_writer", Benchmarks.round(replicaTps / offWriterTps));
        json.put("catchup_mb_per_s", Benchmarks.round(megabytesPerSecond));
        json.put("catchup_startup_s", Benchmarks.round((firstApply[0] - replicaStart) / 1e9));
        json.put("catchup_apply_entries_per_s", Math.round(applyTps));
        json.put("catchup_apply_ratio", Benchmarks.round(applyTps / writerTps));
        json.put("catchup_apply_ratio_sync_off_writer", Benchmarks.round(applyTps / offWriterTps));
    }

    private void visibility(PagestreamVfs vfs, EmbeddedKafkaBroker broker, String topic, Path workDir, int seconds,
            Map<String, Object> json) throws Exception {
        String dbId = "visible.db";
        int total = rate * seconds;
        AtomicLongArray committedAt = new AtomicLongArray(total + 1);
        long[] visibleAfter = new long[total + 1];
        Path replicaDir = workDir.resolve("visible-replica");
        try (Connection writer = DriverManager.getConnection(vfs.jdbcUrl(workDir.resolve(dbId)));
                Replica replica = Replica.start(replicaSettings(broker, topic, replicaDir, dbId))) {
            try (Statement s = writer.createStatement()) {
                s.execute("PRAGMA synchronous=OFF");
                s.execute("create table v(id integer primary key, payload text not null)");
            }
            Benchmarks.flush(vfs);
            awaitLsn(replica, dbId, writerLsn.get(dbId), Duration.ofMinutes(1));
            Reader reader = new Reader(replicaDir.resolve(dbId), committedAt, visibleAfter, total);
            Thread readerThread = Thread.ofPlatform().name("bench-replica-reader").start(reader);
            Random random = new Random(7);
            long start = System.nanoTime();
            long interval = 1_000_000_000L / rate;
            try (PreparedStatement insert = writer.prepareStatement("insert into v(id, payload) values (?, ?)")) {
                for (int id = 1; id <= total; id++) {
                    long due = start + id * interval;
                    while (System.nanoTime() < due) {
                        LockSupport.parkNanos(Math.max(1, due - System.nanoTime()));
                    }
                    insert.setInt(1, id);
                    insert.setString(2, Benchmarks.letters(random, 100));
                    insert.executeUpdate();
                    committedAt.set(id, System.nanoTime());
                }
            }
            double pacedTps = total / ((System.nanoTime() - start) / 1e9);
            readerThread.join(Duration.ofMinutes(1));
            if (reader.failure != null) {
                throw reader.failure;
            }
            if (reader.seen < total) {
                throw new IllegalStateException("the reader saw " + reader.seen + " of " + total + " rows within a minute");
            }
            // The first second warms up the JIT on both sides; it is not a steady state.
            long[] latencies = Arrays.copyOfRange(visibleAfter, 1 + Math.min(rate, total / 2), total + 1);
            Arrays.sort(latencies);
            double p50 = latencies[latencies.length / 2] / 1e6;
            double p99 = latencies[(int) (latencies.length * 0.99)] / 1e6;
            double max = latencies[latencies.length - 1] / 1e6;
            out.println();
            out.printf("visibility: writer paced at %.0f txn/s for %d s; commit on the writer -> row visible to a reader of"
                    + " the replica (first second excluded):%n", pacedTps, seconds);
            out.printf("          p50 %.1f ms, p99 %.1f ms, max %.1f ms%n", p50, p99, max);
            json.put("visible_writer_tps", Math.round(pacedTps));
            json.put("visible_p50_ms", Benchmarks.round(p50));
            json.put("visible_p99_ms", Benchmarks.round(p99));
            json.put("visible_max_ms", Benchmarks.round(max));
        }
    }

    /** Polls the replica for the newest row, timing when each row first becomes visible. */
    private static final class Reader implements Runnable {
        private final Path file;
        private final AtomicLongArray committedAt;
        private final long[] visibleAfter;
        private final int total;
        volatile int seen;
        volatile Exception failure;

        Reader(Path file, AtomicLongArray committedAt, long[] visibleAfter, int total) {
            this.file = file;
            this.committedAt = committedAt;
            this.visibleAfter = visibleAfter;
            this.total = total;
        }

        @Override
        public void run() {
            long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
            try (Connection connection = DriverManager.getConnection("jdbc:sqlite:file:" + file);
                    Statement s = connection.createStatement()) {
                s.execute("PRAGMA busy_timeout=10000");
                s.execute("PRAGMA query_only=1");
                try (PreparedStatement newest = connection.prepareStatement("select coalesce(max(id), 0) from v")) {
                    int last = 0;
                    while (last < total && System.nanoTime() < deadline) {
                        int visible;
                        try (ResultSet result = newest.executeQuery()) {
                            visible = result.getInt(1);
                        }
                        long now = System.nanoTime();
                        for (int id = last + 1; id <= visible; id++) {
                            long committed = committedAt.get(id);
                            // A commit can return an instant after its row became visible; that is zero latency.
                            visibleAfter[id] = committed == 0 ? 0 : Math.max(0, now - committed);
                        }
                        last = Math.max(last, visible);
                        seen = last;
                        LockSupport.parkNanos(100_000);
                    }
                }
            } catch (SQLException e) {
                failure = e;
            }
        }
    }

    private static Map<String, Object> replicaSettings(EmbeddedKafkaBroker broker, String topic, Path dir, String dbId) {
        return Map.of(ReplicaConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(), ReplicaConfig.JOURNAL_TOPIC_CONFIG, topic,
                ReplicaConfig.REPLICA_DIR_CONFIG, dir.toString(), ReplicaConfig.REPLICA_DBS_CONFIG, dbId);
    }

    private static void awaitLsn(Replica replica, String dbId, long lsn, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            ReplicaStatus status = replica.status().get(dbId);
            if (status != null && status.halted()) {
                throw new IllegalStateException("replica of " + dbId + " halted: " + status.error().getMessage());
            }
            if (status != null && status.position().lsn() >= lsn) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("replica of " + dbId + " did not reach LSN " + lsn + " within " + timeout);
            }
            Thread.sleep(1);
        }
    }

}
