package io.pagestream.vfs;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.Random;

/**
 * Child process of {@link WriterCrashIT}: writes to one database through the VFS until killed, printing
 * {@code committed <marker>} each time a COMMIT returned. With a transaction count it stops by itself, waits until
 * Kafka has every entry and prints {@code finished}.
 *
 * <p>Arguments: bootstrap servers, topic, database path, seed, transactions (0 = until killed), commit mode (sync or
 * async; async when absent).
 */
public final class CrashingWriter {
    public static final String COMMITTED = "committed";
    public static final String FINISHED = "finished";

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1];
        Path db = Path.of(args[2]);
        Random random = new Random(Long.parseLong(args[3]));
        int transactions = Integer.parseInt(args[4]);
        String commitMode = args.length > 5 ? args[5] : "async";
        try (PagestreamVfs vfs = PagestreamVfs.install(Map.of("bootstrap.servers", bootstrap, "journal.topic", topic,
                        "vfs.name", "crashing-writer", "commit.mode", commitMode));
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(db));
                Statement s = c.createStatement()) {
            s.execute("PRAGMA busy_timeout=10000");
            s.execute("create table if not exists item(id integer primary key, marker text unique, body blob)");
            s.execute("create table if not exists ledger(marker text primary key)");
            try (PreparedStatement insert = c.prepareStatement("insert into item(marker, body) values (?, randomblob(?))");
                    PreparedStatement update = c.prepareStatement("update item set body = randomblob(?) where id % 7 = ?");
                    PreparedStatement delete = c.prepareStatement("delete from item where id % 13 = ? and id < ?");
                    PreparedStatement ledger = c.prepareStatement("insert into ledger(marker) values (?)")) {
                for (int i = 0; transactions == 0 || i < transactions; i++) {
                    String marker = args[3] + "-" + i;
                    c.setAutoCommit(false);
                    insert.setString(1, marker);
                    insert.setInt(2, random.nextInt(random.nextInt(10) == 0 ? 20_000 : 600));
                    insert.executeUpdate();
                    ledger.setString(1, marker);
                    ledger.executeUpdate();
                    switch (random.nextInt(4)) {
                        case 0 -> {
                            update.setInt(1, random.nextInt(900));
                            update.setInt(2, random.nextInt(7));
                            update.executeUpdate();
                        }
                        case 1 -> {
                            delete.setInt(1, random.nextInt(13));
                            delete.setInt(2, random.nextInt(5000));
                            delete.executeUpdate();
                        }
                        default -> { }
                    }
                    if (random.nextInt(10) == 0) {
                        c.rollback();
                    } else {
                        c.commit();
                        System.out.println(COMMITTED + " " + marker);
                    }
                    c.setAutoCommit(true);
                }
            }
            if (!vfs.flush(Duration.ofSeconds(60))) {
                throw new IllegalStateException("entries still unacknowledged after 60 s");
            }
            System.out.println(FINISHED + " failed=" + vfs.failedEntries());
        }
    }
}
