package io.pagestream.vfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.pagestream.schemas.JournalRecord;
import io.pagestream.schemas.PagestreamConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad configuration is refused clearly; a failed publish is counted and the chain resumes with a base entry. */
class ConfigAndPublishFailureTest {
    @TempDir
    Path dir;

    @Test
    void invalidSettingsAreRefusedWithTheirName() {
        assertThatThrownBy(() -> PagestreamConfig.of(Map.of("journal.topic.partitions", "0")))
                .isInstanceOf(PagestreamConfigException.class).hasMessageContaining("journal.topic.partitions");
        assertThatThrownBy(() -> PagestreamConfig.of(Map.of("record.max.bytes", "10")))
                .isInstanceOf(PagestreamConfigException.class).hasMessageContaining("record.max.bytes");
        assertThatThrownBy(() -> new KafkaJournalSink(PagestreamConfig.of(Map.of())))
                .isInstanceOf(PagestreamConfigException.class).hasMessageContaining("bootstrap.servers");
    }

    @Test
    void producerSettingsThatBreakOrderingOrDurabilityAreRefused() {
        PagestreamConfig acksOne = PagestreamConfig.of(Map.of("bootstrap.servers", "127.0.0.1:1", "producer.acks", "1"));
        assertThatThrownBy(() -> KafkaJournalSink.producerSettings(acksOne, List.of("127.0.0.1:1")))
                .isInstanceOf(PagestreamConfigException.class).hasMessageContaining("producer.acks=1");
        PagestreamConfig noIdempotence = PagestreamConfig.of(Map.of("producer.enable.idempotence", "false"));
        assertThatThrownBy(() -> KafkaJournalSink.producerSettings(noIdempotence, List.of("127.0.0.1:1")))
                .isInstanceOf(PagestreamConfigException.class).hasMessageContaining("enable.idempotence");
    }

    @Test
    void producerDefaultsRetryATransactionSoonAndGiveWayToTheApplicationsSettings() {
        Map<String, Object> defaults = KafkaJournalSink.producerSettings(PagestreamConfig.of(Map.of()), List.of("127.0.0.1:1"));
        assertThat(defaults).containsEntry("retry.backoff.ms", "10");
        PagestreamConfig own = PagestreamConfig.of(Map.of("producer.retry.backoff.ms", "100"));
        assertThat(KafkaJournalSink.producerSettings(own, List.of("127.0.0.1:1"))).containsEntry("retry.backoff.ms", "100");
    }

    @Test
    void timeoutsBeyondTheNanosecondClocksRangeAreRefused() {
        for (String timeout : List.of("startup.timeout.ms", "commit.sync.timeout.ms", "outbox.full.timeout.ms", "close.timeout.ms")) {
            assertThatThrownBy(() -> PagestreamConfig.of(Map.of(timeout, "2147483648")))
                    .isInstanceOf(RuntimeException.class).hasMessageContaining(timeout);
            assertThat(PagestreamConfig.of(Map.of(timeout, "2147483647")).getLong(timeout)).isEqualTo(Integer.MAX_VALUE);
        }
    }

    @Test
    void reinstallingWithOtherSettingsIsRefused() {
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("vfs.name", "reinstall")).sink(new InMemoryJournalSink(1 << 20)).install()) {
            assertThat(PagestreamVfs.installed("reinstall")).contains(vfs);
            assertThatThrownBy(() -> PagestreamVfs.install(Map.of("vfs.name", "reinstall", "journal.topic", "other")))
                    .isInstanceOf(PagestreamConfigException.class).hasMessageContaining("already installed");
        }
    }

    @Test
    void aFailedPublishIsRetriedUntilTheSinkTakesItAndEachEntryIsPublishedOnce() throws Exception {
        FlakySink sink = new FlakySink();
        java.util.concurrent.atomic.AtomicInteger failures = new java.util.concurrent.atomic.AtomicInteger();
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("vfs.name", "failing")).sink(sink).install();
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(dir.resolve("f.db")));
                Statement s = c.createStatement()) {
            s.execute("create table t(x)");
            assertThat(vfs.flush(Duration.ofSeconds(5))).isTrue();
            sink.failing = lsn -> failures.incrementAndGet() <= 3; // the broker is gone for three attempts
            s.execute("insert into t values (1)");
            s.execute("insert into t values (2)"); // commits go on meanwhile
            assertThat(vfs.flush(Duration.ofSeconds(20))).isTrue();
            assertThat(vfs.failedEntries()).isZero();
        }
        assertThat(failures.get()).isGreaterThan(3);
        assertThat(replayed(sink.journal.records(), "f.db")).containsExactly("1B", "2", "3");
    }

    @Test
    void aBacklogOfSeveralBatchesDrainsAtOnceNotOneBatchPerPublishInterval() throws Exception {
        FlakySink sink = new FlakySink();
        java.util.concurrent.atomic.AtomicBoolean away = new java.util.concurrent.atomic.AtomicBoolean(true);
        sink.failing = lsn -> away.get();
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("vfs.name", "backlog", "publish.interval.ms", "60000"))
                        .sink(sink).install();
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(dir.resolve("backlog.db")));
                Statement s = c.createStatement()) {
            s.execute("create table t(b blob)");
            for (int i = 0; i < 12; i++) {
                s.execute("insert into t values (randomblob(1000000))"); // 12 MB while Kafka is away: several 4 MiB batches
            }
            away.set(false);
            // Not flushed (a flush sends at once anyway): the retry sends the first batch, and the rest follow it.
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).until(() ->
                    sink.journal.lastPosition("backlog.db").map(JournalPosition::lsn).orElse(0L) == 13);
        }
        assertThat(replayed(sink.journal.records(), "backlog.db")).hasSize(13).startsWith("1B");
    }

    @Test
    void aBatchThatReachedTheJournalButWasNotAcknowledgedIsNotPublishedTwice() throws Exception {
        FlakySink sink = new FlakySink();
        java.util.concurrent.atomic.AtomicBoolean ackLost = new java.util.concurrent.atomic.AtomicBoolean();
        sink.sender = (lsn, records) -> {
            CompletableFuture<Void> sent = sink.journal.send(records);
            return lsn == 2 && ackLost.compareAndSet(false, true)
                    ? CompletableFuture.failedFuture(new IllegalStateException("acknowledgement lost")) : sent;
        };
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("vfs.name", "ack-lost")).sink(sink).install();
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(dir.resolve("a.db")));
                Statement s = c.createStatement()) {
            s.execute("create table t(x)");
            assertThat(vfs.flush(Duration.ofSeconds(5))).isTrue(); // LSN 1 alone: the next batch starts at LSN 2
            s.execute("insert into t values (1)");
            s.execute("insert into t values (2)");
            assertThat(vfs.flush(Duration.ofSeconds(20))).isTrue();
        }
        assertThat(ackLost).isTrue();
        assertThat(replayed(sink.journal.records(), "a.db")).containsExactly("1B", "2", "3");
    }

    /** A sink that stops acknowledging from LSN 3 until {@code brokerBack} opens, as while Kafka is unreachable. */
    private static FlakySink stalledSink(java.util.concurrent.CountDownLatch brokerBack) {
        FlakySink sink = new FlakySink();
        sink.sender = (lsn, records) -> {
            if (lsn >= 3) {
                try {
                    brokerBack.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return sink.journal.send(records);
        };
        return sink;
    }

    @Test
    void aFullOutboxFailsCommitsUnderTheFailPolicyAndLosesNothing() throws Exception {
        java.util.concurrent.CountDownLatch brokerBack = new java.util.concurrent.CountDownLatch(1);
        FlakySink sink = stalledSink(brokerBack);
        Path db = dir.resolve("full.db");
        int committed = 0;
        int refused = 0;
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("vfs.name", "full", "outbox.max.bytes", "100000",
                        "outbox.full.policy", "fail")).sink(sink).install();
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(db));
                Statement s = c.createStatement()) {
            s.execute("create table t(id integer primary key, b blob)");
            s.execute("insert into t values (1, zeroblob(10))");
            committed = 2;
            for (int i = 2; i < 200; i++) {
                try {
                    s.execute("insert into t values (" + i + ", randomblob(2000))");
                    committed++;
                } catch (SQLException e) {
                    assertThat(e.getMessage()).contains("SQLITE_FULL");
                    refused++;
                }
            }
            assertThat(refused).as("commits refused while the outbox was full").isPositive();
            assertThat(vfs.lastCommitRefusal("full.db")).get().asString().contains("db full.db: the outbox is full")
                    .contains("outbox.max.bytes 100000");
            assertThat(committed).as("commits taken until it filled").isGreaterThan(20);
            try (java.sql.ResultSet rs = s.executeQuery("select count(*) from t")) {
                assertThat(rs.getInt(1)).as("a refused commit rolled back").isEqualTo(committed - 1);
            }
            brokerBack.countDown();
            // Room comes back once the stalled batch is acknowledged; until then the fail policy refuses (and rolls back).
            await().atMost(Duration.ofSeconds(10)).ignoreException(SQLException.class)
                    .until(() -> {
                        s.execute("insert into t values (1000, 'after')");
                        return true;
                    });
            committed++;
            assertThat(vfs.flush(Duration.ofSeconds(10))).isTrue();
            assertThat(vfs.failedEntries()).isZero();
        }
        List<String> applied = replayed(sink.journal.records(), "full.db");
        assertThat(applied).as("every committed transaction exactly once, no base entry after the first")
                .hasSize(committed).element(0).isEqualTo("1B");
        assertThat(applied.stream().skip(1)).noneMatch(lsn -> lsn.endsWith("B"));
        assertThat(Files.list(Path.of(db + "-pagestream-outbox")).toList())
                .as("acknowledged entries leave the outbox: only the segment in use stays").hasSizeLessThanOrEqualTo(1);
    }

    @Test
    void aFullOutboxMakesCommitsWaitUnderTheBlockPolicy() throws Exception {
        java.util.concurrent.CountDownLatch brokerBack = new java.util.concurrent.CountDownLatch(1);
        FlakySink sink = stalledSink(brokerBack);
        Path db = dir.resolve("block.db");
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("vfs.name", "block", "outbox.max.bytes", "100000",
                        "outbox.full.policy", "block", "outbox.full.timeout.ms", "60000")).sink(sink).install();
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(db));
                Statement s = c.createStatement()) {
            s.execute("create table t(id integer primary key, b blob)");
            s.execute("insert into t values (1, zeroblob(10))");
            Thread.ofPlatform().start(() -> {
                try {
                    Thread.sleep(1500);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                brokerBack.countDown();
            });
            long longestCommitNanos = 0;
            for (int i = 2; i < 100; i++) {
                long start = System.nanoTime();
                s.execute("insert into t values (" + i + ", randomblob(2000))");
                longestCommitNanos = Math.max(longestCommitNanos, System.nanoTime() - start);
            }
            assertThat(brokerBack.getCount()).isZero();
            assertThat(Duration.ofNanos(longestCommitNanos)).as("a commit waited for room").isGreaterThan(Duration.ofMillis(500));
            assertThat(vfs.flush(Duration.ofSeconds(10))).isTrue();
        }
        List<String> applied = replayed(sink.journal.records(), "block.db");
        assertThat(applied).hasSize(100).element(0).isEqualTo("1B");
    }

    @Test
    void aSynchronousCommitThatGaveUpButReachedKafkaIsCarriedBackByTheNextCommitEvenIfThatOneFailsToo() throws Exception {
        java.util.concurrent.CountDownLatch fourLands = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch fiveFails = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger fiveAttempts = new java.util.concurrent.atomic.AtomicInteger();
        FlakySink sink = new FlakySink();
        sink.sender = (lsn, records) -> {
            try {
                if (lsn == 4) { // Kafka takes LSN 4 only after its COMMIT gave up waiting
                    fourLands.await();
                } else if (lsn == 5 && fiveAttempts.incrementAndGet() == 1) { // the first LSN 5 never lands
                    fiveFails.await();
                    return CompletableFuture.failedFuture(new IllegalStateException("broker gone"));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return sink.journal.send(records);
        };
        Path db = dir.resolve("late.db");
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("vfs.name", "late", "commit.mode", "sync",
                        "commit.sync.timeout.ms", "1000")).sink(sink).install();
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(db));
                Statement s = c.createStatement()) {
            threeCommitsThenOneThatGivesUp(s); // LSN 4's entry lands afterwards
            fourLands.countDown();
            // The next commit carries LSN 4 back, but gives up too, and its entry never lands.
            assertThatThrownBy(() -> s.execute("update t set tag = 'lost' where id = 3"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("SQLITE_IOERR");
            fiveFails.countDown();
            s.execute("insert into t values (3000, 'after', randomblob(9000))"); // LSN 5, carrying LSN 4 back
            s.execute("update t set tag = 'after too' where id = 7"); // LSN 6
            assertThat(vfs.flush(Duration.ofSeconds(10))).isTrue();
            try (java.sql.ResultSet rs = s.executeQuery("select count(*) from t where tag in ('late', 'lost')")) {
                assertThat(rs.getInt(1)).as("the COMMITs that gave up rolled back").isZero();
            }
        }
        assertThat(replayed(sink.journal.records(), "late.db"))
                .as("LSN 4 is in the journal, and carried back by LSN 5 rather than a base entry")
                .containsExactly("1B", "2", "3", "4", "5", "6");
    }

    @Test
    void aSynchronousCommitThatGaveUpButReachedKafkaIsCarriedBackAfterARestartToo() throws Exception {
        java.util.concurrent.CountDownLatch fourLands = new java.util.concurrent.CountDownLatch(1);
        FlakySink sink = new FlakySink();
        sink.sender = (lsn, records) -> {
            try {
                if (lsn == 4) { // Kafka takes LSN 4 only after its COMMIT gave up waiting
                    fourLands.await();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return sink.journal.send(records);
        };
        Path db = dir.resolve("restarted.db");
        Map<String, String> settings = Map.of("vfs.name", "restarted", "commit.mode", "sync", "commit.sync.timeout.ms", "1000");
        try (PagestreamVfs vfs = PagestreamVfs.builder(settings).sink(sink).install();
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(db));
                Statement s = c.createStatement()) {
            threeCommitsThenOneThatGivesUp(s); // LSN 4's entry lands afterwards
            fourLands.countDown();
            assertThat(vfs.flush(Duration.ofSeconds(10))).isTrue();
        } // the process stops before another commit settles LSN 4
        try (PagestreamVfs vfs = PagestreamVfs.builder(settings).sink(sink).install();
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(db));
                Statement s = c.createStatement()) {
            s.execute("insert into t values (3000, 'after', randomblob(9000))"); // LSN 5, carrying LSN 4 back
            s.execute("update t set tag = 'after too' where id = 7"); // LSN 6
            try (java.sql.ResultSet rs = s.executeQuery("select count(*) from t where tag = 'late'")) {
                assertThat(rs.getInt(1)).as("the COMMIT that gave up rolled back").isZero();
            }
        }
        assertThat(replayed(sink.journal.records(), "restarted.db"))
                .as("LSN 4 is in the journal, and carried back after the restart rather than rebased")
                .containsExactly("1B", "2", "3", "4", "5", "6");
    }

    @Test
    void aRestartThatCannotReadTheJournalsEndDoesNotPublishAgainWhatKafkaTookBeforeTheStop() throws Exception {
        FlakySink sink = new FlakySink();
        sink.takeThenGoAway(3);
        Path db = dir.resolve("resent.db");
        Map<String, String> settings = Map.of("vfs.name", "resent", "startup.timeout.ms", "1000", "close.timeout.ms", "0");
        try (PagestreamVfs vfs = PagestreamVfs.builder(settings).sink(sink).install();
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(db));
                Statement s = c.createStatement()) {
            s.execute("create table t(id integer primary key, tag text)");
            s.execute("insert into t values (1, 'one')"); // LSN 2
            assertThat(vfs.flush(Duration.ofSeconds(10))).isTrue();
            s.execute("insert into t values (2, 'two')"); // LSN 3
            await().atMost(Duration.ofSeconds(10)).until(() -> sink.unreachable);
        } // the process stops with LSN 3 still in its outbox
        // Claiming and reading the journal's end still fail at the restart, but sending gets through.
        sink.sender = (lsn, records) -> sink.journal.send(records);
        try (PagestreamVfs vfs = PagestreamVfs.builder(settings).sink(sink).install();
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(db));
                Statement s = c.createStatement()) {
            s.execute("insert into t values (3, 'three')"); // LSN 4, after the outbox's LSN 3
            sink.unreachable = false;
            assertThat(vfs.flush(Duration.ofSeconds(10))).isTrue();
        }
        assertThat(replayed(sink.journal.records(), "resent.db")).as("LSN 3 published once")
                .containsExactly("1B", "2", "3", "4");
    }

    @Test
    void anAsynchronousRestartWhileKafkaIsAwayWaitsForItIfASynchronousCommitThatGaveUpMayHaveReachedIt() throws Exception {
        FlakySink sink = new FlakySink();
        sink.takeThenGoAway(4);
        Path db = dir.resolve("switched.db");
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("vfs.name", "switched", "commit.mode", "sync",
                        "commit.sync.timeout.ms", "1000", "close.timeout.ms", "0")).sink(sink).install();
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(db));
                Statement s = c.createStatement()) {
            threeCommitsThenOneThatGivesUp(s);
        } // the process stops without learning LSN 4's fate
        sink.sender = null;
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("vfs.name", "switched", "startup.timeout.ms", "1000"))
                        .sink(sink).install();
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(db));
                Statement s = c.createStatement()) {
            // Continuing from the recorded position (LSN 3) would give LSN 4 to another transaction.
            assertThatThrownBy(() -> s.execute("insert into t values (2000, 'while away', null)"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("SQLITE_IOERR");
            sink.unreachable = false;
            s.execute("insert into t values (3000, 'after', randomblob(9000))"); // LSN 5, carrying LSN 4 back
            s.execute("update t set tag = 'after too' where id = 7"); // LSN 6
            assertThat(vfs.flush(Duration.ofSeconds(10))).isTrue();
        }
        assertThat(replayed(sink.journal.records(), "switched.db"))
                .as("LSN 4 is in the journal once, and carried back by the asynchronous writer")
                .containsExactly("1B", "2", "3", "4", "5", "6");
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "locking_mode=EXCLUSIVE: {0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void aSynchronousWriterRestartingWhileKafkaIsAwayCommitsNothingUntilItKnowsWhereItsJournalEnds(boolean exclusive)
            throws Exception {
        FlakySink sink = new FlakySink();
        Path db = dir.resolve("away.db");
        Path state = Path.of(db + "-pagestream");
        Path fileBefore = dir.resolve("away-file-before");
        Path stateBefore = dir.resolve("away-state-before");
        Map<String, String> settings = Map.of("vfs.name", "away", "commit.mode", "sync", "startup.timeout.ms", "1000");
        try (PagestreamVfs vfs = PagestreamVfs.builder(settings).sink(sink).install();
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(db));
                Statement s = c.createStatement()) {
            s.execute("create table t(id integer primary key, tag text)");
            s.execute("insert into t values (1, 'committed')"); // LSN 2
            assertThat(vfs.flush(Duration.ofSeconds(10))).isTrue();
            Files.copy(db, fileBefore);
            Files.copy(state, stateBefore);
            s.execute("insert into t values (2, 'landed')"); // LSN 3
        }
        // The process died after Kafka took LSN 3, before its commit point and before recording the position.
        Files.copy(fileBefore, db, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.copy(stateBefore, state, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        sink.unreachable = true;
        try (PagestreamVfs vfs = PagestreamVfs.builder(settings).sink(sink).install();
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(db));
                Statement s = c.createStatement()) {
            if (exclusive) {
                s.execute("pragma locking_mode=exclusive"); // the refused transaction's lock, and capture, are kept
            }
            assertThatThrownBy(() -> s.execute("insert into t values (3, 'while away')"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("SQLITE_IOERR");
            sink.unreachable = false;
            s.execute("insert into t values (4, 'after')"); // LSN 4, carrying LSN 3 back
            try (java.sql.ResultSet rs = s.executeQuery("select group_concat(tag) from t")) {
                assertThat(rs.getString(1)).isEqualTo("committed,after");
            }
        }
        // Exclusive mode: the capture spans the refused transaction, so the file is not checked until it has been
        // written again, and a base entry follows.
        assertThat(replayed(sink.journal.records(), "away.db")).as("one chain, LSN 3 not forked")
                .containsExactly("1B", "2", "3", exclusive ? "4B" : "4");
    }

    /**
     * LSNs of the entries applied to a replica, "B" marking base entries; the replica must equal the writer, and every
     * entry must move the file change counter on (readers of a replica keep their cached pages while it is one they saw).
     */
    private List<String> replayed(List<JournalRecord> records, String dbId) throws Exception {
        java.util.Set<Integer> counters = new java.util.HashSet<>();
        JournalReplay replay = new JournalReplay(java.nio.file.Files.createDirectories(dir.resolve("replay-" + dbId)));
        replay.applyAll(records, (entry, file) -> assertThat(counters.add(VfsTestSupport.changeCounter(file)))
                .as("a new change counter after LSN " + entry.getLsn()).isTrue());
        assertThat(java.nio.file.Files.readAllBytes(replay.replica(dbId).file)).isEqualTo(java.nio.file.Files.readAllBytes(dir.resolve(dbId)));
        return replay.replica(dbId).entries.stream().map(e -> e.getLsn() + (e.getBase() ? "B" : "")).toList();
    }

    /**
     * LSNs 1–3, the last leaving about a hundred free pages; then a COMMIT that reuses them (SQLite does not journal
     * free pages) and gives up waiting for Kafka.
     */
    private static void threeCommitsThenOneThatGivesUp(Statement s) throws SQLException {
        s.execute("create table t(id integer primary key, tag text, b blob)");
        s.execute("with recursive n(i) as (select 1 union all select i + 1 from n where i < 120)"
                + " insert into t select i, 'committed', randomblob(3000) from n");
        s.execute("delete from t where id > 20");
        try (java.sql.ResultSet rs = s.executeQuery("pragma freelist_count")) {
            assertThat(rs.getInt(1)).isGreaterThan(50);
        }
        assertThatThrownBy(() -> s.execute("insert into t select 1000 + id, 'late', randomblob(3000) from t"))
                .isInstanceOf(SQLException.class).hasMessageContaining("SQLITE_IOERR");
    }
}
