package io.pagestream.schemas;

import io.pagestream.schemas.avro.JournalEntry;
import io.pagestream.schemas.avro.JournalFragment;
import io.pagestream.schemas.avro.PageDelta;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificDatumReader;

/** Encodes entries into journal records (fragmenting large ones) and decodes record values. */
public final class JournalCodec {
    private static final long ENTRY_FINGERPRINT = SchemaNormalization.parsingFingerprint64(JournalEntry.getClassSchema());
    private static final long FRAGMENT_FINGERPRINT = SchemaNormalization.parsingFingerprint64(JournalFragment.getClassSchema());
    private static final BinaryMessageEncoder<JournalEntry> ENTRY_ENCODER = JournalEntry.getEncoder();
    private static final SpecificDatumReader<JournalEntry> ENTRY_READER = reader(JournalEntry.getClassSchema());
    private static final BinaryMessageEncoder<JournalFragment> FRAGMENT_ENCODER = JournalFragment.getEncoder();
    private static final SpecificDatumReader<JournalFragment> FRAGMENT_READER = reader(JournalFragment.getClassSchema());
    /** Room left in a fragment record for its own fields and framing. */
    private static final int FRAGMENT_OVERHEAD = 512;

    private JournalCodec() {}

    public static byte[] encodeEntry(JournalEntry entry) {
        try {
            return toArray(ENTRY_ENCODER.encode(entry));
        } catch (java.io.IOException e) {
            throw new PagestreamException("cannot encode entry " + entry.getDbId() + "@" + entry.getLsn(), e);
        }
    }

    /**
     * The records carrying an entry: one record, or consecutive fragments when the encoded entry is
     * larger than {@code maxRecordBytes}.
     */
    public static List<JournalRecord> toRecords(JournalEntry entry, int maxRecordBytes) {
        return toRecords(entry, encodeEntry(entry), maxRecordBytes);
    }

    /** {@link #toRecords(JournalEntry, int)} for an entry already encoded by {@link #encodeEntry}. */
    public static List<JournalRecord> toRecords(JournalEntry entry, byte[] encoded, int maxRecordBytes) {
        String dbId = entry.getDbId();
        String lsn = Long.toString(entry.getLsn());
        if (encoded.length <= maxRecordBytes) {
            return List.of(new JournalRecord(dbId, encoded, headers(entry, 0, 0)));
        }
        int chunkSize = maxRecordBytes - FRAGMENT_OVERHEAD - dbId.length() * 4;
        if (chunkSize < 1024) {
            throw new PagestreamConfigException("record limit " + maxRecordBytes + " bytes is too small to fragment entries");
        }
        int count = (encoded.length + chunkSize - 1) / chunkSize;
        int entryCrc = crc32c(encoded);
        List<JournalRecord> records = new ArrayList<>(count);
        for (int index = 0; index < count; index++) {
            int from = index * chunkSize;
            int to = Math.min(encoded.length, from + chunkSize);
            JournalFragment fragment = new JournalFragment(dbId, entry.getLsn(), index, count, encoded.length, entryCrc,
                    ByteBuffer.wrap(encoded, from, to - from));
            byte[] value;
            try {
                value = toArray(FRAGMENT_ENCODER.encode(fragment));
            } catch (java.io.IOException e) {
                throw new PagestreamException("cannot encode fragment " + index + " of " + dbId + "@" + lsn, e);
            }
            records.add(new JournalRecord(dbId, value, headers(entry, index, count)));
        }
        return records;
    }

    /**
     * Headers of a whole entry ({@code count} 0) or of fragment {@code index} of {@code count}; the checksums go on
     * whole entries and on the last fragment, so a chain's newest position can be read from headers alone.
     */
    private static List<JournalRecord.Header> headers(JournalEntry entry, int index, int count) {
        List<JournalRecord.Header> headers = new ArrayList<>(5);
        headers.add(JournalRecord.Header.ascii(JournalContract.HEADER_DB_ID, JournalContract.headerDbId(entry.getDbId())));
        headers.add(JournalRecord.Header.ascii(JournalContract.HEADER_LSN, Long.toString(entry.getLsn())));
        if (count > 0) {
            headers.add(JournalRecord.Header.ascii(JournalContract.HEADER_FRAGMENT, index + "/" + count));
        }
        if (index == count - 1 || count == 0) {
            headers.add(JournalRecord.Header.ascii(JournalContract.HEADER_PRE_CHECKSUM, JournalContract.hex(entry.getPreChecksum())));
            headers.add(JournalRecord.Header.ascii(JournalContract.HEADER_POST_CHECKSUM, JournalContract.hex(entry.getPostChecksum())));
        }
        return List.copyOf(headers);
    }

    /**
     * Decodes a record value.
     *
     * @param origin where the value came from (e.g. {@code topic-0@42}), for error messages
     * @throws CorruptEntryException naming the origin and the reason
     */
    public static DecodedRecord decode(byte[] value, String origin) {
        if (value == null || value.length < JournalContract.SINGLE_OBJECT_HEADER_LENGTH) {
            throw new CorruptEntryException(origin + ": record value is " + (value == null ? "null" : value.length + " bytes")
                    + ", too short for a journal record");
        }
        if (value[0] != JournalContract.MAGIC_0 || value[1] != JournalContract.MAGIC_1) {
            throw new CorruptEntryException(origin + ": wrong magic " + String.format("%02x %02x", value[0], value[1])
                    + " (expected c3 01, Avro single-object encoding): not a Pagestream journal record");
        }
        long fingerprint = ByteBuffer.wrap(value, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        try {
            if (fingerprint == ENTRY_FINGERPRINT) {
                JournalEntry entry = readBody(ENTRY_READER, value, origin);
                validate(entry, origin);
                return new DecodedRecord.Whole(entry);
            }
            if (fingerprint == FRAGMENT_FINGERPRINT) {
                JournalFragment fragment = readBody(FRAGMENT_READER, value, origin);
                validate(fragment, origin);
                return new DecodedRecord.Fragment(fragment);
            }
        } catch (PagestreamException e) {
            throw e;
        } catch (Exception | StackOverflowError | OutOfMemoryError e) {
            throw new CorruptEntryException(origin + ": record body does not decode: " + e, e);
        }
        throw new CorruptEntryException(origin + ": foreign schema (fingerprint " + JournalContract.hex(fingerprint)
                + "); expected JournalEntry " + JournalContract.hex(ENTRY_FINGERPRINT)
                + " or JournalFragment " + JournalContract.hex(FRAGMENT_FINGERPRINT));
    }

    /** Reads the Avro body after the single-object header; the body must end exactly where the value does. */
    private static <T> T readBody(SpecificDatumReader<T> reader, byte[] value, String origin) throws java.io.IOException {
        int header = JournalContract.SINGLE_OBJECT_HEADER_LENGTH;
        BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(value, header, value.length - header, null);
        T body = reader.read(null, decoder);
        if (!decoder.isEnd()) {
            throw new CorruptEntryException(origin + ": " + decoder.inputStream().available()
                    + " bytes after the record's Avro body (truncated or padded record)");
        }
        return body;
    }

    private static <T> SpecificDatumReader<T> reader(Schema schema) {
        return new SpecificDatumReader<>(schema, schema, JournalAvroModel.INSTANCE);
    }

    /** Decodes the concatenated chunks of a fragmented entry. */
    public static JournalEntry decodeEntry(byte[] encoded, String origin) {
        DecodedRecord decoded = decode(encoded, origin);
        if (decoded instanceof DecodedRecord.Whole whole) {
            return whole.entry();
        }
        throw new CorruptEntryException(origin + ": reassembled fragments hold a fragment, not an entry");
    }

    /** Structural checks an entry must pass before anything is applied. */
    public static void validate(JournalEntry entry, String origin) {
        String where = origin + " " + entry.getDbId() + "@" + entry.getLsn();
        if (entry.getDbId().isEmpty()) {
            throw new CorruptEntryException(where + ": empty db id");
        }
        if (entry.getLsn() < 1) {
            throw new CorruptEntryException(where + ": LSN must be >= 1");
        }
        if (entry.getPageCount() < 0) {
            throw new CorruptEntryException(where + ": negative page count " + entry.getPageCount());
        }
        if (entry.getPageCount() > 0 && !JournalContract.isValidPageSize(entry.getPageSize())) {
            throw new CorruptEntryException(where + ": invalid page size " + entry.getPageSize());
        }
        if (entry.getBase() && entry.getPreChecksum() != JournalContract.EMPTY_CHECKSUM) {
            throw new CorruptEntryException(where + ": base entry with a non-zero pre-checksum");
        }
        int previous = 0;
        for (PageDelta delta : entry.getDeltas()) {
            if (delta.getPgno() <= previous || delta.getPgno() > entry.getPageCount()) {
                throw new CorruptEntryException(where + ": page " + delta.getPgno() + " out of order or beyond page count "
                        + entry.getPageCount());
            }
            previous = delta.getPgno();
        }
    }

    private static void validate(JournalFragment fragment, String origin) {
        String where = origin + " " + fragment.getDbId() + "@" + fragment.getLsn();
        if (fragment.getCount() < 2 || fragment.getIndex() < 0 || fragment.getIndex() >= fragment.getCount()
                || fragment.getEntryLength() <= 0) {
            throw new CorruptEntryException(where + ": invalid fragment " + fragment.getIndex() + "/" + fragment.getCount());
        }
    }

    static int crc32c(byte[] bytes) {
        CRC32C crc = new CRC32C();
        crc.update(bytes);
        return (int) crc.getValue();
    }

    private static byte[] toArray(ByteBuffer buffer) {
        if (buffer.hasArray() && buffer.arrayOffset() == 0 && buffer.position() == 0
                && buffer.remaining() == buffer.array().length) {
            return buffer.array();
        }
        return Arrays.copyOfRange(buffer.array(), buffer.arrayOffset() + buffer.position(),
                buffer.arrayOffset() + buffer.limit());
    }
}
