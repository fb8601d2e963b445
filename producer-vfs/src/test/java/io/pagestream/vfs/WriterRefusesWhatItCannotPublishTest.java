package io.pagestream.vfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pagestream.schemas.JournalRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A writer that cannot publish what it committed, in order, refuses commits with a reason instead of going on past the
 * gap; once the cause is gone the committed entries publish in order.
 */
class WriterRefusesWhatItCannotPublishTest {
    @TempDir
    Path dir;

    @Test
    void anOutboxEntryThatDoesNotDecodeRefusesCommitsUntilItDecodesThenPublishesInOrder() throws Exception {
        FlakySink sink = new FlakySink();
        Path db = dir.resolve("w.db");
        twoPublishedThenThreeInTheOutbox(sink, db);
        Path segment = OutboxDamage.onlySegment(db);
        byte[] intact = Files.readAllBytes(segment);
        Files.write(segment, OutboxDamage.withPayloadByteFlipped(intact, 3));
        sink.failing = lsn -> false; // the broker is back

        try (PagestreamVfs vfs = install(sink, "restart");
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(db));
                Statement s = c.createStatement()) {
            assertThatThrownBy(() -> s.execute("insert into t values (6)")).isInstanceOf(SQLException.class);
            assertThat(vfs.lastCommitRefusal("w.db")).hasValueSatisfying(reason -> assertThat(reason.getMessage())
                    .contains("db w.db").contains("outbox of w.db@3"));
            assertThatThrownBy(() -> s.execute("insert into t values (6)")).as("refused again: the cause is still there")
                    .isInstanceOf(SQLException.class);
            assertThat(vfs.flush(Duration.ofSeconds(5))).isTrue();
            assertThat(vfs.failedEntries()).isZero();
            assertThat(sink.journal.lastPosition("w.db")).map(JournalPosition::lsn).hasValue(2L);

            Files.write(segment, intact);
            s.execute("insert into t values (6)");
            assertThat(vfs.flush(Duration.ofSeconds(5))).isTrue();
            assertThat(vfs.failedEntries()).isZero();
            assertThat(vfs.position("w.db")).hasValue(new WriterPosition(6, 6));
            assertThat(values(s)).containsExactly(1L, 2L, 3L, 4L, 6L);
        }
        assertThat(replayed(sink.journal.records(), "w.db")).containsExactly("1B", "2", "3", "4", "5", "6");
    }

    @Test
    void anOutboxThatAnotherWritersHistorySupersededRefusesCommitsUntilSomeoneMovesItAway() throws Exception {
        FlakySink sink = new FlakySink();
        Path db = dir.resolve("w.db");
        twoPublishedThenThreeInTheOutbox(sink, db);
        sink.failing = lsn -> false;
        try (PagestreamVfs other = install(sink, "other");
                Connection c = DriverManager.getConnection(other.jdbcUrl(dir.resolve("other.db"), "w.db"));
                Statement s = c.createStatement()) {
            s.execute("create table u(x)"); // LSN 3 of another history
            assertThat(other.flush(Duration.ofSeconds(5))).isTrue();
        }

        try (PagestreamVfs vfs = install(sink, "restart");
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(db));
                Statement s = c.createStatement()) {
            assertThatThrownBy(() -> s.execute("insert into t values (6)")).isInstanceOf(SQLException.class);
            assertThat(vfs.lastCommitRefusal("w.db")).hasValueSatisfying(reason -> assertThat(reason.getMessage())
                    .contains("db w.db").contains("LSN 3 to 5").contains("w.db-pagestream-outbox"));
            assertThat(vfs.flush(Duration.ofSeconds(5))).isTrue();
            assertThat(vfs.failedEntries()).isZero();
        }
        assertThat(sink.journal.lastPosition("w.db")).map(JournalPosition::lsn).hasValue(3L);

        Files.move(OutboxDamage.outboxOf(db), dir.resolve("given-up-outbox"));
        try (PagestreamVfs vfs = install(sink, "given-up");
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(db));
                Statement s = c.createStatement()) {
            s.execute("insert into t values (6)");
            assertThat(vfs.flush(Duration.ofSeconds(5))).isTrue();
            assertThat(vfs.position("w.db")).hasValue(new WriterPosition(4, 4));
        }
        assertThat(sink.journal.records().stream().map(r -> VfsTestSupport.header(r, io.pagestream.schemas.JournalContract.HEADER_LSN)).toList())
                .as("the writer's file goes on as a base entry after the other history").endsWith("4");
    }

    @Test
    void aCommittedTransactionWhoseEntryIsLostPastTheCommitPointRefusesLaterCommitsUntilReopened() throws Exception {
        InMemoryJournalSink sink = new InMemoryJournalSink(1 << 20);
        Path db = dir.resolve("w.db");
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("vfs.name", "lost")).sink(sink)
                        .commitObserver((dbId, lsn, image) -> {
                            if (lsn == 3) {
                                throw new OutOfMemoryError("simulated: building LSN 3's entry");
                            }
                        }).install();
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(db));
                Statement s = c.createStatement()) {
            s.execute("create table t(x)");
            s.execute("insert into t values (1)");
            s.execute("insert into t values (2)"); // committed locally: past the commit point nothing fails it
            assertThatThrownBy(() -> s.execute("insert into t values (3)")).isInstanceOf(SQLException.class);
            assertThat(vfs.lastCommitRefusal("w.db")).hasValueSatisfying(reason -> assertThat(reason.getMessage())
                    .contains("db w.db").contains("simulated").contains("reopened"));
            assertThat(vfs.flush(Duration.ofSeconds(5))).isTrue();
            assertThat(vfs.failedEntries()).isEqualTo(1);
            assertThat(vfs.position("w.db")).hasValue(new WriterPosition(3, 2));
        }
        try (PagestreamVfs vfs = install(sink, "reopened");
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(db));
                Statement s = c.createStatement()) {
            s.execute("insert into t values (3)");
            assertThat(vfs.flush(Duration.ofSeconds(5))).isTrue();
            assertThat(vfs.failedEntries()).isZero();
        }
        assertThat(replayed(sink.records(), "w.db")).containsExactly("1B", "2", "3", "4");
    }

    @Test
    void positionTellsTheCommittedAndTheAcknowledgedLsn() throws Exception {
        FlakySink sink = new FlakySink();
        try (PagestreamVfs vfs = install(sink, "position")) {
            assertThat(vfs.position("p.db")).as("not open").isEmpty();
            try (Connection c = DriverManager.getConnection(vfs.jdbcUrl(dir.resolve("p.db")));
                    Statement s = c.createStatement()) {
                s.execute("create table t(x)");
                s.execute("insert into t values (1)");
                assertThat(vfs.flush(Duration.ofSeconds(5))).isTrue();
                assertThat(vfs.position("p.db")).hasValue(new WriterPosition(2, 2));
                sink.failing = lsn -> true;
                s.execute("insert into t values (2)");
                assertThat(vfs.position("p.db")).hasValue(new WriterPosition(3, 2));
                sink.failing = lsn -> false;
                assertThat(vfs.flush(Duration.ofSeconds(20))).isTrue();
                assertThat(vfs.position("p.db")).hasValue(new WriterPosition(3, 3));
            }
        }
    }

    /** LSNs 1 and 2 published; 3 to 5 committed while the broker is away, left in the outbox when the VFS closes. */
    private static void twoPublishedThenThreeInTheOutbox(FlakySink sink, Path db) throws Exception {
        try (PagestreamVfs vfs = install(sink, "first");
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(db));
                Statement s = c.createStatement()) {
            s.execute("create table t(x)");
            s.execute("insert into t values (1)");
            assertThat(vfs.flush(Duration.ofSeconds(5))).isTrue();
            sink.failing = lsn -> true;
            for (int i = 2; i <= 4; i++) {
                s.execute("insert into t values (" + i + ")");
            }
            assertThat(vfs.position("w.db")).hasValue(new WriterPosition(5, 2));
        }
    }

    private static PagestreamVfs install(JournalSink sink, String name) {
        return PagestreamVfs.builder(Map.of("vfs.name", name, "close.timeout.ms", "200")).sink(sink).install();
    }

    private static List<Long> values(Statement s) throws SQLException {
        List<Long> values = new java.util.ArrayList<>();
        try (var rs = s.executeQuery("select x from t order by x")) {
            while (rs.next()) {
                values.add(rs.getLong(1));
            }
        }
        return values;
    }

    private List<String> replayed(List<JournalRecord> records, String dbId) throws Exception {
        Set<Integer> counters = new HashSet<>();
        JournalReplay replay = new JournalReplay(Files.createDirectories(dir.resolve("replay-" + dbId)));
        replay.applyAll(records, (entry, file) -> assertThat(counters.add(VfsTestSupport.changeCounter(file)))
                .as("a new change counter after LSN " + entry.getLsn()).isTrue());
        assertThat(Files.readAllBytes(replay.replica(dbId).file)).isEqualTo(Files.readAllBytes(dir.resolve(dbId)));
        return replay.replica(dbId).entries.stream().map(e -> e.getLsn() + (e.getBase() ? "B" : "")).toList();
    }
}
