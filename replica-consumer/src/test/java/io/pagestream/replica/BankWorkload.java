package io.pagestream.replica;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A seeded bank whose every committed transaction preserves invariants a reader can check in one read
 * transaction ({@link BankSnapshot}): money only moves between accounts, so the total is constant; each
 * account's padding text ends with its balance and each ledger memo with its amount (on overflow pages when
 * the text is long); and the {@code counters} table keeps the ledger's row count and amount sum, the account
 * count, the balance sum weighted by account id, and a transaction sequence number. Transactions touch a few
 * rows or thousands (rewriting most of the file), rows grow and shrink so pages split and overflow chains
 * move, some rewrite rows in place (no page allocated or freed), some roll back, and VACUUM rewrites the file
 * now and then. A half-applied transaction, or a reader mixing cached pages of an older state with newer
 * ones, breaks some invariant.
 */
final class BankWorkload {
    static final int OPENING_ACCOUNTS = 2000;
    static final long OPENING_BALANCE = 1_000;
    static final long TOTAL = OPENING_ACCOUNTS * OPENING_BALANCE;
    /** Width of the decimal number that ends every padding and memo. */
    static final int TAIL_DIGITS = 12;
    private static final int LEDGER_LIMIT = 6000;

    private final Random random;
    private final Connection connection;
    /** Account ids as of the last commit (opening and closing accounts changes them). */
    private final List<Long> accounts = new ArrayList<>();
    private long nextAccountId = OPENING_ACCOUNTS + 1;
    private long ledgerRows;
    int committed;
    int large;
    int rolledBack;
    int vacuums;

    BankWorkload(long seed, Connection connection) {
        this.random = new Random(seed);
        this.connection = connection;
    }

    /** The schema and the opening accounts: one committed transaction of thousands of rows. */
    void setUp() throws SQLException {
        try (Statement s = connection.createStatement()) {
            s.execute("BEGIN IMMEDIATE");
            s.execute("create table accounts(id integer primary key, balance integer not null, padding text not null)");
            s.execute("create index accounts_by_balance on accounts(balance)");
            s.execute("create table ledger(id integer primary key, from_account integer not null, to_account integer not null,"
                    + " amount integer not null, memo text not null)");
            s.execute("create index ledger_by_from on ledger(from_account)");
            s.execute("create table counters(name text primary key, value integer not null)");
            try (PreparedStatement insert = connection.prepareStatement("insert into accounts(id, balance, padding) values (?, ?, ?)")) {
                for (long id = 1; id <= OPENING_ACCOUNTS; id++) {
                    insert.setLong(1, id);
                    insert.setLong(2, OPENING_BALANCE);
                    insert.setString(3, padded(paddingLength(), OPENING_BALANCE));
                    insert.executeUpdate();
                    accounts.add(id);
                }
            }
            long weighted = OPENING_BALANCE * OPENING_ACCOUNTS * (OPENING_ACCOUNTS + 1L) / 2;
            s.execute("insert into counters(name, value) values ('txn', 1), ('accounts', " + OPENING_ACCOUNTS + "),"
                    + " ('ledger_rows', 0), ('ledger_amount', 0), ('weighted', " + weighted + ")");
            s.execute("COMMIT");
        }
        committed++;
    }

    /** One transaction (or a VACUUM). */
    void step() throws SQLException {
        int dice = random.nextInt(1000);
        if (dice < 8) {
            try (Statement s = connection.createStatement()) {
                s.execute("VACUUM");
            }
            vacuums++;
            return;
        }
        try (Statement s = connection.createStatement()) {
            s.execute("BEGIN IMMEDIATE");
            try {
                Delta delta = new Delta();
                List<Long> accountsAfter = new ArrayList<>(accounts);
                long ledgerAfter = ledgerRows;
                boolean rollback = dice < 30;
                if (dice < 45) {
                    transfers(delta, accountsAfter, 1 + random.nextInt(3));
                } else if (dice < 60) {
                    payroll(delta, accountsAfter);
                } else if (dice < 100) {
                    reorganize(delta, accountsAfter);
                } else if (dice < 180 || ledgerRows > LEDGER_LIMIT) {
                    delta.ledgerRows -= trimLedger(delta);
                } else if (dice < 480) {
                    adjustInPlace(delta, accountsAfter, 1 + random.nextInt(6));
                } else {
                    transfers(delta, accountsAfter, 1 + random.nextInt(12));
                }
                ledgerAfter += delta.ledgerRows;
                if (rollback) {
                    s.execute("ROLLBACK");
                    rolledBack++;
                    return;
                }
                delta.record(connection);
                s.execute("COMMIT");
                committed++;
                accounts.clear();
                accounts.addAll(accountsAfter);
                ledgerRows = ledgerAfter;
            } catch (SQLException | RuntimeException e) {
                try {
                    s.execute("ROLLBACK");
                } catch (SQLException ignored) {
                    // the failed statement already ended the transaction
                }
                throw e;
            }
        }
    }

    /** A few moves of money between random accounts, each with a ledger row. */
    private void transfers(Delta delta, List<Long> ids, int moves) throws SQLException {
        for (int i = 0; i < moves; i++) {
            long from = ids.get(random.nextInt(ids.size()));
            long to = ids.get(random.nextInt(ids.size()));
            if (from != to) {
                move(delta, from, to, random.nextDouble());
            }
        }
    }

    /**
     * Moves money without a ledger row and without changing any row's size: rows are rewritten where they are, so
     * no page is allocated or freed and, with an exclusive-mode writer, the database header stays the same.
     */
    private void adjustInPlace(Delta delta, List<Long> ids, int moves) throws SQLException {
        try (PreparedStatement update = connection.prepareStatement("update accounts set balance = ?1,"
                + " padding = substr(padding, 1, length(padding) - " + TAIL_DIGITS + ") || format('%0" + TAIL_DIGITS + "d', ?1)"
                + " where id = ?2")) {
            for (int i = 0; i < moves; i++) {
                long from = ids.get(random.nextInt(ids.size()));
                long to = ids.get(random.nextInt(ids.size()));
                long fromBalance = balance(from);
                long amount = (long) (fromBalance * random.nextDouble() * 0.1);
                if (from == to || amount == 0) {
                    continue;
                }
                long toBalance = balance(to);
                update.setLong(1, fromBalance - amount);
                update.setLong(2, from);
                update.executeUpdate();
                update.setLong(1, toBalance + amount);
                update.setLong(2, to);
                update.executeUpdate();
                delta.weighted += amount * (to - from);
            }
        }
    }

    /**
     * A large transaction: every account pays part of its balance to its neighbour and gets a new padding,
     * with a ledger row per payment.
     */
    private void payroll(Delta delta, List<Long> ids) throws SQLException {
        large++;
        for (int i = 0; i + 1 < ids.size(); i += 2) {
            move(delta, ids.get(i), ids.get(i + 1), random.nextDouble() * 0.5);
        }
    }

    /** Closes an account (its money goes to another) or opens one with nothing in it, and reshapes some rows. */
    private void reorganize(Delta delta, List<Long> ids) throws SQLException {
        boolean close = ids.size() > OPENING_ACCOUNTS - 300 && (ids.size() > OPENING_ACCOUNTS + 300 || random.nextBoolean());
        if (close) {
            long closing = ids.remove(random.nextInt(ids.size()));
            long heir = ids.get(random.nextInt(ids.size()));
            move(delta, closing, heir, 1.0);
            try (PreparedStatement delete = connection.prepareStatement("delete from accounts where id = ?")) {
                delete.setLong(1, closing);
                delete.executeUpdate();
            }
            delta.accounts--;
        } else {
            long opened = nextAccountId++;
            try (PreparedStatement insert = connection.prepareStatement("insert into accounts(id, balance, padding) values (?, 0, ?)")) {
                insert.setLong(1, opened);
                insert.setString(2, padded(paddingLength(), 0));
                insert.executeUpdate();
            }
            ids.add(opened);
            delta.accounts++;
        }
        // Rows change size without changing balance: pages split, merge and move overflow chains.
        int reshaped = random.nextInt(200);
        try (PreparedStatement reshape = connection.prepareStatement("update accounts set padding = ? where id = ?")) {
            for (int i = 0; i < reshaped; i++) {
                long id = ids.get(random.nextInt(ids.size()));
                reshape.setString(1, padded(paddingLength(), balance(id)));
                reshape.setLong(2, id);
                reshape.executeUpdate();
            }
        }
    }

    /** Deletes the oldest ledger rows. */
    private long trimLedger(Delta delta) throws SQLException {
        int limit = ledgerRows > LEDGER_LIMIT ? (int) (ledgerRows - LEDGER_LIMIT / 2) : 1 + random.nextInt(400);
        long rows;
        try (PreparedStatement sum = connection.prepareStatement(
                "select count(*), coalesce(sum(amount), 0) from (select amount from ledger order by id limit ?)")) {
            sum.setInt(1, limit);
            try (ResultSet rs = sum.executeQuery()) {
                rows = rs.getLong(1);
                delta.ledgerAmount -= rs.getLong(2);
            }
        }
        try (PreparedStatement delete = connection.prepareStatement(
                "delete from ledger where id in (select id from ledger order by id limit ?)")) {
            delete.setInt(1, limit);
            delete.executeUpdate();
        }
        return rows;
    }

    /** Moves {@code share} of {@code from}'s balance to {@code to}, rewriting both paddings, and records it in the ledger. */
    private void move(Delta delta, long from, long to, double share) throws SQLException {
        long fromBalance = balance(from);
        long amount = (long) (fromBalance * share);
        setBalance(from, fromBalance - amount);
        setBalance(to, balance(to) + amount);
        try (PreparedStatement insert = connection.prepareStatement(
                "insert into ledger(from_account, to_account, amount, memo) values (?, ?, ?, ?)")) {
            insert.setLong(1, from);
            insert.setLong(2, to);
            insert.setLong(3, amount);
            insert.setString(4, padded(memoLength(), amount));
            insert.executeUpdate();
        }
        delta.weighted += amount * (to - from);
        delta.ledgerRows++;
        delta.ledgerAmount += amount;
    }

    private long balance(long id) throws SQLException {
        try (PreparedStatement select = connection.prepareStatement("select balance from accounts where id = ?")) {
            select.setLong(1, id);
            try (ResultSet rs = select.executeQuery()) {
                if (!rs.next()) {
                    throw new IllegalStateException("no account " + id);
                }
                return rs.getLong(1);
            }
        }
    }

    private void setBalance(long id, long balance) throws SQLException {
        try (PreparedStatement update = connection.prepareStatement("update accounts set balance = ?, padding = ? where id = ?")) {
            update.setLong(1, balance);
            update.setString(2, padded(paddingLength(), balance));
            update.setLong(3, id);
            update.executeUpdate();
        }
    }

    /** Mostly one page's worth or less; one in ten spills onto overflow pages. */
    private int paddingLength() {
        int dice = random.nextInt(10);
        return dice == 0 ? 4_500 + random.nextInt(9_000) : dice < 4 ? 800 + random.nextInt(2_500) : random.nextInt(800);
    }

    private int memoLength() {
        return random.nextInt(50) == 0 ? 4_500 + random.nextInt(6_000) : random.nextInt(300);
    }

    /** {@code length} filler characters, then {@code value} in {@link #TAIL_DIGITS} digits. */
    private String padded(int length, long value) {
        StringBuilder text = new StringBuilder(length + TAIL_DIGITS);
        char filler = (char) ('a' + random.nextInt(26));
        text.repeat(filler, length);
        return text.append(String.format("%0" + TAIL_DIGITS + "d", value)).toString();
    }

    /** How one transaction changes the counters. */
    private static final class Delta {
        long weighted;
        long ledgerRows;
        long ledgerAmount;
        long accounts;

        void record(Connection connection) throws SQLException {
            try (PreparedStatement update = connection.prepareStatement("update counters set value = value + ? where name = ?")) {
                Object[][] changes = {{1L, "txn"}, {weighted, "weighted"}, {ledgerRows, "ledger_rows"},
                    {ledgerAmount, "ledger_amount"}, {accounts, "accounts"}};
                for (Object[] change : changes) {
                    if ((long) change[0] != 0) {
                        update.setLong(1, (long) change[0]);
                        update.setString(2, (String) change[1]);
                        update.executeUpdate();
                    }
                }
            }
        }
    }
}
