package io.pagestream.replica;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pagestream.broker.KafkaBrokerExtension;
import io.pagestream.replica.internals.ReplicaEngine;
import io.pagestream.schemas.PagestreamException;
import io.pagestream.vfs.PagestreamVfs;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Readers of a live replica never see a half-applied transaction, whether they read in the replica's JVM or
 * in another process. A writer runs the seeded {@link BankWorkload} (small and very large transactions,
 * rollbacks, VACUUM) through the VFS and the broker while a replica follows it; {@link InvariantReader}s in
 * this JVM and one in a child JVM ({@link InvariantReaderProcess}) check the bank's invariants in read
 * transactions all along. Then the replica catches up and must be byte-identical to the writer. Replay with
 * {@code -Dpagestream.seed=N}; {@code -Dpagestream.readers.seconds=S} sets how long the writer runs.
 */
class ReadersIT {
    private static final String DB_ID = "bank.db";
    private static final int READER_THREADS = 3;
    private static final int MIN_CHECKS = 50;
    /** Each reader must have seen this many committed states: its reads overlapped the replica's applies. */
    private static final int MIN_DISTINCT_STATES = 10;
    private static final Pattern CHILD_COUNTS = Pattern.compile("checks=(\\d+) distinct=(\\d+)");

    @RegisterExtension
    static final KafkaBrokerExtension broker = new KafkaBrokerExtension();

    @TempDir
    Path dir;

    @Test
    void readersInThisJvmAndAnotherProcessNeverSeeAHalfAppliedTransaction() throws Exception {
        long seed = Long.getLong("pagestream.seed", System.currentTimeMillis());
        int seconds = Integer.getInteger("pagestream.readers.seconds", 40);
        System.out.println("ReadersIT seed=" + seed + " seconds=" + seconds + " (replay with -Dpagestream.seed=" + seed + ")");
        String topic = "readers-it";
        Path writerFile = Files.createDirectories(dir.resolve("writer")).resolve(DB_ID);
        Path replicaDir = dir.resolve("replica");
        Path replicaFile = replicaDir.resolve(ReplicaEngine.fileName(DB_ID));
        AtomicLong writerLsn = new AtomicLong();
        AtomicLong applies = new AtomicLong();
        AtomicReference<PagestreamException> halted = new AtomicReference<>();
        ReplicaListener listener = new ReplicaListener() {
            @Override
            public void applied(String dbId, ReplicaPosition position, int entries) {
                applies.incrementAndGet();
            }

            @Override
            public void halted(String dbId, PagestreamException error) {
                halted.set(error);
            }
        };
        Map<String, Object> replicaSettings = Map.of("bootstrap.servers", broker.bootstrapServers(), "journal.topic", topic,
                "replica.dir", replicaDir.toString(), "replica.name", "readers-it");

        List<InvariantReader> readers = new ArrayList<>();
        List<Thread> readerThreads = new ArrayList<>();
        ChildReader child = null;
        BankWorkload bank;
        long appliesWhileReading;
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("bootstrap.servers", broker.bootstrapServers(),
                        "journal.topic", topic, "vfs.name", "readers-it"))
                .commitObserver((dbId, lsn, image) -> writerLsn.accumulateAndGet(lsn, Math::max))
                .install()) {
            Replica replica = Replica.start(replicaSettings, listener);
            try {
                try (Connection writer = DriverManager.getConnection(vfs.jdbcUrl(writerFile))) {
                    bank = new BankWorkload(seed, writer);
                    bank.setUp();
                    // Readers start once the replica has the schema and the opening accounts.
                    awaitReplicaAt(replica, writerLsn.get(), halted);
                    for (int i = 0; i < READER_THREADS; i++) {
                        InvariantReader reader = new InvariantReader("reader " + i, replicaFile, seed + 1 + i, violation -> {});
                        readers.add(reader);
                        readerThreads.add(Thread.ofPlatform().name("invariant-reader-" + i).start(reader));
                    }
                    child = ChildReader.start(replicaFile, seed + 1 + READER_THREADS);
                    ChildReader started = child;
                    await().atMost(Duration.ofMinutes(1)).until(() -> started.saw("started") || !started.process.isAlive());
                    assertThat(started.process.isAlive()).as("child reader: %s", started.output()).isTrue();

                    long appliesBefore = applies.get();
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
                    long latest = deadline + TimeUnit.MINUTES.toNanos(2);
                    // The set time, and on a slow machine longer, until every reader has seen enough states go by.
                    while (halted.get() == null && (System.nanoTime() < deadline
                            || (System.nanoTime() < latest && !everyReaderSawEnoughStates(readers, started)))) {
                        bank.step();
                    }
                    assertThat(BankSnapshot.readInTransaction(writer, true).violations()).as("the writer's own database").isEmpty();

                    assertThat(vfs.flush(Duration.ofSeconds(120))).isTrue();
                    awaitReplicaAt(replica, writerLsn.get(), halted);
                    appliesWhileReading = applies.get() - appliesBefore;
                }
                // Slow machines: let every reader reach its minimum (the states no longer change, the checks count).
                ChildReader running = child;
                await().atMost(Duration.ofMinutes(2)).until(() -> readers.stream().allMatch(r -> r.checks() >= MIN_CHECKS)
                        && (running.checks() >= MIN_CHECKS || !running.process.isAlive()));
                readers.forEach(InvariantReader::stop);
                child.stop();
            } finally {
                readers.forEach(InvariantReader::stop);
                for (Thread thread : readerThreads) {
                    thread.join(Duration.ofMinutes(1));
                }
                if (child != null) {
                    child.process.destroyForcibly();
                }
                replica.close();
            }
        }

        System.out.println("ReadersIT seed=" + seed + ": writer committed " + bank.committed + " transactions (" + bank.large
                + " large, " + bank.rolledBack + " rolled back, " + bank.vacuums + " VACUUMs), last LSN " + writerLsn.get()
                + "; replica applied " + appliesWhileReading + " batches while the readers read");
        for (InvariantReader reader : readers) {
            System.out.println("ReadersIT " + reader.name() + ": " + reader.summary());
        }
        System.out.println("ReadersIT child process: " + child.summaryLine());

        assertThat(halted.get()).as("replica halted").isNull();
        for (InvariantReader reader : readers) {
            assertThat(reader.violations()).as("seed %d: %s", seed, reader.name()).isEmpty();
            assertThat(reader.checks()).as(reader.name()).isGreaterThanOrEqualTo(MIN_CHECKS);
            assertThat(reader.distinctStates()).as(reader.name()).isGreaterThanOrEqualTo(MIN_DISTINCT_STATES);
        }
        assertThat(child.lines()).as("seed %d: child reader violations", seed).noneMatch(line -> line.startsWith("violation"));
        assertThat(child.process.exitValue()).as("child reader: %s", child.output()).isZero();
        assertThat(child.checks()).as("child reader: %s", child.output()).isGreaterThanOrEqualTo(MIN_CHECKS);
        assertThat(child.distinctStates()).as("child reader: %s", child.output()).isGreaterThanOrEqualTo(MIN_DISTINCT_STATES);
        assertThat(appliesWhileReading).as("applies while the readers read").isGreaterThanOrEqualTo(MIN_DISTINCT_STATES);

        assertThat(Files.readAllBytes(replicaFile)).as("seed %d: replica bytes", seed).isEqualTo(Files.readAllBytes(writerFile));
        assertThat(Files.size(Path.of(replicaFile + "-journal"))).as("journal left after the last apply").isZero();
        try (Connection check = DriverManager.getConnection("jdbc:sqlite:file:" + replicaFile + "?mode=ro");
                Statement s = check.createStatement();
                ResultSet rs = s.executeQuery("PRAGMA integrity_check")) {
            assertThat(rs.getString(1)).isEqualTo("ok");
            BankSnapshot last = BankSnapshot.readInOneStatement(check);
            assertThat(last.violations()).isEmpty();
            assertThat(last.txn()).isEqualTo(bank.committed);
        }
    }

    /**
     * SQLite readers keep their page cache between read transactions as long as the database header's change
     * counter, page count and freelist (bytes 24..39) are unchanged. Transactions that rewrite rows in place
     * change none of these but the counter, so every apply must change it for a kept connection to see it. An
     * exclusive-mode writer is the hard case: SQLite bumps the counter in its first transaction only, so the VFS
     * moves it on at every commit.
     */
    @ParameterizedTest(name = "writer locking_mode={0}")
    @ValueSource(strings = {"NORMAL", "EXCLUSIVE"})
    void aConnectionKeptOpenSeesEveryApplyOfInPlaceUpdates(String lockingMode) throws Exception {
        String topic = "readers-it-in-place-" + lockingMode.toLowerCase(java.util.Locale.ROOT);
        String dbId = "in-place-" + lockingMode.toLowerCase(java.util.Locale.ROOT) + ".db";
        Path writerFile = Files.createDirectories(dir.resolve("writer")).resolve(dbId);
        Path replicaDir = dir.resolve("replica");
        AtomicLong writerLsn = new AtomicLong();
        AtomicReference<PagestreamException> halted = new AtomicReference<>();
        ReplicaListener listener = new ReplicaListener() {
            @Override
            public void halted(String id, PagestreamException error) {
                halted.set(error);
            }
        };
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("bootstrap.servers", broker.bootstrapServers(),
                        "journal.topic", topic, "vfs.name", topic))
                .commitObserver((id, lsn, image) -> writerLsn.accumulateAndGet(lsn, Math::max))
                .install();
                Replica replica = Replica.start(Map.of("bootstrap.servers", broker.bootstrapServers(), "journal.topic", topic,
                        "replica.dir", replicaDir.toString(), "replica.name", topic), listener);
                Connection writer = DriverManager.getConnection(vfs.jdbcUrl(writerFile));
                Statement write = writer.createStatement()) {
            write.execute("PRAGMA locking_mode=" + lockingMode);
            write.execute("create table t(id integer primary key, v integer not null)");
            write.execute("insert into t(id, v) values (1, 0)");
            awaitReplicaAt(replica, dbId, writerLsn.get(), halted);
            try (Connection reader = DriverManager.getConnection("jdbc:sqlite:" + replicaDir.resolve(ReplicaEngine.fileName(dbId)));
                    Statement read = reader.createStatement()) {
                read.execute("PRAGMA busy_timeout=10000");
                read.execute("PRAGMA query_only=1");
                for (int value = 1; value <= 20; value++) {
                    write.execute("update t set v = " + value + " where id = 1");
                    awaitReplicaAt(replica, dbId, writerLsn.get(), halted);
                    try (ResultSet rs = read.executeQuery("select v from t where id = 1")) {
                        assertThat(rs.getInt(1)).as("the kept connection's read after update %d", value).isEqualTo(value);
                    }
                }
            }
        }
    }

    private static boolean everyReaderSawEnoughStates(List<InvariantReader> readers, ChildReader child) {
        return readers.stream().allMatch(reader -> reader.distinctStates() >= MIN_DISTINCT_STATES)
                && child.distinctStates() >= MIN_DISTINCT_STATES;
    }

    private static void awaitReplicaAt(Replica replica, long lsn, AtomicReference<PagestreamException> halted) {
        awaitReplicaAt(replica, DB_ID, lsn, halted);
    }

    private static void awaitReplicaAt(Replica replica, String dbId, long lsn, AtomicReference<PagestreamException> halted) {
        await().atMost(Duration.ofMinutes(3)).until(() -> {
            if (halted.get() != null) {
                throw new IllegalStateException("the replica halted", halted.get());
            }
            ReplicaStatus status = replica.status().get(dbId);
            return status != null && status.position().lsn() == lsn;
        });
    }

    /** The reader in another JVM, and what it printed. */
    private record ChildReader(Process process, List<String> lines, Thread pump) {
        static ChildReader start(Path replicaFile, long seed) throws IOException {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process process = new ProcessBuilder(java, "-Xmx128m", "--enable-native-access=ALL-UNNAMED",
                    "-cp", System.getProperty("java.class.path"), InvariantReaderProcess.class.getName(),
                    replicaFile.toString(), Long.toString(seed))
                    .redirectErrorStream(true).start();
            List<String> lines = new CopyOnWriteArrayList<>();
            Thread pump = Thread.ofPlatform().daemon().name("child-reader-output").start(() -> {
                try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line = out.readLine(); line != null; line = out.readLine()) {
                        lines.add(line);
                    }
                } catch (IOException e) {
                    lines.add("(reading the child's output failed: " + e + ")");
                }
            });
            return new ChildReader(process, lines, pump);
        }

        /** Closes its standard input, which stops it, and waits for it to exit and its output to end. */
        void stop() throws IOException, InterruptedException {
            process.getOutputStream().close();
            assertThat(process.waitFor(2, TimeUnit.MINUTES)).as("child reader exits: %s", output()).isTrue();
            pump.join(Duration.ofMinutes(1));
        }

        boolean saw(String line) {
            return lines.contains(line);
        }

        /** The last progress or summary line. */
        String summaryLine() {
            for (String line : lines.reversed()) {
                if (CHILD_COUNTS.matcher(line).find()) {
                    return line;
                }
            }
            return "(no progress reported)";
        }

        long checks() {
            Matcher counts = CHILD_COUNTS.matcher(summaryLine());
            return counts.find() ? Long.parseLong(counts.group(1)) : 0;
        }

        long distinctStates() {
            Matcher counts = CHILD_COUNTS.matcher(summaryLine());
            return counts.find() ? Long.parseLong(counts.group(2)) : 0;
        }

        String output() {
            return String.join("\n", lines);
        }
    }
}
