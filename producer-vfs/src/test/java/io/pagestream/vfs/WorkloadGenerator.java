package io.pagestream.vfs;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Seeded random SQLite workload for one connection: creates and drops tables and indexes, inserts,
 * updates and deletes rows of random sizes (overflow pages, occasional blobs over 1 MB), uses savepoints
 * and rollbacks, and runs VACUUM. Every committed transaction bumps a counter row, so each one changes
 * the database and must become exactly one journal entry. The same seed replays the same operations.
 */
public final class WorkloadGenerator {
    public enum Outcome { COMMITTED, ROLLED_BACK }

    private final Random random;
    private final Connection connection;
    private final String prefix;
    private final List<String> tables = new ArrayList<>();
    private final Options options;
    private int nextTable;
    private int step;
    /** Marker tokens inserted only by transactions that were rolled back. */
    public final List<String> rolledBackMarkers = new ArrayList<>();
    public int committed;
    public int rolledBack;

    /**
     * @param vacuum run VACUUM now and then (needs no other generator holding a transaction open)
     * @param incrementalVacuum run PRAGMA incremental_vacuum inside committed transactions (auto_vacuum=INCREMENTAL)
     * @param pageSizeChangeStep at this step, change the page size to {@code newPageSize} by VACUUM (0: never)
     */
    public record Options(boolean vacuum, boolean incrementalVacuum, int pageSizeChangeStep, int newPageSize) {
        static final Options PLAIN = new Options(false, false, 0, 0);
    }

    public WorkloadGenerator(long seed, Connection connection, String prefix, Options options) {
        this.random = new Random(seed);
        this.connection = connection;
        this.prefix = prefix;
        this.options = options;
    }

    /** Tables every generator on a database shares: one committed transaction, run once per database. */
    public static void createSharedSchema(Connection connection) throws SQLException {
        try (Statement s = connection.createStatement()) {
            s.execute("BEGIN IMMEDIATE");
            s.execute("create table counter(id integer primary key, n integer not null)");
            s.execute("create table markers(token text primary key)");
            s.execute("COMMIT");
        }
    }

    /** One committed transaction: this generator's counter row and first table. */
    public void setUp() throws SQLException {
        try (Statement s = connection.createStatement()) {
            s.execute("PRAGMA busy_timeout=20000");
            s.execute("BEGIN IMMEDIATE");
            s.execute("insert into counter(id, n) values (" + prefix.hashCode() + ", 0)");
            createTable();
            s.execute("COMMIT");
        }
    }

    public Outcome step() throws SQLException {
        step++;
        int dice = random.nextInt(100);
        boolean changePageSize = step == options.pageSizeChangeStep();
        if (changePageSize || (options.vacuum() && dice < 2)) {
            try (Statement s = connection.createStatement()) {
                if (changePageSize) {
                    s.execute("PRAGMA page_size=" + options.newPageSize());
                }
                s.execute("VACUUM");
            }
            committed++;
            return Outcome.COMMITTED;
        }
        boolean rollback = dice < 12;
        String marker = prefix + "-rb-" + step;
        try (Statement s = connection.createStatement()) {
            s.execute("BEGIN IMMEDIATE");
            try {
                if (dice >= 12 && dice < 16) {
                    schemaChange();
                }
                int operations = 1 + random.nextInt(5);
                for (int i = 0; i < operations; i++) {
                    dml();
                }
                if (random.nextInt(4) == 0) {
                    s.execute("SAVEPOINT sp");
                    dml();
                    insertMarker(marker + "-sp");
                    rolledBackMarkers.add(marker + "-sp");
                    s.execute("ROLLBACK TO sp");
                    s.execute("RELEASE sp");
                }
                if (rollback) {
                    insertMarker(marker);
                    rolledBackMarkers.add(marker);
                    s.execute("ROLLBACK");
                    rolledBack++;
                    return Outcome.ROLLED_BACK;
                }
                if (options.incrementalVacuum() && random.nextInt(5) == 0) {
                    s.execute("PRAGMA incremental_vacuum(" + (1 + random.nextInt(20)) + ")");
                }
                s.execute("update counter set n = n + 1 where id = " + prefix.hashCode());
                s.execute("COMMIT");
                committed++;
                return Outcome.COMMITTED;
            } catch (SQLException e) {
                try {
                    s.execute("ROLLBACK");
                } catch (SQLException ignored) {
                    // no transaction left to roll back
                }
                throw e;
            }
        }
    }

    private void schemaChange() throws SQLException {
        int choice = random.nextInt(3);
        try (Statement s = connection.createStatement()) {
            if (choice == 0 || tables.size() < 2) {
                createTable();
            } else if (choice == 1) {
                String table = pick();
                s.execute("create index if not exists " + table + "_a on " + table + "(a, b)");
            } else {
                String table = tables.remove(random.nextInt(tables.size()));
                s.execute("drop table " + table);
            }
        }
    }

    private void createTable() throws SQLException {
        String table = prefix + "_t" + nextTable++;
        try (Statement s = connection.createStatement()) {
            s.execute("create table " + table + "(id integer primary key, a integer, b text, c blob)");
        }
        tables.add(table);
    }

    private void dml() throws SQLException {
        String table = pick();
        int choice = random.nextInt(10);
        if (choice < 5) {
            insert(table);
        } else if (choice < 8) {
            try (PreparedStatement update = connection.prepareStatement(
                    "update " + table + " set a = ?, b = ? where id = (select id from " + table + " where id >= ? order by id limit 1)")) {
                update.setLong(1, random.nextLong());
                update.setString(2, text(randomSize()));
                update.setLong(3, randomId(table));
                update.executeUpdate();
            }
        } else {
            try (PreparedStatement delete = connection.prepareStatement(
                    "delete from " + table + " where id in (select id from " + table + " where id >= ? order by id limit ?)")) {
                delete.setLong(1, randomId(table));
                delete.setInt(2, 1 + random.nextInt(3));
                delete.executeUpdate();
            }
        }
        if (random.nextInt(8) == 0) {
            try (Statement s = connection.createStatement()) {
                s.execute("delete from " + table + " where length(c) > 100000");
            }
        }
    }

    private void insert(String table) throws SQLException {
        try (PreparedStatement insert = connection.prepareStatement("insert into " + table + "(a, b, c) values (?, ?, ?)")) {
            insert.setLong(1, random.nextLong());
            insert.setString(2, text(randomSize()));
            int blob = random.nextInt(200) == 0 ? 1_100_000 + random.nextInt(500_000) : random.nextInt(4000);
            byte[] bytes = new byte[blob];
            random.nextBytes(bytes);
            insert.setBytes(3, bytes);
            insert.executeUpdate();
        }
    }

    private void insertMarker(String token) throws SQLException {
        try (PreparedStatement insert = connection.prepareStatement("insert into markers(token) values (?)")) {
            insert.setString(1, token);
            insert.executeUpdate();
        }
    }

    private long randomId(String table) throws SQLException {
        try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery("select coalesce(max(id), 0) from " + table)) {
            long max = rs.getLong(1);
            return max == 0 ? 0 : 1 + (long) (random.nextDouble() * max);
        }
    }

    private int randomSize() {
        int dice = random.nextInt(20);
        return dice == 0 ? 5000 + random.nextInt(15000) : random.nextInt(300);
    }

    private String pick() {
        return tables.get(random.nextInt(tables.size()));
    }

    private String text(int length) {
        StringBuilder builder = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            builder.append((char) ('a' + random.nextInt(26)));
        }
        return builder.toString();
    }
}
