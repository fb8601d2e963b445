package io.pagestream.vfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pagestream.schemas.JournalRecord;
import io.pagestream.schemas.PagestreamConfigException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
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
    void reinstallingWithOtherSettingsIsRefused() {
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("vfs.name", "reinstall")).sink(new InMemoryJournalSink(1 << 20)).install()) {
            assertThat(PagestreamVfs.installed("reinstall")).contains(vfs);
            assertThatThrownBy(() -> PagestreamVfs.install(Map.of("vfs.name", "reinstall", "journal.topic", "other")))
                    .isInstanceOf(PagestreamConfigException.class).hasMessageContaining("already installed");
        }
    }

    /** An in-memory journal whose acknowledgement of each entry (by LSN) the test decides. */
    private static final class FlakySink implements JournalSink {
        final InMemoryJournalSink journal = new InMemoryJournalSink(1 << 20);
        volatile java.util.function.LongPredicate failing = lsn -> false;
        /** Replaces the whole send when set: (lsn, records) -> acknowledgement. */
        volatile java.util.function.BiFunction<Long, List<JournalRecord>, CompletableFuture<Void>> sender;

        @Override
        public CompletableFuture<Void> send(List<JournalRecord> records) {
            long lsn = Long.parseLong(new String(records.getFirst().headers().get(1).value(), java.nio.charset.StandardCharsets.US_ASCII));
            if (sender != null) {
                return sender.apply(lsn, records);
            }
            if (failing.test(lsn)) {
                return CompletableFuture.failedFuture(new IllegalStateException("broker gone"));
            }
            return journal.send(records);
        }

        @Override
        public java.util.Optional<JournalPosition> lastPosition(String dbId) {
            return journal.lastPosition(dbId);
        }

        @Override
        public int maxRecordBytes() {
            return journal.maxRecordBytes();
        }

        @Override
        public void close() {}
    }

    @Test
    void failedPublishIsCountedAndTheNextCommitPublishesABaseEntry() throws Exception {
        FlakySink sink = new FlakySink();
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("vfs.name", "failing")).sink(sink).install();
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(dir.resolve("f.db")));
                Statement s = c.createStatement()) {
            s.execute("create table t(x)");
            s.execute("insert into t values (1)");
            assertThat(vfs.flush(Duration.ofSeconds(5))).isTrue();
            sink.failing = lsn -> true;
            s.execute("insert into t values (2)");
            assertThat(vfs.flush(Duration.ofSeconds(5))).isTrue();
            assertThat(vfs.failedEntries()).isEqualTo(1);
            sink.failing = lsn -> false;
            s.execute("insert into t values (3)");
            assertThat(vfs.flush(Duration.ofSeconds(5))).isTrue();
        }
        assertThat(replayed(sink.journal.records(), "f.db")).containsExactly("1B", "2", "4B");
    }

    @Test
    void aFailedEntryStillOwesABaseAfterLaterDiffsWereAcknowledgedAndTheWriterRestarted() throws Exception {
        // LSN 2 fails only after LSN 3 was acknowledged, as when a Kafka batch expires behind a newer one.
        CompletableFuture<Void> lsn2 = new CompletableFuture<>();
        FlakySink sink = new FlakySink();
        InMemoryJournalSink journal = sink.journal;
        sink.sender = (lsn, records) -> {
            if (lsn == 2) {
                return lsn2;
            }
            CompletableFuture<Void> sent = journal.send(records);
            return lsn == 3 ? sent.thenRun(() -> lsn2.completeExceptionally(new IllegalStateException("batch expired"))) : sent;
        };
        Path db = dir.resolve("owed.db");
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("vfs.name", "owed-1")).sink(sink).install();
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(db));
                Statement s = c.createStatement()) {
            s.execute("create table t(x)");
            s.execute("insert into t values (1)"); // LSN 2: lost
            s.execute("insert into t values (2)"); // LSN 3: acknowledged, a diff after the gap
            assertThat(vfs.flush(Duration.ofSeconds(5))).isTrue();
            assertThat(vfs.failedEntries()).isEqualTo(1);
        }
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("vfs.name", "owed-2")).sink(journal).install();
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(db));
                Statement s = c.createStatement()) {
            s.execute("insert into t values (3)");
            assertThat(vfs.flush(Duration.ofSeconds(5))).isTrue();
        }
        List<String> published = journal.records().stream()
                .map(r -> new String(r.headers().get(1).value(), java.nio.charset.StandardCharsets.US_ASCII)).toList();
        assertThat(published).containsExactly("1", "3", "4");
        // A replica halts at the gap after LSN 1 (skipping the diff LSN 3) until the base entry LSN 4 arrives.
        List<JournalRecord> resumable = journal.records().stream().filter(r -> !published.get(journal.records().indexOf(r)).equals("3")).toList();
        assertThat(replayed(resumable, "owed.db")).containsExactly("1B", "4B");
    }

    @Test
    void whenKafkaStopsTakingRecordsCommitsGoOnAndABaseEntryCatchesUpAfterwards() throws Exception {
        // The producer blocks in send() while its buffer is full and the broker unreachable.
        java.util.concurrent.CountDownLatch brokerBack = new java.util.concurrent.CountDownLatch(1);
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
        Path db = dir.resolve("outage.db");
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("vfs.name", "outage", "publish.queue.max.bytes", "100000"))
                        .sink(sink).install();
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(db));
                Statement s = c.createStatement()) {
            s.execute("create table t(x)");
            s.execute("insert into t values (1)");
            for (int i = 0; i < 200; i++) {
                s.execute("insert into t values (randomblob(2000))"); // COMMIT never waits for Kafka
            }
            assertThat(vfs.failedEntries()).as("commits not queued while the queue was full").isPositive();
            brokerBack.countDown();
            s.execute("insert into t values (2)");
            assertThat(vfs.flush(Duration.ofSeconds(10))).isTrue();
        }
        List<String> applied = replayed(sink.journal.records(), "outage.db");
        assertThat(applied.getLast()).as("the last entry is the base entry that caught up").endsWith("B");
    }

    /** LSNs of the entries applied to a replica, "B" marking base entries; the replica must equal the writer. */
    private List<String> replayed(List<JournalRecord> records, String dbId) throws Exception {
        JournalReplay replay = new JournalReplay(java.nio.file.Files.createDirectories(dir.resolve("replay-" + dbId)));
        replay.applyAll(records, (entry, file) -> {});
        assertThat(java.nio.file.Files.readAllBytes(replay.replica(dbId).file)).isEqualTo(java.nio.file.Files.readAllBytes(dir.resolve(dbId)));
        return replay.replica(dbId).entries.stream().map(e -> e.getLsn() + (e.getBase() ? "B" : "")).toList();
    }
}
