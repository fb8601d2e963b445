package io.pagestream.vfs.internals;

import io.pagestream.schemas.JournalCodec;
import io.pagestream.schemas.JournalRecord;
import io.pagestream.schemas.avro.JournalEntry;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * An entry's encoding as the outbox holds it: in memory, or, for an entry too large to hold (a base entry of a
 * database larger than the heap), only in its outbox segment, read back a slice at a time when it is published.
 */
final class EntryPayload {
    private final byte[] bytes;
    private final Path segment;
    private final long offset;
    private final long length;
    private final int crc32c;

    private EntryPayload(byte[] bytes, Path segment, long offset, long length, int crc32c) {
        this.bytes = bytes;
        this.segment = segment;
        this.offset = offset;
        this.length = length;
        this.crc32c = crc32c;
    }

    static EntryPayload inMemory(byte[] bytes) {
        return new EntryPayload(bytes, null, 0, bytes.length, 0);
    }

    /** The {@code length} bytes at {@code offset} of an outbox segment, whose CRC32C is {@code crc32c}. */
    static EntryPayload inSegment(Path segment, long offset, long length, int crc32c) {
        return new EntryPayload(null, segment, offset, length, crc32c);
    }

    long length() {
        return length;
    }

    boolean inMemory() {
        return bytes != null;
    }

    /** The encoding; only for a payload {@link #inMemory()}. */
    byte[] bytes() {
        if (bytes == null) {
            throw new IllegalStateException("the entry's " + length + " bytes are only in " + segment);
        }
        return bytes;
    }

    /** The encoding as a stream, from its start. */
    InputStream open() throws IOException {
        if (bytes != null) {
            return new ByteArrayInputStream(bytes);
        }
        FileChannel channel = FileChannel.open(segment, StandardOpenOption.READ);
        channel.position(offset);
        return Channels.newInputStream(channel);
    }

    /** The journal records carrying the entry; those of a payload in a segment read their slice when read. */
    List<JournalRecord> records(JournalEntry fields, int maxRecordBytes) {
        if (bytes != null) {
            return JournalCodec.toRecords(fields, bytes, maxRecordBytes);
        }
        return JournalCodec.toRecords(fields, length, crc32c, this::readSlice, maxRecordBytes);
    }

    private ByteBuffer readSlice(long from, int count) {
        ByteBuffer slice = ByteBuffer.allocate(count);
        try (FileChannel channel = FileChannel.open(segment, StandardOpenOption.READ)) {
            while (slice.hasRemaining()) {
                if (channel.read(slice, offset + from + slice.position()) < 0) {
                    throw new IOException("the segment ends before the entry's " + length + " bytes");
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the outbox entry in " + segment, e);
        }
        return slice.flip();
    }
}
