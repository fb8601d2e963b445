package io.pagestream.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pagestream.broker.ChildJvm;
import io.pagestream.broker.KafkaBrokerExtension;
import io.pagestream.vfs.PagestreamVfs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** {@code pagestream compact} in a JVM of its own: prints a line per snapshot taken and stops cleanly on SIGTERM. */
class CompactCommandIT {
    @RegisterExtension
    static final KafkaBrokerExtension broker = new KafkaBrokerExtension();

    private static final String TOPIC = "compact-command-it";

    @TempDir
    Path dir;

    @Test
    void printsALinePerSnapshotAndStopsOnSigterm() throws Exception {
        Path db = Files.createDirectories(dir.resolve("writer")).resolve("shop.db");
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("bootstrap.servers", broker.bootstrapServers(),
                "journal.topic", TOPIC, "vfs.name", TOPIC)).install();
                Connection connection = DriverManager.getConnection(vfs.jdbcUrl(db));
                Statement s = connection.createStatement()) {
            s.execute("CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT)");
            s.execute("INSERT INTO items(name) VALUES ('first')");
            assertThat(vfs.flush(Duration.ofSeconds(60))).isTrue();

            ChildJvm compactor = ChildJvm.start(PagestreamCommand.class, "compact", "--bootstrap-server",
                    broker.bootstrapServers(), "--topic", TOPIC, "--dir", dir.resolve("compactor").toString(), "--application-id",
                    TOPIC, "-s", "snapshot.check.interval.ms=100");
            // The first snapshot is taken at whichever LSN the compactor has applied when it first looks: 1 or 2.
            await().atMost(Duration.ofMinutes(2)).failFast(() -> !compactor.isAlive())
                    .untilAsserted(() -> assertThat(compactor.lines()).as(compactor.describe())
                            .anyMatch(line -> line.startsWith("shop.db: snapshot at LSN ")));
            compactor.stop(Duration.ofSeconds(60));
            assertThat(compactor.lines()).as(compactor.describe()).anyMatch(line -> line.startsWith("compacting " + TOPIC));
        }
    }
}
