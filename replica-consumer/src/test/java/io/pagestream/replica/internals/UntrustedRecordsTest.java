package io.pagestream.replica.internals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pagestream.replica.CapturedJournal;
import io.pagestream.replica.ReplicaListener;
import io.pagestream.replica.ReplicaStatus;
import io.pagestream.schemas.CorruptEntryException;
import io.pagestream.schemas.JournalContract;
import io.pagestream.schemas.JournalRecord;
import io.pagestream.schemas.PagestreamException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Records a new or running replica cannot trust — undecodable, headers that disagree with the body, a first entry
 * that is not a base entry, no key — halt their database (or stop the service) with an error naming the db, the
 * offset and the reason; the replica stays where it was. Randomized damage: replay with {@code -Dpagestream.seed=N}.
 */
class UntrustedRecordsTest {
    private static final long SEED = Long.getLong("pagestream.seed", System.nanoTime());
    private static final String TOPIC = "journal";
    private static final String DB = "untrusted.db";

    @TempDir
    Path dir;

    /** LSN 1 (base) to 4, one record each. */
    private List<JournalRecord> entries;

    @BeforeAll
    static void printSeed() {
        System.out.println("UntrustedRecordsTest seed=" + SEED + " (replay with -Dpagestream.seed=" + SEED + ")");
    }

    @BeforeEach
    void writeJournal() throws Exception {
        entries = CapturedJournal.fourEntries(dir.resolve("writer"), DB);
        assertThat(entries).hasSize(4);
    }

    private ReplicaEngine engine() {
        return new ReplicaEngine(dir.resolve("replicas"), Set.of(), ReplicaListener.NONE, Duration.ofSeconds(10), 1000);
    }

    /** The records at offsets 0, 1, 2… of partition 0. */
    private static List<ConsumerRecord<byte[], byte[]>> topic(JournalRecord... records) {
        List<ConsumerRecord<byte[], byte[]>> topic = new ArrayList<>();
        for (JournalRecord record : records) {
            topic.add(CapturedJournal.consumerRecord(TOPIC, 0, topic.size(), record));
        }
        return topic;
    }

    private static void assertHalted(ReplicaStatus status, long offset, String reason, long lsn) {
        assertThat(status.halted()).as("halted").isTrue();
        assertThat(status.error().getMessage()).contains(DB).containsPattern("@" + offset + "(?!\\d)").contains(reason);
        assertThat(status.position().lsn()).as("stays at its last good entry").isEqualTo(lsn);
    }

    @Test
    void anUndecodableRecordBeforeAnyBaseEntryHaltsTheDatabase() {
        JournalRecord garbage = new JournalRecord(DB, "not a journal record".getBytes(), entries.get(0).headers());
        try (ReplicaEngine engine = engine()) {
            engine.process(topic(garbage, entries.get(0), entries.get(1)));
            assertHalted(engine.status().get(DB), 0, "wrong magic", 0);
            assertThat(engine.reportableOffset(0, 3)).as("the consumer group's offset stays at the record").isZero();
        }
    }

    @Test
    void aFirstEntryThatIsNotABaseEntryHaltsANewReplica() {
        try (ReplicaEngine engine = engine()) {
            engine.process(topic(entries.get(1), entries.get(2)));
            assertHalted(engine.status().get(DB), 0, "LSN 2 is not a base entry", 0);
        }
    }

    @Test
    void recordsBeforeTheBaseEntryChosenAtStartUpAreSkippedUnread() {
        JournalRecord garbage = new JournalRecord(DB, new byte[] {1, 2, 3}, List.of());
        try (ReplicaEngine engine = engine()) {
            engine.startNewReplicas(Map.of(DB, new StartOffsets.NewReplica(0, 2, null)));
            engine.process(topic(garbage, entries.get(2), entries.get(0), entries.get(1), entries.get(2), entries.get(3)));
            ReplicaStatus status = engine.status().get(DB);
            assertThat(status.error()).isNull();
            assertThat(status.position().lsn()).isEqualTo(4);
        }
    }

    @Test
    void aNewReplicaWithoutAUsableBaseEntryIsHaltedBeforeReadingAnything() {
        try (ReplicaEngine engine = engine()) {
            engine.startNewReplicas(Map.of(DB, new StartOffsets.NewReplica(0, 7,
                    new PagestreamException("replica of " + DB + " cannot start: no usable base entry"))));
            assertThat(engine.hasReplica(DB)).isTrue();
            assertThat(engine.status().get(DB).error()).hasMessageContaining("no usable base entry");
            assertThat(engine.reportableOffset(0, 20)).isEqualTo(7);
            assertThatThrownBy(() -> engine.hasApplied(DB, 1)).hasMessageContaining("no usable base entry");
        }
    }

    @Test
    void aBaseHeaderOnAnEntryThatIsNotOneHaltsAtThatRecord() {
        JournalRecord falseBase = CapturedJournal.withHeader(entries.get(2), JournalContract.HEADER_PRE_CHECKSUM,
                JournalContract.hex(JournalContract.EMPTY_CHECKSUM));
        try (ReplicaEngine engine = engine()) {
            engine.process(topic(entries.get(0), entries.get(1), falseBase, entries.get(3)));
            assertHalted(engine.status().get(DB), 2, "header ps.pre is '0000000000000000'", 2);
        }
    }

    @Test
    void anLsnHeaderDisagreeingWithTheBodyHalts() {
        JournalRecord wrongLsn = CapturedJournal.withHeader(entries.get(1), JournalContract.HEADER_LSN, "9");
        try (ReplicaEngine engine = engine()) {
            engine.process(topic(entries.get(0), wrongLsn));
            assertHalted(engine.status().get(DB), 1, "header ps.lsn is '9' but the record's body says '2'", 1);
        }
    }

    @Test
    void aDamagedBaseEntryHaltsANewReplica() {
        SplittableRandom random = new SplittableRandom(SEED);
        JournalRecord damaged = CapturedJournal.damaged(entries.get(0), random, 1 + random.nextInt(8));
        try (ReplicaEngine engine = engine()) {
            engine.process(topic(damaged, entries.get(1)));
            ReplicaStatus status = engine.status().get(DB);
            assertThat(status.halted()).as("seed %d: halted", SEED).isTrue();
            assertThat(status.error().getMessage()).as("seed %d", SEED).contains(DB).containsPattern("(@|offset )0(?!\\d)");
            assertThat(status.position().lsn()).isZero();
        }
    }

    @Test
    void aRecordWithoutAKeyStopsTheServiceAfterApplyingWhatCameBefore() {
        JournalRecord keyless = new JournalRecord(DB, entries.get(2).value(), entries.get(2).headers());
        List<ConsumerRecord<byte[], byte[]>> topic = topic(entries.get(0), entries.get(1), keyless);
        ConsumerRecord<byte[], byte[]> last = topic.getLast();
        topic.set(2, new ConsumerRecord<>(TOPIC, 0, last.offset(), null, last.value()));
        try (ReplicaEngine engine = engine()) {
            assertThatThrownBy(() -> engine.process(topic)).isInstanceOf(CorruptEntryException.class)
                    .hasMessageContaining(TOPIC + "-0@2").hasMessageContaining("no key");
            assertThat(engine.status().get(DB).position().lsn()).isEqualTo(2);
        }
    }
}
