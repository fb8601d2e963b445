package io.pagestream.cli;

import io.pagestream.broker.EmbeddedKafkaBroker;
import io.pagestream.compactor.Compactor;
import io.pagestream.compactor.CompactorStatus;
import io.pagestream.replica.Replica;
import io.pagestream.replica.ReplicaConfig;
import io.pagestream.replica.ReplicaStatus;
import io.pagestream.replica.Restore;
import io.pagestream.replica.RestoreResult;
import io.pagestream.replica.RestoreTarget;
import io.pagestream.schemas.PagestreamException;
import io.pagestream.vfs.PagestreamConfig;
import io.pagestream.vfs.PagestreamVfs;
import io.pagestream.vfs.WriterPosition;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code pagestream demo}: an embedded broker, a shop application writing through the VFS, a replica following it
 * with a live reader and a compactor snapshotting it, in one process; ends by comparing the two files and restoring
 * the shop as it was half-way.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Runs, in one process: an embedded Kafka broker, a shop application writing to SQLite through the"
                + " Pagestream VFS (orders, customers, inventory: inserts, updates, deletes and a VACUUM), a replica"
                + " following the journal, a reader querying the replica live, and the compactor taking snapshots. Shows a"
                + " status line, prints both files' sha256 and integrity_check, then restores the shop as it was half-way"
                + " and prints what the reader saw then against now; exits 1 if the files differ or the restore does not"
                + " show what the reader saw."})
final class DemoCommand implements Callable<Integer> {
    private static final String DB_ID = "shop.db";
    private static final String TOPIC = "pagestream.demo";

    @Option(names = "--transactions", defaultValue = "3000", description = "Writer transactions (default ${DEFAULT-VALUE}).")
    int transactions;

    @Option(names = "--dir", description = "Directory for the writer and replica files (default: a new temporary directory).")
    Path dir;

    @Option(names = "--seed", description = "Workload seed (default: the current time).")
    Long seed;

    private final PrintStream out = System.out;

    @Override
    public Integer call() throws Exception {
        long workloadSeed = seed != null ? seed : System.currentTimeMillis();
        Path workDir = dir != null ? Files.createDirectories(dir.toAbsolutePath()) : Files.createTempDirectory("pagestream-demo-");
        Path writerFile = Files.createDirectories(workDir.resolve("writer")).resolve(DB_ID);
        Path replicaDir = workDir.resolve("replica");
        Path replicaFile = replicaDir.resolve(DB_ID);
        out.printf("pagestream demo: %d transactions, seed %d, files in %s%n", transactions, workloadSeed, workDir);
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(
                EmbeddedKafkaBroker.Options.defaults().withDataDir(workDir.resolve("kafka")))) {
            out.printf("Kafka broker (in-process, KRaft) at %s%n", broker.bootstrapServers());
            try (PagestreamVfs vfs = PagestreamVfs.install(Map.of(
                            PagestreamConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                            PagestreamConfig.JOURNAL_TOPIC_CONFIG, TOPIC));
                    Connection writer = DriverManager.getConnection(vfs.jdbcUrl(writerFile))) {
                Replica replica = Replica.start(Map.of(
                        ReplicaConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                        ReplicaConfig.JOURNAL_TOPIC_CONFIG, TOPIC,
                        ReplicaConfig.REPLICA_DIR_CONFIG, replicaDir.toString(),
                        ReplicaConfig.REPLICA_NAME_CONFIG, "demo"));
                Compactor compactor = Compactor.start(Map.of("bootstrap.servers", broker.bootstrapServers(),
                        "journal.topic", TOPIC, "state.dir", workDir.resolve("compactor").toString(),
                        "snapshot.interval.ms", "2000"));
                try {
                    Shop shop = new Shop(writer, new Random(workloadSeed));
                    shop.createSchema();
                    LiveReader reader = new LiveReader(replicaFile);
                    StatusLine status = new StatusLine(out);
                    Halfway halfway = null;
                    for (int txn = 1; txn <= transactions; txn++) {
                        if (txn == transactions / 2) {
                            shop.vacuum();
                            halfway = Halfway.look(vfs, replica, reader);
                        } else {
                            shop.randomTransaction();
                        }
                        if (status.due()) {
                            status.show(txn, writerLsn(vfs), replica.status().get(DB_ID), reader.orders());
                        }
                    }
                    if (!vfs.flush(Duration.ofMinutes(2))) {
                        out.println();
                        out.println("Kafka did not acknowledge every entry within 2 minutes");
                        return 1;
                    }
                    // Read-your-writes: wait until the replica has applied the writer's last commit.
                    long lastLsn = writerLsn(vfs);
                    long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
                    try {
                        while (!replica.await(DB_ID, lastLsn, Duration.ofMillis(200)) && System.nanoTime() < deadline) {
                            status.show(transactions, lastLsn, replica.status().get(DB_ID), reader.orders());
                        }
                    } catch (PagestreamException halted) {
                        // reported below from the replica's status
                    }
                    status.finish(transactions, lastLsn, replica.status().get(DB_ID), reader.orders());
                    reader.close();
                    ReplicaStatus last = replica.status().get(DB_ID);
                    if (halted(last)) {
                        out.println("replica HALTED: " + last.error().getMessage());
                        return 1;
                    }
                    if (compare(writerFile, replicaFile) != 0) {
                        return 1;
                    }
                    return halfway == null ? 0 : timeTravel(broker.bootstrapServers(), compactor, halfway, lastLsn, workDir,
                            replicaFile);
                } finally {
                    compactor.close();
                    replica.close();
                }
            }
        }
    }

    /** The moment half-way through, and what the reader saw in the replica then. */
    private record Halfway(Instant time, long lsn, String readerSaw) {
        /** Waits for the replica to have the writer's last commit, then lets the reader look. */
        static Halfway look(PagestreamVfs vfs, Replica replica, LiveReader reader) throws Exception {
            long lsn = writerLsn(vfs);
            if (!vfs.flush(Duration.ofMinutes(1)) || !replica.await(DB_ID, lsn, Duration.ofMinutes(1))) {
                return null;
            }
            Instant time = Instant.now();
            String saw = reader.summary();
            Thread.sleep(2); // the next commit gets a later commit time
            return new Halfway(time, lsn, saw);
        }
    }

    /** Restores the shop as of the half-way moment, and shows it against what the reader saw then and sees now. */
    private int timeTravel(String bootstrapServers, Compactor compactor, Halfway halfway, long lastLsn, Path workDir,
            Path replicaFile) throws Exception {
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        CompactorStatus status = compactor.status().get(DB_ID);
        while ((status == null || status.appliedLsn() < lastLsn || status.newestRestorePoint() == null)
                && System.nanoTime() < deadline) {
            Thread.sleep(100);
            status = compactor.status().get(DB_ID);
        }
        if (status != null && status.newestRestorePoint() != null) {
            out.printf("compactor: applied LSN %d, newest snapshot at LSN %d%n", status.appliedLsn(),
                    status.newestRestorePoint().getLsn());
        }
        Path restored = workDir.resolve("shop-halfway.db");
        RestoreResult result;
        try (Restore restore = Restore.open(Map.of("bootstrap.servers", bootstrapServers, "journal.topic", TOPIC))) {
            result = restore.restore(DB_ID, RestoreTarget.time(halfway.time()), restored, true, progress -> { });
        }
        out.printf("restore --to-time %s: LSN %d from %s and %d journal entries, into %s%n", halfway.time(), result.lsn(),
                result.snapshotId().map(id -> "snapshot " + id).orElse("the journal's base entry"), result.entriesApplied(),
                restored);
        LiveReader then = new LiveReader(restored);
        LiveReader now = new LiveReader(replicaFile);
        String restoredSummary = then.summary();
        out.printf("%-36s %s%n", "half-way (LSN " + halfway.lsn() + ") the reader saw:", halfway.readerSaw());
        out.printf("%-36s %s%n", "restored as of then:", restoredSummary);
        out.printf("%-36s %s%n", "now (LSN " + lastLsn + ") the reader sees:", now.summary());
        then.close();
        now.close();
        boolean same = result.lsn() == halfway.lsn() && restoredSummary.equals(halfway.readerSaw());
        out.println(same ? "TIME TRAVEL: the restore shows the shop exactly as the reader saw it half-way"
                : "DIFFERENT: the restore does not show what the reader saw half-way");
        return same ? 0 : 1;
    }

    private static long writerLsn(PagestreamVfs vfs) {
        return vfs.position(DB_ID).map(WriterPosition::committedLsn).orElse(0L);
    }

    private static long lsnOf(ReplicaStatus status) {
        return status == null ? 0 : status.position().lsn();
    }

    private static boolean halted(ReplicaStatus status) {
        return status != null && status.halted();
    }

    private int compare(Path writerFile, Path replicaFile) throws Exception {
        String writerHash = sha256(writerFile);
        String replicaHash = sha256(replicaFile);
        String writerCheck = integrityCheck(writerFile);
        String replicaCheck = integrityCheck(replicaFile);
        out.printf("writer   %s  sha256 %s  integrity_check %s%n", writerFile, writerHash, writerCheck);
        out.printf("replica  %s  sha256 %s  integrity_check %s%n", replicaFile, replicaHash, replicaCheck);
        boolean identical = writerHash.equals(replicaHash) && writerCheck.equals("ok") && replicaCheck.equals("ok");
        out.println(identical ? "IDENTICAL: the replica is byte-for-byte the writer's database"
                : "DIFFERENT: the replica does not match the writer");
        return identical ? 0 : 1;
    }

    private static String sha256(Path file) throws IOException, NoSuchAlgorithmException {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static String integrityCheck(Path file) throws SQLException {
        try (Connection connection = DriverManager.getConnection("jdbc:sqlite:file:" + file + "?mode=ro");
                Statement statement = connection.createStatement();
                ResultSet result = statement.executeQuery("PRAGMA integrity_check")) {
            return result.getString(1);
        }
    }

    /** A small shop: customers, products with inventory, orders with items. */
    private static final class Shop {
        private final Connection db;
        private final Random random;
        private int customers;
        private int products;

        Shop(Connection db, Random random) {
            this.db = db;
            this.random = random;
        }

        void createSchema() throws SQLException {
            try (Statement s = db.createStatement()) {
                s.execute("create table customers (id integer primary key, name text not null, email text not null,"
                        + " created_at integer not null)");
                s.execute("create table products (id integer primary key, title text not null, description text,"
                        + " price_cents integer not null, stock integer not null)");
                s.execute("create table orders (id integer primary key, customer_id integer not null references customers,"
                        + " status text not null, total_cents integer not null, created_at integer not null)");
                s.execute("create table order_items (order_id integer not null references orders, product_id integer not null,"
                        + " quantity integer not null, price_cents integer not null)");
                s.execute("create index order_items_by_order on order_items(order_id)");
                s.execute("create index orders_by_customer on orders(customer_id)");
                db.setAutoCommit(false);
                for (int i = 0; i < 200; i++) {
                    addCustomer(s);
                }
                for (int i = 0; i < 500; i++) {
                    addProduct();
                }
                db.commit();
                db.setAutoCommit(true);
            }
        }

        void randomTransaction() throws SQLException {
            int dice = random.nextInt(100);
            db.setAutoCommit(false);
            try (Statement s = db.createStatement()) {
                if (dice < 55) {
                    placeOrder();
                } else if (dice < 70) {
                    s.executeUpdate("update orders set status = 'shipped' where id = (select id from orders where status = 'new'"
                            + " order by id limit 1)");
                } else if (dice < 80) {
                    cancelOrder(s);
                } else if (dice < 88) {
                    addCustomer(s);
                } else if (dice < 95) {
                    s.executeUpdate("update customers set email = 'user" + random.nextInt(1_000_000) + "@example.com' where id = "
                            + (1 + random.nextInt(customers)));
                } else if (dice < 98) {
                    s.executeUpdate("update products set stock = stock + " + (10 + random.nextInt(100))
                            + " where id % 7 = " + random.nextInt(7));
                } else {
                    addProduct();
                }
                db.commit();
            } catch (SQLException e) {
                db.rollback();
                throw e;
            } finally {
                db.setAutoCommit(true);
            }
        }

        void vacuum() throws SQLException {
            try (Statement s = db.createStatement()) {
                s.executeUpdate("delete from order_items where order_id in (select id from orders where status = 'shipped'"
                        + " and id % 2 = 0)");
                s.executeUpdate("delete from orders where status = 'shipped' and id % 2 = 0");
                s.execute("VACUUM");
            }
        }

        private void placeOrder() throws SQLException {
            int customer = 1 + random.nextInt(customers);
            long orderId;
            try (PreparedStatement insert = db.prepareStatement(
                    "insert into orders (customer_id, status, total_cents, created_at) values (?, 'new', 0, ?)",
                    Statement.RETURN_GENERATED_KEYS)) {
                insert.setInt(1, customer);
                insert.setLong(2, System.currentTimeMillis());
                insert.executeUpdate();
                try (ResultSet keys = insert.getGeneratedKeys()) {
                    orderId = keys.getLong(1);
                }
            }
            int items = 1 + random.nextInt(5);
            try (PreparedStatement item = db.prepareStatement("insert into order_items values (?, ?, ?, "
                    + "(select price_cents from products where id = ?))");
                    PreparedStatement stock = db.prepareStatement("update products set stock = stock - ? where id = ?")) {
                for (int i = 0; i < items; i++) {
                    int product = 1 + random.nextInt(products);
                    int quantity = 1 + random.nextInt(3);
                    item.setLong(1, orderId);
                    item.setInt(2, product);
                    item.setInt(3, quantity);
                    item.setInt(4, product);
                    item.executeUpdate();
                    stock.setInt(1, quantity);
                    stock.setInt(2, product);
                    stock.executeUpdate();
                }
            }
            try (PreparedStatement total = db.prepareStatement("update orders set total_cents = (select sum(quantity * price_cents)"
                    + " from order_items where order_id = ?) where id = ?")) {
                total.setLong(1, orderId);
                total.setLong(2, orderId);
                total.executeUpdate();
            }
        }

        private void cancelOrder(Statement s) throws SQLException {
            try (ResultSet victim = s.executeQuery("select id from orders where status = 'new' order by random() limit 1")) {
                if (!victim.next()) {
                    return;
                }
                long orderId = victim.getLong(1);
                s.executeUpdate("update products set stock = stock + (select quantity from order_items where order_id = " + orderId
                        + " and product_id = products.id) where id in (select product_id from order_items where order_id = "
                        + orderId + ")");
                s.executeUpdate("delete from order_items where order_id = " + orderId);
                s.executeUpdate("delete from orders where id = " + orderId);
            }
        }

        private void addCustomer(Statement s) throws SQLException {
            customers++;
            s.executeUpdate("insert into customers (name, email, created_at) values ('Customer " + customers + "', 'c" + customers
                    + "@example.com', " + System.currentTimeMillis() + ")");
        }

        private void addProduct() throws SQLException {
            products++;
            try (PreparedStatement insert = db.prepareStatement(
                    "insert into products (title, description, price_cents, stock) values (?, ?, ?, ?)")) {
                insert.setString(1, "Product " + products);
                insert.setString(2, "A fine product. ".repeat(1 + random.nextInt(40)));
                insert.setInt(3, 100 + random.nextInt(10_000));
                insert.setInt(4, 100 + random.nextInt(1_000));
                insert.executeUpdate();
            }
        }
    }

    /** An application reading the replica while it is kept up to date. */
    private static final class LiveReader implements AutoCloseable {
        private final Path file;
        private Connection connection;

        LiveReader(Path file) {
            this.file = file;
        }

        /** Orders visible in the replica; -1 until the replica has the table. */
        long orders() {
            try {
                if (connection == null) {
                    if (!Files.exists(file)) {
                        return -1;
                    }
                    connection = DriverManager.getConnection("jdbc:sqlite:file:" + file);
                    try (Statement s = connection.createStatement()) {
                        s.execute("PRAGMA busy_timeout=5000");
                        s.execute("PRAGMA query_only=1");
                    }
                }
                try (Statement s = connection.createStatement(); ResultSet count = s.executeQuery("select count(*) from orders")) {
                    return count.getLong(1);
                }
            } catch (SQLException e) {
                return -1;
            }
        }

        /** Orders, their total and the customers, as the reader sees them. */
        String summary() throws SQLException {
            orders();
            try (Statement s = connection.createStatement();
                    ResultSet r = s.executeQuery("select (select count(*) from orders), (select coalesce(sum(total_cents), 0)"
                            + " from orders), (select count(*) from customers)")) {
                return String.format("%d orders worth %d.%02d, %d customers", r.getLong(1), r.getLong(2) / 100,
                        r.getLong(2) % 100, r.getLong(3));
            }
        }

        @Override
        public void close() throws SQLException {
            if (connection != null) {
                connection.close();
            }
        }
    }

    /** One line rewritten in place on a terminal; a line per second otherwise. */
    private static final class StatusLine {
        private final PrintStream out;
        private final boolean terminal = System.console() != null;
        private long next;

        StatusLine(PrintStream out) {
            this.out = out;
        }

        boolean due() {
            return System.nanoTime() >= next;
        }

        void show(long written, long writerLsn, ReplicaStatus replica, long replicaOrders) {
            next = System.nanoTime() + (terminal ? 200_000_000L : 1_000_000_000L);
            long applied = lsnOf(replica);
            String line = String.format("writer: %d txns (LSN %d) | replica: LSN %d | lag %d entries | reader sees %s orders",
                    written, writerLsn, applied, Math.max(0, writerLsn - applied), replicaOrders < 0 ? "-" : replicaOrders);
            if (terminal) {
                out.print("\r" + line + "   ");
            } else {
                out.println(line);
            }
            out.flush();
        }

        void finish(long written, long writerLsn, ReplicaStatus replica, long replicaOrders) {
            show(written, writerLsn, replica, replicaOrders);
            if (terminal) {
                out.println();
            }
        }
    }
}
