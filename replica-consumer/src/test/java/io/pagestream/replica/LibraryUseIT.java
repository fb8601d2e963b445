package io.pagestream.replica;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pagestream.broker.ChildJvm;
import io.pagestream.broker.EmbeddedKafkaBroker;
import io.pagestream.broker.RestartableBrokers;
import io.pagestream.schemas.avro.JournalEntry;
import io.pagestream.vfs.KafkaJournal;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * An application embedding the libraries as README shows, in JVMs started with {@code --enable-native-access} only
 * (no other JVM option, no system property): a writer restarted after a broker outage publishes every entry its
 * outbox holds, in order and once, and a new replica ends byte-identical to the writer's file.
 */
class LibraryUseIT {
    private static final String TOPIC = "library-use";
    private static final String DB_ID = "shop.db";

    @TempDir
    Path dir;

    @RegisterExtension
    final RestartableBrokers brokers = new RestartableBrokers();

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void aWriterRestartedAfterAnOutagePublishesItsWholeOutboxAndANewReplicaEndsIdentical() throws Exception {
        EmbeddedKafkaBroker broker = brokers.start(dir.resolve("kafka"), 0);
        Path db = Files.createDirectories(dir.resolve("writer")).resolve(DB_ID);

        ChildJvm before = application(broker.bootstrapServers(), db, "before-outage");
        awaitLine(before, "flushed true failed 0");
        broker.close();
        before.send("the broker is down");
        awaitLine(before, "committed");
        assertThat(before.exitCode(Duration.ofSeconds(60))).as(before.describe()).isZero();

        broker = brokers.start(dir.resolve("kafka"), broker.port());
        ChildJvm after = application(broker.bootstrapServers(), db, "after-outage");
        awaitLine(after, "flushed true failed 0");
        assertThat(after.exitCode(Duration.ofSeconds(60))).as(after.describe()).isZero();

        // create, insert, 3 inserts during the outage, insert and update after the restart: LSN 1..7, the first a base.
        List<JournalEntry> journal = KafkaJournal.entries(broker.bootstrapServers(), TOPIC).get(DB_ID).stream()
                .map(KafkaJournal.Entry::entry).toList();
        assertThat(journal).extracting(JournalEntry::getLsn).containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L);
        assertThat(journal).extracting(JournalEntry::getBase).containsExactly(true, false, false, false, false, false, false);

        try (Replica replica = Replica.start(Map.of("bootstrap.servers", broker.bootstrapServers(), "journal.topic", TOPIC,
                "replica.dir", dir.resolve("replica").toString(), "replica.name", "library-use"))) {
            await().atMost(Duration.ofSeconds(60)).until(() -> {
                ReplicaStatus status = replica.status().get(DB_ID);
                assertThat(status == null ? null : status.error()).isNull();
                return status != null && status.position().lsn() == 7;
            });
            assertThat(sha256(replica.status().get(DB_ID).file())).isEqualTo(sha256(db));
        }
    }

    private static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }

    /** {@link EmbeddingApplication} in a JVM of its own, with only the option README asks for. */
    private static ChildJvm application(String bootstrapServers, Path db, String phase) throws IOException {
        return ChildJvm.start(EmbeddingApplication.class, bootstrapServers, TOPIC, db.toString(), phase);
    }

    private static void awaitLine(ChildJvm child, String line) {
        await().atMost(Duration.ofSeconds(120)).failFast(child.describe(), () -> !child.isAlive() && !child.lines().contains(line))
                .until(() -> child.lines().contains(line));
    }
}
