package io.pagestream.replica.internals;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The journal {@link RollbackJournal} writes is one SQLite itself rolls back: an apply interrupted after
 * writing pages (a crash, the journal left as written) is undone by the next plain sqlite-jdbc connection,
 * while a finished (truncated) journal leaves the applied database in place. Each case turns a real database
 * into another real one the way an apply does: journal first, then the pages, then the new size.
 */
class RollbackJournalTest {
    @TempDir
    Path dir;

    /** How the database the apply leads to differs from the one it starts from. */
    enum Change {
        GROWTH("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60)"
                + " INSERT INTO t(b) SELECT randomblob(3000) FROM n"),
        SHRINK("DELETE FROM t WHERE id > 10", "VACUUM"),
        PAGE_SIZE("PRAGMA page_size=1024", "VACUUM"),
        IN_PLACE("UPDATE t SET b = randomblob(3000) WHERE id % 4 = 0");

        final List<String> statements;

        Change(String... statements) {
            this.statements = List.of(statements);
        }
    }

    /** How far the apply got before the process died. */
    enum Crash {
        AFTER_SOME_PAGES,
        AFTER_EVERY_PAGE_AND_THE_SIZE
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Change.class)
    void anUnfinishedJournalIsRolledBackBySqlite(Change change) throws Exception {
        for (Crash crash : Crash.values()) {
            Path db = dir.resolve(change + "-" + crash + ".db");
            Versions versions = versions(db, change);
            simulateApply(db, versions, crash, false);
            assertThat(Files.size(Path.of(db + "-journal"))).as("journal left as written").isPositive();

            assertThat(integrityCheck(db)).as("%s, crash %s", change, crash).isEqualTo("ok");
            assertThat(Arrays.mismatch(Files.readAllBytes(db), versions.before()))
                    .as("%s, crash %s: first byte differing from the database before the apply", change, crash).isEqualTo(-1);
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Change.class)
    void aFinishedJournalIsNotRolledBack(Change change) throws Exception {
        Path db = dir.resolve(change + ".db");
        Versions versions = versions(db, change);
        simulateApply(db, versions, Crash.AFTER_EVERY_PAGE_AND_THE_SIZE, true);
        assertThat(Files.size(Path.of(db + "-journal"))).as("committed journal").isZero();

        assertThat(integrityCheck(db)).isEqualTo("ok");
        assertThat(Arrays.mismatch(Files.readAllBytes(db), versions.after()))
                .as("%s: first byte differing from the applied database", change).isEqualTo(-1);
    }

    @Test
    void anUnfinishedFirstApplyToAnEmptyFileIsRolledBackToEmpty() throws Exception {
        Path db = dir.resolve("first.db");
        Versions built = versions(dir.resolve("source.db"), Change.GROWTH);
        Files.createFile(db);
        // The replica's first apply: nothing to save, the original size is 0 pages.
        simulateApply(db, new Versions(new byte[0], built.pageSizeAfter(), built.after(), built.pageSizeAfter()),
                Crash.AFTER_EVERY_PAGE_AND_THE_SIZE, false);
        assertThat(Files.size(db)).isEqualTo(built.after().length);

        assertThat(integrityCheck(db)).isEqualTo("ok");
        assertThat(Files.size(db)).as("rolled back to the empty file").isZero();
    }

    /** A database's bytes before and after the change, each with its page size. */
    private record Versions(byte[] before, int pageSizeBefore, byte[] after, int pageSizeAfter) {}

    /** Creates {@code db} (4096-byte pages, a few hundred rows) and the database the change makes of it. */
    private Versions versions(Path db, Change change) throws SQLException, IOException {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)");
            s.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60)"
                    + " INSERT INTO t(b) SELECT randomblob(3000) FROM n");
        }
        byte[] before = Files.readAllBytes(db);
        Path changed = dir.resolve(db.getFileName() + ".after");
        Files.copy(db, changed, StandardCopyOption.REPLACE_EXISTING);
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + changed); Statement s = c.createStatement()) {
            for (String statement : change.statements) {
                s.execute(statement);
            }
        }
        byte[] after = Files.readAllBytes(changed);
        Versions versions = new Versions(before, pageSize(before), after, pageSize(after));
        assertThat(after).as("the change changes the database").isNotEqualTo(before);
        return versions;
    }

    /**
     * Does what an apply does to turn {@code before} into {@code after}: journals the original pages it
     * replaces or truncates away (all of them when the page size changes), writes the new pages, sets the
     * size, and commits by truncating the journal — or stops at {@code crash} without committing.
     */
    private static void simulateApply(Path db, Versions versions, Crash crash, boolean commit) throws IOException {
        int oldSize = versions.pageSizeBefore();
        int newSize = versions.pageSizeAfter();
        long oldCount = versions.before().length / oldSize;
        long newCount = versions.after().length / newSize;
        TreeSet<Long> save = new TreeSet<>();
        for (long pgno = 1; pgno <= oldCount; pgno++) {
            if (oldSize != newSize || pgno > newCount || !samePage(versions.before(), versions.after(), pgno, oldSize)) {
                save.add(pgno);
            }
        }
        RollbackJournal journal = new RollbackJournal(db);
        journal.write(oldSize, oldCount, save.size(), save.stream().mapToLong(Long::longValue).iterator(),
                (pgno, into) -> System.arraycopy(versions.before(), (int) ((pgno - 1) * oldSize), into, 0, oldSize));
        try (FileChannel file = FileChannel.open(db, StandardOpenOption.WRITE)) {
            long pagesToWrite = crash == Crash.AFTER_SOME_PAGES ? Math.max(1, newCount / 2) : newCount;
            for (long pgno = 1; pgno <= pagesToWrite; pgno++) {
                file.write(ByteBuffer.wrap(versions.after(), (int) ((pgno - 1) * newSize), newSize),
                        (pgno - 1) * newSize);
            }
            if (crash == Crash.AFTER_EVERY_PAGE_AND_THE_SIZE) {
                file.truncate(newCount * newSize);
            }
            file.force(true);
        }
        if (commit) {
            journal.finish();
        }
        journal.close();
    }

    private static boolean samePage(byte[] a, byte[] b, long pgno, int pageSize) {
        int from = (int) ((pgno - 1) * pageSize);
        return Arrays.equals(a, from, from + pageSize, b, from, from + pageSize);
    }

    private static int pageSize(byte[] database) {
        int raw = ((database[16] & 0xFF) << 8) | (database[17] & 0xFF);
        return raw == 1 ? 65536 : raw;
    }

    /** Opens the database with plain sqlite-jdbc (which rolls back a hot journal) and checks it. */
    private static String integrityCheck(Path db) throws SQLException {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("PRAGMA integrity_check")) {
            return rs.getString(1);
        }
    }
}
