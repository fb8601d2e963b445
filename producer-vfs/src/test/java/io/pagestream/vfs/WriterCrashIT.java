package io.pagestream.vfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pagestream.broker.KafkaBrokerExtension;
import io.pagestream.schemas.avro.JournalEntry;
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
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A writer process killed with SIGKILL at random points under load, again and again, then restarted to finish: the
 * journal's LSNs run 1..n, each once; every transaction whose COMMIT returned is in the replica built from it, and that
 * replica equals the writer's file. Committed entries a kill left unpublished come from the outbox; a base entry
 * follows a kill only when SQLite's rollback of the interrupted commit left reused free pages changed. In sync mode,
 * after every kill (before the next writer publishes what the outbox holds), every transaction whose COMMIT returned
 * is already in the journal. Seeded:
 * {@code -Dpagestream.seed=N}; more kills with {@code -Dpagestream.writer.kills=100}.
 */
class WriterCrashIT {
    @RegisterExtension
    static final KafkaBrokerExtension broker = new KafkaBrokerExtension();

    @TempDir
    Path dir;

    @ParameterizedTest(name = "commit.mode={0}")
    @ValueSource(strings = {"async", "sync"})
    @Timeout(value = 30, unit = TimeUnit.MINUTES)
    void aWriterKilledAtRandomPointsLosesNoCommitAndKeepsTheChainContiguous(String commitMode) throws Exception {
        long seed = Long.getLong("pagestream.seed", System.nanoTime());
        int kills = Integer.getInteger("pagestream.writer.kills", 20);
        System.out.printf("WriterCrashIT %s seed=%d kills=%d (replay with -Dpagestream.seed=%d)%n", commitMode, seed, kills, seed);
        Random random = new Random(seed);
        String topic = "writer-crash-it-" + commitMode;
        Path db = dir.resolve("crash.db");
        Set<String> returnedCommits = new HashSet<>();
        List<Long> killDelays = new ArrayList<>();
        for (int killed = 0; killed < kills; killed++) {
            int run = killed;
            Child child = Child.start(topic, db, random.nextLong(1, Long.MAX_VALUE), 0, commitMode, dir);
            await().atMost(Duration.ofMinutes(2)).until(() -> !child.committed.isEmpty() || !child.process.isAlive());
            assertThat(child.process.isAlive()).as("writer %d running: %s", run, child.output).isTrue();
            long delay = random.nextLong(1_500);
            killDelays.add(delay);
            TimeUnit.MILLISECONDS.sleep(delay); // the kill lands anywhere in the write loop
            child.kill();
            child.output.stream().filter(line -> line.contains("WARN") || line.contains("ERROR"))
                    .forEach(line -> System.out.println("[writer " + run + "] " + line));
            returnedCommits.addAll(child.committed);
            if (commitMode.equals("sync")) {
                // Before the next writer publishes what the outbox holds: every COMMIT that returned is in Kafka already.
                assertThat(ledger(replay(topic, "after-kill-" + run).file)).as("seed %d: the journal after kill %d", seed, run)
                        .containsAll(returnedCommits);
            }
        }
        Child last = Child.start(topic, db, random.nextLong(1, Long.MAX_VALUE), 30, commitMode, dir);
        assertThat(last.process.waitFor(3, TimeUnit.MINUTES)).as("the last writer finished").isTrue();
        last.reader.join(Duration.ofSeconds(30));
        assertThat(last.output).as("last writer: %s", last.output).anyMatch(line -> line.equals(CrashingWriter.FINISHED + " failed=0"));
        returnedCommits.addAll(last.committed);
        System.out.printf("WriterCrashIT %s seed=%d: %d kills after %s ms, %d commits returned%n", commitMode, seed, kills, killDelays,
                returnedCommits.size());

        JournalReplay.Replica replica = replay(topic, "replica");
        List<Long> lsns = replica.entries.stream().map(JournalEntry::getLsn).toList();
        assertThat(lsns).as("seed %d: LSNs 1..n, each once", seed)
                .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1, lsns.size()).boxed().toList());
        long bases = replica.entries.stream().filter(JournalEntry::getBase).count();
        System.out.printf("WriterCrashIT %s seed=%d: %d entries, %d base entries%n", commitMode, seed, lsns.size(), bases);
        // Beyond the first, a base entry follows only a kill whose rolled-back commit left reused free pages changed, or
        // (sync) a kill after Kafka took an entry and before the transaction's commit point.
        assertThat(bases).as("seed %d: base entries", seed).isBetween(1L, 1L + (commitMode.equals("sync") ? kills : kills / 2));
        assertThat(Files.readAllBytes(replica.file)).as("seed %d: replica bytes", seed).isEqualTo(Files.readAllBytes(db));
        Set<String> replicated = ledger(replica.file);
        assertThat(replicated).as("seed %d: every transaction whose COMMIT returned", seed).containsAll(returnedCommits);
        // A kill can land after a commit and before its line was printed: at most one such commit per kill.
        assertThat(replicated.size()).as("seed %d: committed transactions", seed)
                .isBetween(returnedCommits.size(), returnedCommits.size() + kills);
    }

    /** The journal read with read_committed and applied to a new replica, each entry verified. */
    private JournalReplay.Replica replay(String topic, String name) throws IOException {
        return KafkaJournal.replay(broker.bootstrapServers(), topic, dir.resolve(name), "crash.db");
    }

    private static Set<String> ledger(Path file) throws java.sql.SQLException {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:file:" + file + "?mode=ro");
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("select marker from ledger")) {
            Set<String> markers = new HashSet<>();
            while (rs.next()) {
                markers.add(rs.getString(1));
            }
            return markers;
        }
    }

    /** A {@link CrashingWriter} process and what it printed. */
    private static final class Child {
        final Process process;
        final List<String> committed = new CopyOnWriteArrayList<>();
        final List<String> output = new CopyOnWriteArrayList<>();
        final Thread reader;

        private Child(Process process) {
            this.process = process;
            this.reader = Thread.ofPlatform().daemon().start(this::readOutput);
        }

        static Child start(String topic, Path db, long seed, int transactions, String commitMode, Path tmpDir) throws IOException {
            List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "--enable-native-access=ALL-UNNAMED",
                    "-Dlogback.statusListenerClass=ch.qos.logback.core.status.NopStatusListener",
                    "-Djava.io.tmpdir=" + tmpDir,
                    "-cp", System.getProperty("java.class.path"), CrashingWriter.class.getName(),
                    broker.bootstrapServers(), topic, db.toString(), Long.toString(seed), Integer.toString(transactions), commitMode);
            return new Child(new ProcessBuilder(command).redirectErrorStream(true).start());
        }

        private void readOutput() {
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                    if (line.startsWith(CrashingWriter.COMMITTED + " ")) {
                        committed.add(line.substring(CrashingWriter.COMMITTED.length() + 1));
                    } else {
                        output.add(line);
                    }
                }
            } catch (IOException e) {
                output.add("(output ended: " + e + ")");
            }
        }

        void kill() throws InterruptedException {
            process.destroyForcibly();
            assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
            reader.join(Duration.ofSeconds(30));
        }
    }
}
