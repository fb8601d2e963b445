package io.pagestream.vfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.pagestream.broker.KafkaBrokerExtension;
import io.pagestream.schemas.avro.JournalEntry;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Failover: a second writer of the same db id — another process, on a copy of the file — claims the database. The
 * first writer is fenced: its next publish fails, its later commits fail with SQLITE_READONLY and
 * {@link PagestreamVfs#fencedBy} says why, and nothing it committed after the takeover reaches the journal, which
 * continues without a gap and equals the new writer's file.
 */
class FencingIT {
    @RegisterExtension
    static final KafkaBrokerExtension broker = new KafkaBrokerExtension();

    @TempDir
    Path dir;

    @Test
    void aSecondWriterOfTheSameDbIdFencesTheFirst() throws Exception {
        String topic = "fencing-it";
        Path first = Files.createDirectories(dir.resolve("host-a")).resolve("orders.db");
        Path second = Files.createDirectories(dir.resolve("host-b")).resolve("orders.db");
        try (PagestreamVfs vfs = PagestreamVfs.install(Map.of("bootstrap.servers", broker.bootstrapServers(),
                        "journal.topic", topic, "vfs.name", "fencing-a"));
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(first));
                Statement s = c.createStatement()) {
            s.execute("create table t(id integer primary key, who text)");
            for (int i = 0; i < 10; i++) {
                s.execute("insert into t(who) values ('a')");
            }
            assertThat(vfs.flush(Duration.ofSeconds(30))).isTrue();
            Files.copy(first, second); // the failover host starts from a copy, as from a replica

            Process takeover = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx256m", "--enable-native-access=ALL-UNNAMED",
                    "-Dlogback.statusListenerClass=ch.qos.logback.core.status.NopStatusListener",
                    "-Djava.io.tmpdir=" + dir, "-cp", System.getProperty("java.class.path"), CrashingWriter.class.getName(),
                    broker.bootstrapServers(), topic, second.toString(), "7", "25").redirectErrorStream(true).start();
            String output;
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(takeover.getInputStream(), StandardCharsets.UTF_8))) {
                output = lines.lines().collect(Collectors.joining("\n"));
            }
            assertThat(takeover.waitFor(2, TimeUnit.MINUTES)).isTrue();
            assertThat(output).as("the new writer").contains(CrashingWriter.FINISHED + " failed=0");

            s.execute("insert into t(who) values ('a, after the takeover')"); // committed locally, never published
            await().atMost(Duration.ofSeconds(30)).until(() -> vfs.fencedBy("orders.db").isPresent());
            assertThat(vfs.fencedBy("orders.db").get()).hasMessage("fenced by another writer of db orders.db");
            assertThatThrownBy(() -> s.execute("insert into t(who) values ('a, fenced')"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("SQLITE_READONLY");
            assertThat(vfs.lastCommitRefusal("orders.db")).get().isInstanceOf(WriterFencedException.class)
                    .hasFieldOrPropertyWithValue("message", "fenced by another writer of db orders.db");
        }

        JournalReplay.Replica replica = KafkaJournal.replay(broker.bootstrapServers(), topic, dir.resolve("replica"), "orders.db");
        List<Long> lsns = replica.entries.stream().map(JournalEntry::getLsn).toList();
        assertThat(lsns).as("one chain, no gap, no entry twice")
                .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1, lsns.size()).boxed().toList());
        assertThat(replica.entries.stream().filter(JournalEntry::getBase).count())
                .as("the new writer continued the chain from its copy: no base entry but the first").isEqualTo(1);
        assertThat(Files.readAllBytes(replica.file)).as("the journal is the new writer's file").isEqualTo(Files.readAllBytes(second));
    }
}
