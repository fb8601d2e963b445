package io.pagestream.schemas;

import io.pagestream.schemas.avro.JournalEntry;
import io.pagestream.schemas.avro.JournalFragment;
import io.pagestream.schemas.avro.PageDelta;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/** Encodes entries into journal records (fragmenting large ones) and decodes record values. */
public final class JournalCodec {
    private static final SingleObject<JournalEntry> ENTRY = new SingleObject<>(JournalEntry.getClassSchema());
    private static final SingleObject<JournalFragment> FRAGMENT = new SingleObject<>(JournalFragment.getClassSchema());
    /** Room left in a fragment record for its own fields and framing. */
    private static final int FRAGMENT_OVERHEAD = 512;

    private JournalCodec() {}

    public static byte[] encodeEntry(JournalEntry entry) {
        return ENTRY.encode(entry);
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
            records.add(new JournalRecord(dbId, FRAGMENT.encode(fragment), headers(entry, index, count)));
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
        long fingerprint = SingleObject.fingerprintOf(value, origin, "journal record");
        if (fingerprint == ENTRY.fingerprint()) {
            JournalEntry entry = ENTRY.decodeBody(value, origin);
            validate(entry, origin);
            return new DecodedRecord.Whole(entry);
        }
        if (fingerprint == FRAGMENT.fingerprint()) {
            JournalFragment fragment = FRAGMENT.decodeBody(value, origin);
            validate(fragment, origin);
            return new DecodedRecord.Fragment(fragment);
        }
        throw new CorruptEntryException(origin + ": foreign schema (fingerprint " + JournalContract.hex(fingerprint)
                + "); expected JournalEntry " + JournalContract.hex(ENTRY.fingerprint())
                + " or JournalFragment " + JournalContract.hex(FRAGMENT.fingerprint()));
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
}
