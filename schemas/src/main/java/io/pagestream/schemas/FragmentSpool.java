package io.pagestream.schemas;

import io.pagestream.schemas.avro.JournalEntry;
import io.pagestream.schemas.avro.JournalFragment;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * The fragments of one entry too large to reassemble in memory (a base entry of a database larger than the heap),
 * written to a file as they arrive and checked as {@link FragmentAssembler} checks them; once complete, the entry is
 * read back from the file a delta at a time, as often as needed (e.g. once to verify its checksum, once to write it).
 */
public final class FragmentSpool implements AutoCloseable {
    private final Path file;
    private final FileChannel channel;
    private final JournalFragment first;
    private final CRC32C crc = new CRC32C();
    private int expectedIndex;
    private long length;
    private JournalEntry fields;

    private FragmentSpool(Path file, JournalFragment first) throws IOException {
        this.file = file;
        this.first = first;
        this.channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.READ, StandardOpenOption.WRITE);
    }

    /** Whether an entry's fragments are better spooled than reassembled in memory: it is larger than {@code limit} bytes. */
    public static boolean worthSpooling(DecodedRecord record, long limit) {
        return record instanceof DecodedRecord.Fragment part && part.fragment().getIndex() == 0
                && part.fragment().getEntryLength() > limit;
    }

    /**
     * Starts spooling at the entry's first fragment, into {@code file} (replaced if it exists).
     *
     * @throws MissingFragmentException when {@code first} is not a first fragment
     */
    public static FragmentSpool start(JournalFragment first, Path file, String origin) {
        if (first.getIndex() != 0) {
            throw new MissingFragmentException(origin + " " + first.getDbId() + "@" + first.getLsn() + ": fragment "
                    + first.getIndex() + "/" + first.getCount() + " without the fragments before it");
        }
        try {
            FragmentSpool spool = new FragmentSpool(file, first);
            spool.accept(first, origin);
            return spool;
        } catch (IOException e) {
            throw new UncheckedIOException(origin + ": cannot write " + file, e);
        }
    }

    /** The entry's db id and LSN, from its fragments. */
    public String describe() {
        return first.getDbId() + "@" + first.getLsn();
    }

    /**
     * Adds the next fragment.
     *
     * @return true once the entry is complete and its length and CRC32C verified
     * @throws MissingFragmentException when it is not the next fragment of this entry
     * @throws CorruptEntryException when the fragments do not make the entry they describe
     */
    public boolean accept(JournalFragment fragment, String origin) {
        if (fields != null || fragment.getLsn() != first.getLsn() || !fragment.getDbId().equals(first.getDbId())
                || fragment.getIndex() != expectedIndex || fragment.getCount() != first.getCount()
                || fragment.getEntryLength() != first.getEntryLength() || fragment.getEntryCrc32c() != first.getEntryCrc32c()) {
            throw new MissingFragmentException(origin + " " + describe() + ": missing fragment " + expectedIndex + "/"
                    + first.getCount() + " (fragment " + fragment.getDbId() + "@" + fragment.getLsn() + " "
                    + fragment.getIndex() + "/" + fragment.getCount() + " arrived instead)");
        }
        ByteBuffer chunk = fragment.getChunk().duplicate();
        if (length + chunk.remaining() > first.getEntryLength()) {
            throw new CorruptEntryException(origin + " " + describe() + ": fragments exceed the entry length "
                    + first.getEntryLength());
        }
        crc.update(chunk.duplicate());
        try {
            while (chunk.hasRemaining()) {
                length += channel.write(chunk, length);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(origin + " " + describe() + ": cannot write " + file, e);
        }
        expectedIndex++;
        if (expectedIndex < first.getCount()) {
            return false;
        }
        if (length != first.getEntryLength() || (int) crc.getValue() != first.getEntryCrc32c()) {
            throw new CorruptEntryException(origin + " " + describe() + ": reassembled entry fails its length or CRC32C check");
        }
        try (JournalCodec.EntryReader reader = open(origin)) {
            fields = reader.fields();
        }
        if (fields.getLsn() != first.getLsn() || !fields.getDbId().equals(first.getDbId())) {
            throw new CorruptEntryException(origin + ": fragments of " + describe() + " hold entry " + fields.getDbId() + "@"
                    + fields.getLsn());
        }
        return true;
    }

    /** The complete entry's fields (its deltas are read with {@link #open}). */
    public JournalEntry fields() {
        if (fields == null) {
            throw new IllegalStateException(describe() + " is not complete");
        }
        return fields;
    }

    /** Reads the spooled entry from its start. */
    public JournalCodec.EntryReader open(String origin) {
        try {
            FileChannel reading = FileChannel.open(file, StandardOpenOption.READ);
            InputStream in = new BufferedInputStream(Channels.newInputStream(reading), 1 << 16);
            return JournalCodec.readEntry(in, origin);
        } catch (IOException e) {
            throw new UncheckedIOException(origin + ": cannot read " + file, e);
        }
    }

    /** Deletes the file. */
    @Override
    public void close() {
        try {
            channel.close();
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + file, e);
        }
    }
}
