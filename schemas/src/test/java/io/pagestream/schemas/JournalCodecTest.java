package io.pagestream.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import io.pagestream.schemas.avro.JournalEntry;
import io.pagestream.schemas.avro.JournalFragment;
import io.pagestream.schemas.avro.PageDelta;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageEncoder;
import org.junit.jupiter.api.Test;

/**
 * Encoding, fragmenting and decoding of journal records. Randomized parts name the seed in every
 * assertion; replay with {@code ./mvnw -pl schemas test -Dtest=JournalCodecTest -Dpagestream.seed=N}.
 */
class JournalCodecTest {
    private static final long SEED = TestPages.seed();
    private static final String ORIGIN = "pagestream.journal-3@1234";
    private static final int LIMIT = 64 * 1024;

    // ---- whole entries ----

    @Test
    void entryRoundTrips() {
        Random rnd = new Random(SEED);
        for (int round = 0; round < 50; round++) {
            JournalEntry entry = randomEntry(rnd, "db-" + round, 1 + rnd.nextInt(1000), 1 + rnd.nextInt(20));
            String what = "seed %d round %d".formatted(SEED, round);
            byte[] encoded = JournalCodec.encodeEntry(entry);
            assertThat(encoded[0]).as(what).isEqualTo(JournalContract.MAGIC_0);
            assertThat(encoded[1]).as(what).isEqualTo(JournalContract.MAGIC_1);

            DecodedRecord decoded = JournalCodec.decode(encoded, ORIGIN);

            assertThat(decoded).as(what).isInstanceOf(DecodedRecord.Whole.class);
            assertThat(((DecodedRecord.Whole) decoded).entry()).as(what).isEqualTo(entry);
            assertThat(decoded.dbId()).as(what).isEqualTo(entry.getDbId());
            assertThat(decoded.lsn()).as(what).isEqualTo(entry.getLsn());
            assertThat(JournalCodec.decodeEntry(encoded, ORIGIN)).as(what).isEqualTo(entry);
            // Round trip through the assembler too.
            assertThat(new FragmentAssembler().accept(decoded, ORIGIN)).as(what).contains(entry);
        }
    }

    @Test
    void anEntryWrittenDeltaByDeltaIsEncodedAsAWholeOneAndItsStartReadsBack() throws IOException {
        Random rnd = new Random(SEED);
        for (int deltas : new int[] {0, 1, 7}) {
            JournalEntry entry = randomEntry(rnd, "orders.db", 9, deltas);
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            JournalCodec.writeEntry(entry, entry.getDeltas().size(), entry.getDeltas().iterator(), out);
            assertThat(out.toByteArray()).as("seed %d, %d deltas", SEED, deltas).isEqualTo(JournalCodec.encodeEntry(entry));

            JournalEntry start = JournalCodec.readEntryStart(new java.io.ByteArrayInputStream(out.toByteArray()), 1, ORIGIN);
            assertThat(start.getPostChecksum()).isEqualTo(entry.getPostChecksum());
            assertThat(start.getDeltas()).isEqualTo(entry.getDeltas().subList(0, Math.min(1, deltas)));
        }
    }

    @Test
    void anAssemblerOfFieldsOnlyChecksEveryFragmentAndKeepsNoPages() {
        Random rnd = new Random(SEED);
        JournalEntry entry = bigEntry(rnd, "db", 10);
        List<JournalRecord> records = JournalCodec.toRecords(entry, LIMIT);
        FragmentAssembler assembler = FragmentAssembler.fieldsOnly();
        Optional<JournalEntry> complete = Optional.empty();
        for (JournalRecord record : records) {
            complete = assembler.accept(JournalCodec.decode(record.value(), ORIGIN), ORIGIN);
        }
        assertThat(complete).as("seed %d", SEED).isPresent();
        assertThat(complete.get().getPostChecksum()).isEqualTo(entry.getPostChecksum());
        assertThat(complete.get().getLsn()).isEqualTo(10);
        assertThat(complete.get().getDeltas()).isEmpty();

        byte[] damaged = records.get(1).value().clone();
        damaged[damaged.length - 1] ^= 1;
        assembler.accept(JournalCodec.decode(records.getFirst().value(), ORIGIN), ORIGIN);
        assembler.accept(JournalCodec.decode(damaged, ORIGIN), ORIGIN);
        assertThatThrownBy(() -> {
            for (JournalRecord record : records.subList(2, records.size())) {
                assembler.accept(JournalCodec.decode(record.value(), ORIGIN), ORIGIN);
            }
        }).isInstanceOf(CorruptEntryException.class).hasMessageContaining("CRC32C");
    }

    @Test
    void fragmentsReadFromSlicesEqualThoseOfTheEncodedEntry() {
        Random rnd = new Random(SEED);
        JournalEntry entry = bigEntry(rnd, "db", 10);
        byte[] encoded = JournalCodec.encodeEntry(entry);
        List<JournalRecord> expected = JournalCodec.toRecords(entry, LIMIT);
        JournalEntry fields = new JournalEntry(entry.getDbId(), entry.getLsn(), entry.getBase(), entry.getPreChecksum(),
                entry.getPostChecksum(), entry.getPageSize(), entry.getPageCount(), entry.getCommitTimeMillis(), List.of());
        List<JournalRecord> sliced = JournalCodec.toRecords(fields, encoded.length, JournalCodec.crc32c(encoded),
                (offset, length) -> ByteBuffer.wrap(Arrays.copyOfRange(encoded, (int) offset, (int) offset + length)), LIMIT);
        assertThat(sliced).as("seed %d", SEED).hasSize(expected.size()).hasSizeGreaterThan(1);
        for (int i = 0; i < expected.size(); i++) {
            assertThat(sliced.get(i).value()).isEqualTo(expected.get(i).value());
            assertThat(headers(sliced.get(i))).isEqualTo(headers(expected.get(i)));
        }
    }

    @Test
    void wholeEntryRecordCarriesHeaders() {
        Random rnd = new Random(SEED);
        JournalEntry entry = randomEntry(rnd, "orders.db", 42, 3);
        entry.setPreChecksum(0x1L);
        entry.setPostChecksum(0xFEDCBA9876543210L);

        List<JournalRecord> records = JournalCodec.toRecords(entry, LIMIT);

        assertThat(records).as("seed %d", SEED).hasSize(1);
        JournalRecord record = records.getFirst();
        assertThat(record.key()).isEqualTo("orders.db");
        assertThat(record.keyBytes()).isEqualTo("orders.db".getBytes(StandardCharsets.UTF_8));
        assertThat(record.value()).isEqualTo(JournalCodec.encodeEntry(entry));
        Map<String, String> headers = headers(record);
        assertThat(headers).containsOnlyKeys(JournalContract.HEADER_DB_ID, JournalContract.HEADER_LSN,
                JournalContract.HEADER_PRE_CHECKSUM, JournalContract.HEADER_POST_CHECKSUM);
        assertThat(headers.get("ps.db")).isEqualTo("orders.db");
        assertThat(headers.get("ps.lsn")).isEqualTo("42");
        assertThat(headers.get("ps.pre")).isEqualTo("0000000000000001").matches("[0-9a-f]{16}");
        assertThat(headers.get("ps.post")).isEqualTo("fedcba9876543210").matches("[0-9a-f]{16}");
        assertThat(record.serializedSize()).isGreaterThan(record.value().length);
        assertThat(JournalCodec.decodeEntry(record.value(), ORIGIN)).isEqualTo(entry);
    }

    @Test
    void nonAsciiDbIdHeaderIsNotMangled() {
        Random rnd = new Random(SEED);
        JournalEntry first = randomEntry(rnd, "é.db", 1, 1);
        JournalEntry second = randomEntry(rnd, "è.db", 1, 1);
        String firstHeader = headers(JournalCodec.toRecords(first, LIMIT).getFirst()).get("ps.db");
        String secondHeader = headers(JournalCodec.toRecords(second, LIMIT).getFirst()).get("ps.db");
        assertThat(firstHeader).doesNotContain("?").isNotEqualTo(secondHeader);
    }

    @Test
    void entryExactlyAtTheLimitIsNotFragmented() {
        JournalEntry entry = bigEntry(new Random(SEED), "db", 1);
        int length = JournalCodec.encodeEntry(entry).length;
        assertThat(JournalCodec.toRecords(entry, length)).as("seed %d", SEED).hasSize(1);
        List<JournalRecord> fragmented = JournalCodec.toRecords(entry, length - 1);
        assertThat(fragmented).as("seed %d", SEED).hasSize(2);
        assertThat(fragmented).allSatisfy(record -> assertThat(record.value().length).isLessThanOrEqualTo(length - 1));
    }

    // ---- fragments ----

    @Test
    void largeEntryIsFragmentedAndReassembled() {
        Random rnd = new Random(SEED);
        for (int round = 0; round < 3; round++) {
            int pageSize = 4096;
            List<PageDelta> deltas = new ArrayList<>();
            int pages = 60 + rnd.nextInt(30); // ~240..360 KiB of incompressible pages
            for (int pgno = 1; pgno <= pages; pgno++) {
                deltas.add(PageDiff.fullPage(pgno, TestPages.randomPage(rnd, pageSize)));
            }
            String dbId = round == 2 ? "données/ünïcödé-" + "x".repeat(200) : "big-" + round;
            JournalEntry entry = TestPages.entry(dbId, 7 + round, round == 0, 0, rnd.nextLong(), pageSize, pages, deltas);
            int encodedLength = JournalCodec.encodeEntry(entry).length;
            String what = "seed %d round %d (%d encoded bytes)".formatted(SEED, round, encodedLength);

            List<JournalRecord> records = JournalCodec.toRecords(entry, LIMIT);

            assertThat(records.size()).as(what).isGreaterThanOrEqualTo((encodedLength + LIMIT - 1) / LIMIT).isGreaterThan(1);
            FragmentAssembler assembler = new FragmentAssembler();
            Optional<JournalEntry> result = Optional.empty();
            for (int i = 0; i < records.size(); i++) {
                JournalRecord record = records.get(i);
                assertThat(record.value().length).as("%s: fragment %d", what, i).isLessThanOrEqualTo(LIMIT);
                assertThat(record.key()).as(what).isEqualTo(dbId);
                Map<String, String> headers = headers(record);
                if (StandardCharsets.US_ASCII.newEncoder().canEncode(dbId)) {
                    assertThat(headers).as(what).containsEntry("ps.db", dbId);
                } else {
                    assertThat(headers).as(what).containsKey("ps.db"); // see nonAsciiDbIdHeaderIsNotMangled
                }
                assertThat(headers).as(what)
                        .containsEntry("ps.lsn", Long.toString(entry.getLsn()))
                        .containsEntry("ps.frag", i + "/" + records.size());
                DecodedRecord decoded = JournalCodec.decode(record.value(), ORIGIN);
                assertThat(decoded).as(what).isInstanceOf(DecodedRecord.Fragment.class);
                assertThat(decoded.dbId()).as(what).isEqualTo(dbId);
                assertThat(decoded.lsn()).as(what).isEqualTo(entry.getLsn());
                JournalFragment fragment = ((DecodedRecord.Fragment) decoded).fragment();
                assertThat(fragment.getIndex()).as(what).isEqualTo(i);
                assertThat(fragment.getCount()).as(what).isEqualTo(records.size());
                assertThat(fragment.getEntryLength()).as(what).isEqualTo(encodedLength);
                assertThat(result).as("%s: nothing before the last fragment", what).isEmpty();
                result = assembler.accept(decoded, ORIGIN);
                assertThat(assembler.isIncomplete()).as(what).isEqualTo(i < records.size() - 1);
            }
            assertThat(result).as(what).contains(entry);
            // The last fragment carries the checksums, so console tools see them once per entry.
            Map<String, String> last = headers(records.getLast());
            assertThat(last).as(what).containsEntry("ps.pre", JournalContract.hex(entry.getPreChecksum()))
                    .containsEntry("ps.post", JournalContract.hex(entry.getPostChecksum()));
        }
    }

    @Test
    void assemblerHandlesConsecutiveEntries() {
        Random rnd = new Random(SEED);
        FragmentAssembler assembler = new FragmentAssembler();
        List<JournalEntry> entries = List.of(bigEntry(rnd, "db", 1), randomEntry(rnd, "db", 2, 2), bigEntry(rnd, "db", 3),
                bigEntry(rnd, "db", 4));
        List<JournalEntry> out = new ArrayList<>();
        for (JournalEntry entry : entries) {
            for (JournalRecord record : JournalCodec.toRecords(entry, LIMIT)) {
                assembler.accept(JournalCodec.decode(record.value(), ORIGIN), ORIGIN).ifPresent(out::add);
            }
        }
        assertThat(out).as("seed %d", SEED).isEqualTo(entries);
    }

    @Test
    void tooSmallLimitIsAConfigError() {
        JournalEntry entry = bigEntry(new Random(SEED), "db", 1);
        assertThatThrownBy(() -> JournalCodec.toRecords(entry, 1000))
                .isInstanceOf(PagestreamConfigException.class)
                .hasMessageContaining("1000");
    }

    @Test
    void fragmentOutOfOrderIsRejected() {
        List<DecodedRecord> fragments = fragments(bigEntry(new Random(SEED), "db", 5));
        FragmentAssembler assembler = new FragmentAssembler();
        assertThatThrownBy(() -> assembler.accept(fragments.get(1), ORIGIN))
                .as("seed %d", SEED)
                .isInstanceOf(MissingFragmentException.class)
                .hasMessageContaining(ORIGIN)
                .hasMessageContaining("db@5")
                .hasMessageContaining("fragment 1/" + fragments.size());
        assertThat(assembler.isIncomplete()).isFalse();
    }

    @Test
    void missingFragmentIsRejected() {
        List<DecodedRecord> fragments = fragments(bigEntry(new Random(SEED), "db", 5));
        assertThat(fragments.size()).as("seed %d", SEED).isGreaterThanOrEqualTo(3);
        FragmentAssembler assembler = new FragmentAssembler();
        assertThat(assembler.accept(fragments.get(0), ORIGIN)).isEmpty();
        assertThatThrownBy(() -> assembler.accept(fragments.get(2), ORIGIN))
                .as("seed %d", SEED)
                .isInstanceOf(MissingFragmentException.class)
                .hasMessageContaining(ORIGIN)
                .hasMessageContaining("missing fragment 1/" + fragments.size());
        // The assembler starts over afterwards: a complete sequence is accepted.
        assertThat(assembler.isIncomplete()).isFalse();
        Optional<JournalEntry> result = Optional.empty();
        for (DecodedRecord fragment : fragments) {
            result = assembler.accept(fragment, ORIGIN);
        }
        assertThat(result).isPresent();
    }

    @Test
    void duplicateFragmentIsRejected() {
        List<DecodedRecord> fragments = fragments(bigEntry(new Random(SEED), "db", 5));
        FragmentAssembler assembler = new FragmentAssembler();
        assembler.accept(fragments.get(0), ORIGIN);
        assembler.accept(fragments.get(1), ORIGIN);
        assertThatThrownBy(() -> assembler.accept(fragments.get(1), ORIGIN))
                .isInstanceOf(MissingFragmentException.class)
                .hasMessageContaining(ORIGIN)
                .hasMessageContaining("missing fragment 2/");
    }

    @Test
    void wholeEntryDuringIncompleteSequenceIsRejected() {
        Random rnd = new Random(SEED);
        List<DecodedRecord> fragments = fragments(bigEntry(rnd, "db", 5));
        JournalEntry small = randomEntry(rnd, "db", 6, 2);
        FragmentAssembler assembler = new FragmentAssembler();
        assembler.accept(fragments.get(0), ORIGIN);
        assertThat(assembler.isIncomplete()).isTrue();
        assertThatThrownBy(() -> assembler.accept(new DecodedRecord.Whole(small), ORIGIN))
                .as("seed %d", SEED)
                .isInstanceOf(MissingFragmentException.class)
                .hasMessageContaining(ORIGIN)
                .hasMessageContaining("missing fragment 1/")
                .hasMessageContaining("entry db@6 arrived");
        assertThat(assembler.isIncomplete()).isFalse();
    }

    @Test
    void fragmentOfAnotherEntryDuringIncompleteSequenceIsRejected() {
        Random rnd = new Random(SEED);
        List<DecodedRecord> first = fragments(bigEntry(rnd, "db", 5));
        List<DecodedRecord> second = fragments(bigEntry(rnd, "db", 6));
        FragmentAssembler assembler = new FragmentAssembler();
        assembler.accept(first.get(0), ORIGIN);
        assertThatThrownBy(() -> assembler.accept(second.get(1), ORIGIN))
                .isInstanceOf(MissingFragmentException.class)
                .hasMessageContaining("db@5");
    }

    @Test
    void fragmentWithMismatchedCrcIsRejected() {
        List<DecodedRecord> fragments = fragments(bigEntry(new Random(SEED), "db", 5));
        // One fragment disagrees with the first about the entry's CRC.
        FragmentAssembler assembler = new FragmentAssembler();
        assembler.accept(fragments.get(0), ORIGIN);
        DecodedRecord odd = reencode(fragments.get(1), f -> f.setEntryCrc32c(f.getEntryCrc32c() ^ 1));
        assertThatThrownBy(() -> assembler.accept(odd, ORIGIN))
                .isInstanceOf(PagestreamException.class)
                .hasMessageContaining(ORIGIN)
                .hasMessageContaining("db@5");
        assertThat(assembler.isIncomplete()).isFalse();

        // Every fragment agrees on a CRC the reassembled entry does not have.
        FragmentAssembler second = new FragmentAssembler();
        assertThatThrownBy(() -> {
            for (DecodedRecord fragment : fragments) {
                second.accept(reencode(fragment, f -> f.setEntryCrc32c(f.getEntryCrc32c() ^ 0x10000)), ORIGIN);
            }
        }).isInstanceOf(CorruptEntryException.class).hasMessageContaining(ORIGIN).hasMessageContaining("CRC32C");
        assertThat(second.isIncomplete()).isFalse();
    }

    @Test
    void damagedChunkFailsTheCrc() {
        List<DecodedRecord> fragments = fragments(bigEntry(new Random(SEED), "db", 5));
        FragmentAssembler assembler = new FragmentAssembler();
        assertThatThrownBy(() -> {
            for (int i = 0; i < fragments.size(); i++) {
                DecodedRecord fragment = i != 1 ? fragments.get(i) : reencode(fragments.get(i), f -> {
                    byte[] chunk = PageDiff.bytes(f.getChunk());
                    chunk[chunk.length / 2] ^= 0x40;
                    f.setChunk(ByteBuffer.wrap(chunk));
                });
                assembler.accept(fragment, ORIGIN);
            }
        }).isInstanceOf(CorruptEntryException.class).hasMessageContaining(ORIGIN).hasMessageContaining("CRC32C");
    }

    @Test
    void fragmentsLongerThanTheEntryAreRejected() {
        List<DecodedRecord> fragments = fragments(bigEntry(new Random(SEED), "db", 5));
        FragmentAssembler assembler = new FragmentAssembler();
        assertThatThrownBy(() -> {
            for (DecodedRecord fragment : fragments) {
                assembler.accept(reencode(fragment, f -> f.setEntryLength(f.getEntryLength() - 1)), ORIGIN);
            }
        }).isInstanceOf(CorruptEntryException.class).hasMessageContaining(ORIGIN).hasMessageContaining("exceed the entry length");
    }

    @Test
    void invalidFragmentFieldsAreRejected() {
        DecodedRecord valid = fragments(bigEntry(new Random(SEED), "db", 5)).get(0);
        for (var change : List.<java.util.function.Consumer<JournalFragment>>of(
                f -> f.setCount(1), f -> f.setIndex(-1), f -> f.setIndex(f.getCount()), f -> f.setEntryLength(0))) {
            JournalFragment fragment = TestPages.copy(((DecodedRecord.Fragment) valid).fragment());
            change.accept(fragment);
            assertThatThrownBy(() -> JournalCodec.decode(encode(fragment), ORIGIN))
                    .isInstanceOf(CorruptEntryException.class)
                    .hasMessageContaining(ORIGIN)
                    .hasMessageContaining("invalid fragment");
        }
    }

    @Test
    void fragmentsHoldingAFragmentAreRejected() {
        // A (strange) producer that fragments a fragment record: the reassembled value is not an entry.
        DecodedRecord inner = fragments(bigEntry(new Random(SEED), "db", 5)).get(0);
        byte[] innerValue = encode(((DecodedRecord.Fragment) inner).fragment());
        int half = innerValue.length / 2;
        int crc = JournalCodec.crc32c(innerValue);
        FragmentAssembler assembler = new FragmentAssembler();
        assembler.accept(new DecodedRecord.Fragment(new JournalFragment("db", 5L, 0, 2, innerValue.length, crc,
                ByteBuffer.wrap(innerValue, 0, half))), ORIGIN);
        assertThatThrownBy(() -> assembler.accept(new DecodedRecord.Fragment(new JournalFragment("db", 5L, 1, 2, innerValue.length,
                crc, ByteBuffer.wrap(innerValue, half, innerValue.length - half))), ORIGIN))
                .isInstanceOf(CorruptEntryException.class)
                .hasMessageContaining(ORIGIN)
                .hasMessageContaining("not an entry");
    }

    // ---- rejected record values ----

    @Test
    void nullAndShortValuesAreRejected() {
        assertThatThrownBy(() -> JournalCodec.decode(null, ORIGIN))
                .isInstanceOf(CorruptEntryException.class)
                .hasMessageContaining(ORIGIN)
                .hasMessageContaining("null");
        for (int length = 0; length < JournalContract.SINGLE_OBJECT_HEADER_LENGTH; length++) {
            byte[] value = Arrays.copyOf(new byte[] {JournalContract.MAGIC_0, JournalContract.MAGIC_1, 1, 2, 3, 4, 5, 6, 7, 8}, length);
            assertThatThrownBy(() -> JournalCodec.decode(value, ORIGIN))
                    .isInstanceOf(CorruptEntryException.class)
                    .hasMessageContaining(ORIGIN)
                    .hasMessageContaining(length + " bytes")
                    .hasMessageContaining("too short");
        }
    }

    @Test
    void wrongMagicIsRejected() {
        byte[] valid = JournalCodec.encodeEntry(randomEntry(new Random(SEED), "db", 1, 1));
        byte[] json = "{\"dbId\":\"db\",\"lsn\":1}".getBytes(StandardCharsets.UTF_8);
        byte[] secondByte = valid.clone();
        secondByte[1] = 0x02;
        for (byte[] value : List.of(json, secondByte)) {
            assertThatThrownBy(() -> JournalCodec.decode(value, ORIGIN))
                    .isInstanceOf(CorruptEntryException.class)
                    .hasMessageContaining(ORIGIN)
                    .hasMessageContaining("wrong magic")
                    .hasMessageContaining("not a Pagestream journal record");
        }
    }

    @Test
    void bytesAfterTheAvroBodyAreRejected() {
        Random rnd = new Random(SEED);
        byte[] entry = JournalCodec.encodeEntry(randomEntry(rnd, "db", 7, 3));
        byte[] fragment = JournalCodec.toRecords(randomEntry(rnd, "db", 8, 40), 8 * 1024).getFirst().value();
        for (byte[] valid : List.of(entry, fragment)) {
            for (int extra : new int[] {1, 2, 100}) {
                byte[] padded = Arrays.copyOf(valid, valid.length + extra);
                assertThatThrownBy(() -> JournalCodec.decode(padded, ORIGIN))
                        .as("seed %d, %d extra bytes", SEED, extra)
                        .isInstanceOf(CorruptEntryException.class)
                        .hasMessageContaining(ORIGIN)
                        .hasMessageContaining(extra + " bytes after the record's Avro body");
            }
        }
    }

    @Test
    void decodingNeedsNoTrustedPackagesSetting() {
        // The build runs every test without org.apache.avro.SERIALIZABLE_PACKAGES: an application will not set it.
        assertThat(System.getProperty("org.apache.avro.SERIALIZABLE_PACKAGES")).isNull();
        JournalEntry entry = randomEntry(new Random(SEED), "db", 1, 2);
        assertThat(JournalCodec.decodeEntry(JournalCodec.encodeEntry(entry), ORIGIN)).isEqualTo(entry);
    }

    @Test
    void foreignSchemaIsRejected() throws IOException {
        Schema foreign = SchemaBuilder.record("Order").namespace("com.example").fields()
                .requiredString("id").requiredLong("amount").endRecord();
        GenericRecord order = new GenericData.Record(foreign);
        order.put("id", "o-1");
        order.put("amount", 42L);
        ByteBuffer buffer = new BinaryMessageEncoder<GenericRecord>(GenericData.get(), foreign).encode(order);
        byte[] value = new byte[buffer.remaining()];
        buffer.get(value);
        assertThat(value[0]).isEqualTo(JournalContract.MAGIC_0);

        assertThatThrownBy(() -> JournalCodec.decode(value, ORIGIN))
                .isInstanceOf(CorruptEntryException.class)
                .hasMessageContaining(ORIGIN)
                .hasMessageContaining("foreign schema")
                .hasMessageContaining(JournalContract.hex(ByteBuffer.wrap(value, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong()));
    }

    @Test
    void foreignSchemaWithTheSameNameIsRejected() throws IOException {
        // An older or newer JournalEntry schema has a different fingerprint: refused, not misread.
        Schema other = SchemaBuilder.record("JournalEntry").namespace("io.pagestream.schemas.avro").fields()
                .requiredString("dbId").requiredLong("lsn").endRecord();
        GenericRecord record = new GenericData.Record(other);
        record.put("dbId", "db");
        record.put("lsn", 1L);
        ByteBuffer buffer = new BinaryMessageEncoder<GenericRecord>(GenericData.get(), other).encode(record);
        byte[] value = Arrays.copyOfRange(buffer.array(), buffer.arrayOffset() + buffer.position(), buffer.arrayOffset() + buffer.limit());
        assertThatThrownBy(() -> JournalCodec.decode(value, ORIGIN))
                .isInstanceOf(CorruptEntryException.class)
                .hasMessageContaining(ORIGIN)
                .hasMessageContaining("foreign schema");
    }

    @Test
    void truncatedRecordIsRejected() {
        Random rnd = new Random(SEED);
        JournalEntry entry = randomEntry(rnd, "db", 9, 4);
        byte[] valid = JournalCodec.encodeEntry(entry);
        for (int length = 0; length < valid.length; length++) {
            byte[] cut = Arrays.copyOf(valid, length);
            int l = length;
            assertThatThrownBy(() -> JournalCodec.decode(cut, ORIGIN))
                    .as("seed %d, cut to %d of %d bytes", SEED, l, valid.length)
                    .isInstanceOf(CorruptEntryException.class)
                    .hasMessageContaining(ORIGIN);
        }
        // A truncated fragment record too.
        byte[] fragment = JournalCodec.toRecords(bigEntry(rnd, "db", 10), LIMIT).get(1).value();
        for (int length : new int[] {11, 20, fragment.length / 2, fragment.length - 1}) {
            byte[] cut = Arrays.copyOf(fragment, length);
            assertThatThrownBy(() -> JournalCodec.decode(cut, ORIGIN))
                    .as("seed %d, fragment cut to %d", SEED, length)
                    .isInstanceOf(CorruptEntryException.class)
                    .hasMessageContaining(ORIGIN)
                    .hasMessageContaining("does not decode");
        }
    }

    /**
     * Flipped bits either fail decoding with a {@link PagestreamException} naming the origin, or decode
     * to an entry the applier verifies later (see JournalApplierTest); never any other exception.
     */
    @Test
    void bitFlippedRecordsFailCleanly() {
        Random rnd = new Random(SEED);
        List<byte[]> values = new ArrayList<>();
        values.add(JournalCodec.encodeEntry(randomEntry(rnd, "db", 9, 6)));
        values.add(JournalCodec.encodeEntry(randomEntry(rnd, "another-db", 123456789L, 1)));
        for (JournalRecord record : JournalCodec.toRecords(bigEntry(rnd, "db", 10), LIMIT)) {
            values.add(record.value());
        }
        int rejected = 0;
        int rounds = 0;
        // A flipped length can make Avro allocate up to ~2 GB before it hits the end of the value, which
        // takes a while: the rounds stop after a time budget to keep the run short.
        long deadline = System.nanoTime() + 700_000_000L;
        for (int round = 0; round < 3000 && (round < 150 || System.nanoTime() < deadline); round++) {
            rounds++;
            byte[] value = values.get(rnd.nextInt(values.size())).clone();
            int flips = 1 + rnd.nextInt(3);
            StringBuilder where = new StringBuilder();
            for (int i = 0; i < flips; i++) {
                // Favour the header and the fields before the bulk data, where flips change structure.
                int position = rnd.nextInt(3) == 0 ? rnd.nextInt(Math.min(value.length, 64)) : rnd.nextInt(value.length);
                int bit = rnd.nextInt(8);
                value[position] ^= (byte) (1 << bit);
                where.append(' ').append(position).append(':').append(bit);
            }
            String what = "seed %d round %d, flipped bits%s".formatted(SEED, round, where);
            try {
                DecodedRecord decoded = JournalCodec.decode(value, ORIGIN);
                if (decoded instanceof DecodedRecord.Whole whole) {
                    // Whatever decodes has passed validation.
                    JournalCodec.validate(whole.entry(), ORIGIN);
                }
            } catch (PagestreamException e) {
                assertThat(e).as(what).isInstanceOf(CorruptEntryException.class).hasMessageContaining(ORIGIN);
                rejected++;
            } catch (RuntimeException | Error e) {
                fail(what + ": expected a PagestreamException, got " + e, e);
            }
        }
        assertThat(rejected).as("seed %d: many flips are detected (%d rounds)", SEED, rounds).isGreaterThan(rounds / 10);
    }

    @Test
    void structurallyInvalidEntriesAreRejected() {
        Random rnd = new Random(SEED);
        Map<String, java.util.function.Consumer<JournalEntry>> cases = new LinkedHashMap<>();
        cases.put("empty db id", e -> e.setDbId(""));
        cases.put("LSN must be >= 1", e -> e.setLsn(0L));
        cases.put("negative page count", e -> e.setPageCount(-1));
        cases.put("invalid page size 4000", e -> e.setPageSize(4000));
        cases.put("invalid page size 131072", e -> e.setPageSize(131072));
        cases.put("base entry with a non-zero pre-checksum", e -> {
            e.setBase(true);
            e.setPreChecksum(5L);
        });
        cases.put("out of order or beyond page count", e -> e.setPageCount(e.getDeltas().getLast().getPgno() - 1));
        cases.put("page 0 out of order", e -> e.getDeltas().getFirst().setPgno(0));
        cases.put("out of order", e -> java.util.Collections.reverse(e.getDeltas()));
        cases.put("page 2 out of order", e -> {
            e.getDeltas().get(0).setPgno(2);
            e.getDeltas().get(1).setPgno(2);
        });
        for (Map.Entry<String, java.util.function.Consumer<JournalEntry>> c : cases.entrySet()) {
            JournalEntry entry = randomEntry(rnd, "db", 3, 3);
            c.getValue().accept(entry);
            byte[] value = JournalCodec.encodeEntry(entry);
            assertThatThrownBy(() -> JournalCodec.decode(value, ORIGIN))
                    .as("seed %d: %s", SEED, c.getKey())
                    .isInstanceOf(CorruptEntryException.class)
                    .hasMessageContaining(ORIGIN)
                    .hasMessageContaining(c.getKey());
        }
    }

    // ---- helpers ----

    /** A valid entry with {@code deltaCount} deltas of mixed encodings at ascending page numbers. */
    static JournalEntry randomEntry(Random rnd, String dbId, long lsn, int deltaCount) {
        int pageSize = TestPages.PAGE_SIZES[rnd.nextInt(4)];
        List<PageDelta> deltas = new ArrayList<>();
        int pgno = 0;
        for (int i = 0; i < deltaCount; i++) {
            pgno += 1 + rnd.nextInt(5);
            byte[] pre = TestPages.sparsePage(rnd, pageSize);
            byte[] post = pre.clone();
            post[rnd.nextInt(pageSize)] ^= 1;
            deltas.add(switch (i % 3) {
                case 0 -> PageDiff.encode(pgno, pre, post);
                case 1 -> PageDiff.fullPage(pgno, post);
                default -> PageDiff.encode(pgno, null, TestPages.randomPage(rnd, pageSize));
            });
        }
        return TestPages.entry(dbId, lsn, false, rnd.nextLong(), rnd.nextLong(), pageSize, pgno + rnd.nextInt(3), deltas);
    }

    /** An entry of ~300 KiB of incompressible pages: five or more fragments at a 64 KiB limit. */
    static JournalEntry bigEntry(Random rnd, String dbId, long lsn) {
        List<PageDelta> deltas = new ArrayList<>();
        for (int pgno = 1; pgno <= 75; pgno++) {
            deltas.add(PageDiff.fullPage(pgno, TestPages.randomPage(rnd, 4096)));
        }
        return TestPages.entry(dbId, lsn, false, rnd.nextLong(), rnd.nextLong(), 4096, 75, deltas);
    }

    private static List<DecodedRecord> fragments(JournalEntry entry) {
        List<DecodedRecord> out = new ArrayList<>();
        for (JournalRecord record : JournalCodec.toRecords(entry, LIMIT)) {
            out.add(JournalCodec.decode(record.value(), ORIGIN));
        }
        return out;
    }

    private static DecodedRecord reencode(DecodedRecord record, java.util.function.Consumer<JournalFragment> change) {
        JournalFragment copy = TestPages.copy(((DecodedRecord.Fragment) record).fragment());
        change.accept(copy);
        return JournalCodec.decode(encode(copy), ORIGIN);
    }

    private static byte[] encode(JournalFragment fragment) {
        try {
            ByteBuffer buffer = JournalFragment.getEncoder().encode(fragment);
            byte[] out = new byte[buffer.remaining()];
            buffer.get(out);
            return out;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static Map<String, String> headers(JournalRecord record) {
        Map<String, String> out = new LinkedHashMap<>();
        for (JournalRecord.Header header : record.headers()) {
            assertThat(out).as("duplicate header %s", header.name()).doesNotContainKey(header.name());
            out.put(header.name(), new String(header.value(), StandardCharsets.US_ASCII));
        }
        return out;
    }
}
