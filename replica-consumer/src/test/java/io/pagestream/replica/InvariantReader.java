package io.pagestream.replica;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * Reads a replica of a {@link BankWorkload} database over and over, as an application would, until stopped:
 * each check is one read transaction (one statement, or several in BEGIN…COMMIT, sometimes with
 * {@code PRAGMA quick_check}) on a connection that is sometimes fresh and sometimes kept across many checks
 * (its page cache then has to notice every apply). Besides the bank's invariants, a reader must never go
 * back in time: the transaction sequence number it sees never decreases. SQLITE_BUSY (the busy timeout ran
 * out) is counted and retried; any other error is a violation.
 */
final class InvariantReader implements Runnable {
    private static final int BUSY_TIMEOUT_MS = 10_000;
    private static final int SQLITE_BUSY = 5;
    private static final int KEPT_VIOLATIONS = 20;

    private final String name;
    private final Path database;
    private final Random random;
    private final Consumer<String> onViolation;
    private final List<String> violations = new CopyOnWriteArrayList<>();
    private final Set<Long> statesSeen = new HashSet<>();
    private volatile boolean stopped;
    private volatile long checks;
    private volatile long violationCount;
    private volatile long busy;
    private volatile long connections;
    private volatile long distinctStates;
    private long lastTxn;

    /** @param onViolation told each violation as it is found (on the reader's thread) */
    InvariantReader(String name, Path database, long seed, Consumer<String> onViolation) {
        this.name = name;
        this.database = database.toAbsolutePath();
        this.random = new Random(seed);
        this.onViolation = onViolation;
    }

    @Override
    public void run() {
        while (!stopped) {
            // Half the time a connection per check; otherwise one kept across up to 40 checks.
            int checksOnConnection = random.nextBoolean() ? 1 : 1 + random.nextInt(40);
            try (Connection connection = open()) {
                connections++;
                for (int i = 0; i < checksOnConnection && !stopped; i++) {
                    check(connection);
                }
            } catch (SQLException | RuntimeException e) {
                if (e instanceof SQLException sql && (sql.getErrorCode() & 0xFF) == SQLITE_BUSY) {
                    busy++;
                } else {
                    violation("error: " + e);
                }
            }
        }
    }

    private Connection open() throws SQLException {
        Connection connection = DriverManager.getConnection("jdbc:sqlite:" + database);
        try (Statement s = connection.createStatement()) {
            s.execute("PRAGMA busy_timeout=" + BUSY_TIMEOUT_MS);
            s.execute("PRAGMA query_only=1");
        } catch (SQLException e) {
            connection.close();
            throw e;
        }
        return connection;
    }

    private void check(Connection connection) throws SQLException {
        BankSnapshot snapshot = random.nextBoolean()
                ? BankSnapshot.readInOneStatement(connection)
                : BankSnapshot.readInTransaction(connection, random.nextInt(20) == 0);
        checks++;
        List<String> broken = new ArrayList<>(snapshot.violations());
        if (snapshot.txn() < lastTxn) {
            broken.add("went back in time from txn " + lastTxn);
        }
        if (!broken.isEmpty()) {
            violation("at txn " + snapshot.txn() + ": " + String.join("; ", broken) + " in " + snapshot);
        }
        lastTxn = Math.max(lastTxn, snapshot.txn());
        statesSeen.add(snapshot.txn());
        distinctStates = statesSeen.size();
    }

    private void violation(String violation) {
        violationCount++;
        if (violations.size() < KEPT_VIOLATIONS) {
            violations.add(name + ": " + violation);
        }
        onViolation.accept(violation);
    }

    /** Ends the loop after the current check; join the thread running it to wait. */
    void stop() {
        stopped = true;
    }

    String name() {
        return name;
    }

    long checks() {
        return checks;
    }

    /** Distinct committed states (transaction sequence numbers) seen. */
    long distinctStates() {
        return distinctStates;
    }

    long busy() {
        return busy;
    }

    long connections() {
        return connections;
    }

    long violationCount() {
        return violationCount;
    }

    /** The first violations, each prefixed with the reader's name. */
    List<String> violations() {
        return List.copyOf(violations);
    }

    String summary() {
        return "checks=" + checks + " distinct=" + distinctStates + " connections=" + connections + " busy=" + busy
                + " violations=" + violationCount;
    }
}
