package io.pagestream.schemas;

import io.pagestream.schemas.avro.JournalEntry;
import io.pagestream.schemas.avro.JournalFragment;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.Optional;
import java.util.zip.CRC32C;

/**
 * Reassembles the fragments of one database's entries. Fragments must arrive complete and in order
 * (the producer publishes them consecutively under one key); anything else is an error.
 */
public final class FragmentAssembler {
    /** Whether a fragmented entry's fields are all that is kept (see {@link #fieldsOnly()}). */
    private final boolean fieldsOnly;
    private JournalFragment first;
    private int expectedIndex;
    private ByteArrayOutputStream buffer;
    /** {@link #fieldsOnly()}: the fragmented entry's fields, its length and CRC32C so far. */
    private JournalEntry fields;
    private long length;
    private final CRC32C crc = new CRC32C();

    public FragmentAssembler() {
        this(false);
    }

    private FragmentAssembler(boolean fieldsOnly) {
        this.fieldsOnly = fieldsOnly;
    }

    /**
     * An assembler for readers that need only the entries' fields (LSN, checksums, times — e.g. an index of the
     * journal): a fragmented entry's fragments are checked as usual (order, length, CRC32C), but only its fields are
     * decoded and kept, so an entry larger than the heap can be read. Its entries have no deltas.
     */
    public static FragmentAssembler fieldsOnly() {
        return new FragmentAssembler(true);
    }

    /** An entry once complete; empty while a fragmented entry is still incomplete. */
    public Optional<JournalEntry> accept(DecodedRecord record, String origin) {
        return switch (record) {
            case DecodedRecord.Whole whole -> {
                if (first != null) {
                    throw incomplete(origin, "entry " + whole.dbId() + "@" + whole.lsn() + " arrived");
                }
                yield Optional.of(whole.entry());
            }
            case DecodedRecord.Fragment part -> acceptFragment(part.fragment(), origin);
        };
    }

    /** Whether a fragmented entry is waiting for more fragments. */
    public boolean isIncomplete() {
        return first != null;
    }

    public void reset() {
        first = null;
        buffer = null;
        expectedIndex = 0;
        fields = null;
        length = 0;
        crc.reset();
    }

    private Optional<JournalEntry> acceptFragment(JournalFragment fragment, String origin) {
        if (first == null) {
            if (fragment.getIndex() != 0) {
                throw new MissingFragmentException(origin + " " + fragment.getDbId() + "@" + fragment.getLsn() + ": fragment "
                        + fragment.getIndex() + "/" + fragment.getCount() + " without the fragments before it");
            }
            first = fragment;
            expectedIndex = 0;
            if (fieldsOnly) {
                fields = JournalCodec.readEntryStart(new ByteArrayInputStream(PageDiff.bytes(fragment.getChunk())), 0, origin);
            } else {
                buffer = new ByteArrayOutputStream(Math.min(fragment.getEntryLength(), 1 << 20)); // the length is not yet verified
            }
        } else if (fragment.getLsn() != first.getLsn() || !fragment.getDbId().equals(first.getDbId())
                || fragment.getIndex() != expectedIndex || fragment.getCount() != first.getCount()
                || fragment.getEntryLength() != first.getEntryLength() || fragment.getEntryCrc32c() != first.getEntryCrc32c()) {
            throw incomplete(origin, "fragment " + fragment.getDbId() + "@" + fragment.getLsn() + " " + fragment.getIndex() + "/"
                    + fragment.getCount() + " arrived");
        }
        if (fieldsOnly) {
            return acceptFieldsOnly(fragment, origin);
        }
        byte[] chunk = PageDiff.bytes(fragment.getChunk());
        if (buffer.size() + chunk.length > first.getEntryLength()) {
            throw new CorruptEntryException(origin + " " + first.getDbId() + "@" + first.getLsn() + ": fragments exceed the entry length "
                    + first.getEntryLength());
        }
        buffer.writeBytes(chunk);
        expectedIndex++;
        if (expectedIndex < first.getCount()) {
            return Optional.empty();
        }
        JournalFragment done = first;
        byte[] encoded = buffer.toByteArray();
        reset();
        if (encoded.length != done.getEntryLength() || JournalCodec.crc32c(encoded) != done.getEntryCrc32c()) {
            throw new CorruptEntryException(origin + " " + done.getDbId() + "@" + done.getLsn()
                    + ": reassembled entry fails its length or CRC32C check");
        }
        JournalEntry entry = JournalCodec.decodeEntry(encoded, origin);
        if (entry.getLsn() != done.getLsn() || !entry.getDbId().equals(done.getDbId())) {
            throw new CorruptEntryException(origin + ": fragments of " + done.getDbId() + "@" + done.getLsn() + " hold entry "
                    + entry.getDbId() + "@" + entry.getLsn());
        }
        return Optional.of(entry);
    }

    private Optional<JournalEntry> acceptFieldsOnly(JournalFragment fragment, String origin) {
        java.nio.ByteBuffer chunk = fragment.getChunk().duplicate();
        length += chunk.remaining();
        if (length > first.getEntryLength()) {
            throw new CorruptEntryException(origin + " " + first.getDbId() + "@" + first.getLsn() + ": fragments exceed the entry length "
                    + first.getEntryLength());
        }
        crc.update(chunk);
        expectedIndex++;
        if (expectedIndex < first.getCount()) {
            return Optional.empty();
        }
        JournalFragment done = first;
        JournalEntry entry = fields;
        boolean intact = length == done.getEntryLength() && (int) crc.getValue() == done.getEntryCrc32c();
        reset();
        if (!intact) {
            throw new CorruptEntryException(origin + " " + done.getDbId() + "@" + done.getLsn()
                    + ": reassembled entry fails its length or CRC32C check");
        }
        if (entry.getLsn() != done.getLsn() || !entry.getDbId().equals(done.getDbId())) {
            throw new CorruptEntryException(origin + ": fragments of " + done.getDbId() + "@" + done.getLsn() + " hold entry "
                    + entry.getDbId() + "@" + entry.getLsn());
        }
        return Optional.of(entry);
    }

    private MissingFragmentException incomplete(String origin, String what) {
        String message = origin + " " + first.getDbId() + "@" + first.getLsn() + ": missing fragment " + expectedIndex + "/"
                + first.getCount() + " (" + what + " instead)";
        reset();
        return new MissingFragmentException(message);
    }
}
