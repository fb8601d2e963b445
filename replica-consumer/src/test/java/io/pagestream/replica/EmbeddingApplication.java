package io.pagestream.replica;

import io.pagestream.vfs.PagestreamVfs;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;

/**
 * An application embedding the writer as README shows, run by {@link LibraryUseIT} in a JVM started with
 * {@code --enable-native-access} only. Arguments: bootstrap servers, topic, database file, then {@code before-outage}
 * (commits 2, flushes, waits for a line on stdin, commits 3 more and closes) or {@code after-outage} (commits 2, flushes).
 */
public final class EmbeddingApplication {
    private EmbeddingApplication() {}

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1];
        Path db = Path.of(args[2]);
        String phase = args[3];
        Map<String, String> settings = Map.of("bootstrap.servers", bootstrap, "journal.topic", topic,
                "close.timeout.ms", "1000", "producer.max.block.ms", "3000", "producer.delivery.timeout.ms", "5000",
                "producer.request.timeout.ms", "3000");
        try (PagestreamVfs vfs = PagestreamVfs.install(settings);
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(db));
                Statement s = c.createStatement()) {
            if (phase.equals("before-outage")) {
                s.execute("create table orders(id integer primary key, item text)");
                s.execute("insert into orders(item) values ('first')");
                System.out.println("flushed " + vfs.flush(Duration.ofSeconds(60)) + " failed " + vfs.failedEntries());
                new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
                for (int i = 0; i < 3; i++) {
                    s.execute("insert into orders(item) values ('during the outage " + i + "')");
                }
                System.out.println("committed");
            } else {
                s.execute("insert into orders(item) values ('after the restart')");
                s.execute("update orders set item = item || ' (seen)'");
                System.out.println("flushed " + vfs.flush(Duration.ofSeconds(60)) + " failed " + vfs.failedEntries());
            }
        }
    }
}
