package io.pagestream.vfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pagestream.broker.EmbeddedKafkaBroker;
import io.pagestream.schemas.JournalContract;
import io.pagestream.schemas.avro.JournalEntry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * commit.mode=sync: COMMIT returns only when Kafka holds the entry; with the broker away a COMMIT fails after
 * commit.sync.timeout.ms and the database does not keep the transaction; once the broker is back commits succeed
 * again and the journal equals the file.
 */
class SyncCommitIT {
    @TempDir
    Path dir;

    @Test
    void aSynchronousCommitReturnsOnlyOnceKafkaHoldsItAndFailsCleanlyWithoutKafka() throws Exception {
        Path brokerData = dir.resolve("kafka");
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(EmbeddedKafkaBroker.Options.defaults().withDataDir(brokerData));
        int port = broker.port();
        String topic = "sync-commit-it";
        Path db = dir.resolve("sync.db");
        try {
            try (PagestreamVfs vfs = PagestreamVfs.install(Map.of("bootstrap.servers", broker.bootstrapServers(),
                            "journal.topic", topic, "vfs.name", "sync-commit-it", "commit.sync.timeout.ms", "3000",
                            "producer.max.block.ms", "2000", "producer.request.timeout.ms", "2000",
                            "producer.delivery.timeout.ms", "2100", "producer.linger.ms", "0"));
                    Connection c = DriverManager.getConnection(vfs.jdbcUrl(db) + "&pagestream_commit_mode=sync");
                    Statement s = c.createStatement()) {
                s.execute("create table t(id integer primary key, v text)");
                for (int i = 1; i <= 5; i++) {
                    s.execute("insert into t(v) values ('row " + i + "')");
                    // No flush: the COMMIT itself waited for Kafka.
                    assertThat(newestLsn(broker, topic)).as("the journal right after COMMIT %d returned", i).isEqualTo(i + 1);
                }

                broker.close();
                long start = System.nanoTime();
                assertThatThrownBy(() -> s.execute("insert into t(v) values ('while Kafka is away')"))
                        .isInstanceOf(SQLException.class).hasMessageContaining("SQLITE_IOERR");
                long waited = Duration.ofNanos(System.nanoTime() - start).toMillis();
                System.out.printf("SyncCommitIT: the COMMIT without Kafka failed after %d ms%n", waited);
                assertThat(waited).as("it waited commit.sync.timeout.ms").isGreaterThanOrEqualTo(3000);
                assertThat(vfs.lastCommitRefusal("sync.db")).get().asString()
                        .contains("db sync.db").contains("Kafka did not acknowledge LSN 7 within commit.sync.timeout.ms 3000");
                try (ResultSet rs = s.executeQuery("select count(*) from t")) {
                    assertThat(rs.getInt(1)).as("the failed transaction is not in the database").isEqualTo(5);
                }

                broker = EmbeddedKafkaBroker.start(EmbeddedKafkaBroker.Options.defaults().withPort(port).withDataDir(brokerData));
                s.execute("insert into t(v) values ('after Kafka came back')");
                assertThat(vfs.flush(Duration.ofSeconds(30))).isTrue();
            }
            JournalReplay.Replica replica = KafkaJournal.replay(broker.bootstrapServers(), topic, dir.resolve("replica"), "sync.db");
            List<Long> lsns = replica.entries.stream().map(JournalEntry::getLsn).toList();
            assertThat(lsns).containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1, lsns.size()).boxed().toList());
            assertThat(Files.readAllBytes(replica.file)).isEqualTo(Files.readAllBytes(db));
        } finally {
            broker.close();
        }
    }

    private static long newestLsn(EmbeddedKafkaBroker broker, String topic) {
        return KafkaJournal.readAll(broker.bootstrapServers(), topic).stream()
                .mapToLong(r -> Long.parseLong(r.headers().get(JournalContract.HEADER_LSN))).max().orElse(0);
    }
}
