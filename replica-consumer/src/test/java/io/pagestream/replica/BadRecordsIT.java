package io.pagestream.replica;

import static io.pagestream.replica.CapturedJournal.exec;
import static io.pagestream.replica.CapturedJournal.sha256;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.pagestream.broker.KafkaBrokerExtension;
import io.pagestream.schemas.ChecksumMismatchException;
import io.pagestream.schemas.CorruptEntryException;
import io.pagestream.schemas.JournalCodec;
import io.pagestream.schemas.JournalContract;
import io.pagestream.schemas.JournalRecord;
import io.pagestream.schemas.MissingFragmentException;
import io.pagestream.schemas.PagestreamException;
import io.pagestream.schemas.PositionMismatchException;
import io.pagestream.schemas.avro.DeltaEncoding;
import io.pagestream.schemas.avro.PageDelta;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad records written straight into the journal topic among genuine ones (entries of real databases written
 * through the VFS): duplicates — re-sent entries, fragmented or whole, even an old base entry — are skipped;
 * an entry out of order, an LSN gap, a truncated or bit-flipped record, a fragment flipped, missing or out of
 * order, a record of a foreign schema, and an entry of another history (right LSN, wrong pre-checksum) each
 * halt their database with an error naming the db, the Kafka offset and the reason, leaving the replica at its
 * last good entry and byte-identical to the writer there; the other databases keep going. Records of a database
 * not followed are ignored. Restarted, the replica halts the same databases again at the same records.
 * Separately: a new replica facing a false base-entry header or a damaged base entry ends with an error naming the
 * db and the offset, never silently at LSN 0; a record without a key stops the service, naming its offset; entries
 * in aborted Kafka transactions, in part or whole, are never applied.
 */
class BadRecordsIT {
    private static final String TOPIC = "bad-records-it";
    /** Fragment limit: LSN 5 of every database (a 60 KB blob) is split into several fragments. */
    private static final int RECORD_MAX_BYTES = 16 * 1024;
    private static final int ENTRIES = 14;
    private static final int FIRST_PHASE_ENTRIES = 10;
    private static final int FRAGMENTED_LSN = 5;
    /** Carries an overflow page of random bytes, which the writer encodes as a whole page (PAGE). */
    private static final int WHOLE_PAGE_LSN = 6;

    private static final String HEALTHY = "healthy.db";
    private static final String DUPLICATES = "duplicates.db";
    private static final String SWAPPED = "swapped.db";
    private static final String GAP = "gap.db";
    private static final String TRUNCATED = "truncated.db";
    private static final String BIT_FLIPPED = "bit-flipped.db";
    private static final String FLIPPED_FRAGMENT = "flipped-fragment.db";
    private static final String FOREIGN_SCHEMA = "foreign-schema.db";
    private static final String FRAGMENTS_REORDERED = "fragments-reordered.db";
    private static final String FIRST_FRAGMENT_MISSING = "first-fragment-missing.db";
    private static final String OTHER_HISTORY = "other-history.db";
    private static final String UNFOLLOWED = "unfollowed.db";
    private static final List<String> FOLLOWED = List.of(HEALTHY, DUPLICATES, SWAPPED, GAP, TRUNCATED, BIT_FLIPPED,
            FLIPPED_FRAGMENT, FOREIGN_SCHEMA, FRAGMENTS_REORDERED, FIRST_FRAGMENT_MISSING, OTHER_HISTORY);

    @RegisterExtension
    static final KafkaBrokerExtension broker = new KafkaBrokerExtension();

    @TempDir
    Path dir;

    private enum Role { PLAIN, LAST_GOOD, DETECTED }

    /** One record to write into the topic; a null db id writes a record without a key. */
    private record Crafted(String dbId, byte[] value, List<JournalRecord.Header> headers, Role role) {
        static Crafted genuine(JournalRecord record) {
            return new Crafted(record.key(), record.value(), record.headers(), Role.PLAIN);
        }

        Crafted as(Role newRole) {
            return new Crafted(dbId, value, headers, newRole);
        }

        Crafted withValue(byte[] newValue) {
            return new Crafted(dbId, newValue, headers, role);
        }

        Crafted withoutKey() {
            return new Crafted(null, value, headers, role);
        }
    }

    /** A database whose records go in wrong, and what its status must say once it halted. */
    private record Halt(Script script, Class<? extends PagestreamException> type, String reason, long lastGoodLsn) {
        String dbId() {
            return script.dbId;
        }
    }

    /** The records of one database, in the order they go into the topic. */
    private static final class Script {
        final String dbId;
        final CapturedJournal journal;
        final List<Crafted> records = new ArrayList<>();

        Script(String dbId, CapturedJournal journal) {
            this.dbId = dbId;
            this.journal = journal;
        }

        /** The genuine records of LSNs {@code from..to}. */
        Script entries(int from, int to) {
            for (int lsn = from; lsn <= to; lsn++) {
                entry(lsn).forEach(record -> records.add(Crafted.genuine(record)));
            }
            return this;
        }

        List<JournalRecord> entry(int lsn) {
            return journal.recordsByEntry(dbId).get(lsn - 1);
        }

        Script add(Crafted record) {
            records.add(record);
            return this;
        }

        /** Marks the record just added as the last one the replica applies. */
        Script lastGood() {
            records.set(records.size() - 1, records.getLast().as(Role.LAST_GOOD));
            return this;
        }

        /** Marks the record just added as the one at which the replica must halt. */
        Script detected() {
            records.set(records.size() - 1, records.getLast().as(Role.DETECTED));
            return this;
        }

        Crafted find(Role role) {
            return records.stream().filter(record -> record.role() == role).findFirst().orElseThrow();
        }
    }

    @Test
    void badRecordsHaltOnlyTheirDatabaseAndLeaveItsReplicaAtTheLastGoodEntry() throws Exception {
        createTopic();
        List<String> all = new ArrayList<>(FOLLOWED);
        all.add(UNFOLLOWED);
        // Another writer's history of other-history.db, written first: a db id belongs to one file per process.
        List<JournalRecord> otherSeven;
        try (CapturedJournal otherHistory = new CapturedJournal(dir.resolve("other-writer"), RECORD_MAX_BYTES)) {
            write(otherHistory, OTHER_HISTORY);
            otherSeven = otherHistory.recordsByEntry(OTHER_HISTORY).get(6);
        }
        try (CapturedJournal journal = new CapturedJournal(dir.resolve("writer"), RECORD_MAX_BYTES)) {
            for (String dbId : all) {
                write(journal, dbId);
            }
            assertThat(journal.recordsByEntry(HEALTHY)).hasSize(ENTRIES);
            assertThat(journal.recordsByEntry(HEALTHY).get(FRAGMENTED_LSN - 1)).as("fragments of LSN 5").hasSizeGreaterThan(2);

            Map<String, Script> firstPhase = new LinkedHashMap<>();
            // Healthy first: its base entry is the topic's first record, where the replica's discovery starts.
            firstPhase.put(HEALTHY, new Script(HEALTHY, journal).entries(1, FIRST_PHASE_ENTRIES));
            Script unfollowed = new Script(UNFOLLOWED, journal).entries(1, 3);
            unfollowed.add(Crafted.genuine(unfollowed.entry(4).getFirst()).withValue(new byte[] {1, 2, 3}));
            firstPhase.put(UNFOLLOWED, unfollowed);
            // Whole and fragmented entries delivered twice, the base entry among them.
            firstPhase.put(DUPLICATES, new Script(DUPLICATES, journal).entries(1, 4).entries(2, 3)
                    .entries(FRAGMENTED_LSN, FRAGMENTED_LSN).entries(FRAGMENTED_LSN, FRAGMENTED_LSN).entries(6, 6)
                    .entries(1, 1).entries(7, FIRST_PHASE_ENTRIES));
            List<Halt> halts = List.of(swapped(journal), gap(journal), truncated(journal), bitFlipped(journal),
                    flippedFragment(journal), foreignSchema(journal), fragmentsReordered(journal),
                    firstFragmentMissing(journal), otherHistory(journal, otherSeven));
            halts.forEach(halt -> firstPhase.put(halt.dbId(), halt.script()));

            Map<Crafted, Long> offsets = produce(interleave(firstPhase.values()));

            Path replicaDir = dir.resolve("replica");
            Map<String, Object> settings = Map.of("bootstrap.servers", broker.bootstrapServers(), "journal.topic", TOPIC,
                    "replica.dir", replicaDir.toString(), "replica.name", "bad-records-it",
                    "replica.dbs", String.join(",", FOLLOWED));
            Map<String, PagestreamException> firstErrors = new HashMap<>();
            Replica replica = Replica.start(settings);
            try {
                await().atMost(Duration.ofSeconds(90)).untilAsserted(() -> {
                    Map<String, ReplicaStatus> status = replica.status();
                    for (Halt halt : halts) {
                        assertThat(status.get(halt.dbId())).as(halt.dbId()).isNotNull();
                        assertThat(status.get(halt.dbId()).halted()).as("%s halted", halt.dbId()).isTrue();
                    }
                    assertThat(status.get(HEALTHY).position().lsn()).isEqualTo(FIRST_PHASE_ENTRIES);
                    assertThat(status.get(DUPLICATES).position().lsn()).isEqualTo(FIRST_PHASE_ENTRIES);
                });
                for (Halt halt : halts) {
                    ReplicaStatus status = replica.status().get(halt.dbId());
                    assertHalted(status, halt, offsets);
                    firstErrors.put(halt.dbId(), status.error());
                }

                // The healthy databases go on after the others halted; the halted ones ignore what follows.
                Map<String, Script> secondPhase = new LinkedHashMap<>();
                for (String dbId : FOLLOWED) {
                    secondPhase.put(dbId, new Script(dbId, journal).entries(FIRST_PHASE_ENTRIES + 1, ENTRIES));
                }
                secondPhase.get(DUPLICATES).entries(ENTRIES, ENTRIES);
                offsets.putAll(produce(interleave(secondPhase.values())));
                await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
                    assertThat(replica.status().get(HEALTHY).position().lsn()).isEqualTo(ENTRIES);
                    assertThat(replica.status().get(DUPLICATES).position().lsn()).isEqualTo(ENTRIES);
                });
                ReplicaStatus healthy = replica.status().get(HEALTHY);
                assertThat(healthy.error()).isNull();
                assertThat(healthy.appliedEntries()).isEqualTo(ENTRIES);
                assertThat(healthy.duplicatesSkipped()).isZero();
                ReplicaStatus duplicated = replica.status().get(DUPLICATES);
                assertThat(duplicated.error()).isNull();
                assertThat(duplicated.appliedEntries()).isEqualTo(ENTRIES);
                assertThat(duplicated.duplicatesSkipped()).as("LSNs 2, 3, 5, 1 and 14 delivered twice").isEqualTo(5);
                for (Halt halt : halts) {
                    assertHalted(replica.status().get(halt.dbId()), halt, offsets);
                }
                assertThat(replica.status()).as("databases with a replica").containsOnlyKeys(FOLLOWED);
                assertThat(replica.failure()).isNull();
            } finally {
                replica.close();
            }
            assertReplicaFiles(journal, replicaDir, halts);

            // Restarted, every halted database resumes from its position and halts again at the same record.
            Replica restarted = Replica.start(settings);
            try {
                await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
                    for (Halt halt : halts) {
                        ReplicaStatus status = restarted.status().get(halt.dbId());
                        assertThat(status.halted()).as("%s halted again", halt.dbId()).isTrue();
                    }
                });
                for (Halt halt : halts) {
                    ReplicaStatus status = restarted.status().get(halt.dbId());
                    assertHalted(status, halt, offsets);
                    assertThat(status.error().getMessage()).as("%s halts on the same record", halt.dbId())
                            .isEqualTo(firstErrors.get(halt.dbId()).getMessage());
                    assertThat(status.appliedEntries()).as("%s applied nothing after the restart", halt.dbId()).isZero();
                }
                for (String dbId : List.of(HEALTHY, DUPLICATES)) {
                    ReplicaStatus status = restarted.status().get(dbId);
                    assertThat(status.error()).as(dbId).isNull();
                    assertThat(status.position().lsn()).as(dbId).isEqualTo(ENTRIES);
                }
            } finally {
                restarted.close();
            }
            assertReplicaFiles(journal, replicaDir, halts);
        }
    }

    @Test
    void aNewReplicaFacingAFalseBaseHeaderOrADamagedBaseEntryEndsWithAnErrorNamingTheDbAndOffset() throws Exception {
        String topic = "new-replica-bases-it";
        String falseBase = "false-base.db";
        String damagedBase = "damaged-base.db";
        createTopic(topic);
        try (CapturedJournal journal = new CapturedJournal(dir.resolve("bases-writer"), RECORD_MAX_BYTES)) {
            for (String dbId : List.of(HEALTHY, falseBase, damagedBase)) {
                write(journal, dbId);
            }
            Script healthy = new Script(HEALTHY, journal).entries(1, ENTRIES);
            // Entry 7 headed as a base entry: newer than the true base entry, so the start-up scan would prefer it.
            Script falseHeader = new Script(falseBase, journal).entries(1, 6).lastGood();
            falseHeader.add(Crafted.genuine(CapturedJournal.withHeader(falseHeader.entry(7).getFirst(),
                    JournalContract.HEADER_PRE_CHECKSUM, JournalContract.hex(JournalContract.EMPTY_CHECKSUM))).as(Role.DETECTED));
            falseHeader.entries(8, ENTRIES);
            // The only base entry, a bit flipped among its pages.
            Script damaged = new Script(damagedBase, journal);
            Crafted base = Crafted.genuine(damaged.entry(1).getFirst());
            damaged.add(base.withValue(flipBit(base.value(), base.value().length * 3 / 4)).as(Role.DETECTED))
                    .entries(2, ENTRIES);
            Map<Crafted, Long> offsets = produce(topic, interleave(List.of(healthy, falseHeader, damaged)));

            Replica replica = Replica.start(Map.of("bootstrap.servers", broker.bootstrapServers(), "journal.topic", topic,
                    "replica.dir", dir.resolve("replica-bases").toString(), "replica.name", "bases-it"));
            try {
                assertThat(replica.await(HEALTHY, ENTRIES, Duration.ofSeconds(60))).isTrue();
                long falseAt = offsets.get(falseHeader.find(Role.DETECTED));
                assertThatThrownBy(() -> replica.await(falseBase, ENTRIES, Duration.ofSeconds(60)))
                        .isInstanceOf(CorruptEntryException.class).hasMessageContaining(falseBase)
                        .hasMessageContaining(topic + "-0@" + falseAt + ":")
                        .hasMessageContaining("header ps.pre is '0000000000000000'");
                ReplicaStatus falseStatus = replica.status().get(falseBase);
                assertThat(falseStatus.position().lsn()).as("applied from the true base entry up to the false one").isEqualTo(6);
                assertThat(falseStatus.position().offset()).isEqualTo(offsets.get(falseHeader.find(Role.LAST_GOOD)));

                long damagedAt = offsets.get(damaged.find(Role.DETECTED));
                assertThatThrownBy(() -> replica.await(damagedBase, 1, Duration.ofSeconds(60)))
                        .hasMessageContaining(damagedBase).hasMessageContaining("no usable base entry")
                        .hasMessageContaining(topic + "-0@" + damagedAt + " ");
                ReplicaStatus damagedStatus = replica.status().get(damagedBase);
                assertThat(damagedStatus.halted()).isTrue();
                assertThat(damagedStatus.position().lsn()).isZero();
                assertThat(replica.failure()).isNull();
            } finally {
                replica.close();
            }
        }
    }

    @Test
    void aRecordWithoutAKeyStopsTheServiceNamingItsOffset() throws Exception {
        String topic = "keyless-it";
        createTopic(topic);
        try (CapturedJournal journal = new CapturedJournal(dir.resolve("keyless-writer"), RECORD_MAX_BYTES)) {
            write(journal, HEALTHY);
            Script script = new Script(HEALTHY, journal).entries(1, 3).lastGood();
            // A later entry of healthy.db without its key: routed by its value, it would be a gap.
            script.add(Crafted.genuine(script.entry(12).getFirst()).withoutKey().as(Role.DETECTED)).entries(4, ENTRIES);
            Map<Crafted, Long> offsets = produce(topic, script.records);

            Replica replica = Replica.start(Map.of("bootstrap.servers", broker.bootstrapServers(), "journal.topic", topic,
                    "replica.dir", dir.resolve("replica-keyless").toString(), "replica.name", "keyless-it"));
            try {
                await().atMost(Duration.ofSeconds(60)).until(() -> replica.failure() != null);
                assertThat(replica.failure()).isInstanceOf(CorruptEntryException.class)
                        .hasMessageContaining(topic + "-0@" + offsets.get(script.find(Role.DETECTED)) + " has no key");
                assertThat(replica.status().get(HEALTHY).position().lsn()).as("applied up to the record").isEqualTo(3);
                assertThatThrownBy(() -> replica.await(HEALTHY, 4, Duration.ofSeconds(60))).isSameAs(replica.failure());
            } finally {
                replica.close();
            }
        }
    }

    @Test
    void entriesInAbortedKafkaTransactionsAreNeverAppliedNotEvenInPart() throws Exception {
        String topic = "aborted-transactions-it";
        String dbId = "aborted.db";
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
        }
        try (CapturedJournal journal = new CapturedJournal(dir.resolve("aborting-writer"), RECORD_MAX_BYTES)) {
            write(journal, dbId);
            List<List<JournalRecord>> entries = journal.recordsByEntry(dbId);
            List<JournalRecord> fragmented = entries.get(FRAGMENTED_LSN - 1);
            assertThat(fragmented).as("fragments of LSN 5").hasSizeGreaterThan(2);
            Map<String, Object> settings = Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                    ProducerConfig.TRANSACTIONAL_ID_CONFIG, "aborting-writer");
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(settings, new ByteArraySerializer(),
                    new ByteArraySerializer())) {
                producer.initTransactions();
                sendInTransaction(producer, topic, entries.subList(0, FRAGMENTED_LSN - 1).stream().flatMap(List::stream).toList(), true);
                // Part of an entry: its first fragments only.
                sendInTransaction(producer, topic, fragmented.subList(0, 2), false);
                // A whole batch: the fragmented entry and the one after it.
                sendInTransaction(producer, topic, entries.subList(FRAGMENTED_LSN - 1, FRAGMENTED_LSN + 1).stream()
                        .flatMap(List::stream).toList(), false);
                sendInTransaction(producer, topic, entries.subList(FRAGMENTED_LSN - 1, ENTRIES).stream()
                        .flatMap(List::stream).toList(), true);
            }
            Path replicaDir = dir.resolve("replica-aborted");
            Replica replica = Replica.start(Map.of("bootstrap.servers", broker.bootstrapServers(), "journal.topic", topic,
                    "replica.dir", replicaDir.toString(), "replica.name", "aborted-it", "replica.dbs", dbId));
            try {
                await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
                    ReplicaStatus status = replica.status().get(dbId);
                    assertThat(status).isNotNull();
                    assertThat(status.position().lsn()).isEqualTo(ENTRIES);
                });
                ReplicaStatus status = replica.status().get(dbId);
                assertThat(status.error()).isNull();
                assertThat(status.appliedEntries()).as("each entry applied once").isEqualTo(ENTRIES);
                assertThat(status.duplicatesSkipped()).as("nothing of the aborted transactions was seen").isZero();
            } finally {
                replica.close();
            }
            assertThat(sha256(replicaDir.resolve(dbId))).isEqualTo(journal.writerHash(dbId, ENTRIES));
        }
    }

    private static void sendInTransaction(KafkaProducer<byte[], byte[]> producer, String topic, List<JournalRecord> records,
            boolean commit) {
        producer.beginTransaction();
        for (JournalRecord record : records) {
            RecordHeaders headers = new RecordHeaders();
            record.headers().forEach(header -> headers.add(header.name(), header.value()));
            producer.send(new ProducerRecord<>(topic, 0, record.keyBytes(), record.value(), headers));
        }
        if (commit) {
            producer.commitTransaction();
        } else {
            producer.flush(); // in the log, then aborted
            producer.abortTransaction();
        }
    }

    /** The error names the db, the offset of the record that revealed the problem and the reason; the position stays. */
    private static void assertHalted(ReplicaStatus status, Halt halt, Map<Crafted, Long> offsets) {
        long detectedAt = offsets.get(halt.script().find(Role.DETECTED));
        PagestreamException error = status.error();
        assertThat(error).as("%s: error", halt.dbId()).isInstanceOf(halt.type());
        assertThat(error.getMessage()).as("%s: error message", halt.dbId())
                .contains(halt.dbId())
                .containsPattern("(@|offset )" + detectedAt + "(?!\\d)")
                .contains(halt.reason());
        if (error instanceof PositionMismatchException mismatch) {
            assertThat(mismatch.expectedLsn()).isEqualTo(halt.lastGoodLsn() + 1);
            assertThat(mismatch.actualLsn()).isEqualTo(halt.lastGoodLsn() + 2);
        }
        assertThat(status.position().lsn()).as("%s: position", halt.dbId()).isEqualTo(halt.lastGoodLsn());
        assertThat(status.position().offset()).as("%s: offset of its last good record", halt.dbId())
                .isEqualTo(offsets.get(halt.script().find(Role.LAST_GOOD)));
    }

    /** Compared once the replica is closed: reading a file with Java while it runs would drop its locks. */
    private static void assertReplicaFiles(CapturedJournal journal, Path replicaDir, List<Halt> halts) {
        for (Halt halt : halts) {
            assertThat(sha256(replicaDir.resolve(halt.dbId()))).as("replica of %s at LSN %d", halt.dbId(), halt.lastGoodLsn())
                    .isEqualTo(journal.writerHash(halt.dbId(), halt.lastGoodLsn()));
        }
        for (String dbId : List.of(HEALTHY, DUPLICATES)) {
            assertThat(sha256(replicaDir.resolve(dbId))).as("replica of %s", dbId).isEqualTo(journal.writerHash(dbId, ENTRIES));
        }
        assertThat(Files.exists(replicaDir.resolve(UNFOLLOWED))).as("no replica of a database not followed").isFalse();
    }

    /**
     * The same {@value #ENTRIES} transactions on every database: small inserts, a 60 KB blob at LSN 5 (fragmented),
     * and a 6 KB blob of random bytes at LSN 6 (whole-page deltas).
     */
    private static void write(CapturedJournal journal, String dbId) throws Exception {
        try (Connection c = journal.connect(dbId)) {
            exec(c, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, b BLOB)");
            for (int lsn = 2; lsn <= ENTRIES; lsn++) {
                int blob = lsn == FRAGMENTED_LSN ? 60_000 : lsn == WHOLE_PAGE_LSN ? 6_000 : 100;
                exec(c, "INSERT INTO t(v, b) VALUES ('" + dbId + " " + lsn + "', randomblob(" + blob + "))");
            }
        }
        assertThat(journal.recordsByEntry(dbId)).as("entries of %s", dbId).hasSize(ENTRIES);
    }

    /** Entry 8 before entry 7. */
    private static Halt swapped(CapturedJournal journal) {
        Script script = new Script(SWAPPED, journal).entries(1, 6).lastGood().entries(8, 8).detected().entries(7, 7)
                .entries(9, FIRST_PHASE_ENTRIES);
        return new Halt(script, PositionMismatchException.class, "expected LSN 7, got 8", 6);
    }

    /** Entry 3 never arrives. */
    private static Halt gap(CapturedJournal journal) {
        Script script = new Script(GAP, journal).entries(1, 2).lastGood().entries(4, 4).detected()
                .entries(5, FIRST_PHASE_ENTRIES);
        return new Halt(script, PositionMismatchException.class, "expected LSN 3, got 4", 2);
    }

    /** Entry 4 cut in half. */
    private static Halt truncated(CapturedJournal journal) {
        Script script = new Script(TRUNCATED, journal).entries(1, 3).lastGood();
        Crafted whole = Crafted.genuine(script.entry(4).getFirst());
        script.add(whole.withValue(Arrays.copyOf(whole.value(), whole.value().length / 2)).as(Role.DETECTED))
                .entries(5, FIRST_PHASE_ENTRIES);
        return new Halt(script, CorruptEntryException.class, "does not decode", 3);
    }

    /** One bit of a page of entry 6 flipped: the record still decodes, the entry does not verify. */
    private static Halt bitFlipped(CapturedJournal journal) {
        Script script = new Script(BIT_FLIPPED, journal).entries(1, WHOLE_PAGE_LSN - 1).lastGood();
        script.add(bitFlipInAWholePage(script.entry(WHOLE_PAGE_LSN)).as(Role.DETECTED))
                .entries(WHOLE_PAGE_LSN + 1, FIRST_PHASE_ENTRIES);
        return new Halt(script, ChecksumMismatchException.class, "post-apply checksum does not match", WHOLE_PAGE_LSN - 1);
    }

    /** One bit of the second fragment of entry 5 flipped: found when the last fragment completes the entry. */
    private static Halt flippedFragment(CapturedJournal journal) {
        Script script = new Script(FLIPPED_FRAGMENT, journal).entries(1, FRAGMENTED_LSN - 1).lastGood();
        List<JournalRecord> fragments = script.entry(FRAGMENTED_LSN);
        for (int index = 0; index < fragments.size(); index++) {
            Crafted fragment = Crafted.genuine(fragments.get(index));
            if (index == 1) {
                // The chunk is the fragment's last field: flip a bit near the value's end.
                fragment = fragment.withValue(flipBit(fragment.value(), fragment.value().length - 100));
            }
            script.add(index == fragments.size() - 1 ? fragment.as(Role.DETECTED) : fragment);
        }
        script.entries(FRAGMENTED_LSN + 1, FIRST_PHASE_ENTRIES);
        return new Halt(script, CorruptEntryException.class, "fails its length or CRC32C check", FRAGMENTED_LSN - 1);
    }

    /** A well-formed Avro record of another schema where entry 4 should be. */
    private static Halt foreignSchema(CapturedJournal journal) throws Exception {
        Script script = new Script(FOREIGN_SCHEMA, journal).entries(1, 3).lastGood()
                .add(new Crafted(FOREIGN_SCHEMA, foreignRecord(), List.of(), Role.DETECTED))
                .entries(4, FIRST_PHASE_ENTRIES);
        return new Halt(script, CorruptEntryException.class, "foreign schema", 3);
    }

    /** The fragments of entry 5 in the order 0, 2, 1, 3... */
    private static Halt fragmentsReordered(CapturedJournal journal) {
        Script script = new Script(FRAGMENTS_REORDERED, journal).entries(1, FRAGMENTED_LSN - 1).lastGood();
        List<JournalRecord> fragments = script.entry(FRAGMENTED_LSN);
        script.add(Crafted.genuine(fragments.get(0))).add(Crafted.genuine(fragments.get(2)).as(Role.DETECTED))
                .add(Crafted.genuine(fragments.get(1)));
        fragments.subList(3, fragments.size()).forEach(fragment -> script.add(Crafted.genuine(fragment)));
        script.entries(FRAGMENTED_LSN + 1, FIRST_PHASE_ENTRIES);
        return new Halt(script, MissingFragmentException.class, "missing fragment 1/", FRAGMENTED_LSN - 1);
    }

    /** The fragments of entry 5 without the first. */
    private static Halt firstFragmentMissing(CapturedJournal journal) {
        Script script = new Script(FIRST_FRAGMENT_MISSING, journal).entries(1, FRAGMENTED_LSN - 1).lastGood();
        List<JournalRecord> fragments = script.entry(FRAGMENTED_LSN);
        script.add(Crafted.genuine(fragments.get(1)).as(Role.DETECTED));
        fragments.subList(2, fragments.size()).forEach(fragment -> script.add(Crafted.genuine(fragment)));
        script.entries(FRAGMENTED_LSN + 1, FIRST_PHASE_ENTRIES);
        return new Halt(script, MissingFragmentException.class, "without the fragments before it", FRAGMENTED_LSN - 1);
    }

    /** Entry 7 of another writer's history of the same db id: the right LSN, the wrong pre-image. */
    private static Halt otherHistory(CapturedJournal journal, List<JournalRecord> otherSeven) {
        Script script = new Script(OTHER_HISTORY, journal).entries(1, 6).lastGood();
        assertThat(CapturedJournal.entries(otherSeven).getFirst().getPreChecksum()).as("the other history's pre-image")
                .isNotEqualTo(CapturedJournal.entries(script.entry(6)).getFirst().getPostChecksum());
        otherSeven.forEach(record -> script.add(Crafted.genuine(record)));
        script.detected().entries(7, FIRST_PHASE_ENTRIES);
        return new Halt(script, ChecksumMismatchException.class, "pre-apply checksum does not match", 6);
    }

    /** The entry's record with one bit flipped inside a page carried whole: it still decodes, but does not verify. */
    private static Crafted bitFlipInAWholePage(List<JournalRecord> entry) {
        assertThat(entry).as("LSN %d in one record", WHOLE_PAGE_LSN).hasSize(1);
        JournalRecord record = entry.getFirst();
        PageDelta page = CapturedJournal.entries(entry).getFirst().getDeltas().stream()
                .filter(delta -> delta.getEncoding() == DeltaEncoding.PAGE).findFirst().orElseThrow();
        byte[] data = bytes(page.getData());
        int at = indexOf(record.value(), data);
        assertThat(at).as("page %d's bytes within the record", page.getPgno()).isPositive();
        byte[] flipped = flipBit(record.value(), at + data.length / 2);
        JournalCodec.decode(flipped, "the flipped record");
        return Crafted.genuine(record).withValue(flipped);
    }

    /** A well-formed Avro single-object record of some other schema. */
    private static byte[] foreignRecord() throws Exception {
        Schema schema = new Schema.Parser().parse("{\"type\": \"record\", \"name\": \"Invoice\", \"namespace\": \"com.example\","
                + " \"fields\": [{\"name\": \"id\", \"type\": \"long\"}, {\"name\": \"customer\", \"type\": \"string\"}]}");
        GenericRecord invoice = new GenericData.Record(schema);
        invoice.put("id", 42L);
        invoice.put("customer", "ACME");
        byte[] value = bytes(new BinaryMessageEncoder<GenericRecord>(GenericData.get(), schema).encode(invoice));
        assertThat(value[0]).isEqualTo(JournalContract.MAGIC_0);
        return value;
    }

    private static byte[] bytes(ByteBuffer buffer) {
        byte[] bytes = new byte[buffer.remaining()];
        buffer.duplicate().get(bytes);
        return bytes;
    }

    private static byte[] flipBit(byte[] value, int at) {
        byte[] flipped = value.clone();
        flipped[at] ^= 0x08;
        return flipped;
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            if (Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) {
                return i;
            }
        }
        return -1;
    }

    /** The scripts' records taken in turn, one at a time: a database's fragments interleave with other databases' records. */
    private static List<Crafted> interleave(Iterable<Script> scripts) {
        List<Crafted> topic = new ArrayList<>();
        boolean any = true;
        for (int index = 0; any; index++) {
            any = false;
            for (Script script : scripts) {
                if (index < script.records.size()) {
                    topic.add(script.records.get(index));
                    any = true;
                }
            }
        }
        return topic;
    }

    private static Map<Crafted, Long> produce(List<Crafted> records) throws Exception {
        return produce(TOPIC, records);
    }

    /** Writes the records, in order, into the topic's single partition; returns each one's offset. */
    private static Map<Crafted, Long> produce(String topic, List<Crafted> records) throws Exception {
        Map<String, Object> settings = Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                ProducerConfig.ACKS_CONFIG, "all");
        Map<Crafted, Long> offsets = new IdentityHashMap<>();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(settings, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            List<Future<RecordMetadata>> sent = new ArrayList<>();
            for (Crafted record : records) {
                RecordHeaders headers = new RecordHeaders();
                record.headers().forEach(header -> headers.add(header.name(), header.value()));
                byte[] key = record.dbId() == null ? null : record.dbId().getBytes(StandardCharsets.UTF_8);
                sent.add(producer.send(new ProducerRecord<>(topic, 0, key, record.value(), headers)));
            }
            producer.flush();
            for (int i = 0; i < records.size(); i++) {
                offsets.put(records.get(i), sent.get(i).get().offset());
            }
        }
        return offsets;
    }

    private static void createTopic() throws Exception {
        createTopic(TOPIC);
    }

    private static void createTopic(String topic) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
        }
    }
}
