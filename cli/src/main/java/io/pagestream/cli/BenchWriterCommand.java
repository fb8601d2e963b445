package io.pagestream.cli;

import io.pagestream.broker.EmbeddedKafkaBroker;
import io.pagestream.schemas.JournalRecord;
import io.pagestream.vfs.JournalPosition;
import io.pagestream.vfs.JournalSink;
import io.pagestream.vfs.KafkaJournalSink;
import io.pagestream.vfs.PagestreamConfig;
import io.pagestream.vfs.PagestreamVfs;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code pagestream bench writer}: single-row INSERT and UPDATE transactions through plain sqlite-jdbc and
 * through the Pagestream VFS publishing to Kafka, interleaved round by round in one JVM, at
 * synchronous=FULL and OFF; plus the bytes each transaction put into Kafka.
 */
@Command(name = "writer", mixinStandardHelpOptions = true,
        description = "Writer overhead: plain sqlite-jdbc vs the Pagestream VFS publishing to Kafka, side by side.")
final class BenchWriterCommand implements Callable<Integer> {
    private static final int PAGE_SIZE = 4096;
    private static final Duration KAFKA_WARM_UP = Duration.ofSeconds(40);
    private static final Duration KAFKA_WARM_UP_QUICK = Duration.ofSeconds(10);
    /** A warm-up commit this slow most likely waited for a retry (the producer's backoff after CONCURRENT_TRANSACTIONS). */
    private static final Duration SLOW_COMMIT = Duration.ofMillis(50);
    /** Interleaved block pairs of the sync-commit latency measurement (its samples are single COMMITs, not blocks). */
    private static final int SYNC_BLOCKS = 25;
    private static final int SYNC_BLOCKS_QUICK = 9;

    @Option(names = "--quick", description = "Smaller run (under a minute).")
    boolean quick;

    @Option(names = "--dir", description = "Directory for the benchmark databases (default: a new temporary directory).")
    Path dir;

    @Option(names = "--bootstrap-server", description = "Kafka to publish to (default: an in-process broker).")
    String bootstrapServer;

    @Option(names = "--rounds", description = "Interleaved block pairs per measurement (default: 3 quick, 9 full).")
    Integer rounds;

    @Option(names = "--update-rows", description = "Rows in the UPDATE table (default: 100000).")
    int updateRows = 100_000;

    @Option(names = "--no-kafka", description = "Diagnostic: publish into memory instead of Kafka, to separate the"
            + " VFS's own cost from Kafka's.")
    boolean noKafka;

    @Option(names = "--broker-dir", description = "Log directory of the in-process broker (default: a new directory in"
            + " /dev/shm, so the broker's writes do not share the databases' disk and fsyncs, as on a real deployment"
            + " where Kafka runs elsewhere).")
    Path brokerDir;

    @Option(names = {"-p", "--producer-property"}, description = "Kafka producer setting for the VFS, e.g. -p linger.ms=5.")
    Map<String, String> producerProperties = new LinkedHashMap<>();

    @Option(names = {"-c", "--config"}, description = "Pagestream VFS setting, e.g. -c publish.interval.ms=50.")
    Map<String, String> vfsSettings = new LinkedHashMap<>();

    private final PrintStream out = System.out;
    /** Sync-mode COMMIT latencies (null with --no-kafka). */
    private CommitLatency commitLatency;

    /** Percentiles of single-row INSERT COMMITs, in ms, through plain sqlite-jdbc and through the VFS in sync mode. */
    private record CommitLatency(double plainP50, double plainP99, double syncP50, double syncP99) {}

    /**
     * {@code blocks} pairs of plain and VFS blocks of {@code txns} transactions each, alternating which goes first. A
     * block lasts about a second, several publish intervals, so it carries its share of the publishing work.
     */
    private record Sizes(int blocks, int txnsSyncOff, int txnsSyncFull) {}

    /** Back-to-back synchronous commits of the Kafka warm-up: how many, how many slower than {@link #SLOW_COMMIT}. */
    private record KafkaWarmUp(int transactions, int slow, double slowestMs) {}

    /** Medians over blocks; the ratio is the median of the per-block-pair ratios, which cancels slow drifts of the machine. */
    private record Result(String workload, String sync, double plainTps, double vfsTps, double ratio, double publishedRatio) {}

    @Override
    public Integer call() throws Exception {
        Sizes sizes = quick ? new Sizes(3, 3_000, 250) : new Sizes(9, 9_000, 700);
        if (rounds != null) {
            sizes = new Sizes(rounds, sizes.txnsSyncOff(), sizes.txnsSyncFull());
        }
        Path workDir = dir != null ? Files.createDirectories(dir) : Files.createTempDirectory("pagestream-bench-");
        EmbeddedKafkaBroker broker = bootstrapServer == null && !noKafka ? Benchmarks.startBroker(brokerDir) : null;
        String servers = broker != null ? broker.bootstrapServers() : noKafka ? "" : bootstrapServer;
        Map<String, Object> settings = new LinkedHashMap<>(vfsSettings);
        settings.putAll(Map.of(
                PagestreamConfig.BOOTSTRAP_SERVERS_CONFIG, servers,
                PagestreamConfig.JOURNAL_TOPIC_CONFIG, "pagestream.bench." + System.currentTimeMillis(),
                PagestreamConfig.VFS_NAME_CONFIG, "pagestream-bench"));
        producerProperties.forEach((key, value) -> settings.put(PagestreamConfig.PRODUCER_PREFIX + key, value));
        MeasuringJournalSink sink = new MeasuringJournalSink(noKafka
                ? new DiscardingJournalSink(PagestreamConfig.of(settings).recordMaxBytes())
                : new KafkaJournalSink(PagestreamConfig.of(settings)));
        List<Result> results = new ArrayList<>();
        Map<String, Double> bytesPerTxn = new LinkedHashMap<>();
        out.printf("pagestream bench writer%s: %d interleaved block pairs, databases in %s, Kafka %s%n", quick ? " --quick" : "",
                sizes.blocks(), workDir, noKafka ? "none (--no-kafka)" : broker != null ? "in-process at " + servers : servers);
        try (PagestreamVfs vfs = PagestreamVfs.builder(settings).sink(sink).install()) {
            warmUp(vfs, workDir, quick ? 5_000 : 20_000);
            if (!noKafka) {
                Duration length = quick ? KAFKA_WARM_UP_QUICK : KAFKA_WARM_UP;
                KafkaWarmUp warm = warmUpKafka(vfs, workDir, length);
                out.printf("warming up Kafka: %d back-to-back sync commits in %d s, %d slower than %d ms (slowest %.1f ms)%n",
                        warm.transactions(), length.toSeconds(), warm.slow(), SLOW_COMMIT.toMillis(), warm.slowestMs());
            }
            for (String sync : List.of("FULL", "OFF")) {
                int txns = sync.equals("FULL") ? sizes.txnsSyncFull() : sizes.txnsSyncOff();
                results.add(measure(vfs, sink, workDir, new InsertWorkload(), sync, txns, sizes.blocks(), bytesPerTxn));
                results.add(measure(vfs, sink, workDir, new UpdateWorkload(updateRows), sync, txns, sizes.blocks(), bytesPerTxn));
            }
            commitLatency = noKafka ? null : measureSyncCommits(vfs, workDir, quick ? SYNC_BLOCKS_QUICK : SYNC_BLOCKS, quick ? 40 : 100);
            if (vfs.failedEntries() != 0) {
                throw new IllegalStateException(vfs.failedEntries() + " entries failed to publish");
            }
        } finally {
            if (broker != null) {
                broker.close();
                if (brokerDir == null) {
                    Benchmarks.deleteRecursively(broker.dataDir());
                }
            }
        }
        printReport(results, bytesPerTxn);
        return 0;
    }

    /**
     * Runs both code paths until the JIT has compiled them, as in a long-running application: the FULL
     * measurements alone are too few transactions to get the VFS's upcalls out of the interpreter.
     */
    private static void warmUp(PagestreamVfs vfs, Path workDir, int txns) throws Exception {
        try (Connection plain = open("jdbc:sqlite:file:" + workDir.resolve("warmup-plain.db").toAbsolutePath(), "OFF");
                Connection published = open(vfs.jdbcUrl(workDir.resolve("warmup-vfs.db")), "OFF")) {
            for (Workload workload : List.of(new InsertWorkload(), new UpdateWorkload(2_000))) {
                workload.prepare(plain);
                workload.prepare(published);
                run(workload, plain, txns, 3);
                run(workload, published, txns, 3);
            }
        }
        Benchmarks.flush(vfs);
    }

    /**
     * Drives back-to-back Kafka transactions (commit.mode=sync commits at synchronous=OFF: one transaction each) for a
     * fixed time, so that the measurements meet a broker whose code is compiled, as one that has been running for a
     * while (the full run's 40 s is long enough for that, --quick's 10 s is not). A cold in-process broker costs three
     * to four times the CPU per transaction for minutes (interpreted code and its JIT compiler threads), which would be
     * charged to whichever measurement comes first.
     */
    private static KafkaWarmUp warmUpKafka(PagestreamVfs vfs, Path workDir, Duration length) throws Exception {
        InsertWorkload workload = new InsertWorkload();
        try (Connection published = open(syncCommitUrl(vfs, workDir.resolve("warmup-kafka.db")), "OFF")) {
            workload.prepare(published);
            Random random = new Random(5);
            long end = System.nanoTime() + length.toNanos();
            int transactions = 0;
            int slow = 0;
            long slowest = 0;
            for (long start = System.nanoTime(); start < end; transactions++) {
                workload.transaction(published, random);
                long now = System.nanoTime();
                long took = now - start;
                slowest = Math.max(slowest, took);
                if (took > SLOW_COMMIT.toNanos()) {
                    slow++;
                }
                start = now;
            }
            Benchmarks.flush(vfs);
            return new KafkaWarmUp(transactions, slow, slowest / 1e6);
        }
    }

    private Result measure(PagestreamVfs vfs, MeasuringJournalSink sink, Path workDir, Workload workload, String sync, int txns,
            int rounds, Map<String, Double> bytesPerTxn) throws Exception {
        String name = workload.name() + "-" + sync.toLowerCase(Locale.ROOT);
        Path plainFile = workDir.resolve(name + "-plain.db");
        Path vfsFile = workDir.resolve(name + "-vfs.db");
        String dbId = vfsFile.getFileName().toString();
        try (Connection plain = open("jdbc:sqlite:file:" + plainFile.toAbsolutePath(), sync);
                Connection published = open(vfs.jdbcUrl(vfsFile), sync)) {
            workload.prepare(plain);
            workload.prepare(published);
            Benchmarks.flush(vfs);
            // Warm-up: JIT and page cache, both sides.
            run(workload, plain, txns * 2, 1);
            run(workload, published, txns * 2, 1);
            Benchmarks.flush(vfs);
            double[] plainTps = new double[rounds];
            double[] vfsTps = new double[rounds];
            double[] ratios = new double[rounds];
            double[] publishedRatios = new double[rounds];
            long bytesBefore = sink.bytes(dbId);
            for (int round = 0; round < rounds; round++) {
                boolean plainFirst = round % 2 == 0;
                if (plainFirst) {
                    plainTps[round] = run(workload, plain, txns, round + 7);
                }
                long start = System.nanoTime();
                vfsTps[round] = run(workload, published, txns, round + 7);
                Benchmarks.flush(vfs);
                double publishedTps = txns / ((System.nanoTime() - start) / 1e9);
                if (!plainFirst) {
                    plainTps[round] = run(workload, plain, txns, round + 7);
                }
                ratios[round] = vfsTps[round] / plainTps[round];
                publishedRatios[round] = publishedTps / plainTps[round];
            }
            bytesPerTxn.put(name, (sink.bytes(dbId) - bytesBefore) / (double) ((long) txns * rounds));
            return new Result(workload.name(), sync, median(plainTps), median(vfsTps), median(ratios), median(publishedRatios));
        }
    }

    /**
     * Latency of single-row INSERT transactions at synchronous=FULL, each timed from execute to return, plain and
     * through the VFS with commit.mode=sync (COMMIT waits for Kafka), in interleaved blocks.
     */
    private static CommitLatency measureSyncCommits(PagestreamVfs vfs, Path workDir, int rounds, int txns) throws Exception {
        InsertWorkload workload = new InsertWorkload();
        try (Connection plain = open("jdbc:sqlite:file:" + workDir.resolve("sync-plain.db").toAbsolutePath(), "FULL");
                Connection published = open(syncCommitUrl(vfs, workDir.resolve("sync-vfs.db")), "FULL")) {
            workload.prepare(plain);
            workload.prepare(published);
            timed(workload, plain, txns, 1);
            timed(workload, published, txns, 1);
            double[] plainMillis = new double[rounds * txns];
            double[] syncMillis = new double[rounds * txns];
            for (int round = 0; round < rounds; round++) {
                boolean plainFirst = round % 2 == 0;
                double[] first = timed(workload, plainFirst ? plain : published, txns, round + 3);
                double[] second = timed(workload, plainFirst ? published : plain, txns, round + 3);
                System.arraycopy(plainFirst ? first : second, 0, plainMillis, round * txns, txns);
                System.arraycopy(plainFirst ? second : first, 0, syncMillis, round * txns, txns);
            }
            Arrays.sort(plainMillis);
            Arrays.sort(syncMillis);
            return new CommitLatency(percentile(plainMillis, 0.50), percentile(plainMillis, 0.99), percentile(syncMillis, 0.50),
                    percentile(syncMillis, 0.99));
        }
    }

    private static double[] timed(Workload workload, Connection connection, int txns, long seed) throws SQLException {
        Random random = new Random(seed);
        double[] millis = new double[txns];
        for (int i = 0; i < txns; i++) {
            long start = System.nanoTime();
            workload.transaction(connection, random);
            millis[i] = (System.nanoTime() - start) / 1e6;
        }
        return millis;
    }

    private static double percentile(double[] sorted, double fraction) {
        return sorted[Math.min(sorted.length - 1, (int) Math.floor(fraction * sorted.length))];
    }

    /** A database of the VFS whose COMMITs wait for Kafka. */
    private static String syncCommitUrl(PagestreamVfs vfs, Path file) {
        return vfs.jdbcUrl(file) + "&" + PagestreamConfig.COMMIT_MODE_URI_PARAMETER + "=sync";
    }

    private static Connection open(String url, String sync) throws SQLException {
        Connection connection = DriverManager.getConnection(url);
        try (Statement s = connection.createStatement()) {
            s.execute("PRAGMA journal_mode=DELETE");
            s.execute("PRAGMA synchronous=" + sync);
        }
        return connection;
    }

    /** Runs {@code txns} single-statement autocommit transactions; returns transactions per second. */
    private static double run(Workload workload, Connection connection, int txns, long seed) throws SQLException {
        Random random = new Random(seed);
        long start = System.nanoTime();
        for (int i = 0; i < txns; i++) {
            workload.transaction(connection, random);
        }
        return txns / ((System.nanoTime() - start) / 1e9);
    }

    private void printReport(List<Result> results, Map<String, Double> bytesPerTxn) {
        out.println();
        out.printf("%-8s %-5s %14s %14s %8s %22s%n", "workload", "sync", "plain txn/s", "vfs txn/s", "ratio", "ratio incl. publishing");
        for (Result r : results) {
            out.printf("%-8s %-5s %14.0f %14.0f %8.3f %22.3f%n", r.workload(), r.sync(), r.plainTps(), r.vfsTps(), r.ratio(),
                    r.publishedRatio());
        }
        out.println("(medians over interleaved block pairs; ratio = VFS txn/s / plain txn/s, COMMIT to COMMIT;"
                + " 'incl. publishing' also waits until Kafka acknowledged each block)");
        out.println();
        out.println("bytes put into Kafka per transaction (record key + value + headers, as produced), full page = " + PAGE_SIZE);
        bytesPerTxn.forEach((name, bytes) -> out.printf("  %-12s %8.1f  (%.1f%% of a page)%n", name, bytes, 100 * bytes / PAGE_SIZE));
        out.println();
        Map<String, Object> json = new LinkedHashMap<>();
        for (Result r : results) {
            String key = r.workload() + "_ratio_sync_" + r.sync().toLowerCase(Locale.ROOT);
            json.put(key, Benchmarks.round(r.ratio()));
            json.put(key + "_incl_publishing", Benchmarks.round(r.publishedRatio()));
            json.put(r.workload() + "_plain_tps_sync_" + r.sync().toLowerCase(Locale.ROOT), Math.round(r.plainTps()));
            json.put(r.workload() + "_vfs_tps_sync_" + r.sync().toLowerCase(Locale.ROOT), Math.round(r.vfsTps()));
        }
        json.put("update_bytes_per_txn", Benchmarks.round(average(bytesPerTxn, "update")));
        json.put("insert_bytes_per_txn", Benchmarks.round(average(bytesPerTxn, "insert")));
        json.put("full_page_bytes", PAGE_SIZE);
        if (commitLatency != null) {
            out.println();
            out.printf("single-row INSERT COMMIT latency, synchronous=FULL (ms): plain p50 %.3f p99 %.3f; VFS commit.mode=sync"
                    + " p50 %.3f p99 %.3f; added p50 %.3f p99 %.3f%n", commitLatency.plainP50(), commitLatency.plainP99(),
                    commitLatency.syncP50(), commitLatency.syncP99(), commitLatency.syncP50() - commitLatency.plainP50(),
                    commitLatency.syncP99() - commitLatency.plainP99());
            json.put("sync_commit_p50_ms", Benchmarks.round(commitLatency.syncP50() - commitLatency.plainP50()));
            json.put("sync_commit_p99_ms", Benchmarks.round(commitLatency.syncP99() - commitLatency.plainP99()));
            json.put("plain_commit_p50_ms", Benchmarks.round(commitLatency.plainP50()));
            json.put("sync_mode_commit_p50_ms", Benchmarks.round(commitLatency.syncP50()));
        }
        json.put("quick", quick);
        out.println(Benchmarks.jsonLine(json));
    }

    private static double average(Map<String, Double> bytesPerTxn, String workload) {
        return bytesPerTxn.entrySet().stream().filter(e -> e.getKey().startsWith(workload + "-"))
                .mapToDouble(Map.Entry::getValue).average().orElse(Double.NaN);
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int middle = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    private interface Workload {
        String name();

        void prepare(Connection connection) throws SQLException;

        void transaction(Connection connection, Random random) throws SQLException;
    }

    /** Single-row INSERT of a ~100-byte row per transaction. */
    private static final class InsertWorkload implements Workload {
        private final String[] payloads = new String[1024];
        private final Map<Connection, PreparedStatement> statements = new java.util.IdentityHashMap<>();

        InsertWorkload() {
            Random random = new Random(42);
            for (int i = 0; i < payloads.length; i++) {
                payloads[i] = Benchmarks.letters(random, 100);
            }
        }

        @Override
        public String name() {
            return "insert";
        }

        @Override
        public void prepare(Connection connection) throws SQLException {
            try (Statement s = connection.createStatement()) {
                s.execute("create table t(id integer primary key, payload text not null)");
            }
            statements.put(connection, connection.prepareStatement("insert into t(payload) values (?)"));
        }

        @Override
        public void transaction(Connection connection, Random random) throws SQLException {
            PreparedStatement insert = statements.get(connection);
            insert.setString(1, payloads[random.nextInt(payloads.length)]);
            insert.executeUpdate();
        }
    }

    /** Single-row UPDATE of one integer and one 20-byte text column of a random row among {@code rows}. */
    private static final class UpdateWorkload implements Workload {
        private final int rows;
        private final String[] texts = new String[1024];
        private final Map<Connection, PreparedStatement> statements = new java.util.IdentityHashMap<>();

        UpdateWorkload(int rows) {
            this.rows = rows;
            Random random = new Random(43);
            for (int i = 0; i < texts.length; i++) {
                texts[i] = Benchmarks.letters(random, 20);
            }
        }

        @Override
        public String name() {
            return "update";
        }

        @Override
        public void prepare(Connection connection) throws SQLException {
            Random random = new Random(44);
            try (Statement s = connection.createStatement()) {
                s.execute("create table u(id integer primary key, n integer not null, s text not null, pad text not null)");
                s.execute("BEGIN");
                try (PreparedStatement insert = connection.prepareStatement("insert into u(id, n, s, pad) values (?, ?, ?, ?)")) {
                    for (int id = 1; id <= rows; id++) {
                        insert.setInt(1, id);
                        insert.setInt(2, number(random));
                        insert.setString(3, texts[random.nextInt(texts.length)]);
                        insert.setString(4, Benchmarks.letters(random, 60));
                        insert.executeUpdate();
                    }
                }
                s.execute("COMMIT");
            }
            statements.put(connection, connection.prepareStatement("update u set n = ?, s = ? where id = ?"));
        }

        @Override
        public void transaction(Connection connection, Random random) throws SQLException {
            PreparedStatement update = statements.get(connection);
            update.setInt(1, number(random));
            update.setString(2, texts[random.nextInt(texts.length)]);
            update.setInt(3, 1 + random.nextInt(rows));
            update.executeUpdate();
        }

        /** Always a 3-byte SQLite integer, so the row keeps its size as in a typical counter/status update. */
        private static int number(Random random) {
            return 1_000_000 + random.nextInt(7_000_000);
        }
    }

    /** Acknowledges every record at once and keeps nothing. */
    private record DiscardingJournalSink(int maxRecordBytes) implements JournalSink {
        @Override
        public java.util.concurrent.CompletableFuture<Void> send(List<JournalRecord> records) {
            return java.util.concurrent.CompletableFuture.completedFuture(null);
        }

        @Override
        public void claim(String dbId) {}

        @Override
        public Optional<JournalPosition> lastPosition(String dbId) {
            return Optional.empty();
        }

        @Override
        public void close() {}
    }

}
