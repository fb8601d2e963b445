package io.pagestream.replica;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * What one read transaction sees of a {@link BankWorkload} database, and which of its invariants that breaks.
 * Reading the paddings' and memos' tails reads their overflow pages; counting through the indexes reads the
 * index b-trees: a view mixing pages from before and after a transaction disagrees somewhere.
 */
record BankSnapshot(long txn, long accounts, long accountsByIndex, long total, long totalByIndex, long weighted,
        long paddingMismatches, long ledgerRows, long ledgerRowsByIndex, long ledgerAmount, long memoMismatches,
        long countedAccounts, long countedWeighted, long countedLedgerRows, long countedLedgerAmount, String quickCheck) {

    private static final String TAIL = "cast(substr(%s, -" + BankWorkload.TAIL_DIGITS + ") as integer)";
    private static final String ACCOUNTS = "select count(*), coalesce(sum(balance), 0), coalesce(sum(balance * id), 0),"
            + " coalesce(sum(" + TAIL.formatted("padding") + " <> balance), 0) from accounts";
    private static final String ACCOUNTS_BY_INDEX = "select count(*), coalesce(sum(balance), 0)"
            + " from accounts indexed by accounts_by_balance where balance >= 0";
    private static final String LEDGER = "select count(*), coalesce(sum(amount), 0),"
            + " coalesce(sum(" + TAIL.formatted("memo") + " <> amount), 0) from ledger";
    private static final String LEDGER_BY_INDEX = "select count(*) from ledger indexed by ledger_by_from where from_account >= 0";
    private static final String COUNTERS = "select max(case name when 'txn' then value end),"
            + " max(case name when 'accounts' then value end), max(case name when 'weighted' then value end),"
            + " max(case name when 'ledger_rows' then value end), max(case name when 'ledger_amount' then value end)"
            + " from counters";
    /** Every part in one statement: SQLite runs a statement in one read transaction. */
    private static final String ALL_AT_ONCE = "select * from (" + COUNTERS + "), (" + ACCOUNTS + "), (" + ACCOUNTS_BY_INDEX
            + "), (" + LEDGER + "), (" + LEDGER_BY_INDEX + ")";

    /** Reads a snapshot in one statement (autocommit). */
    static BankSnapshot readInOneStatement(Connection connection) throws SQLException {
        try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery(ALL_AT_ONCE)) {
            return new BankSnapshot(rs.getLong(1), rs.getLong(6), rs.getLong(10), rs.getLong(7), rs.getLong(11), rs.getLong(8),
                    rs.getLong(9), rs.getLong(12), rs.getLong(15), rs.getLong(13), rs.getLong(14), rs.getLong(2), rs.getLong(3),
                    rs.getLong(4), rs.getLong(5), "ok");
        }
    }

    /**
     * Reads a snapshot statement by statement within one explicit read transaction, optionally with
     * {@code PRAGMA quick_check} inside it. The connection must be in autocommit mode; it is again afterwards.
     */
    static BankSnapshot readInTransaction(Connection connection, boolean quickCheck) throws SQLException {
        connection.setAutoCommit(false);
        try (Statement s = connection.createStatement()) {
            long[] counters = row(s, COUNTERS, 5);
            long[] accounts = row(s, ACCOUNTS, 4);
            long[] byIndex = row(s, ACCOUNTS_BY_INDEX, 2);
            long[] ledger = row(s, LEDGER, 3);
            long[] ledgerByIndex = row(s, LEDGER_BY_INDEX, 1);
            String check = "ok";
            if (quickCheck) {
                List<String> problems = new ArrayList<>();
                try (ResultSet rs = s.executeQuery("PRAGMA quick_check")) {
                    while (rs.next()) {
                        problems.add(rs.getString(1));
                    }
                }
                check = String.join("; ", problems);
            }
            connection.commit();
            return new BankSnapshot(counters[0], accounts[0], byIndex[0], accounts[1], byIndex[1], accounts[2], accounts[3],
                    ledger[0], ledgerByIndex[0], ledger[1], ledger[2], counters[1], counters[2], counters[3], counters[4], check);
        } finally {
            if (!connection.isClosed()) {
                connection.setAutoCommit(true);
            }
        }
    }

    private static long[] row(Statement s, String query, int columns) throws SQLException {
        try (ResultSet rs = s.executeQuery(query)) {
            long[] values = new long[columns];
            for (int i = 0; i < columns; i++) {
                values[i] = rs.getLong(i + 1);
            }
            return values;
        }
    }

    /** The invariants this snapshot breaks; empty when it is a state some committed transaction left. */
    List<String> violations() {
        List<String> broken = new ArrayList<>();
        require(broken, total == BankWorkload.TOTAL, "sum(balance) " + total + " != " + BankWorkload.TOTAL);
        require(broken, totalByIndex == BankWorkload.TOTAL, "sum(balance) through the index " + totalByIndex + " != "
                + BankWorkload.TOTAL);
        require(broken, accounts == countedAccounts, "count(accounts) " + accounts + " != counters.accounts " + countedAccounts);
        require(broken, accountsByIndex == accounts, "count(accounts) through the index " + accountsByIndex + " != " + accounts);
        require(broken, weighted == countedWeighted, "sum(balance * id) " + weighted + " != counters.weighted " + countedWeighted);
        require(broken, paddingMismatches == 0, paddingMismatches + " account(s) whose padding does not end with the balance");
        require(broken, ledgerRows == countedLedgerRows, "count(ledger) " + ledgerRows + " != counters.ledger_rows "
                + countedLedgerRows);
        require(broken, ledgerRowsByIndex == ledgerRows, "count(ledger) through the index " + ledgerRowsByIndex + " != "
                + ledgerRows);
        require(broken, ledgerAmount == countedLedgerAmount, "sum(ledger.amount) " + ledgerAmount + " != counters.ledger_amount "
                + countedLedgerAmount);
        require(broken, memoMismatches == 0, memoMismatches + " ledger row(s) whose memo does not end with the amount");
        require(broken, quickCheck.equals("ok"), "quick_check: " + quickCheck);
        return broken;
    }

    private static void require(List<String> broken, boolean holds, String violation) {
        if (!holds) {
            broken.add(violation);
        }
    }
}
