package io.pagestream.vfs;

import static org.assertj.core.api.Assertions.assertThat;

import io.pagestream.broker.EmbeddedKafkaBroker;
import io.pagestream.broker.RestartableBrokers;
import io.pagestream.schemas.avro.JournalEntry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The broker stops for 30 s (-Dpagestream.outage.seconds) under async load: the writer keeps committing, entries
 * wait in the outbox, and once the broker is back every entry arrives exactly once, in order, and a replica built
 * from the journal equals the writer's file.
 */
class BrokerOutageIT {
    @TempDir
    Path dir;

    @RegisterExtension
    final RestartableBrokers brokers = new RestartableBrokers();

    @Test
    @Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
    void theWriterKeepsCommittingWhileTheBrokerIsDownAndEveryEntryArrivesOnceAfterwards() throws Exception {
        long outageSeconds = Long.getLong("pagestream.outage.seconds", 30);
        Path brokerData = dir.resolve("kafka");
        EmbeddedKafkaBroker broker = brokers.start(brokerData, 0);
        int port = broker.port();
        String topic = "outage-it";
        Path db = dir.resolve("outage.db");
        AtomicLong commits = new AtomicLong();
        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicReference<Throwable> writerFailure = new AtomicReference<>();
        try (PagestreamVfs vfs = PagestreamVfs.install(Map.of("bootstrap.servers", broker.bootstrapServers(),
                        "journal.topic", topic, "vfs.name", "outage-it",
                        // Fail fast while the broker is away, so the retries are exercised rather than one long block.
                        "producer.max.block.ms", "5000", "producer.delivery.timeout.ms", "5000",
                        "producer.request.timeout.ms", "3000"));
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(db));
                Statement s = c.createStatement()) {
            s.execute("create table t(id integer primary key, body blob)");
            Thread writer = Thread.ofPlatform().name("outage-writer").start(() -> {
                try (PreparedStatement insert = c.prepareStatement("insert into t(body) values (randomblob(?))")) {
                    for (int i = 0; writing.get(); i++) {
                        insert.setInt(1, 50 + i % 700);
                        insert.executeUpdate();
                        commits.incrementAndGet();
                        Thread.sleep(2); // a steady, moderate load
                    }
                } catch (Throwable e) {
                    writerFailure.set(e);
                }
            });
            Thread.sleep(2_000);
            broker.close();
            long beforeOutage = commits.get();
            long outageStart = System.nanoTime();
            Thread.sleep(outageSeconds * 1_000);
            long duringOutage = commits.get() - beforeOutage;
            broker = brokers.start(brokerData, port);
            System.out.printf("BrokerOutageIT: broker down %d s, %d commits before, %d during the outage%n",
                    Duration.ofNanos(System.nanoTime() - outageStart).toSeconds(), beforeOutage, duringOutage);
            assertThat(duringOutage).as("commits while the broker was down").isGreaterThan(outageSeconds * 20);
            Thread.sleep(3_000);
            writing.set(false);
            writer.join();
            assertThat(writerFailure.get()).as("the writer never failed").isNull();
            assertThat(vfs.flush(Duration.ofMinutes(3))).as("everything acknowledged after the broker returned").isTrue();
            assertThat(vfs.failedEntries()).isZero();
        }
        try {
            JournalReplay.Replica replica = KafkaJournal.replay(broker.bootstrapServers(), topic, dir.resolve("replica"), "outage.db");
            List<Long> lsns = replica.entries.stream().map(JournalEntry::getLsn).toList();
            assertThat(lsns).as("every entry once, in order")
                    .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1, commits.get() + 1).boxed().toList());
            assertThat(replica.entries.stream().filter(JournalEntry::getBase).count()).as("no base entry but the first").isEqualTo(1);
            assertThat(Files.readAllBytes(replica.file)).isEqualTo(Files.readAllBytes(db));
        } finally {
            broker.close();
        }
    }

    @Test
    @Timeout(value = 5, unit = java.util.concurrent.TimeUnit.MINUTES)
    void aFullOutboxMakesCommitsWaitThenFailWhileTheBrokerIsDownAndLosesNothing() throws Exception {
        Path brokerData = dir.resolve("kafka-full");
        EmbeddedKafkaBroker broker = brokers.start(brokerData, 0);
        int port = broker.port();
        String topic = "outbox-full-it";
        Path db = dir.resolve("full.db");
        java.util.Set<Integer> committed = new java.util.HashSet<>();
        try (PagestreamVfs vfs = PagestreamVfs.install(Map.of("bootstrap.servers", broker.bootstrapServers(),
                        "journal.topic", topic, "vfs.name", "outbox-full-it", "outbox.max.bytes", "100000",
                        "outbox.full.policy", "block", "outbox.full.timeout.ms", "500",
                        "producer.max.block.ms", "3000", "producer.delivery.timeout.ms", "3000",
                        "producer.request.timeout.ms", "2000"));
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(db))) {
            try (Statement s = c.createStatement()) {
                s.execute("create table t(id integer primary key, body blob)");
            }
            assertThat(vfs.flush(Duration.ofSeconds(30))).isTrue();
            broker.close();
            java.sql.SQLException refused = null;
            long waited = 0;
            for (int id = 1; refused == null; id++) {
                long start = System.nanoTime();
                try {
                    insert(c, id);
                    committed.add(id);
                } catch (java.sql.SQLException e) {
                    refused = e;
                    waited = Duration.ofNanos(System.nanoTime() - start).toMillis();
                }
                assertThat(id).as("the outbox fills up").isLessThan(1_000);
            }
            System.out.printf("BrokerOutageIT: the outbox filled after %d commits; the next waited %d ms and failed: %s%n",
                    committed.size(), waited, refused.getMessage());
            assertThat(refused.getMessage()).contains("SQLITE_FULL");
            assertThat(vfs.lastCommitRefusal("full.db")).get().asString().contains("db full.db: the outbox is full")
                    .contains("still full after outbox.full.timeout.ms 500");
            assertThat(waited).as("it waited outbox.full.timeout.ms first").isGreaterThanOrEqualTo(500);
            broker = brokers.start(brokerData, port);
            assertThat(vfs.flush(Duration.ofMinutes(2))).as("the outbox drained").isTrue();
            for (int id = 1_000; id < 1_020; id++) {
                insert(c, id);
                committed.add(id);
            }
            assertThat(vfs.flush(Duration.ofMinutes(2))).isTrue();
            assertThat(vfs.failedEntries()).isZero();
        }
        try {
            JournalReplay.Replica replica = KafkaJournal.replay(broker.bootstrapServers(), topic, dir.resolve("replica-full"), "full.db");
            assertThat(replica.entries.stream().map(JournalEntry::getLsn).toList()).as("every committed transaction once, in order")
                    .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1, committed.size() + 1).boxed().toList());
            assertThat(Files.readAllBytes(replica.file)).isEqualTo(Files.readAllBytes(db));
            try (Connection c = DriverManager.getConnection("jdbc:sqlite:file:" + replica.file + "?mode=ro");
                    Statement s = c.createStatement();
                    java.sql.ResultSet rs = s.executeQuery("select id from t")) {
                java.util.Set<Integer> replicated = new java.util.HashSet<>();
                while (rs.next()) {
                    replicated.add(rs.getInt(1));
                }
                assertThat(replicated).as("the refused transaction rolled back; every other one is replicated")
                        .isEqualTo(committed);
            }
        } finally {
            broker.close();
        }
    }

    private static void insert(Connection c, int id) throws java.sql.SQLException {
        try (Statement s = c.createStatement()) {
            s.executeUpdate("insert into t(id, body) values (" + id + ", randomblob(1000))");
        }
    }
}
