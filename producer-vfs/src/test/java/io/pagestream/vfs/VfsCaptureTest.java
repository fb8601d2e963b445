package io.pagestream.vfs;

import static io.pagestream.vfs.VfsTestSupport.assertIdentical;
import static io.pagestream.vfs.VfsTestSupport.changeCounter;
import static io.pagestream.vfs.VfsTestSupport.concat;
import static io.pagestream.vfs.VfsTestSupport.exec;
import static io.pagestream.vfs.VfsTestSupport.header;
import static io.pagestream.vfs.VfsTestSupport.headerPageSize;
import static io.pagestream.vfs.VfsTestSupport.lsns;
import static io.pagestream.vfs.VfsTestSupport.plainConnection;
import static io.pagestream.vfs.VfsTestSupport.queryLong;
import static io.pagestream.vfs.VfsTestSupport.queryLongs;
import static io.pagestream.vfs.VfsTestSupport.queryString;
import static io.pagestream.vfs.VfsTestSupport.range;
import static io.pagestream.vfs.VfsTestSupport.readOnlyConnection;
import static io.pagestream.vfs.VfsTestSupport.replayVerifyingEveryLsn;
import static io.pagestream.vfs.VfsTestSupport.tx;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pagestream.schemas.JournalContract;
import io.pagestream.schemas.JournalRecord;
import io.pagestream.schemas.avro.JournalEntry;
import io.pagestream.vfs.VfsTestSupport.Harness;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * End-to-end capture through the real VFS: every committed transaction becomes one journal entry, and
 * replaying the journal reproduces the writer's file byte for byte after every LSN.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VfsCaptureTest {
    @TempDir
    Path dir;

    // ---------------------------------------------------------------- 1. journal modes × locking modes

    @ParameterizedTest(name = "journal_mode={0}, exclusive={1}")
    @CsvSource({
        "DELETE, false", "TRUNCATE, false", "PERSIST, false", "MEMORY, false",
        "DELETE, true", "TRUNCATE, true", "PERSIST, true", "MEMORY, true"
    })
    void everyRollbackJournalModeCapturesEachCommitOnce(String mode, boolean exclusive) throws Exception {
        Path db = dir.resolve("modes.db");
        int commits = 0;
        try (Harness h = new Harness()) {
            try (Connection c = h.connect(db)) {
                useModes(c, mode, exclusive);
                exec(c, "CREATE TABLE customer(id INTEGER PRIMARY KEY, name TEXT NOT NULL, balance INTEGER)");
                commits++;
                exec(c, "CREATE TABLE item(id INTEGER PRIMARY KEY, customer_id INTEGER, payload BLOB)");
                commits++;
                exec(c, "CREATE INDEX item_customer ON item(customer_id)");
                commits++;
                for (int i = 0; i < 47; i++) {
                    switch (i % 4) {
                        case 0 -> tx(c,
                                "INSERT INTO customer(name, balance) VALUES ('c" + i + "', " + i + ")",
                                "INSERT INTO item(customer_id, payload) SELECT id, randomblob(" + (200 + 97 * i)
                                        + ") FROM customer WHERE id % 3 = " + (i % 3));
                        case 1 -> tx(c, "UPDATE customer SET balance = balance + 7 WHERE id % 2 = " + (i % 2),
                                "UPDATE item SET payload = randomblob(" + (50 + 13 * i) + ") WHERE id % 5 = " + (i % 5));
                        case 2 -> tx(c, "DELETE FROM item WHERE id % 7 = " + (i % 7),
                                "UPDATE customer SET balance = balance - 1 WHERE id = 1");
                        default -> exec(c, "INSERT INTO customer(name, balance) VALUES (hex(randomblob(" + (10 + i) + ")), 0)");
                    }
                    commits++;
                }
            }
            h.flush();
            JournalReplay replay = replayVerifyingEveryLsn(h.records(), dir.resolve("replicas"), h.hashes);
            List<JournalEntry> entries = replay.replica("modes.db").entries;
            assertThat(lsns(entries)).as("one entry per commit, LSN 1..n").containsExactlyElementsOf(range(1, commits));
            assertThat(baseFlags(entries)).as("only LSN 1 is a base entry").containsExactlyElementsOf(onlyFirstBase(commits));
            assertThat(h.records()).allSatisfy(r -> assertThat(r.key()).isEqualTo("modes.db"));
            assertIdentical(replay.replica("modes.db").file, db);
            // Readers of a replica keep cached pages while it stays the same; exclusive mode would bump it once.
            assertThat(changeCounter(db)).as("the file change counter moved on at every commit").isEqualTo(commits);
        }
    }

    // ---------------------------------------------------------------- 2. rollback, failed statements, savepoints

    @Test
    void rollbackFailedStatementAndSavepointRollback() throws Exception {
        Path db = dir.resolve("rollback.db");
        try (Harness h = new Harness()) {
            try (Connection c = h.connect(db)) {
                exec(c, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT UNIQUE)"); // LSN 1
                h.flush();
                assertThat(h.records()).hasSize(1);

                tx(c, "INSERT INTO t VALUES (1, 'one')"); // LSN 2

                exec(c, "BEGIN", "INSERT INTO t VALUES (2, 'two')", "UPDATE t SET v = 'uno' WHERE id = 1", "ROLLBACK");
                h.flush();
                assertThat(h.records()).as("ROLLBACK publishes nothing").hasSize(2);

                exec(c, "BEGIN", "INSERT INTO t VALUES (3, 'three')");
                assertThatThrownBy(() -> exec(c, "INSERT INTO t VALUES (4, 'one')"))
                        .isInstanceOf(SQLException.class).hasMessageContaining("UNIQUE");
                assertThatThrownBy(() -> exec(c, "INSERT INTO t VALUES (1, 'dup')"))
                        .isInstanceOf(SQLException.class).hasMessageContaining("UNIQUE");
                exec(c, "INSERT INTO t VALUES (5, 'five')", "COMMIT"); // LSN 3
                h.flush();
                assertThat(h.records()).as("failed statements inside a committed transaction: one entry").hasSize(3);

                exec(c, "BEGIN",
                        "INSERT INTO t VALUES (10, 'kept-before')",
                        "SAVEPOINT sp",
                        "INSERT INTO t VALUES (11, 'rolled-back')",
                        "UPDATE t SET v = 'changed-then-rolled-back' WHERE id = 1",
                        "DELETE FROM t WHERE id = 3",
                        "ROLLBACK TO sp",
                        "RELEASE sp",
                        "INSERT INTO t VALUES (12, 'kept-after')",
                        "COMMIT"); // LSN 4
                h.flush();
                assertThat(h.records()).as("savepoint rolled back inside a committed transaction: one entry").hasSize(4);
                // A savepoint used as the outermost transaction and rolled back with ROLLBACK: no entry.
                exec(c, "SAVEPOINT outer_sp", "INSERT INTO t VALUES (20, 'never')", "ROLLBACK");
                // An autocommit statement failing half-way: SQLite rolls the whole statement back, no entry.
                assertThatThrownBy(() -> exec(c, "INSERT INTO t VALUES (30, 'x'), (31, 'one')"))
                        .isInstanceOf(SQLException.class).hasMessageContaining("UNIQUE");
                h.flush();
                assertThat(h.records()).as("rolled-back savepoint transaction and failed statement: no entry").hasSize(4);
                // ROLLBACK TO the outermost savepoint, then RELEASE: SQLite commits a transaction whose only change is
                // the file change counter (pages rewritten with their old content), so that is one entry (LSN 5).
                exec(c, "SAVEPOINT outer_sp", "INSERT INTO t VALUES (21, 'never')", "ROLLBACK TO outer_sp", "RELEASE outer_sp");
            }
            h.flush();
            JournalReplay replay = replayVerifyingEveryLsn(h.records(), dir.resolve("replicas"), h.hashes);
            List<JournalEntry> entries = replay.replica("rollback.db").entries;
            assertThat(lsns(entries)).containsExactly(1L, 2L, 3L, 4L, 5L);
            Path replica = replay.replica("rollback.db").file;
            assertIdentical(replica, db);
            try (Connection r = readOnlyConnection(replica)) {
                assertThat(queryLongs(r, "SELECT id FROM t ORDER BY id")).containsExactly(1L, 3L, 5L, 10L, 12L);
                assertThat(queryString(r, "SELECT v FROM t WHERE id = 1")).isEqualTo("one");
            }
        }
    }

    // ---------------------------------------------------------------- 3. rollback after a cache spill

    /**
     * SQLite does not journal a free page it hands out again, so rolling back a transaction that spilled such pages
     * leaves them holding the new bytes. The VFS saw their images at the transaction's start: the next commit carries
     * them back to the chain instead of publishing a base entry.
     */
    @ParameterizedTest(name = "journal_mode={0}, exclusive={1}")
    @CsvSource({"DELETE, false", "PERSIST, true", "TRUNCATE, false"})
    void aRolledBackTransactionThatReusedFreePagesNeedsNoBaseEntry(String mode, boolean exclusive) throws Exception {
        Path db = dir.resolve("reuse.db");
        try (Harness h = new Harness()) {
            try (Connection c = h.connect(db)) {
                useModes(c, mode, exclusive);
                exec(c, "CREATE TABLE t(id INTEGER PRIMARY KEY, tag TEXT, b BLOB)"); // LSN 1
                tx(c, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 120)"
                        + " INSERT INTO t(id, tag, b) SELECT i, 'committed', randomblob(3000) FROM n"); // LSN 2
                exec(c, "DELETE FROM t WHERE id > 20"); // LSN 3: about a hundred free pages
                assertThat(queryLong(c, "PRAGMA freelist_count")).isGreaterThan(50);
                exec(c, "PRAGMA cache_size=2");
                exec(c, "BEGIN",
                        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 80)"
                                + " INSERT INTO t(id, tag, b) SELECT 1000 + i, 'rolled-back', randomblob(3000) FROM n",
                        "ROLLBACK");
                exec(c, "BEGIN",
                        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30)"
                                + " INSERT INTO t(id, tag, b) SELECT 2000 + i, 'rolled-back', randomblob(3000) FROM n",
                        "ROLLBACK");
                exec(c, "UPDATE t SET tag = 'after' WHERE id = 1"); // LSN 4: touches none of the reused pages
                exec(c, "INSERT INTO t(id, tag, b) VALUES (3000, 'reuses', randomblob(9000))"); // LSN 5
            }
            h.flush();
            JournalReplay replay = replayVerifyingEveryLsn(h.records(), dir.resolve("replicas"), h.hashes);
            List<JournalEntry> entries = replay.replica("reuse.db").entries;
            assertThat(lsns(entries)).containsExactly(1L, 2L, 3L, 4L, 5L);
            assertThat(baseFlags(entries)).as("only LSN 1 is a base entry").containsExactlyElementsOf(onlyFirstBase(5));
            assertIdentical(replay.replica("reuse.db").file, db);
            try (Connection r = readOnlyConnection(replay.replica("reuse.db").file)) {
                assertThat(queryLong(r, "SELECT count(*) FROM t WHERE tag = 'rolled-back'")).isZero();
                assertThat(queryString(r, "PRAGMA integrity_check")).isEqualTo("ok");
            }
        }
    }

    /**
     * In sync mode an entry goes to Kafka when SQLite syncs the database before its commit point; a ROLLBACK that
     * plays the journal back syncs too, and the free pages the transaction reused keep their new bytes. That sync
     * must send nothing: a rolled-back transaction never reaches the journal.
     */
    @ParameterizedTest(name = "journal_mode={0}, exclusive={1}")
    @CsvSource({"DELETE, false", "DELETE, true", "PERSIST, true", "TRUNCATE, false"})
    void aSynchronousRollbackAfterACacheSpillReusingFreePagesPublishesNothing(String mode, boolean exclusive) throws Exception {
        Path db = dir.resolve("sync-reuse.db");
        try (Harness h = new Harness()) {
            try (Connection c = h.connectSync(db)) {
                useModes(c, mode, exclusive);
                exec(c, "CREATE TABLE t(id INTEGER PRIMARY KEY, tag TEXT, b BLOB)");
                tx(c, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 120)"
                        + " INSERT INTO t(id, tag, b) SELECT i, 'committed', randomblob(3000) FROM n");
                exec(c, "DELETE FROM t WHERE id > 20"); // LSN 3: about a hundred free pages
                assertThat(queryLong(c, "PRAGMA freelist_count")).isGreaterThan(50);
                exec(c, "PRAGMA cache_size=2");
                int published = h.records().size();
                exec(c, "BEGIN",
                        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 80)"
                                + " INSERT INTO t(id, tag, b) SELECT 1000 + i, 'rolled-back', randomblob(3000) FROM n",
                        "ROLLBACK");
                assertThat(h.records()).as("records the ROLLBACK published").hasSize(published);
                exec(c, "INSERT INTO t(id, tag, b) VALUES (3000, 'reuses', randomblob(9000))"); // LSN 4
            }
            h.flush();
            JournalReplay replay = replayVerifyingEveryLsn(h.records(), dir.resolve("replicas"), h.hashes);
            List<JournalEntry> entries = replay.replica("sync-reuse.db").entries;
            assertThat(lsns(entries)).containsExactly(1L, 2L, 3L, 4L);
            assertThat(baseFlags(entries)).containsExactlyElementsOf(onlyFirstBase(4));
            assertIdentical(replay.replica("sync-reuse.db").file, db);
        }
    }

    @Test
    void aMemoryJournalIsRefusedWhenCommitsAreSynchronous() throws Exception {
        try (Harness h = new Harness()) {
            try (Connection c = h.connectSync(dir.resolve("sync-memory.db"))) {
                for (String pragma : List.of("PRAGMA journal_mode=MEMORY", "PRAGMA journal_mode=mem")) {
                    assertThatThrownBy(() -> exec(c, pragma)).as(pragma).isInstanceOf(SQLException.class)
                            .hasMessageContaining("journal_mode=MEMORY with commit.mode=sync is not supported");
                }
                assertThat(queryString(c, "PRAGMA journal_mode")).isEqualToIgnoringCase("delete");
            }
            // Set for every database of a connection whose main one commits asynchronously: refused at the commit.
            Path side = dir.resolve("sync-side.db");
            try (Connection c = h.connect(dir.resolve("async-main.db"))) {
                exec(c, "ATTACH DATABASE 'file:" + side.toAbsolutePath() + "?vfs=" + h.vfs.name() + "&"
                        + PagestreamConfig.COMMIT_MODE_URI_PARAMETER + "=sync' AS side", "CREATE TABLE side.u(y)");
                assertThat(queryString(c, "PRAGMA journal_mode=MEMORY")).isEqualToIgnoringCase("memory");
                assertThatThrownBy(() -> exec(c, "INSERT INTO side.u VALUES (1)")).isInstanceOf(SQLException.class);
                assertThat(queryLong(c, "SELECT count(*) FROM side.u")).isZero();
            }
            try (Connection c = h.connect(dir.resolve("async-memory.db"))) {
                assertThat(queryString(c, "PRAGMA journal_mode=MEMORY")).isEqualToIgnoringCase("memory");
            }
        }
    }

    @ParameterizedTest(name = "journal_mode={0}, exclusive={1}")
    @CsvSource({"DELETE, false", "DELETE, true", "MEMORY, false", "PERSIST, true", "TRUNCATE, false"})
    void rollbackAfterCacheSpillKeepsPreImagesRight(String mode, boolean exclusive) throws Exception {
        Path db = dir.resolve("spill.db");
        try (Harness h = new Harness()) {
            try (Connection c = h.connect(db)) {
                useModes(c, mode, exclusive);
                exec(c, "CREATE TABLE t(id INTEGER PRIMARY KEY, tag TEXT, b BLOB)"); // LSN 1
                tx(c, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)"
                        + " INSERT INTO t(id, tag, b) SELECT i, 'committed', randomblob(1500) FROM n"); // LSN 2
                h.flush();
                assertThat(h.records()).hasSize(2);
                long committedSize = Files.size(db); // stat only: opens no descriptor on the file

                exec(c, "PRAGMA cache_size=2");
                exec(c, "BEGIN",
                        "UPDATE t SET tag = 'rolled-back', b = randomblob(1400) WHERE id % 2 = 0",
                        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)"
                                + " INSERT INTO t(id, tag, b) SELECT 1000 + i, 'rolled-back', randomblob(3000) FROM n",
                        "DELETE FROM t WHERE id % 5 = 0");
                assertThat(Files.size(db)).as("the cache spilled pages into the database file before commit")
                        .isGreaterThan(committedSize);
                exec(c, "ROLLBACK");
                h.flush();
                assertThat(h.records()).as("rolled-back spilled transaction publishes nothing").hasSize(2);
                assertThat(Files.size(db)).as("rollback restored the file size").isEqualTo(committedSize);

                // Normal commits after the rollback; the second one spills too before committing.
                tx(c, "UPDATE t SET tag = 'after' WHERE id % 3 = 0", "INSERT INTO t(id, tag, b) VALUES (500, 'new', randomblob(2500))");
                tx(c, "UPDATE t SET b = randomblob(1600) WHERE id % 4 = 1",
                        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60)"
                                + " INSERT INTO t(id, tag, b) SELECT 2000 + i, 'spilled-commit', randomblob(3000) FROM n");
                // And another spilled rollback followed by a commit touching the same pages.
                exec(c, "BEGIN", "UPDATE t SET b = randomblob(2900), tag = 'rb2'", "ROLLBACK");
                exec(c, "DELETE FROM t WHERE id > 2030"); // LSN 5
                // Spill inside a savepoint rolled back within a committed transaction.
                long beforeSavepoint = Files.size(db);
                exec(c, "BEGIN", "UPDATE t SET tag = 'kept' WHERE id = 1", "SAVEPOINT sp",
                        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 150)"
                                + " INSERT INTO t(id, tag, b) SELECT 5000 + i, 'rolled-back', randomblob(3000) FROM n",
                        "UPDATE t SET b = randomblob(1000), tag = 'rb3' WHERE id < 1000");
                assertThat(Files.size(db)).as("spilled inside the savepoint").isGreaterThan(beforeSavepoint);
                exec(c, "ROLLBACK TO sp", "RELEASE sp", "INSERT INTO t(id, tag, b) VALUES (600, 'after-sp', x'01')", "COMMIT"); // LSN 6
            }
            h.flush();
            JournalReplay replay = replayVerifyingEveryLsn(h.records(), dir.resolve("replicas"), h.hashes);
            assertThat(lsns(replay.replica("spill.db").entries)).containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
            Path replica = replay.replica("spill.db").file;
            assertIdentical(replica, db);
            try (Connection r = readOnlyConnection(replica)) {
                assertThat(queryLong(r, "SELECT count(*) FROM t WHERE tag IN ('rolled-back', 'rb2', 'rb3')")).isZero();
                assertThat(queryString(r, "SELECT tag FROM t WHERE id = 1")).isEqualTo("kept");
                assertThat(queryLong(r, "SELECT count(*) FROM t WHERE id = 600")).isOne();
                assertThat(queryString(r, "PRAGMA integrity_check")).isEqualTo("ok");
            }
        }
    }

    // ---------------------------------------------------------------- 4. WAL and OFF refused

    @Test
    void walAndOffJournalModesAreRefused() throws Exception {
        Path db = dir.resolve("refuse.db");
        try (Harness h = new Harness()) {
            try (Connection c = h.connect(db)) {
                exec(c, "CREATE TABLE t(x)"); // LSN 1
                // SQLite takes any prefix of a mode's name ("w" is WAL, "of" is OFF).
                for (String pragma : List.of("PRAGMA journal_mode=WAL", "pragma JOURNAL_MODE = wal",
                        "PRAGMA main.journal_mode='WAL'", "PRAGMA journal_mode=w")) {
                    assertThatThrownBy(() -> exec(c, pragma)).as(pragma)
                            .isInstanceOf(SQLException.class).hasMessageContaining("not supported");
                }
                for (String pragma : List.of("PRAGMA journal_mode=OFF", "PRAGMA journal_mode = off", "PRAGMA journal_mode=of")) {
                    assertThatThrownBy(() -> exec(c, pragma)).as(pragma)
                            .isInstanceOf(SQLException.class).hasMessageContaining("journal_mode=OFF");
                }
                assertThat(queryString(c, "PRAGMA journal_mode")).isEqualToIgnoringCase("delete");
                // Asked for by the driver at connection time.
                org.sqlite.SQLiteConfig walConfig = new org.sqlite.SQLiteConfig();
                walConfig.setJournalMode(org.sqlite.SQLiteConfig.JournalMode.WAL);
                assertThatThrownBy(() -> walConfig.createConnection(h.vfs.jdbcUrl(db)).close())
                        .isInstanceOf(SQLException.class).hasMessageContaining("not supported");
                exec(c, "INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (2)"); // LSN 2, 3
                assertThat(queryString(c, "PRAGMA journal_mode=TRUNCATE")).isEqualToIgnoringCase("truncate");
                exec(c, "INSERT INTO t VALUES (3)"); // LSN 4
            }
            h.flush();
            JournalReplay replay = replayVerifyingEveryLsn(h.records(), dir.resolve("replicas"), h.hashes);
            assertThat(lsns(replay.replica("refuse.db").entries)).containsExactly(1L, 2L, 3L, 4L);
            assertIdentical(replay.replica("refuse.db").file, db);
            // The header still says rollback journal (bytes 18/19 are 2 in WAL mode).
            byte[] header = Files.readAllBytes(db);
            assertThat(header[18]).isEqualTo((byte) 1);
            assertThat(header[19]).isEqualTo((byte) 1);
        }
    }

    // ---------------------------------------------------------------- 5. transactions that change nothing

    @ParameterizedTest(name = "exclusive={0}")
    @ValueSource(booleans = {false, true})
    void transactionThatChangesNothingPublishesNothing(boolean exclusive) throws Exception {
        Path db = dir.resolve("noop.db");
        try (Harness h = new Harness()) {
            try (Connection c = h.connect(db)) {
                if (exclusive) {
                    exec(c, "PRAGMA locking_mode=EXCLUSIVE");
                }
                exec(c, "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER)"); // LSN 1
                exec(c, "INSERT INTO t VALUES (1, 1)"); // LSN 2
                h.flush();
                assertThat(h.records()).hasSize(2);

                exec(c, "BEGIN IMMEDIATE", "COMMIT");
                exec(c, "BEGIN EXCLUSIVE", "COMMIT");
                exec(c, "UPDATE t SET v = 5 WHERE id = -1");
                exec(c, "DELETE FROM t WHERE id > 100");
                exec(c, "BEGIN IMMEDIATE", "SELECT * FROM t", "UPDATE t SET v = 9 WHERE 0", "COMMIT");
                exec(c, "BEGIN", "INSERT INTO t VALUES (50, 50)", "DELETE FROM t WHERE id = 50", "ROLLBACK");
                exec(c, "CREATE TEMP TABLE scratch(x)", "INSERT INTO scratch VALUES (1)", "UPDATE scratch SET x = 2");
                tx(c, "INSERT INTO scratch SELECT v FROM t", "DELETE FROM scratch WHERE x = 1");
                h.flush();
                assertThat(h.records()).as("transactions that change nothing publish nothing").hasSize(2);

                exec(c, "UPDATE t SET v = 2 WHERE id = 1"); // LSN 3
            }
            h.flush();
            JournalReplay replay = replayVerifyingEveryLsn(h.records(), dir.resolve("replicas"), h.hashes);
            assertThat(lsns(replay.replica("noop.db").entries)).containsExactly(1L, 2L, 3L);
            assertIdentical(replay.replica("noop.db").file, db);
        }
    }

    // ---------------------------------------------------------------- 6. growth and shrink

    @Test
    void autoVacuumFullShrinksTheFileAndTheReplica() throws Exception {
        Path db = dir.resolve("autovac.db");
        try (Harness h = new Harness()) {
            long peak;
            try (Connection c = h.connect(db)) {
                exec(c, "PRAGMA auto_vacuum=FULL"); // on an empty file SQLite writes page 1 here: LSN 1
                exec(c, "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)");
                exec(c, "CREATE TABLE u(id INTEGER PRIMARY KEY, s TEXT)");
                for (int round = 0; round < 6; round++) {
                    tx(c, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50)"
                                    + " INSERT INTO t(b) SELECT randomblob(2000 + 37 * i) FROM n",
                            "INSERT INTO u(s) VALUES (hex(randomblob(300)))");
                }
                peak = Files.size(db);
                exec(c, "DELETE FROM t WHERE id % 10 <> 0 AND id < 100");
                exec(c, "DELETE FROM t WHERE id % 10 <> 0");
                exec(c, "UPDATE t SET b = randomblob(100)");
                exec(c, "DROP TABLE u");
                assertThat(queryLong(c, "PRAGMA freelist_count")).isZero();
            }
            h.flush();
            assertThat(Files.size(db)).as("auto_vacuum=FULL shrank the file").isLessThan(peak / 4);
            JournalReplay replay = replayVerifyingEveryLsn(h.records(), dir.resolve("replicas"), h.hashes);
            List<JournalEntry> entries = replay.replica("autovac.db").entries;
            assertThat(lsns(entries)).containsExactlyElementsOf(range(1, 13));
            assertThat(entries.get(1).getPageCount()).as("auto-vacuum db has a pointer-map page").isGreaterThan(2);
            assertThat(entries.getLast().getPageCount()).isLessThan(entries.get(8).getPageCount() / 4);
            assertThat(headerAutoVacuum(replay.replica("autovac.db").file)).as("largest root page (auto_vacuum on)").isPositive();
            assertIdentical(replay.replica("autovac.db").file, db);
        }
    }

    @Test
    void incrementalVacuumAndVacuumShrinkTheReplica() throws Exception {
        Path db = dir.resolve("incvac.db");
        try (Harness h = new Harness()) {
            long peak;
            long afterDelete;
            long afterIncremental;
            try (Connection c = h.connect(db)) {
                exec(c, "PRAGMA auto_vacuum=INCREMENTAL");
                exec(c, "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)");
                tx(c, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)"
                        + " INSERT INTO t(b) SELECT randomblob(1800) FROM n");
                peak = Files.size(db);
                exec(c, "DELETE FROM t WHERE id % 4 <> 0");
                afterDelete = Files.size(db);
                assertThat(queryLong(c, "PRAGMA freelist_count")).isPositive();
                long freeBefore = queryLong(c, "PRAGMA freelist_count");
                runToCompletion(c, "PRAGMA incremental_vacuum(20)");
                assertThat(queryLong(c, "PRAGMA freelist_count")).isEqualTo(freeBefore - 20);
                runToCompletion(c, "PRAGMA incremental_vacuum");
                afterIncremental = Files.size(db);
                assertThat(queryLong(c, "PRAGMA freelist_count")).isZero();
                // Plain VACUUM on a fragmented database.
                exec(c, "UPDATE t SET b = randomblob(700) WHERE id % 8 = 0");
                exec(c, "INSERT INTO t(b) VALUES (randomblob(30000))", "DELETE FROM t WHERE length(b) = 30000");
                exec(c, "VACUUM");
                exec(c, "INSERT INTO t(b) VALUES (randomblob(100))");
            }
            h.flush();
            assertThat(afterDelete).isEqualTo(peak);
            assertThat(afterIncremental).as("incremental_vacuum shrank the file").isLessThan(afterDelete - 40 * 4096L);
            JournalReplay replay = replayVerifyingEveryLsn(h.records(), dir.resolve("replicas"), h.hashes);
            assertThat(lsns(replay.replica("incvac.db").entries)).containsExactlyElementsOf(range(1, h.hashes.size()));
            assertIdentical(replay.replica("incvac.db").file, db);
        }
    }

    @Test
    void vacuumAfterMassDeleteShrinksTheReplica() throws Exception {
        Path db = dir.resolve("vacuum.db");
        try (Harness h = new Harness()) {
            long beforeVacuum;
            try (Connection c = h.connect(db)) {
                exec(c, "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)", "CREATE INDEX t_b ON t(substr(b, 1, 8))");
                tx(c, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)"
                        + " INSERT INTO t(b) SELECT randomblob(900) FROM n");
                exec(c, "DELETE FROM t WHERE id % 9 <> 0");
                beforeVacuum = Files.size(db);
                exec(c, "VACUUM");
                assertThat(Files.size(db)).isLessThan(beforeVacuum / 3);
                exec(c, "UPDATE t SET b = randomblob(10) WHERE id = 9");
            }
            h.flush();
            JournalReplay replay = replayVerifyingEveryLsn(h.records(), dir.resolve("replicas"), h.hashes);
            List<JournalEntry> entries = replay.replica("vacuum.db").entries;
            assertThat(lsns(entries)).containsExactlyElementsOf(range(1, 6));
            assertThat(baseFlags(entries)).containsExactlyElementsOf(onlyFirstBase(6));
            assertIdentical(replay.replica("vacuum.db").file, db);
        }
    }

    @ParameterizedTest(name = "page size {0} -> {1}")
    @CsvSource({"4096, 8192", "8192, 1024", "1024, 65536"})
    void pageSizeChangeByVacuumIsReplicated(int from, int to) throws Exception {
        Path db = dir.resolve("pagesize.db");
        try (Harness h = new Harness()) {
            try (Connection c = h.connect(db)) {
                exec(c, "PRAGMA page_size=" + from);
                exec(c, "CREATE TABLE t(id INTEGER PRIMARY KEY, s TEXT, b BLOB)"); // LSN 1
                tx(c, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 150)"
                        + " INSERT INTO t(s, b) SELECT 'row' || i, randomblob(i * 20) FROM n"); // LSN 2
                exec(c, "DELETE FROM t WHERE id % 3 = 0"); // LSN 3
                assertThat(queryLong(c, "PRAGMA page_size")).isEqualTo(from);
                exec(c, "PRAGMA page_size=" + to);
                exec(c, "VACUUM"); // LSN 4
                assertThat(queryLong(c, "PRAGMA page_size")).isEqualTo(to);
                exec(c, "UPDATE t SET s = 'after' WHERE id % 5 = 0"); // LSN 5
                exec(c, "INSERT INTO t(s, b) VALUES ('big', randomblob(100000))"); // LSN 6
            }
            h.flush();
            JournalReplay replay = replayVerifyingEveryLsn(h.records(), dir.resolve("replicas"), h.hashes);
            List<JournalEntry> entries = replay.replica("pagesize.db").entries;
            assertThat(lsns(entries)).containsExactlyElementsOf(range(1, 6));
            assertThat(entries.get(2).getPageSize()).isEqualTo(from);
            assertThat(entries.get(3).getPageSize()).isEqualTo(to);
            assertThat(entries.get(3).getBase()).as("page-size change is not a base entry").isFalse();
            Path replica = replay.replica("pagesize.db").file;
            assertIdentical(replica, db);
            assertThat(headerPageSize(replica)).isEqualTo(to);
        }
    }

    // ---------------------------------------------------------------- 7. identical after every LSN

    @Test
    void replicaIsIdenticalAfterEveryLsnAcrossConnections() throws Exception {
        Path db = dir.resolve("every.db");
        try (Harness h = new Harness()) {
            int commits = 0;
            for (int session = 0; session < 4; session++) {
                try (Connection c = h.connect(db)) {
                    if (session == 0) {
                        exec(c, "CREATE TABLE kv(k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID");
                        commits++;
                    }
                    for (int i = 0; i < 10; i++) {
                        exec(c, "INSERT OR REPLACE INTO kv VALUES ('k" + (i * 7 + session) % 23 + "', randomblob("
                                + (100 + 400 * i) + "))");
                        commits++;
                    }
                    exec(c, "DELETE FROM kv WHERE k LIKE 'k1%'");
                    commits++;
                }
            }
            h.flush();
            JournalReplay replay = replayVerifyingEveryLsn(h.records(), dir.resolve("replicas"), h.hashes);
            List<JournalEntry> entries = replay.replica("every.db").entries;
            assertThat(h.hashes).hasSize(commits);
            assertThat(lsns(entries)).containsExactlyElementsOf(range(1, commits));
            assertIdentical(replay.replica("every.db").file, db);
        }
    }

    // ---------------------------------------------------------------- 8. reopen continues the chain

    @Test
    void reopenThroughANewVfsContinuesTheChain() throws Exception {
        Path db = dir.resolve("reopen.db");
        Map<String, String> hashes = new ConcurrentHashMap<>();
        List<JournalRecord> first;
        try (Harness h = new Harness(hashes, 1_000_000)) {
            try (Connection c = h.connect(db)) {
                exec(c, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
                for (int i = 0; i < 5; i++) {
                    exec(c, "INSERT INTO t(v) VALUES ('first-" + i + "')");
                }
            }
            h.flush();
            first = h.records();
        }
        assertThat(first).hasSize(6);
        assertThat(Path.of(db + "-pagestream")).exists();

        List<JournalRecord> second;
        try (Harness h = new Harness(hashes, 1_000_000)) {
            try (Connection c = h.connect(db)) {
                exec(c, "INSERT INTO t(v) VALUES ('second-0')");
                exec(c, "UPDATE t SET v = v || '!'");
            }
            h.flush();
            second = h.records();
        }
        assertThat(second).hasSize(2);
        JournalReplay replay = replayVerifyingEveryLsn(concat(first, second), dir.resolve("replicas"), hashes);
        List<JournalEntry> entries = replay.replica("reopen.db").entries;
        assertThat(lsns(entries)).containsExactlyElementsOf(range(1, 8));
        assertThat(entries.get(6).getBase()).as("first entry after reopen is a diff").isFalse();
        assertThat(entries.get(7).getBase()).isFalse();
        assertIdentical(replay.replica("reopen.db").file, db);
    }

    // ---------------------------------------------------------------- 9. changed outside the VFS

    @Test
    void changeOutsideTheVfsWhileUninstalledRebasesWithTheNextLsn() throws Exception {
        Path db = dir.resolve("outside.db");
        Map<String, String> hashes = new ConcurrentHashMap<>();
        List<JournalRecord> first;
        try (Harness h = new Harness(hashes, 1_000_000)) {
            try (Connection c = h.connect(db)) {
                exec(c, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
                exec(c, "INSERT INTO t(v) VALUES ('a')", "INSERT INTO t(v) VALUES ('b')");
            }
            h.flush();
            first = h.records();
        }
        try (Connection plain = plainConnection(db)) {
            exec(plain, "INSERT INTO t(v) VALUES ('outside')", "UPDATE t SET v = 'changed' WHERE id = 1");
        }
        List<JournalRecord> second;
        try (Harness h = new Harness(hashes, 1_000_000)) {
            try (Connection c = h.connect(db)) {
                exec(c, "INSERT INTO t(v) VALUES ('after')");
                exec(c, "DELETE FROM t WHERE id = 2");
            }
            h.flush();
            second = h.records();
        }
        JournalReplay replay = replayVerifyingEveryLsn(concat(first, second), dir.resolve("replicas"), hashes);
        List<JournalEntry> entries = replay.replica("outside.db").entries;
        assertThat(lsns(entries)).containsExactly(1L, 2L, 3L, 4L, 5L);
        assertThat(entries.get(3).getBase()).as("first commit after the outside change is a base entry").isTrue();
        assertThat(entries.get(4).getBase()).isFalse();
        Path replica = replay.replica("outside.db").file;
        assertIdentical(replica, db);
        try (Connection r = readOnlyConnection(replica)) {
            assertThat(queryString(r, "SELECT group_concat(v, ',') FROM (SELECT v FROM t ORDER BY id)"))
                    .isEqualTo("changed,outside,after");
        }
    }

    @Test
    void changeOutsideTheVfsWhileStillInstalledRebasesWithTheNextLsn() throws Exception {
        Path db = dir.resolve("outside2.db");
        try (Harness h = new Harness()) {
            try (Connection c = h.connect(db)) {
                exec(c, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)", "INSERT INTO t(v) VALUES ('a')");
            }
            h.flush();
            // Every connection through the VFS is closed, so this connection's descriptor cannot drop their locks.
            try (Connection plain = plainConnection(db)) {
                exec(plain, "INSERT INTO t(v) VALUES ('outside')");
            }
            try (Connection c = h.connect(db)) {
                exec(c, "INSERT INTO t(v) VALUES ('after')");
                exec(c, "INSERT INTO t(v) VALUES ('after2')");
            }
            h.flush();
            JournalReplay replay = replayVerifyingEveryLsn(h.records(), dir.resolve("replicas"), h.hashes);
            List<JournalEntry> entries = replay.replica("outside2.db").entries;
            assertThat(lsns(entries)).containsExactly(1L, 2L, 3L, 4L);
            assertThat(entries.get(2).getBase()).as("first commit after the outside change is a base entry").isTrue();
            assertThat(entries.get(3).getBase()).isFalse();
            assertIdentical(replay.replica("outside2.db").file, db);
        }
    }

    @Test
    void existingDatabaseOpenedForTheFirstTimeStartsWithABaseEntry() throws Exception {
        Path db = dir.resolve("existing.db");
        try (Connection plain = plainConnection(db)) {
            exec(plain, "PRAGMA page_size=2048", "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)",
                    "INSERT INTO t(b) SELECT randomblob(700) FROM (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3)");
        }
        try (Harness h = new Harness()) {
            try (Connection c = h.connect(db)) {
                exec(c, "INSERT INTO t(b) VALUES (x'00')"); // LSN 1: base
                exec(c, "UPDATE t SET b = x'01' WHERE id = 1"); // LSN 2
            }
            h.flush();
            JournalReplay replay = replayVerifyingEveryLsn(h.records(), dir.resolve("replicas"), h.hashes);
            List<JournalEntry> entries = replay.replica("existing.db").entries;
            assertThat(lsns(entries)).containsExactly(1L, 2L);
            assertThat(baseFlags(entries)).containsExactly(true, false);
            assertThat(entries.getFirst().getPageSize()).isEqualTo(2048);
            assertIdentical(replay.replica("existing.db").file, db);
        }
    }

    @Test
    void hotJournalLeftByACrashedWriterIsRolledBackAndTheChainContinues() throws Exception {
        Path db = dir.resolve("crash.db");
        Map<String, String> hashes = new ConcurrentHashMap<>();
        List<JournalRecord> first;
        try (Harness h = new Harness(hashes, 1_000_000)) {
            try (Connection c = h.connect(db)) {
                exec(c, "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)");
                tx(c, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60)"
                        + " INSERT INTO t(id, b) SELECT i, randomblob(1500) FROM n");
            }
            h.flush();
            first = h.records();
        }
        byte[] committed = Files.readAllBytes(db);
        leaveHotJournal(db, "UPDATE t SET b = randomblob(1400)", "INSERT INTO t(id, b) SELECT id + 100, randomblob(3000) FROM t");
        assertThat(Files.size(db)).as("spilled").isGreaterThan(committed.length);
        assertThat(Files.readAllBytes(db)).isNotEqualTo(committed);

        List<JournalRecord> second;
        try (Harness h = new Harness(hashes, 1_000_000)) {
            try (Connection c = h.connect(db)) {
                assertThat(queryLong(c, "SELECT count(*) FROM t")).as("hot journal rolled back").isEqualTo(60);
                exec(c, "UPDATE t SET b = x'02' WHERE id = 7"); // LSN 3: the recovered file matches LSN 2, so a diff
                exec(c, "DELETE FROM t WHERE id > 50"); // LSN 4
            }
            h.flush();
            second = h.records();
        }
        JournalReplay replay = replayVerifyingEveryLsn(concat(first, second), dir.resolve("replicas"), hashes);
        List<JournalEntry> entries = replay.replica("crash.db").entries;
        assertThat(lsns(entries)).containsExactly(1L, 2L, 3L, 4L);
        assertThat(baseFlags(entries)).containsExactly(true, false, false, false);
        assertIdentical(replay.replica("crash.db").file, db);
    }

    @Test
    void aSynchronousCommitKafkaTookButTheFileRolledBackIsCarriedBackByTheNextCommit() throws Exception {
        Path db = dir.resolve("landed.db");
        Path rolledBack = dir.resolve("landed-rolled-back");
        Map<String, String> hashes = new ConcurrentHashMap<>();
        InMemoryJournalSink journal = new InMemoryJournalSink(1_000_000);
        try (Harness h = new Harness(hashes, journal)) {
            try (Connection c = h.connectSync(db)) {
                exec(c, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
                tx(c, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)"
                        + " INSERT INTO t(id, v) SELECT i, printf('%.300c', 'a') FROM n");
                exec(c, "DELETE FROM t WHERE id BETWEEN 60 AND 160"); // free pages for the next transaction
                assertThat(queryLong(c, "PRAGMA freelist_count")).isPositive();
                Files.copy(db, rolledBack);
                // LSN 4: Kafka takes it; the process then dies short of the commit point and SQLite rolls it back.
                tx(c, "INSERT INTO t(id, v) SELECT 1000 + id, 'landed' FROM t WHERE id < 30",
                        "UPDATE t SET v = 'landed too' WHERE id < 50");
            }
            h.flush();
        }
        int counterBefore = changeCounter(rolledBack);
        Files.copy(rolledBack, db, java.nio.file.StandardCopyOption.REPLACE_EXISTING);

        try (Harness h = new Harness(hashes, journal)) {
            try (Connection c = h.connectSync(db)) {
                assertThat(queryLong(c, "SELECT count(*) FROM t WHERE v LIKE 'landed%'")).isZero();
                exec(c, "INSERT INTO t(id, v) VALUES (2000, 'after')"); // LSN 5 carries LSN 4's pages back
                exec(c, "UPDATE t SET v = 'after too' WHERE id = 7"); // LSN 6
            }
            h.flush();
        }
        JournalReplay replay = replayVerifyingEveryLsn(journal.records(), dir.resolve("replicas"), hashes);
        List<JournalEntry> entries = replay.replica("landed.db").entries;
        assertThat(lsns(entries)).containsExactlyElementsOf(range(1, 6));
        assertThat(baseFlags(entries)).as("no base entry after the rolled-back commit").containsExactlyElementsOf(onlyFirstBase(6));
        assertIdentical(replay.replica("landed.db").file, db);
        // LSN 4 left the replica at counter+1: LSN 5 must count on from there, not reuse it for another database.
        assertThat(changeCounter(db)).isEqualTo(counterBefore + 3);
        try (Connection r = readOnlyConnection(replay.replica("landed.db").file)) {
            assertThat(queryString(r, "SELECT group_concat(v, ',') FROM (SELECT v FROM t WHERE id >= 1000 OR id = 7 ORDER BY id)"))
                    .isEqualTo("after too,after");
        }
    }

    @Test
    void aHotJournalRecoveredInExclusiveModeContinuesAfterTheJournalsEndNotTheRecordedOne() throws Exception {
        Path db = dir.resolve("xlanded.db");
        Path state = Path.of(db + "-pagestream");
        Path rolledBack = dir.resolve("xlanded-rolled-back");
        Path stateBefore = dir.resolve("xlanded-state");
        Map<String, String> hashes = new ConcurrentHashMap<>();
        InMemoryJournalSink journal = new InMemoryJournalSink(1_000_000);
        try (Harness h = new Harness(hashes, journal)) {
            try (Connection c = h.connectSync(db)) {
                exec(c, "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)");
                tx(c, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60)"
                        + " INSERT INTO t(id, b) SELECT i, randomblob(1500) FROM n");
                Files.copy(db, rolledBack);
                Files.copy(state, stateBefore);
                exec(c, "UPDATE t SET b = x'01' WHERE id < 10"); // LSN 3: Kafka has it, the file will not
            }
            h.flush();
        }
        // The writer died after Kafka took LSN 3 and before its position was recorded or its commit point passed,
        // leaving a hot journal: snapshot a plain connection's spilled transaction over the rolled-back file.
        Files.copy(rolledBack, db, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.copy(stateBefore, state, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        leaveHotJournal(db, "UPDATE t SET b = randomblob(1400)");

        try (Harness h = new Harness(hashes, journal)) {
            try (Connection c = h.connectSync(db)) {
                useModes(c, "DELETE", true);
                exec(c, "INSERT INTO t(id, b) VALUES (100, x'02')"); // recovers the hot journal, keeps the lock
                exec(c, "INSERT INTO t(id, b) VALUES (101, x'03')");
            }
            h.flush();
        }
        JournalReplay replay = replayVerifyingEveryLsn(journal.records(), dir.resolve("replicas"), hashes);
        assertThat(lsns(replay.replica("xlanded.db").entries)).containsExactly(1L, 2L, 3L, 4L, 5L);
        assertIdentical(replay.replica("xlanded.db").file, db);
    }

    @Test
    void aHotJournalRecoveredInExclusiveModeCommitsSynchronouslyLikeAnyTransaction() throws Exception {
        Path db = dir.resolve("xsync.db");
        FlakySink sink = new FlakySink();
        try (Harness h = new Harness(new ConcurrentHashMap<>(), sink.journal)) {
            try (Connection c = h.connectSync(db)) {
                exec(c, "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)");
                tx(c, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60)"
                        + " INSERT INTO t(id, b) SELECT i, randomblob(1500) FROM n");
            }
            h.flush();
        }
        leaveHotJournal(db, "UPDATE t SET b = randomblob(1400)");
        java.util.concurrent.atomic.AtomicBoolean kafkaAway = new java.util.concurrent.atomic.AtomicBoolean(true);
        sink.failing = lsn -> kafkaAway.get();
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("vfs.name", "xsync", "commit.mode", "sync",
                        "commit.sync.timeout.ms", "1000")).sink(sink).install();
                Connection c = java.sql.DriverManager.getConnection(vfs.jdbcUrl(db))) {
            useModes(c, "DELETE", true);
            // Recovers the hot journal and keeps the lock into this transaction, whose COMMIT waits for Kafka all the same.
            assertThatThrownBy(() -> exec(c, "INSERT INTO t(id, b) VALUES (100, x'02')"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("SQLITE_IOERR");
            kafkaAway.set(false);
            exec(c, "INSERT INTO t(id, b) VALUES (101, x'03')");
            assertThat(queryLongs(c, "SELECT id FROM t WHERE id >= 100")).containsExactly(101L);
            assertThat(vfs.flush(java.time.Duration.ofSeconds(10))).isTrue();
        }
        JournalReplay replay = new JournalReplay(Files.createDirectories(dir.resolve("replicas")));
        replay.applyAll(sink.journal.records(), (entry, file) -> {});
        assertThat(lsns(replay.replica("xsync.db").entries)).containsExactly(1L, 2L, 3L);
        assertIdentical(replay.replica("xsync.db").file, db);
    }

    @Test
    void attachedDatabasesThroughTheVfsAreCapturedPerDatabase() throws Exception {
        Path main = dir.resolve("main.db");
        Path side = dir.resolve("side.db");
        try (Harness h = new Harness()) {
            try (Connection c = h.connect(main)) {
                exec(c, "ATTACH DATABASE 'file:" + side.toAbsolutePath() + "?vfs=" + h.vfs.name() + "' AS side");
                exec(c, "CREATE TABLE t(x)"); // main LSN 1
                exec(c, "CREATE TABLE side.u(y)"); // side LSN 1
                tx(c, "INSERT INTO t VALUES (1)", "INSERT INTO side.u VALUES (randomblob(5000))"); // both LSN 2 (super-journal)
                tx(c, "INSERT INTO side.u VALUES (3)"); // side LSN 3
                exec(c, "BEGIN", "INSERT INTO t VALUES (9)", "INSERT INTO side.u VALUES (9)", "ROLLBACK");
            }
            h.flush();
            JournalReplay replay = replayVerifyingEveryLsn(h.records(), dir.resolve("replicas"), h.hashes);
            assertThat(lsns(replay.replica("main.db").entries)).containsExactly(1L, 2L);
            assertThat(lsns(replay.replica("side.db").entries)).containsExactly(1L, 2L, 3L);
            assertIdentical(replay.replica("main.db").file, main);
            assertIdentical(replay.replica("side.db").file, side);
        }
    }

    @Test
    void vacuumIntoANewDatabaseThroughTheVfsPublishesItsBase() throws Exception {
        Path db = dir.resolve("source.db");
        Path copy = dir.resolve("copy.db");
        try (Harness h = new Harness()) {
            try (Connection c = h.connect(db)) {
                exec(c, "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)", "INSERT INTO t(b) VALUES (randomblob(9000))");
                exec(c, "VACUUM INTO 'file:" + copy.toAbsolutePath() + "?vfs=" + h.vfs.name() + "'");
            }
            try (Connection c = h.connect(copy)) {
                exec(c, "INSERT INTO t(b) VALUES (x'05')");
            }
            h.flush();
            JournalReplay replay = replayVerifyingEveryLsn(h.records(), dir.resolve("replicas"), h.hashes);
            assertThat(lsns(replay.replica("source.db").entries)).containsExactly(1L, 2L);
            assertThat(lsns(replay.replica("copy.db").entries)).containsExactly(1L, 2L);
            assertThat(baseFlags(replay.replica("copy.db").entries)).containsExactly(true, false);
            assertIdentical(replay.replica("source.db").file, db);
            assertIdentical(replay.replica("copy.db").file, copy);
        }
    }

    @Test
    void databaseAlreadyPublishedByAnotherInstalledVfsIsRefused() throws Exception {
        Path db = dir.resolve("twice.db");
        try (Harness h1 = new Harness(); Harness h2 = new Harness()) {
            try (Connection c1 = h1.connect(db)) {
                exec(c1, "CREATE TABLE t(x)");
                assertThatThrownBy(() -> h2.connect(db).close()).as("second publisher of the same file")
                        .isInstanceOf(SQLException.class).hasMessageContaining("CANTOPEN");
                exec(c1, "INSERT INTO t VALUES (1)");
            }
            h1.flush();
            h2.flush();
            assertThat(h2.records()).isEmpty();
            JournalReplay replay = replayVerifyingEveryLsn(h1.records(), dir.resolve("replicas"), h1.hashes);
            assertThat(lsns(replay.replica("twice.db").entries)).containsExactly(1L, 2L);
            assertIdentical(replay.replica("twice.db").file, db);
        }
    }

    @Test
    void twoFilesWithTheSameFileNameDoNotShareOneJournalChain() throws Exception {
        Path a = Files.createDirectories(dir.resolve("x")).resolve("same.db");
        Path b = Files.createDirectories(dir.resolve("y")).resolve("same.db");
        try (Harness h = new Harness()) {
            try (Connection ca = h.connect(a)) {
                exec(ca, "CREATE TABLE t(x)");
                assertThatThrownBy(() -> {
                    try (Connection cb = h.connect(b)) {
                        exec(cb, "CREATE TABLE u(y)");
                    }
                }).as("a second file may not publish under db id same.db").isInstanceOf(SQLException.class);
                exec(ca, "INSERT INTO t VALUES (1)");
            }
            h.flush();
            JournalReplay replay = replayVerifyingEveryLsn(h.records(), dir.resolve("replicas"), h.hashes);
            assertThat(replay.replicas()).containsOnlyKeys("same.db");
            assertThat(Files.readAllBytes(replay.replica("same.db").file)).isEqualTo(Files.readAllBytes(a));
        }
    }

    // ---------------------------------------------------------------- 10. two databases, several threads each

    @Test
    void twoDatabasesWithConcurrentWriters() throws Exception {
        Path orders = dir.resolve("orders-file.db");
        Path stock = dir.resolve("stock.db");
        int threads = 3;
        int txPerThread = 30;
        try (Harness h = new Harness()) {
            try (Connection a = h.connect(orders, "orders"); Connection b = h.connect(stock)) {
                exec(a, "CREATE TABLE o(id INTEGER PRIMARY KEY, thread INT, n INT, note BLOB)",
                        "CREATE TABLE counter(id INTEGER PRIMARY KEY, total INT)", "INSERT INTO counter VALUES (1, 0)");
                exec(b, "CREATE TABLE s(id INTEGER PRIMARY KEY, thread INT, n INT, note BLOB)",
                        "CREATE TABLE counter(id INTEGER PRIMARY KEY, total INT)", "INSERT INTO counter VALUES (1, 0)");
            }
            ExecutorService pool = Executors.newFixedThreadPool(2 * threads);
            try {
                List<Future<?>> futures = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int thread = t;
                    futures.add(pool.submit(() -> writer(h, orders, "orders", "o", thread, txPerThread)));
                    futures.add(pool.submit(() -> writer(h, stock, null, "s", thread, txPerThread)));
                }
                for (Future<?> future : futures) {
                    future.get(40, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            h.flush();
            List<JournalRecord> records = h.records();
            assertThat(records).extracting(JournalRecord::key).containsOnly("orders", "stock.db");
            JournalReplay replay = replayVerifyingEveryLsn(records, dir.resolve("replicas"), h.hashes);
            assertThat(replay.replicas().keySet()).containsExactlyInAnyOrder("orders", "stock.db");
            int expected = 3 + threads * txPerThread;
            for (String id : List.of("orders", "stock.db")) {
                List<JournalEntry> entries = replay.replica(id).entries;
                assertThat(lsns(entries)).as(id).containsExactlyElementsOf(range(1, expected));
                assertThat(entries.getFirst().getBase()).isTrue();
                assertThat(baseFlags(entries)).as(id).containsExactlyElementsOf(onlyFirstBase(expected));
            }
            assertIdentical(replay.replica("orders").file, orders);
            assertIdentical(replay.replica("stock.db").file, stock);
            try (Connection r = readOnlyConnection(replay.replica("orders").file)) {
                assertThat(queryLong(r, "SELECT total FROM counter")).isEqualTo((long) threads * txPerThread);
                assertThat(queryLong(r, "SELECT count(*) FROM o")).isEqualTo((long) threads * txPerThread);
            }
        }
    }

    private static Void writer(Harness h, Path db, String dbId, String table, int thread, int transactions) throws Exception {
        try (Connection c = dbId == null ? h.connect(db) : h.connect(db, dbId)) {
            for (int n = 0; n < transactions; n++) {
                exec(c, "BEGIN IMMEDIATE",
                        "INSERT INTO " + table + "(thread, n, note) VALUES (" + thread + ", " + n + ", randomblob("
                                + (100 + 211 * ((n + thread) % 9)) + "))",
                        "UPDATE counter SET total = total + 1",
                        "COMMIT");
                if (n % 10 == 9) {
                    assertThat(queryLong(c, "SELECT count(*) FROM " + table)).isPositive(); // a reader in between
                }
            }
        }
        return null;
    }

    // ---------------------------------------------------------------- 11. fragmentation of a large entry

    @Test
    void entryLargerThanTheRecordLimitIsFragmentedAndReassembled() throws Exception {
        Path db = dir.resolve("large.db");
        Path bigBase = dir.resolve("bigbase.db");
        try (Harness h = new Harness()) {
            try (Connection c = h.connect(db); Connection b = h.connect(bigBase)) {
                exec(c, "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)"); // large.db LSN 1
                tx(b, "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)", "INSERT INTO t VALUES (1, randomblob(1200000))"); // bigbase.db LSN 1: ~1.2 MB base
                exec(c, "INSERT INTO t VALUES (1, randomblob(1500000))"); // large.db LSN 2: one diff entry of ~1.5 MB
                exec(b, "DELETE FROM t"); // bigbase.db LSN 2
                exec(c, "INSERT INTO t VALUES (2, x'00')"); // large.db LSN 3
            }
            h.flush();
            List<JournalRecord> records = h.records();
            List<JournalRecord> lsn2 = recordsOf(records, "large.db", 2);
            assertThat(lsn2.size()).as("records of large.db@2").isGreaterThan(1);
            assertThat(lsn2.stream().map(r -> header(r, JournalContract.HEADER_FRAGMENT)).toList())
                    .as("ps.frag headers").containsExactlyElementsOf(fragmentHeaders(lsn2.size()));
            assertThat(lsn2.stream().map(r -> r.value().length).toList()).allSatisfy(n -> assertThat(n).isLessThanOrEqualTo(1_000_000));
            assertThat(recordsOf(records, "bigbase.db", 1).size()).as("records of the 1.2 MB base entry bigbase.db@1").isGreaterThan(1);
            assertThat(recordsOf(records, "large.db", 3)).hasSize(1);
            assertThat(header(recordsOf(records, "large.db", 3).getFirst(), JournalContract.HEADER_FRAGMENT)).isNull();

            JournalReplay replay = replayVerifyingEveryLsn(records, dir.resolve("replicas"), h.hashes);
            assertThat(lsns(replay.replica("large.db").entries)).containsExactly(1L, 2L, 3L);
            assertThat(lsns(replay.replica("bigbase.db").entries)).containsExactly(1L, 2L);
            assertThat(baseFlags(replay.replica("bigbase.db").entries)).containsExactly(true, false);
            assertIdentical(replay.replica("large.db").file, db);
            assertIdentical(replay.replica("bigbase.db").file, bigBase);
        }
    }

    private static List<JournalRecord> recordsOf(List<JournalRecord> records, String dbId, long lsn) {
        return records.stream()
                .filter(r -> r.key().equals(dbId) && Long.toString(lsn).equals(header(r, JournalContract.HEADER_LSN)))
                .toList();
    }

    private static List<String> fragmentHeaders(int count) {
        List<String> headers = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            headers.add(i + "/" + count);
        }
        return headers;
    }

    // ---------------------------------------------------------------- helpers

    private static List<Boolean> baseFlags(List<JournalEntry> entries) {
        return entries.stream().map(JournalEntry::getBase).toList();
    }

    private static List<Boolean> onlyFirstBase(int count) {
        List<Boolean> flags = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            flags.add(i == 0);
        }
        return flags;
    }

    /** Header field "largest root b-tree page" (offset 52): non-zero in auto-vacuum databases. */
    private static int headerAutoVacuum(Path file) throws java.io.IOException {
        return java.nio.ByteBuffer.wrap(Files.readAllBytes(file)).getInt(52);
    }

    /**
     * Steps a statement to its end. PRAGMA incremental_vacuum yields a (column-less) row per freed page, and
     * sqlite-jdbc's execute() steps only once, so it would free a single page.
     */
    @Test
    void rollbackThatLeavesPagesChangedThroughAnAttachedOffJournalIsCarriedByTheNextCommit() throws Exception {
        // journal_mode=OFF is refused when asked of a Pagestream database, but an unqualified PRAGMA on a plain main
        // database applies it to attached ones too; a rollback then cannot restore the spilled pages. The VFS kept
        // their images: the next commit publishes them as changed, with no base entry.
        Path main = dir.resolve("plain-main.db");
        Path side = dir.resolve("side.db");
        try (Harness h = new Harness()) {
            try (Connection c = plainConnection(main)) {
                exec(c, "ATTACH DATABASE 'file:" + side.toAbsolutePath() + "?vfs=" + h.vfs.name() + "' AS side");
                exec(c, "CREATE TABLE side.t(id INTEGER PRIMARY KEY, b BLOB)");
                tx(c, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)"
                        + " INSERT INTO side.t(id, b) SELECT i, randomblob(1500) FROM n");
                assertThat(queryString(c, "PRAGMA journal_mode=OFF")).isEqualTo("off");
                exec(c, "PRAGMA side.cache_size=2");
                exec(c, "BEGIN", "UPDATE side.t SET b = randomblob(1400) WHERE id % 2 = 0", "ROLLBACK");
                exec(c, "INSERT INTO side.t(b) VALUES (x'01')");
            }
            h.flush();
            JournalReplay replay = replayVerifyingEveryLsn(h.records(), dir.resolve("replicas"), h.hashes);
            assertThat(baseFlags(replay.replica("side.db").entries)).as("no base entry after the first")
                    .containsExactlyElementsOf(onlyFirstBase(replay.replica("side.db").entries.size()));
            assertIdentical(replay.replica("side.db").file, side);
        }
    }

    @Test
    void dbIdTooLongForTheStateFileIsRefused() throws Exception {
        try (Harness h = new Harness()) {
            assertThatThrownBy(() -> {
                try (Connection c = h.connect(dir.resolve("long.db"), "x".repeat(401))) {
                    exec(c, "CREATE TABLE t(x)");
                }
            }).isInstanceOf(SQLException.class);
        }
    }

    /**
     * Leaves {@code db} as a process that crashed in the middle of {@code statements}, after spilling pages, would:
     * snapshots the file and its journal while a plain connection is in that state (no connection through a VFS may
     * be open meanwhile), rolls back, and puts the snapshot back.
     */
    private void leaveHotJournal(Path db, String... statements) throws Exception {
        Path journal = Path.of(db + "-journal");
        Path crashedDb = dir.resolve(db.getFileName() + "-crashed");
        Path crashedJournal = dir.resolve(db.getFileName() + "-crashed-journal");
        try (Connection plain = plainConnection(db)) {
            exec(plain, "PRAGMA cache_size=2", "BEGIN");
            exec(plain, statements);
            Files.copy(db, crashedDb);
            Files.copy(journal, crashedJournal);
            exec(plain, "ROLLBACK");
        }
        Files.copy(crashedDb, db, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.copy(crashedJournal, journal, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    private static void useModes(Connection c, String journalMode, boolean exclusive) throws SQLException {
        if (exclusive) {
            assertThat(queryString(c, "PRAGMA locking_mode=EXCLUSIVE")).isEqualToIgnoringCase("exclusive");
        }
        assertThat(queryString(c, "PRAGMA journal_mode=" + journalMode)).isEqualToIgnoringCase(journalMode);
    }

    private static void runToCompletion(Connection c, String sql) throws SQLException {
        try (java.sql.Statement statement = c.createStatement()) {
            statement.executeUpdate(sql);
        }
    }
}
