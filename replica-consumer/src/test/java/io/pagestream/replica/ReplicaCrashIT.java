package io.pagestream.replica;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import io.pagestream.broker.KafkaBrokerExtension;
import io.pagestream.replica.internals.PositionFile;
import io.pagestream.replica.internals.ReplicaEngine;
import io.pagestream.schemas.JournalApplier;
import io.pagestream.schemas.JournalContract;
import io.pagestream.schemas.PageChecksum;
import io.pagestream.vfs.PagestreamVfs;
import io.pagestream.vfs.WorkloadGenerator;
import io.pagestream.vfs.internals.CommitObserver;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash safety of the replica: a replica process ({@link ReplicaProcess}) killed with SIGKILL at random points —
 * while it starts and recovers, after a random delay, while an apply's rollback journal is on disk, right after
 * an apply, during an apply of live entries — always leaves a replica file that SQLite opens with
 * {@code PRAGMA integrity_check} = ok (rolling back the hot journal an interrupted apply left), whose content is
 * one of its two recorded positions (current or pending) and is the writer's database at that position's LSN; the
 * LSN never goes back, no apply the process reported is lost, and the restarted replica resumes exactly there.
 * After the last kill a clean replica converges to a byte-identical copy of each writer database.
 *
 * <p>The writer (this JVM, through the VFS) first commits a seeded workload of a few thousand entries on two
 * databases (large transactions, VACUUM growing and shrinking the files, page-size changes, rollbacks that make
 * the VFS publish new base entries) and keeps writing during the kills, so a restarted replica applies both
 * catch-up batches and live entries. Each replica process gets a random batch limit, from a few pages per apply to
 * thousands. The checks run on a copy of the killed replica's files, so the next replica process rolls the hot
 * journal back itself.
 *
 * <p>Replay with {@code -Dpagestream.seed=N}. Soak with hundreds of kills:
 * <pre>
 * ./mvnw -o verify -pl replica-consumer -am -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dfailsafe.failIfNoSpecifiedTests=false -Dit.test=ReplicaCrashIT -Dpagestream.kills=300
 * </pre>
 */
class ReplicaCrashIT {
    private static final String TOPIC = "replica-crash-it";
    private static final List<String> DATABASES = List.of("alpha.db", "beta.db");
    /** Pause between a writer's transactions while the replica is being killed: a steady stream of live entries. */
    private static final long WRITER_PACE_MILLIS = 40;
    private static final Duration CHILD_START_TIMEOUT = Duration.ofSeconds(60);
    /** How long a kill waits for the moment it aims at (an apply) before it kills anyway. */
    private static final Duration KILL_POINT_TIMEOUT = Duration.ofSeconds(5);
    /** How long a kill aimed at live applies waits for the replica to catch up with the writer. */
    private static final Duration CATCH_UP_TIMEOUT = Duration.ofSeconds(60);
    private static final int[] BATCH_MAX_PAGES = {64, 1024, 16_384};

    @RegisterExtension
    static final KafkaBrokerExtension broker = new KafkaBrokerExtension();

    @TempDir
    Path dir;

    private final WriterImages images = new WriterImages();
    private final Map<KillPoint, Integer> killPoints = new EnumMap<>(KillPoint.class);
    private int killsOnceCaughtUp;

    /** Where in the replica process's life the kill aims. */
    private enum KillPoint {
        /** At a random moment before the replica follows the journal: JVM start, hot-journal recovery, Kafka connection. */
        WHILE_STARTING,
        /** 50–1500 ms after it follows the journal. */
        AFTER_A_DELAY,
        /** As soon as an apply's rollback journal is seen on disk (after a random delay, so not always the first apply). */
        DURING_AN_APPLY,
        /** As soon as one to four applies are reported: the other database's apply of the same poll may be under way. */
        AFTER_AN_APPLY,
        /** During an apply once the replica has caught up with the writer: an apply of live entries. */
        DURING_A_LIVE_APPLY
    }

    @Test
    void killedReplicaAlwaysLeavesAnIntactFileAtARecordedPositionAndConverges() throws Exception {
        long seed = Long.getLong("pagestream.seed", System.currentTimeMillis());
        int kills = Integer.getInteger("pagestream.kills", 24);
        int preloadSteps = Integer.getInteger("pagestream.workload.steps", 1200);
        System.out.println("ReplicaCrashIT seed=" + seed + " kills=" + kills + " preload steps=" + preloadSteps
                + " (replay with -Dpagestream.seed=" + seed + ")");
        Random random = new Random(seed);
        Path writerDir = Files.createDirectories(dir.resolve("writer"));
        Path replicaDir = dir.resolve("replica");
        Map<String, String> replicaSettings = new LinkedHashMap<>();
        replicaSettings.put("bootstrap.servers", broker.bootstrapServers());
        replicaSettings.put("journal.topic", TOPIC);
        replicaSettings.put("replica.dir", replicaDir.toString());
        replicaSettings.put("replica.dbs", String.join(",", DATABASES));
        replicaSettings.put("replica.name", "crash-it");
        CrashChecker checker = new CrashChecker(replicaDir, Files.createDirectories(dir.resolve("checks")), images);

        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("bootstrap.servers", broker.bootstrapServers(),
                        "journal.topic", TOPIC, "journal.topic.partitions", "2", "vfs.name", "replica-crash-it"))
                .commitObserver(images::record)
                .install();
                Writers writers = Writers.start(vfs, writerDir, seed, preloadSteps)) {
            await().atMost(Duration.ofMinutes(5)).until(writers::preloaded);
            System.out.println("ReplicaCrashIT: preloaded " + images.entries() + " entries " + images.lastLsns() + ", "
                    + DATABASES.stream().map(dbId -> dbId + " " + writerDir.resolve(dbId).toFile().length() / 1024 + " KiB")
                            .toList());
            for (int kill = 1; kill <= kills; kill++) {
                writers.requireRunning();
                killOnce(kill, "seed " + seed + " kill " + kill, random, replicaSettings, checker);
            }
            writers.stop();
            assertThat(vfs.flush(Duration.ofMinutes(2))).isTrue();
            assertThat(vfs.failedEntries()).isZero();
            convergeAfterTheKills(replicaSettings, checker, "seed " + seed + " final start");
        }

        for (String dbId : DATABASES) {
            Path replicaFile = replicaDir.resolve(ReplicaEngine.fileName(dbId));
            assertThat(Files.readAllBytes(replicaFile)).as("seed %d: replica of %s", seed, dbId)
                    .isEqualTo(Files.readAllBytes(writerDir.resolve(dbId)));
            assertThat(integrityCheck(replicaFile)).as("seed %d: replica of %s", seed, dbId).isEqualTo("ok");
        }
        System.out.println("ReplicaCrashIT seed=" + seed + ": " + kills + " kills " + killPoints + ", " + killsOnceCaughtUp
                + " of them once the replica had caught up with the writer; " + images.entries() + " entries "
                + images.lastLsns() + "; " + checker.summary());
        assertThat(checker.resumesVerified).as("restarts whose first apply was checked").isPositive();
    }

    /** Starts a replica process, kills it at a random point, and checks what it left. */
    private void killOnce(int kill, String seedLabel, Random random, Map<String, String> replicaSettings,
            CrashChecker checker) throws Exception {
        KillPoint point = pick(random);
        killPoints.merge(point, 1, Integer::sum);
        // Batches from a few pages to thousands: small applies let a replica catching up progress between kills.
        int batchMaxPages = BATCH_MAX_PAGES[random.nextInt(BATCH_MAX_PAGES.length)];
        List<String> arguments = new ArrayList<>(replicaSettings.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                .toList());
        arguments.add("replica.batch.max.pages=" + batchMaxPages);
        Map<String, Long> writerAtStart = images.lastLsns();
        Path processTmp = Files.createDirectories(dir.resolve("replica-process-tmp"));
        ChildReplica child = ChildReplica.start(kill, arguments, processTmp);
        try {
            awaitKillPoint(point, child, random, Path.of(replicaSettings.get("replica.dir")), writerAtStart);
        } finally {
            child.kill();
        }
        String label = seedLabel + " (" + point + ")";
        child.requireKilledWhileFollowing(label);
        checker.verifyResumedAtCheckedPosition(child.firstApplies, label);
        String outcome = checker.inspectKilledReplica(label, child.lastApplied);
        List<String> caughtUp = child.caughtUpWith(writerAtStart);
        killsOnceCaughtUp += caughtUp.isEmpty() ? 0 : 1;
        System.out.println("ReplicaCrashIT kill " + kill + " (" + point + ") after " + child.millisAlive + " ms (following after "
                + child.millisToStart + " ms), " + child.applies.get() + " applies of up to " + batchMaxPages + " pages"
                + (caughtUp.isEmpty() ? "" : ", applying live entries of " + caughtUp) + ": " + outcome);
    }

    /** A clean start after the last kill: the replica converges from wherever the kills left it. */
    private void convergeAfterTheKills(Map<String, String> replicaSettings, CrashChecker checker, String label) {
        Map<String, long[]> firstApplies = new ConcurrentHashMap<>();
        Replica replica = Replica.start(replicaSettings, new ReplicaListener() {
            @Override
            public void applied(String dbId, ReplicaPosition position, int entries) {
                firstApplies.putIfAbsent(dbId, new long[] {position.lsn(), entries});
            }
        });
        try {
            await().atMost(Duration.ofMinutes(3)).untilAsserted(() -> {
                for (String dbId : DATABASES) {
                    ReplicaStatus status = replica.status().get(dbId);
                    assertThat(status).as("%s: replica of %s", label, dbId).isNotNull();
                    assertThat(status.error()).as("%s: replica of %s", label, dbId).isNull();
                    assertThat(status.position().lsn()).as("%s: replica of %s", label, dbId).isEqualTo(images.lastLsn(dbId));
                }
            });
        } finally {
            replica.close();
        }
        checker.verifyResumedAtCheckedPosition(firstApplies, label);
    }

    private static KillPoint pick(Random random) {
        int dice = random.nextInt(100);
        return dice < 10 ? KillPoint.WHILE_STARTING
                : dice < 35 ? KillPoint.AFTER_A_DELAY
                : dice < 65 ? KillPoint.DURING_AN_APPLY
                : dice < 80 ? KillPoint.AFTER_AN_APPLY
                : KillPoint.DURING_A_LIVE_APPLY;
    }

    private static void awaitKillPoint(KillPoint point, ChildReplica child, Random random, Path replicaDir,
            Map<String, Long> writerAtStart) {
        if (point == KillPoint.WHILE_STARTING) {
            awaitUntil(millisFromNow(100 + random.nextInt(1900)), () -> child.started, child);
            return;
        }
        await().atMost(CHILD_START_TIMEOUT).pollInterval(Duration.ofMillis(5))
                .until(() -> child.started || !child.process.isAlive());
        switch (point) {
            case AFTER_A_DELAY -> awaitUntil(millisFromNow(50 + random.nextInt(1451)), () -> false, child);
            case DURING_AN_APPLY -> {
                awaitUntil(millisFromNow(random.nextInt(1000)), () -> false, child);
                awaitUntil(millisFromNow(KILL_POINT_TIMEOUT.toMillis()), () -> anyJournalHot(replicaDir), child);
            }
            case AFTER_AN_APPLY -> {
                int applies = child.applies.get() + 1 + random.nextInt(4);
                awaitUntil(millisFromNow(KILL_POINT_TIMEOUT.toMillis()), () -> child.applies.get() >= applies, child);
            }
            case DURING_A_LIVE_APPLY -> {
                awaitUntil(millisFromNow(CATCH_UP_TIMEOUT.toMillis()),
                        () -> child.caughtUpWith(writerAtStart).size() == DATABASES.size(), child);
                awaitUntil(millisFromNow(random.nextInt(300)), () -> false, child);
                awaitUntil(millisFromNow(KILL_POINT_TIMEOUT.toMillis()), () -> anyJournalHot(replicaDir), child);
            }
            default -> throw new IllegalStateException(point.toString());
        }
    }

    private static long millisFromNow(long millis) {
        return System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    }

    /** Polls every millisecond until the condition holds, the deadline passes or the replica process ends. */
    private static void awaitUntil(long deadlineNanos, Callable<Boolean> condition, ChildReplica child) {
        await().atMost(Duration.ofNanos(deadlineNanos - System.nanoTime()).plusSeconds(30)).pollDelay(Duration.ZERO)
                .pollInterval(Duration.ofMillis(1))
                .until(() -> System.nanoTime() >= deadlineNanos || condition.call() || !child.process.isAlive());
    }

    private static boolean anyJournalHot(Path replicaDir) {
        return DATABASES.stream().anyMatch(dbId -> hasHotJournal(replicaDir.resolve(ReplicaEngine.fileName(dbId))));
    }

    /** A journal with content: SQLite rolls it back when it next opens the database (no process holds a lock now). */
    private static boolean hasHotJournal(Path database) {
        try {
            return Files.size(Path.of(database + "-journal")) > 0;
        } catch (IOException e) {
            return false;
        }
    }

    /** Opens the database with SQLite (rolling back a hot journal) and runs {@code PRAGMA integrity_check}. */
    private static String integrityCheck(Path database) throws SQLException {
        try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + database);
                Statement statement = connection.createStatement()) {
            statement.execute("PRAGMA busy_timeout=10000");
            List<String> problems = new ArrayList<>();
            try (ResultSet rs = statement.executeQuery("PRAGMA integrity_check")) {
                while (rs.next()) {
                    problems.add(rs.getString(1));
                }
            }
            return String.join("\n", problems);
        }
    }

    /**
     * A fingerprint of a database image: its length and two different CRCs (CRC32C and CRC-32, both computed in
     * hardware). Computed at every commit of multi-MB databases, where SHA-256 took most of the writers' CPU.
     */
    private static String fingerprint(byte[] image) {
        CRC32C crc32c = new CRC32C();
        crc32c.update(image);
        CRC32 crc32 = new CRC32();
        crc32.update(image);
        return image.length + ":" + JournalContract.hex(crc32c.getValue() << 32 | crc32.getValue());
    }

    /** The writer's database image (its fingerprint) at every LSN, recorded at commit. */
    private static final class WriterImages {
        private final Map<String, String> fingerprints = new ConcurrentHashMap<>();
        private final Map<String, Long> lastLsns = new ConcurrentHashMap<>();

        void record(String dbId, long lsn, CommitObserver.DatabaseImage image) {
            fingerprints.put(dbId + "@" + lsn, ReplicaCrashIT.fingerprint(image.readAll()));
            lastLsns.merge(dbId, lsn, Math::max);
        }

        /** The writer's image at {@code lsn}; LSN 0 is the empty file a replica starts from. */
        String fingerprint(String dbId, long lsn) {
            return lsn == 0 ? ReplicaCrashIT.fingerprint(new byte[0])
                    : fingerprints.getOrDefault(dbId + "@" + lsn, "none recorded");
        }

        long lastLsn(String dbId) {
            return lastLsns.getOrDefault(dbId, 0L);
        }

        Map<String, Long> lastLsns() {
            return new TreeMap<>(lastLsns);
        }

        long entries() {
            return lastLsns.values().stream().mapToLong(Long::longValue).sum();
        }
    }

    /** Checks a killed replica's files (on a copy) and remembers, per database, the position it must resume from. */
    private static final class CrashChecker {
        private final Path replicaDir;
        private final Path scratch;
        private final WriterImages images;
        private final Map<String, Long> checkedLsn = new ConcurrentHashMap<>();
        private int pendingMatched;
        private int currentMatched;
        private int hotJournals;
        private int hotJournalsRolledBackToCurrent;
        private int notYetCreated;
        private int resumesVerified;

        CrashChecker(Path replicaDir, Path scratch, WriterImages images) {
            this.replicaDir = replicaDir;
            this.scratch = scratch;
            this.images = images;
            DATABASES.forEach(dbId -> checkedLsn.put(dbId, 0L));
        }

        /** A restarted replica's first apply of each database starts exactly at the position checked after the kill. */
        void verifyResumedAtCheckedPosition(Map<String, long[]> firstApplies, String label) {
            firstApplies.forEach((dbId, apply) -> {
                if (checkedLsn.get(dbId) == 0) {
                    return; // a replica holding nothing starts at the database's newest base entry
                }
                assertThat(apply[0] - apply[1]).as("%s: first apply of %s (up to LSN %d, %d entries) resumed from", label,
                        dbId, apply[0], apply[1]).isEqualTo(checkedLsn.get(dbId));
                resumesVerified++;
            });
        }

        /**
         * @param reportedLsns per database, the last apply the killed process reported done: it must have lasted
         * @return what the kill left, per database
         */
        String inspectKilledReplica(String label, Map<String, Long> reportedLsns) throws IOException, SQLException {
            List<String> outcomes = new ArrayList<>();
            Path copies = Files.createDirectories(scratch.resolve(label.replaceAll("[^A-Za-z0-9]+", "-")));
            for (String dbId : DATABASES) {
                String what = label + ", replica of " + dbId;
                Path file = replicaDir.resolve(ReplicaEngine.fileName(dbId));
                Path journal = Path.of(file + "-journal");
                boolean hot = hasHotJournal(file);
                PositionFile.Recorded recorded = PositionFile.exists(file) ? PositionFile.peek(file) : null;
                if (!Files.exists(file)) {
                    assertThat(recorded).as(what + ": a position without a file").isNull();
                    notYetCreated++;
                    outcomes.add(dbId + " not created yet");
                    continue;
                }
                // A copy: SQLite rolls the hot journal back here, and the next replica process does it on the original.
                Path copy = copies.resolve(file.getFileName());
                Files.copy(file, copy);
                if (Files.exists(journal)) {
                    Files.copy(journal, Path.of(copy + "-journal"));
                }
                assertThat(integrityCheck(copy)).as(what + " (hot journal: " + hot + ")").isEqualTo("ok");
                assertThat(hasHotJournal(copy)).as(what + ": journal left hot after SQLite opened the file").isFalse();
                byte[] bytes = Files.readAllBytes(copy);
                long checksum;
                try (FileChannel channel = FileChannel.open(copy)) {
                    checksum = JournalApplier.checksumOf(channel);
                }
                int pageSize = PageChecksum.headerPageSize(bytes);
                long pageCount = JournalContract.isValidPageSize(pageSize) ? bytes.length / pageSize : 0;
                String state = "file (" + bytes.length + " bytes, " + pageCount + " pages, checksum "
                        + JournalContract.hex(checksum) + ", hot journal: " + hot + ")";
                ReplicaPosition matched;
                String held;
                if (recorded == null) {
                    assertThat(bytes).as(what + ": " + state + " has no recorded position").isEmpty();
                    matched = ReplicaPosition.EMPTY;
                    held = "empty";
                    notYetCreated++;
                } else if (holds(recorded.pending(), checksum, pageCount)) {
                    matched = recorded.pending();
                    held = "pending";
                    pendingMatched++;
                } else if (holds(recorded.current(), checksum, pageCount)) {
                    matched = recorded.current();
                    held = "current";
                    currentMatched++;
                    hotJournalsRolledBackToCurrent += hot ? 1 : 0;
                } else {
                    throw new AssertionError(what + ": " + state + " matches neither recorded position: current "
                            + recorded.current() + ", pending " + recorded.pending());
                }
                hotJournals += hot ? 1 : 0;
                assertThat(matched.lsn()).as(what + ": LSN after the kill vs the previous kill's")
                        .isGreaterThanOrEqualTo(checkedLsn.get(dbId));
                assertThat(matched.lsn()).as(what + ": LSN after the kill vs the last apply the process reported")
                        .isGreaterThanOrEqualTo(reportedLsns.getOrDefault(dbId, 0L));
                assertThat(fingerprint(bytes)).as(what + ": " + state + " vs the writer's database at LSN " + matched.lsn())
                        .isEqualTo(images.fingerprint(dbId, matched.lsn()));
                checkedLsn.put(dbId, matched.lsn());
                outcomes.add(dbId + " at LSN " + matched.lsn() + " (" + held + (hot ? ", hot journal rolled back" : "") + ")");
            }
            return String.join(", ", outcomes);
        }

        private static boolean holds(ReplicaPosition position, long checksum, long pageCount) {
            return position.checksum() == checksum && position.pageCount() == pageCount;
        }

        String summary() {
            return "after the kills the file held the pending position " + pendingMatched + " times and the current one "
                    + currentMatched + " times (" + hotJournalsRolledBackToCurrent + " after rolling back a hot journal; "
                    + hotJournals + " hot journals in all), " + notYetCreated + " times the replica did not exist yet; "
                    + resumesVerified + " restarts resumed exactly at the checked position; LSNs at the last kill "
                    + new TreeMap<>(checkedLsn);
        }
    }

    /** A replica process, its output read line by line. */
    private static final class ChildReplica {
        private final int number;
        private final Process process;
        private final long startedAt = System.nanoTime();
        private final Thread reader;
        private final List<String> output = Collections.synchronizedList(new ArrayList<>());
        private final AtomicInteger applies = new AtomicInteger();
        /** Per database, the first apply's LSN and entry count. */
        private final Map<String, long[]> firstApplies = new ConcurrentHashMap<>();
        private final Map<String, Long> lastApplied = new ConcurrentHashMap<>();
        private volatile boolean started;
        private volatile long millisToStart = -1;
        private volatile String trouble;
        private boolean aliveAtKill;
        private long millisAlive;

        private ChildReplica(int number, Process process) {
            this.number = number;
            this.process = process;
            this.reader = Thread.ofPlatform().daemon().name("replica-process-" + number).start(this::readOutput);
        }

        /** @param tmpDir the process's java.io.tmpdir: a killed JVM leaves the native libraries it extracted there */
        static ChildReplica start(int number, List<String> arguments, Path tmpDir) throws IOException {
            List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    // Short-lived: C1 only starts it sooner.
                    "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "--enable-native-access=ALL-UNNAMED",
                    // Two logback-test.xml on the test classpath make logback print its status at every start.
                    "-Dlogback.statusListenerClass=ch.qos.logback.core.status.NopStatusListener",
                    "-Djava.io.tmpdir=" + tmpDir,
                    "-cp", System.getProperty("java.class.path"), ReplicaProcess.class.getName()));
            command.addAll(arguments);
            return new ChildReplica(number, new ProcessBuilder(command).redirectErrorStream(true).start());
        }

        private void readOutput() {
            try (BufferedReader lines = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                    output.add(line);
                    String[] words = line.split(" ");
                    switch (words[0]) {
                        case ReplicaProcess.STARTED -> {
                            millisToStart = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedAt);
                            started = true;
                        }
                        case ReplicaProcess.APPLIED -> {
                            long lsn = Long.parseLong(words[2]);
                            firstApplies.putIfAbsent(words[1], new long[] {lsn, Long.parseLong(words[3])});
                            lastApplied.put(words[1], lsn);
                            applies.incrementAndGet();
                        }
                        case ReplicaProcess.HALTED, ReplicaProcess.FAILED -> trouble = line;
                        default -> System.out.println("[replica process " + number + "] " + line);
                    }
                }
            } catch (IOException e) {
                // The process ended: its pipe can close under a reader blocked on it.
                output.add("(output ended: " + e + ")");
            }
        }

        /** SIGKILL, then waits until the process is gone and its output read. */
        void kill() throws InterruptedException {
            aliveAtKill = process.isAlive();
            process.destroyForcibly();
            millisAlive = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedAt);
            assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("replica process %d ended", number).isTrue();
            reader.join(Duration.ofSeconds(30));
        }

        /** The databases whose replica has applied every entry up to the writer's LSNs given. */
        List<String> caughtUpWith(Map<String, Long> writerLsns) {
            return DATABASES.stream().filter(dbId -> lastApplied.getOrDefault(dbId, 0L) >= writerLsns.getOrDefault(dbId, 0L))
                    .toList();
        }

        void requireKilledWhileFollowing(String label) {
            String log = String.join("\n", output);
            assertThat(aliveAtKill).as("%s: the replica process ended on its own (exit %d):%n%s", label,
                    process.exitValue(), log).isTrue();
            assertThat(trouble).as("%s: the replica process reported:%n%s", label, log).isNull();
        }
    }

    /** One writer thread per database: a preload of {@code preloadSteps} transactions, then a steady pace until stopped. */
    private static final class Writers implements AutoCloseable {
        private final List<DatabaseWriter> databases = new ArrayList<>();
        private final ExecutorService pool = Executors.newFixedThreadPool(DATABASES.size());
        private final CountDownLatch stopWriting = new CountDownLatch(1);
        private final AtomicInteger preloaded = new AtomicInteger();
        private final List<Future<?>> writing = new ArrayList<>();

        static Writers start(PagestreamVfs vfs, Path directory, long seed, int preloadSteps)
                throws SQLException, InterruptedException {
            Writers writers = new Writers();
            try {
                writers.databases.add(new DatabaseWriter(vfs, directory, "alpha.db",
                        "PRAGMA journal_mode=DELETE; PRAGMA synchronous=OFF", new WorkloadGenerator.Options(true, false, 0, 0),
                        seed * 31 + 1));
                writers.databases.add(new DatabaseWriter(vfs, directory, "beta.db",
                        "PRAGMA page_size=1024; PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=TRUNCATE;"
                                + " PRAGMA synchronous=OFF",
                        new WorkloadGenerator.Options(true, true, 0, 0), seed * 31 + 2));
            } catch (SQLException | RuntimeException e) {
                writers.close();
                throw e;
            }
            for (DatabaseWriter database : writers.databases) {
                writers.writing.add(writers.pool.submit(() -> {
                    for (int step = 0; step < preloadSteps; step++) {
                        database.step();
                    }
                    writers.preloaded.incrementAndGet();
                    while (!writers.stopWriting.await(WRITER_PACE_MILLIS, TimeUnit.MILLISECONDS)) {
                        database.step();
                    }
                    return null;
                }));
            }
            return writers;
        }

        boolean preloaded() throws InterruptedException, ExecutionException {
            requireRunning();
            return preloaded.get() == databases.size();
        }

        /** Throws a writer's failure. */
        void requireRunning() throws InterruptedException, ExecutionException {
            for (Future<?> future : writing) {
                if (future.isDone()) {
                    future.get();
                    fail("a writer stopped early");
                }
            }
        }

        /** Stops writing; throws a writer's failure. */
        void stop() throws InterruptedException, ExecutionException {
            stopWriting.countDown();
            for (Future<?> future : writing) {
                future.get();
            }
        }

        @Override
        public void close() throws SQLException, InterruptedException {
            stopWriting.countDown();
            pool.shutdown();
            assertThat(pool.awaitTermination(2, TimeUnit.MINUTES)).as("writers stopped").isTrue();
            for (DatabaseWriter database : databases) {
                database.close();
            }
        }
    }

    /** One writer database: mostly small transactions, often the seeded generator's, now and then a large one or a VACUUM. */
    private static final class DatabaseWriter implements AutoCloseable {
        private static final int[] PAGE_SIZES = {1024, 2048, 4096, 8192};
        private final Connection connection;
        private final WorkloadGenerator generator;
        private final Random random;

        DatabaseWriter(PagestreamVfs vfs, Path directory, String dbId, String setup, WorkloadGenerator.Options options,
                long seed) throws SQLException {
            this.connection = DriverManager.getConnection(vfs.jdbcUrl(directory.resolve(dbId)));
            this.random = new Random(seed);
            try (Statement s = connection.createStatement()) {
                for (String pragma : setup.split(";")) {
                    s.execute(pragma.trim());
                }
            }
            WorkloadGenerator.createSharedSchema(connection);
            try (Statement s = connection.createStatement()) {
                s.execute("create table bulk(id integer primary key, b blob)");
                s.execute("create table kv(id integer primary key, v blob)");
            }
            this.generator = new WorkloadGenerator(seed, connection, dbId.replaceAll("[^a-z]", ""), options);
            generator.setUp();
        }

        /** One transaction (the generator rolls some back). */
        void step() throws SQLException {
            int dice = random.nextInt(1000);
            if (dice < 10) {
                insertBulk();
            } else if (dice < 15) {
                shrink();
            } else if (dice < 17) {
                changePageSize();
            } else if (dice < 100) {
                generator.step();
            } else {
                smallChange();
            }
        }

        /** A few rows of a bounded table replaced, sometimes a range deleted: the database stays a few MB. */
        private void smallChange() throws SQLException {
            try (Statement s = connection.createStatement();
                    PreparedStatement upsert = connection.prepareStatement("insert or replace into kv(id, v) values (?, ?)")) {
                s.execute("BEGIN IMMEDIATE");
                int rows = 1 + random.nextInt(20);
                for (int row = 0; row < rows; row++) {
                    byte[] bytes = new byte[10 + random.nextInt(800)];
                    random.nextBytes(bytes);
                    upsert.setInt(1, 1 + random.nextInt(1000));
                    upsert.setBytes(2, bytes);
                    upsert.executeUpdate();
                }
                if (random.nextInt(10) == 0) {
                    int from = random.nextInt(1000);
                    s.execute("delete from kv where id between " + from + " and " + (from + 50));
                }
                s.execute("COMMIT");
            }
        }

        /** One transaction of hundreds of rows: an entry of up to hundreds of pages that grows the file. */
        private void insertBulk() throws SQLException {
            int rows = 50 + random.nextInt(750);
            try (Statement s = connection.createStatement();
                    PreparedStatement insert = connection.prepareStatement("insert into bulk(b) values (?)")) {
                s.execute("BEGIN IMMEDIATE");
                for (int row = 0; row < rows; row++) {
                    byte[] bytes = new byte[100 + random.nextInt(1400)];
                    random.nextBytes(bytes);
                    insert.setBytes(1, bytes);
                    insert.executeUpdate();
                }
                s.execute("COMMIT");
            }
        }

        /** Deletes three bulk rows in four, then VACUUM: the file shrinks. */
        private void shrink() throws SQLException {
            try (Statement s = connection.createStatement()) {
                s.execute("delete from bulk where id % 4 <> " + random.nextInt(4));
                s.execute("VACUUM");
            }
        }

        /** VACUUM into another page size: an entry that rewrites every page. */
        private void changePageSize() throws SQLException {
            try (Statement s = connection.createStatement()) {
                s.execute("PRAGMA page_size=" + PAGE_SIZES[random.nextInt(PAGE_SIZES.length)]);
                s.execute("VACUUM");
            }
        }

        @Override
        public void close() throws SQLException {
            connection.close();
        }
    }
}
