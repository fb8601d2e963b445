package io.pagestream.schemas;

import io.pagestream.schemas.avro.JournalEntry;
import io.pagestream.schemas.avro.JournalFragment;
import io.pagestream.schemas.avro.PageDelta;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.RandomAccess;
import java.util.zip.CRC32C;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;

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
        return List.copyOf(toRecords(entry, encoded.length, crc32c(encoded),
                (offset, length) -> ByteBuffer.wrap(encoded, (int) offset, length), maxRecordBytes));
    }

    /** Where an encoded entry too large to hold in memory is read from, a slice at a time. */
    @FunctionalInterface
    public interface EncodedSlices {
        /** The {@code length} bytes of the encoded entry from {@code offset}. */
        ByteBuffer read(long offset, int length);
    }

    /**
     * {@link #toRecords(JournalEntry, int)} for an entry encoded elsewhere (e.g. in a file): each record is built from
     * its slice when the list is read at its index, so a sink that sends the records one by one holds about one at a time.
     *
     * @param fields the entry's fields; its deltas are not read
     * @param encodedLength the length of the encoded entry
     * @param entryCrc CRC32C of the encoded entry
     * @throws PagestreamConfigException when the entry is too large for the record format (its length is a 32-bit int)
     */
    public static List<JournalRecord> toRecords(JournalEntry fields, long encodedLength, int entryCrc, EncodedSlices slices,
            int maxRecordBytes) {
        String dbId = fields.getDbId();
        if (encodedLength <= maxRecordBytes) {
            ByteBuffer whole = slices.read(0, (int) encodedLength);
            return List.of(new JournalRecord(dbId, PageDiff.bytes(whole), headers(fields, 0, 0)));
        }
        if (encodedLength > Integer.MAX_VALUE) {
            throw new PagestreamConfigException("db " + dbId + " LSN " + fields.getLsn() + ": its entry is " + encodedLength
                    + " bytes encoded, more than the journal's fragments can describe (" + Integer.MAX_VALUE + " bytes)");
        }
        int chunkSize = maxRecordBytes - FRAGMENT_OVERHEAD - dbId.length() * 4;
        if (chunkSize < 1024) {
            throw new PagestreamConfigException("record limit " + maxRecordBytes + " bytes is too small to fragment entries");
        }
        int count = (int) ((encodedLength + chunkSize - 1) / chunkSize);
        return new FragmentList(fields, (int) encodedLength, entryCrc, slices, chunkSize, count);
    }

    /** The fragment records of one entry, each encoded when read. */
    private static final class FragmentList extends AbstractList<JournalRecord> implements RandomAccess {
        private final JournalEntry fields;
        private final int encodedLength;
        private final int entryCrc;
        private final EncodedSlices slices;
        private final int chunkSize;
        private final int count;

        FragmentList(JournalEntry fields, int encodedLength, int entryCrc, EncodedSlices slices, int chunkSize, int count) {
            this.fields = fields;
            this.encodedLength = encodedLength;
            this.entryCrc = entryCrc;
            this.slices = slices;
            this.chunkSize = chunkSize;
            this.count = count;
        }

        @Override
        public JournalRecord get(int index) {
            java.util.Objects.checkIndex(index, count);
            long from = (long) index * chunkSize;
            int length = (int) Math.min(chunkSize, encodedLength - from);
            JournalFragment fragment = new JournalFragment(fields.getDbId(), fields.getLsn(), index, count, encodedLength,
                    entryCrc, slices.read(from, length));
            return new JournalRecord(fields.getDbId(), FRAGMENT.encode(fragment), headers(fields, index, count));
        }

        @Override
        public int size() {
            return count;
        }
    }

    /**
     * Writes an entry exactly as {@link #encodeEntry} encodes it, its deltas taken one at a time from {@code deltas}
     * (so no more than one is held at once: base entries of databases larger than the heap).
     *
     * @param fields the entry's fields; its own deltas are ignored
     * @param deltaCount how many deltas {@code deltas} yields
     */
    public static void writeEntry(JournalEntry fields, int deltaCount, Iterator<PageDelta> deltas, OutputStream out)
            throws IOException {
        ByteBuffer header = ByteBuffer.allocate(JournalContract.SINGLE_OBJECT_HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        header.put(JournalContract.MAGIC_0).put(JournalContract.MAGIC_1).putLong(ENTRY.fingerprint());
        out.write(header.array());
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        encoder.writeString(fields.getDbId());
        encoder.writeLong(fields.getLsn());
        encoder.writeBoolean(fields.getBase());
        encoder.writeLong(fields.getPreChecksum());
        encoder.writeLong(fields.getPostChecksum());
        encoder.writeInt(fields.getPageSize());
        encoder.writeInt(fields.getPageCount());
        encoder.writeLong(fields.getCommitTimeMillis());
        encoder.writeArrayStart();
        encoder.setItemCount(deltaCount);
        SpecificDatumWriter<PageDelta> writer = new SpecificDatumWriter<>(PageDelta.getClassSchema(), JournalAvroModel.INSTANCE);
        for (int i = 0; i < deltaCount; i++) {
            if (!deltas.hasNext()) {
                throw new IllegalStateException("the entry was to carry " + deltaCount + " deltas but has " + i);
            }
            encoder.startItem();
            writer.write(deltas.next(), encoder);
        }
        encoder.writeArrayEnd();
        encoder.flush();
    }

    /**
     * Reads the start of an encoded entry: its fields and at most {@code maxDeltas} of its first deltas (the rest is not
     * read), for an entry too large to decode whole.
     *
     * @throws CorruptEntryException naming the origin when it is not an entry or does not decode
     */
    public static JournalEntry readEntryStart(InputStream in, int maxDeltas, String origin) {
        EntryReader reader = readEntry(in, origin);
        JournalEntry fields = reader.fields();
        List<PageDelta> deltas = new ArrayList<>();
        for (PageDelta delta = deltas.size() < maxDeltas ? reader.next() : null; delta != null;
                delta = deltas.size() < maxDeltas ? reader.next() : null) {
            deltas.add(delta);
        }
        return new JournalEntry(fields.getDbId(), fields.getLsn(), fields.getBase(), fields.getPreChecksum(),
                fields.getPostChecksum(), fields.getPageSize(), fields.getPageCount(), fields.getCommitTimeMillis(), deltas);
    }

    /**
     * Reads an encoded entry from a stream: its fields at once, then its deltas one at a time, each checked as
     * {@link #validate(JournalEntry, String)} checks them.
     *
     * @throws CorruptEntryException naming the origin when it is not an entry or its fields do not decode
     */
    public static EntryReader readEntry(InputStream in, String origin) {
        return new EntryReader(in, origin);
    }

    /** An entry read a delta at a time (see {@link #readEntry}); closing it closes the stream. */
    public static final class EntryReader implements AutoCloseable {
        private final InputStream in;
        private final String origin;
        private final BinaryDecoder decoder;
        private final SpecificDatumReader<PageDelta> reader = new SpecificDatumReader<>(PageDelta.getClassSchema(),
                PageDelta.getClassSchema(), JournalAvroModel.INSTANCE);
        private final JournalEntry fields;
        private long leftInBlock;
        private int previous;

        private EntryReader(InputStream in, String origin) {
            this.in = in;
            this.origin = origin;
            try {
                byte[] header = in.readNBytes(JournalContract.SINGLE_OBJECT_HEADER_LENGTH);
                long fingerprint = SingleObject.fingerprintOf(header, origin, "journal entry");
                if (fingerprint != ENTRY.fingerprint()) {
                    throw new CorruptEntryException(origin + ": not a JournalEntry (fingerprint "
                            + JournalContract.hex(fingerprint) + ")");
                }
                decoder = DecoderFactory.get().directBinaryDecoder(in, null);
                fields = new JournalEntry(decoder.readString(), decoder.readLong(), decoder.readBoolean(),
                        decoder.readLong(), decoder.readLong(), decoder.readInt(), decoder.readInt(), decoder.readLong(),
                        List.of());
                validate(fields, origin);
                leftInBlock = decoder.readArrayStart();
            } catch (PagestreamException e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                throw new CorruptEntryException(origin + ": the entry's fields do not decode: " + e, e);
            }
        }

        /** The entry's fields; its deltas are not in it. */
        public JournalEntry fields() {
            return fields;
        }

        /**
         * The next delta, or null after the last.
         *
         * @throws CorruptEntryException when it does not decode, or is out of order or beyond the page count
         */
        public PageDelta next() {
            try {
                if (leftInBlock == 0) {
                    return null;
                }
                PageDelta delta = reader.read(null, decoder);
                if (--leftInBlock == 0) {
                    leftInBlock = decoder.arrayNext();
                }
                if (delta.getPgno() <= previous || delta.getPgno() > fields.getPageCount()) {
                    throw new CorruptEntryException(origin + " " + fields.getDbId() + "@" + fields.getLsn() + ": page "
                            + delta.getPgno() + " out of order or beyond page count " + fields.getPageCount());
                }
                previous = delta.getPgno();
                return delta;
            } catch (PagestreamException e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                throw new CorruptEntryException(origin + " " + fields.getDbId() + "@" + fields.getLsn()
                        + ": a delta does not decode: " + e, e);
            }
        }

        @Override
        public void close() {
            try {
                in.close();
            } catch (IOException e) {
                throw new UncheckedIOException(origin + ": cannot close", e);
            }
        }
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
