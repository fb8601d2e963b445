package io.pagestream.vfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pagestream.broker.EmbeddedKafkaBroker;
import io.pagestream.broker.RestartableBrokers;
import io.pagestream.schemas.avro.JournalEntry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reported restart: two transactions published, three committed while the broker is down, the VFS closed; at
 * restart (broker back) the outbox does not decode. The next COMMIT is refused with the reason, nothing is published
 * out of order, and once the outbox reads again its entries go first, in order, with no base entry.
 */
class UnreadableOutboxAtRestartIT {
    @TempDir
    Path dir;

    @RegisterExtension
    final RestartableBrokers brokers = new RestartableBrokers();

    @Test
    @Timeout(value = 5, unit = java.util.concurrent.TimeUnit.MINUTES)
    void aCommitAfterARestartWithAnUnreadableOutboxIsRefusedUntilTheOutboxReadsAgain() throws Exception {
        Path brokerData = dir.resolve("kafka");
        EmbeddedKafkaBroker broker = brokers.start(brokerData, 0);
        int port = broker.port();
        Path db = dir.resolve("restart.db");
        Map<String, String> settings = Map.of("bootstrap.servers", broker.bootstrapServers(), "journal.topic",
                "unreadable-outbox-it", "vfs.name", "unreadable-outbox-it", "close.timeout.ms", "500",
                "producer.max.block.ms", "3000", "producer.delivery.timeout.ms", "3000", "producer.request.timeout.ms", "2000");
        try (PagestreamVfs vfs = PagestreamVfs.install(settings);
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(db));
                Statement s = c.createStatement()) {
            s.execute("create table t(x)");
            s.execute("insert into t values (1)");
            assertThat(vfs.flush(Duration.ofSeconds(30))).isTrue();
            broker.close();
            for (int i = 2; i <= 4; i++) {
                s.execute("insert into t values (" + i + ")");
            }
            assertThat(vfs.position("restart.db")).hasValue(new WriterPosition(5, 2));
        }
        Path segment = OutboxDamage.onlySegment(db);
        byte[] intact = Files.readAllBytes(segment);
        Files.write(segment, OutboxDamage.withPayloadByteFlipped(intact, 3));
        broker = brokers.start(brokerData, port);

        try (PagestreamVfs vfs = PagestreamVfs.install(settings);
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(db));
                Statement s = c.createStatement()) {
            assertThatThrownBy(() -> s.execute("insert into t values (5)")).isInstanceOf(SQLException.class);
            assertThat(vfs.lastCommitRefusal("restart.db")).hasValueSatisfying(reason -> assertThat(reason.getMessage())
                    .contains("db restart.db").contains("outbox of restart.db@3"));
            assertThat(vfs.flush(Duration.ofSeconds(30))).isTrue();
            assertThat(vfs.failedEntries()).isZero();

            Files.write(segment, intact);
            s.execute("insert into t values (5)");
            assertThat(vfs.flush(Duration.ofSeconds(30))).isTrue();
            assertThat(vfs.failedEntries()).isZero();
            assertThat(vfs.position("restart.db")).hasValue(new WriterPosition(6, 6));
        }
        JournalReplay.Replica replica = KafkaJournal.replay(broker.bootstrapServers(), "unreadable-outbox-it",
                dir.resolve("replica"), "restart.db");
        assertThat(replica.entries).extracting(JournalEntry::getLsn).containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
        assertThat(replica.entries).extracting(JournalEntry::getBase).containsExactly(true, false, false, false, false, false);
        VfsTestSupport.assertIdentical(replica.file, db);
    }
}
