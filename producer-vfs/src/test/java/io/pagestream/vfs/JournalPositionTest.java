package io.pagestream.vfs;

import static org.assertj.core.api.Assertions.assertThat;

import io.pagestream.schemas.JournalRecord;
import io.pagestream.schemas.avro.JournalEntry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A writer whose recorded position is missing or behind the journal (killed after Kafka acknowledged an
 * entry, state file lost with a restored copy of the database) continues from the journal's own end: no
 * LSN is ever published twice.
 */
class JournalPositionTest {
    private static final AtomicInteger INSTALLS = new AtomicInteger();

    @TempDir
    Path dir;

    private final InMemoryJournalSink journal = new InMemoryJournalSink(1 << 20);

    private void write(Path db, String... statements) throws Exception {
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("vfs.name", "position-" + INSTALLS.incrementAndGet()))
                        .sink(journal).install();
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(db));
                Statement s = c.createStatement()) {
            for (String statement : statements) {
                s.execute(statement);
            }
            assertThat(vfs.flush(Duration.ofSeconds(5))).isTrue();
        }
    }

    private List<String> replayIdentical(Path db) throws Exception {
        JournalReplay replay = new JournalReplay(Files.createDirectories(dir.resolve("replica")));
        List<JournalRecord> records = journal.records();
        replay.applyAll(records, (entry, file) -> {});
        JournalReplay.Replica replica = replay.replica(db.getFileName().toString());
        assertThat(Files.readAllBytes(replica.file)).isEqualTo(Files.readAllBytes(db));
        return replica.entries.stream().map(JournalPositionTest::label).toList();
    }

    private static String label(JournalEntry entry) {
        return entry.getLsn() + (entry.getBase() ? "B" : "");
    }

    @Test
    void missingStateFileContinuesFromTheJournalWithoutABase() throws Exception {
        Path db = dir.resolve("lost.db");
        write(db, "create table t(x)", "insert into t values (1)");
        Files.delete(Path.of(db + "-pagestream"));
        write(db, "insert into t values (2)");
        assertThat(replayIdentical(db)).containsExactly("1B", "2", "3");
    }

    @Test
    void stateFileBehindTheJournalContinuesAfterTheNewestEntry() throws Exception {
        Path db = dir.resolve("behind.db");
        Path state = Path.of(db + "-pagestream");
        write(db, "create table t(x)", "insert into t values (1)");
        Files.copy(state, dir.resolve("old-state"));
        write(db, "insert into t values (2)", "insert into t values (3)");
        // As if the process died after Kafka acknowledged LSNs 3 and 4 but before recording them.
        Files.copy(dir.resolve("old-state"), state, StandardCopyOption.REPLACE_EXISTING);
        write(db, "insert into t values (4)");
        assertThat(replayIdentical(db)).containsExactly("1B", "2", "3", "4", "5");
    }

    @Test
    void changedOutsideWithoutAStateFileRebasesAfterTheJournalsEnd() throws Exception {
        Path db = dir.resolve("outside.db");
        write(db, "create table t(x)", "insert into t values (1)");
        Files.delete(Path.of(db + "-pagestream"));
        try (Connection plain = DriverManager.getConnection("jdbc:sqlite:" + db); Statement s = plain.createStatement()) {
            s.execute("insert into t values (99)");
        }
        write(db, "insert into t values (2)");
        assertThat(replayIdentical(db)).containsExactly("1B", "2", "3B");
    }
}
