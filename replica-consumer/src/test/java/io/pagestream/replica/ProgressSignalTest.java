package io.pagestream.replica;

import static io.pagestream.replica.CapturedJournal.exec;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pagestream.replica.internals.ReplicaEngine;
import io.pagestream.schemas.JournalRecord;
import io.pagestream.schemas.PagestreamException;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@link Replica#await} builds on: waiting for an LSN wakes on the apply reaching it, and on a halt at once. */
class ProgressSignalTest {
    private static final String DB = "awaited.db";
    private static final Duration LONG = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    /** LSN 1 (base) to 3, one record each. */
    private List<JournalRecord> entries;

    @BeforeEach
    void writeJournal() throws Exception {
        try (CapturedJournal journal = new CapturedJournal(dir.resolve("writer"), 1 << 20)) {
            try (Connection c = journal.connect(DB)) {
                exec(c, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)", "INSERT INTO t(v) VALUES ('a')",
                        "INSERT INTO t(v) VALUES ('b')");
            }
            entries = journal.recordsByEntry(DB).stream().map(List::getFirst).toList();
        }
    }

    private static List<ConsumerRecord<byte[], byte[]>> records(long firstOffset, List<JournalRecord> records) {
        List<ConsumerRecord<byte[], byte[]>> handOver = new ArrayList<>();
        for (JournalRecord record : records) {
            handOver.add(CapturedJournal.consumerRecord("journal", 0, firstOffset + handOver.size(), record));
        }
        return handOver;
    }

    private static CompletableFuture<Boolean> awaitInBackground(ProgressSignal signal, ReplicaEngine engine, long lsn,
            Duration timeout) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return signal.await(() -> engine.hasApplied(DB, lsn), timeout);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void returnsTrueOnceTheLsnIsAppliedAndFalseWhenTheTimeoutPasses() throws Exception {
        ProgressSignal signal = new ProgressSignal(ReplicaListener.NONE);
        try (ReplicaEngine engine = new ReplicaEngine(dir.resolve("replicas"), Set.of(), signal, Duration.ofSeconds(10), 100)) {
            CompletableFuture<Boolean> three = awaitInBackground(signal, engine, 3, LONG);
            engine.process(records(0, entries.subList(0, 2)));
            assertThat(signal.await(() -> engine.hasApplied(DB, 2), Duration.ZERO)).as("LSN 2 already applied").isTrue();
            assertThat(three).as("LSN 3 not applied yet").isNotDone();
            engine.process(records(2, entries.subList(2, 3)));
            assertThat(three.get(10, TimeUnit.SECONDS)).isTrue();

            long started = System.nanoTime();
            assertThat(signal.await(() -> engine.hasApplied(DB, 4), Duration.ofMillis(200))).isFalse();
            assertThat(System.nanoTime() - started).as("waited for the timeout").isGreaterThanOrEqualTo(200_000_000L);
        }
    }

    @Test
    void throwsTheHaltAtOnceInsteadOfWaiting() throws Exception {
        ProgressSignal signal = new ProgressSignal(ReplicaListener.NONE);
        try (ReplicaEngine engine = new ReplicaEngine(dir.resolve("replicas"), Set.of(), signal, Duration.ofSeconds(10), 100)) {
            CompletableFuture<Boolean> waiting = awaitInBackground(signal, engine, 3, LONG);
            engine.process(records(0, List.of(entries.get(0), entries.get(2)))); // LSN 2 missing: a gap
            assertThatThrownBy(() -> waiting.get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOf(PagestreamException.class).hasMessageContaining("expected LSN 2, got 3");
            assertThatThrownBy(() -> signal.await(() -> engine.hasApplied(DB, 3), LONG))
                    .as("already halted").hasMessageContaining("expected LSN 2, got 3");
        }
    }
}
