package io.pagestream.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pagestream.broker.KafkaBrokerExtension;
import io.pagestream.vfs.PagestreamVfs;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
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

            Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                    PagestreamCommand.class.getName(), "compact", "--bootstrap-server", broker.bootstrapServers(),
                    "--topic", TOPIC, "--dir", dir.resolve("compactor").toString(), "--application-id", TOPIC,
                    "-s", "snapshot.check.interval.ms=100").redirectErrorStream(true).start();
            List<String> lines = new CopyOnWriteArrayList<>();
            Thread reader = Thread.ofPlatform().daemon().start(() -> {
                try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line = out.readLine(); line != null; line = out.readLine()) {
                        lines.add(line);
                    }
                } catch (IOException e) {
                    lines.add("(output ended: " + e + ")");
                }
            });
            // The first snapshot is taken at whichever LSN the compactor has applied when it first looks: 1 or 2.
            await().atMost(Duration.ofMinutes(2)).failFast(() -> !process.isAlive())
                    .untilAsserted(() -> assertThat(lines).as(String.join("\n", lines))
                            .anyMatch(line -> line.startsWith("shop.db: snapshot at LSN ")));
            process.destroy();
            assertThat(process.waitFor(60, TimeUnit.SECONDS)).as(String.join("\n", lines)).isTrue();
            reader.join(Duration.ofSeconds(10));
            assertThat(lines).as(String.join("\n", lines)).anyMatch(line -> line.startsWith("compacting " + TOPIC));
        }
    }
}
