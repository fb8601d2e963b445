package io.pagestream.vfs.internals;

import io.pagestream.schemas.PagestreamException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code <db>-pagestream-outbox/} beside a writer database: the encoded entries committed locally and not yet
 * acknowledged by Kafka, in LSN order. An entry is staged before SQLite's commit point and made durable while SQLite
 * syncs the database, so after a crash the outbox holds every committed entry Kafka may lack, plus at most one staged
 * entry whose transaction may not have committed: the database's checksum decides.
 *
 * <p>Segment files named by their first LSN; a segment is deleted once Kafka acknowledged its last entry. Each
 * record is {@code magic, length, lsn, crc32c(payload), payload}; a torn tail (a crash mid-append) is zeroed when
 * the outbox is read back. A record of an entry sent to Kafka before its commit point (commit.mode=sync) has its own
 * magic: should its transaction not have committed, Kafka may still hold it. Segments are preallocated with zeros and
 * synced when created, so appending changes only data blocks: when the outbox shares the database's device, writing
 * the new records to the device before SQLite's fsync of the database is enough, since the cache flush of that fsync
 * covers them (one flush per commit, not two). An entry larger than {@link #IN_MEMORY_BYTES} (a whole-database entry)
 * is written to its segment as it is encoded, past the preallocated bytes, and read back from there when published.
 */
final class Outbox implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Outbox.class);
    private static final String SUFFIX = "-pagestream-outbox";
    private static final String SEGMENT_SUFFIX = ".entries";
    private static final int MAGIC = 0x5053_4F42; // "PSOB"
    private static final int SENT_BEFORE_COMMIT_MAGIC = 0x5053_4F53; // "PSOS"
    private static final int RECORD_HEADER = 4 + 4 + 8 + 4;
    private static final long SEGMENT_BYTES = 8L << 20;
    private static final byte[] ZEROS = new byte[256 << 10];
    /**
     * Entries up to this size are held in memory when staged; a larger one (only a whole-database entry can be) is
     * written to its segment as it is encoded and read back from there when published.
     */
    static final int IN_MEMORY_BYTES = (int) SEGMENT_BYTES;
    /** Entries read back at a restart up to this size are held in memory (every entry built from captured pages is). */
    private static final long READ_BACK_IN_MEMORY_BYTES = Math.max(IN_MEMORY_BYTES, Runtime.getRuntime().maxMemory() / 8);
    /** Bytes an outbox record can hold: its length is a 32-bit int. */
    static final long MAX_PAYLOAD_BYTES = Integer.MAX_VALUE - RECORD_HEADER;
    private static final ValueLayout.OfInt BIG_ENDIAN_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfLong BIG_ENDIAN_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    /**
     * A staged entry as read back.
     *
     * @param sentBeforeCommit whether it went to Kafka before its commit point (a synchronous commit's)
     */
    record Staged(long lsn, EntryPayload payload, boolean sentBeforeCommit) {}

    /** Writes an entry's encoding, for {@link #stage(long, boolean, EntryWriter)}. */
    @FunctionalInterface
    interface EntryWriter {
        void writeTo(OutputStream out) throws IOException;
    }

    /** An entry not yet acknowledged: where it starts, so a rolled-back one can be cut off again. */
    private record Pending(long lsn, long bytes, long segmentFirstLsn, long start) {}

    private final Path dir;
    /** Whether a device flush issued for the database covers the outbox's writes too. */
    private final boolean sharesDatabaseDevice;
    /** First LSN of each segment file, with its channel while open. */
    private final TreeMap<Long, FileChannel> segments = new TreeMap<>();
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private long pendingBytes;
    private long currentFirstLsn = -1;
    private FileChannel current;
    /** The current segment's preallocated bytes, mapped; unmapped when its arena closes. */
    private Arena mappingArena;
    private MemorySegment mapping;
    /** Descriptor of the current segment for write-back, or -1. */
    private int currentDescriptor = -1;
    /** Where the next record of the current segment goes. */
    private long end;
    /** Bytes of the current segment whose blocks are allocated and durable: writes below need no metadata sync. */
    private long allocated;
    /** The current segment's range written since the last sync; {@code dirtyFrom < 0} when none. */
    private long dirtyFrom = -1;
    private long dirtyTo;
    /** Whether SQLite synced the database after the entries staged last (synchronous above OFF). */
    private boolean syncsFollowStages = true;
    /** A write changed the current segment's size: only an fdatasync makes it durable. */
    private boolean grew;

    Outbox(Path databasePath) {
        this.dir = Path.of(databasePath + SUFFIX).toAbsolutePath();
        try {
            Files.createDirectories(dir);
            try (Stream<Path> files = Files.list(dir)) {
                for (Path file : files.toList()) {
                    String name = file.getFileName().toString();
                    if (name.endsWith(SEGMENT_SUFFIX)) {
                        segments.put(Long.parseLong(name.substring(0, name.length() - SEGMENT_SUFFIX.length())), null);
                    }
                }
            }
        } catch (IOException | NumberFormatException e) {
            throw new PagestreamException("cannot open the outbox " + dir + ": " + e.getMessage(), e);
        }
        this.sharesDatabaseDevice = DeviceWriteBack.available() && DeviceWriteBack.flushCovers(dir, dir.getParent());
    }

    Path directory() {
        return dir;
    }

    /**
     * Every entry in the outbox, in order; a torn tail is zeroed (it can only be the entry being appended when the
     * process died). Resets what is pending to exactly these entries.
     *
     * @throws PagestreamException when a damaged record is followed by others (see {@link #refuseCorruption})
     */
    synchronized List<Staged> readAll() {
        List<Staged> staged = new ArrayList<>();
        pending.clear();
        pendingBytes = 0;
        try {
            long appendAt = 0;
            long size = 0;
            for (Long first : new ArrayList<>(segments.keySet())) {
                FileChannel channel = channel(first);
                long position = 0;
                size = channel.size();
                ByteBuffer header = ByteBuffer.allocate(RECORD_HEADER);
                boolean last = first.equals(segments.lastKey());
                while (position + RECORD_HEADER <= size) {
                    header.clear();
                    channel.read(header, position);
                    int length = header.getInt(4);
                    int magic = header.getInt(0);
                    if ((magic != MAGIC && magic != SENT_BEFORE_COMMIT_MAGIC) || length < 0 || position + RECORD_HEADER + length > size) {
                        refuseCorruption(magic != 0 && !last, first, position);
                        break;
                    }
                    EntryPayload payload = readPayload(first, channel, position + RECORD_HEADER, length, header.getInt(16));
                    if (payload == null) {
                        refuseCorruption(!last || startsRecord(channel, position + RECORD_HEADER + length, size), first, position);
                        break;
                    }
                    long lsn = header.getLong(8);
                    staged.add(new Staged(lsn, payload, magic == SENT_BEFORE_COMMIT_MAGIC));
                    pending.add(new Pending(lsn, RECORD_HEADER + length, first, position));
                    pendingBytes += RECORD_HEADER + length;
                    position += RECORD_HEADER + length;
                }
                if (!zeroFrom(channel, position, size)) {
                    log.warn("pagestream: outbox {}: zeroed a torn entry at byte {} of segment {}", dir, position, first);
                }
                // What the dead process wrote may still be only in the page cache: durable before anything relies on it.
                channel.force(true);
                appendAt = position;
            }
            if (!segments.isEmpty()) {
                useAsCurrent(segments.lastKey(), channel(segments.lastKey()), appendAt, size);
            }
            syncDirectory();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the outbox " + dir, e);
        }
        return staged;
    }

    /**
     * A record's payload once its CRC32C verified (null when it does not): in memory, or, when too large for that, where
     * it lies in the segment (checked a slice at a time).
     */
    private EntryPayload readPayload(long segment, FileChannel channel, long from, int length, int expectedCrc) throws IOException {
        CRC32C crc = new CRC32C();
        if (length <= READ_BACK_IN_MEMORY_BYTES) {
            ByteBuffer payload = ByteBuffer.allocate(length);
            channel.read(payload, from);
            crc.update(payload.array());
            return (int) crc.getValue() == expectedCrc ? EntryPayload.inMemory(payload.array()) : null;
        }
        ByteBuffer slice = ByteBuffer.allocate(1 << 20);
        for (long position = from; position < from + length; ) {
            slice.clear().limit((int) Math.min(slice.capacity(), from + length - position));
            int read = channel.read(slice, position);
            if (read < 0) {
                return null;
            }
            crc.update(slice.flip());
            position += read;
        }
        return (int) crc.getValue() == expectedCrc ? EntryPayload.inSegment(segmentPath(segment), from, length, expectedCrc) : null;
    }

    /**
     * A damaged record is a torn tail only where the dead process was appending: at the end of the last segment. Anywhere
     * else committed entries follow it, and zeroing it would drop them.
     */
    private void refuseCorruption(boolean corrupt, long segment, long position) {
        if (corrupt) {
            throw new PagestreamException("outbox " + dir + ": the record at byte " + position + " of segment " + segment
                    + " is damaged and committed entries follow it");
        }
    }

    /** Whether a record header (its magic) starts at {@code position}. */
    private static boolean startsRecord(FileChannel channel, long position, long size) throws IOException {
        if (position + RECORD_HEADER > size) {
            return false;
        }
        ByteBuffer magic = ByteBuffer.allocate(4);
        channel.read(magic, position);
        int value = magic.getInt(0);
        return value == MAGIC || value == SENT_BEFORE_COMMIT_MAGIC;
    }

    /**
     * Appends an entry ({@code sentBeforeCommit}: see {@link Staged}), not yet durable (see
     * {@link #syncBeforeDatabaseSync}). While commits are not synced (synchronous=OFF) it is copied into the segment's
     * memory mapping, with no system call on the commit path. Synced
     * commits write it: a page written back to the device becomes read-only again, and the next store into it waits
     * on the file system's journal, which costs more than the write.
     */
    synchronized void stage(long lsn, byte[] payload, boolean sentBeforeCommit) throws IOException {
        int bytes = RECORD_HEADER + payload.length;
        if (current == null || (end > 0 && end + bytes > SEGMENT_BYTES)) {
            startSegment(lsn);
        }
        if (dirtyFrom >= 0) {
            syncsFollowStages = false; // the previous entry was not synced
        }
        CRC32C crc = new CRC32C();
        crc.update(payload);
        long start = end;
        int magic = sentBeforeCommit ? SENT_BEFORE_COMMIT_MAGIC : MAGIC;
        if (!syncsFollowStages && mapping != null && start + bytes <= mapping.byteSize()) {
            mapping.set(BIG_ENDIAN_INT, start, magic);
            mapping.set(BIG_ENDIAN_INT, start + 4, payload.length);
            mapping.set(BIG_ENDIAN_LONG, start + 8, lsn);
            mapping.set(BIG_ENDIAN_INT, start + 16, (int) crc.getValue());
            MemorySegment.copy(payload, 0, mapping, ValueLayout.JAVA_BYTE, start + RECORD_HEADER, payload.length);
            dirty(start, start + bytes);
        } else {
            ByteBuffer record = ByteBuffer.allocate(bytes);
            record.putInt(magic).putInt(payload.length).putLong(lsn).putInt((int) crc.getValue()).put(payload).flip();
            write(current, record, start);
        }
        end = start + bytes;
        pending.add(new Pending(lsn, bytes, currentFirstLsn, start));
        pendingBytes += bytes;
    }

    /**
     * Stages an entry as {@link #stage(long, byte[], boolean)} does, encoded by {@code writer} as it is written: up to
     * {@link #IN_MEMORY_BYTES} it is staged from memory; beyond, the encoding goes to the segment a slice at a time (the
     * record's header last, once its length and CRC32C are known), so no more than that is held at once.
     *
     * @throws PagestreamException when the encoding is larger than a record can hold (nothing is staged then)
     */
    synchronized EntryPayload stage(long lsn, boolean sentBeforeCommit, EntryWriter writer) throws IOException {
        try (SpillingRecord record = new SpillingRecord(lsn, sentBeforeCommit)) {
            writer.writeTo(record);
            return record.finish();
        }
    }

    /** An entry's encoding as it is written: in memory up to {@link #IN_MEMORY_BYTES}, then into the current segment. */
    private final class SpillingRecord extends OutputStream {
        private final long lsn;
        private final boolean sentBeforeCommit;
        private final CRC32C crc = new CRC32C();
        private ByteBuffer buffer = ByteBuffer.allocate(1 << 16);
        /** Where the record starts in the current segment once it spilled; -1 while it is in memory. */
        private long start = -1;
        private long length;
        /** Bytes of the encoding written to the segment. */
        private long flushed;
        private boolean finished;

        SpillingRecord(long lsn, boolean sentBeforeCommit) {
            this.lsn = lsn;
            this.sentBeforeCommit = sentBeforeCommit;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] bytes, int offset, int count) throws IOException {
            if (length + count > MAX_PAYLOAD_BYTES) {
                throw new PagestreamException("the entry of LSN " + lsn + " is larger than an outbox record can hold ("
                        + MAX_PAYLOAD_BYTES + " bytes)");
            }
            crc.update(bytes, offset, count);
            length += count;
            while (count > 0) {
                if (!buffer.hasRemaining()) {
                    drain();
                }
                int part = Math.min(count, buffer.remaining());
                buffer.put(bytes, offset, part);
                offset += part;
                count -= part;
            }
        }

        /** A full buffer: in memory it grows up to the limit; past it, and once spilled, it goes to the segment. */
        private void drain() throws IOException {
            if (start < 0 && buffer.capacity() < IN_MEMORY_BYTES) {
                buffer = ByteBuffer.allocate(Math.min(IN_MEMORY_BYTES, buffer.capacity() * 2)).put(buffer.flip());
                return;
            }
            if (start < 0) {
                // After the current segment's records, unless a new segment named by this LSN can start.
                if (current == null || (end > 0 && currentFirstLsn != lsn)) {
                    startSegment(lsn);
                }
                start = end;
            }
            flushBuffer();
        }

        private void flushBuffer() throws IOException {
            buffer.flip();
            int count = buffer.remaining();
            Outbox.this.write(current, buffer, start + RECORD_HEADER + flushed);
            flushed += count;
            buffer.clear();
        }

        EntryPayload finish() throws IOException {
            finished = true;
            if (start < 0) {
                byte[] payload = java.util.Arrays.copyOf(buffer.array(), buffer.position());
                stage(lsn, payload, sentBeforeCommit);
                return EntryPayload.inMemory(payload);
            }
            flushBuffer();
            ByteBuffer header = ByteBuffer.allocate(RECORD_HEADER);
            header.putInt(sentBeforeCommit ? SENT_BEFORE_COMMIT_MAGIC : MAGIC).putInt((int) length).putLong(lsn)
                    .putInt((int) crc.getValue()).flip();
            Outbox.this.write(current, header, start);
            long bytes = RECORD_HEADER + length;
            end = start + bytes;
            pending.add(new Pending(lsn, bytes, currentFirstLsn, start));
            pendingBytes += bytes;
            return EntryPayload.inSegment(segmentPath(currentFirstLsn), start + RECORD_HEADER, length, (int) crc.getValue());
        }

        /** An encoding that failed part-way leaves nothing behind: what it wrote to the segment is zeroed. */
        @Override
        public void close() throws IOException {
            if (!finished && start >= 0 && current != null) {
                writeZeros(current, start, start + RECORD_HEADER + flushed);
            }
        }
    }

    /** Whether entries were staged since the last sync. */
    synchronized boolean needsSync() {
        return dirtyFrom >= 0;
    }

    /** Removes the newest staged entry: its transaction rolled back. Its bytes are zeroed, so nothing stale remains. */
    synchronized void unstage(long lsn) throws IOException {
        Pending last = pending.peekLast();
        if (last == null || last.lsn() != lsn) {
            return;
        }
        pending.removeLast();
        pendingBytes -= last.bytes();
        FileChannel channel = channel(last.segmentFirstLsn());
        writeZeros(channel, last.start(), last.start() + last.bytes()); // just staged, so not zero: no need to read it first
        if (channel == current) {
            end = last.start();
        }
    }

    /**
     * Called just before SQLite syncs the database: makes the staged entries durable with that sync. On a shared
     * device the entries (and, to overlap the two, the database's dirty pages) are written to the device here and
     * the database's fsync flushes them; otherwise the outbox is fdatasynced itself.
     *
     * @param databaseDescriptor a descriptor of the database file whose write-back may start now, or -1
     */
    synchronized void syncBeforeDatabaseSync(int databaseDescriptor) throws IOException {
        if (dirtyFrom < 0) {
            return;
        }
        syncsFollowStages = true;
        if (sharesDatabaseDevice && currentDescriptor >= 0 && !grew) {
            if (databaseDescriptor >= 0) {
                DeviceWriteBack.start(databaseDescriptor);
            }
            DeviceWriteBack.writeAndWait(currentDescriptor, dirtyFrom, dirtyTo - dirtyFrom);
        } else {
            current.force(false);
        }
        dirtyFrom = -1;
        grew = false;
    }

    /**
     * Kafka holds every entry up to {@code lsn}, and a position at least that far is recorded: segments holding nothing
     * newer are deleted, once {@code makePositionDurable} has made that position survive a power loss (a restart must
     * never find the recorded position behind entries the outbox no longer has).
     */
    void acknowledged(long lsn, Runnable makePositionDurable) {
        List<Long> done = skipThroughAndListDone(lsn);
        if (done.isEmpty()) {
            return;
        }
        makePositionDurable.run(); // outside the lock: a commit staging meanwhile does not wait for the flush
        deleteDone(done);
    }

    private synchronized List<Long> skipThroughAndListDone(long lsn) {
        skipThrough(lsn);
        return new ArrayList<>(segments.headMap(oldestNeededSegment(), false).keySet());
    }

    /** Deletes those of {@code done} that still hold nothing needed ({@link #clear} may have run meanwhile). */
    private synchronized void deleteDone(List<Long> done) {
        long oldestNeeded = oldestNeededSegment();
        for (long first : done) {
            if (first < oldestNeeded && segments.containsKey(first)) {
                deleteSegment(first);
            }
        }
    }

    private long oldestNeededSegment() {
        return pending.isEmpty() ? currentFirstLsn : pending.peekFirst().segmentFirstLsn();
    }

    /** Kafka holds every entry up to {@code lsn}: they are no longer pending; their segments go at the next acknowledgement. */
    synchronized void skipThrough(long lsn) {
        while (!pending.isEmpty() && pending.peekFirst().lsn() <= lsn) {
            pendingBytes -= pending.removeFirst().bytes();
        }
    }

    /** Drops every entry: the journal went on without them (another writer, or a base entry supersedes them). */
    synchronized void clear() {
        for (Long first : new ArrayList<>(segments.keySet())) {
            deleteSegment(first);
        }
        pending.clear();
        pendingBytes = 0;
    }

    /** Bytes of entries not yet acknowledged. */
    synchronized long pendingBytes() {
        return pendingBytes;
    }

    @Override
    public synchronized void close() {
        for (FileChannel channel : segments.values()) {
            if (channel != null) {
                try {
                    channel.close();
                } catch (IOException e) {
                    log.warn("pagestream: closing outbox segment in {} failed", dir, e);
                }
            }
        }
        segments.replaceAll((first, channel) -> null);
        forgetCurrent();
    }

    /**
     * A new segment, preallocated with zeros and synced (file and directory) before any entry goes in. The previous
     * segment's unsynced tail is synced first: the database sync only covers the current segment.
     */
    private void startSegment(long firstLsn) throws IOException {
        if (current != null && dirtyFrom >= 0) {
            current.force(false);
        }
        Path path = segmentPath(firstLsn);
        FileChannel channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
        FileChannel previous = segments.put(firstLsn, channel);
        if (previous != null && previous != channel) {
            previous.close();
        }
        zeroFrom(channel, 0, SEGMENT_BYTES);
        channel.force(true);
        syncDirectory();
        useAsCurrent(firstLsn, channel, 0, SEGMENT_BYTES);
    }

    private void useAsCurrent(long firstLsn, FileChannel channel, long appendAt, long allocatedBytes) throws IOException {
        forgetCurrent();
        current = channel;
        currentFirstLsn = firstLsn;
        end = appendAt;
        allocated = allocatedBytes;
        mappingArena = Arena.ofShared();
        mapping = channel.map(FileChannel.MapMode.READ_WRITE, 0, allocatedBytes, mappingArena);
        if (sharesDatabaseDevice) {
            currentDescriptor = DeviceWriteBack.open(segmentPath(firstLsn));
        }
    }

    private void forgetCurrent() {
        if (mappingArena != null) {
            mappingArena.close();
        }
        mappingArena = null;
        mapping = null;
        if (currentDescriptor >= 0) {
            DeviceWriteBack.close(currentDescriptor);
        }
        currentDescriptor = -1;
        current = null;
        currentFirstLsn = -1;
        end = 0;
        allocated = 0;
        dirtyFrom = -1;
        grew = false;
    }

    private void write(FileChannel channel, ByteBuffer bytes, long position) throws IOException {
        int length = bytes.remaining();
        for (int written = 0; written < length; ) {
            written += channel.write(bytes, position + written);
        }
        if (channel == current) {
            dirty(position, position + length);
        }
    }

    private void dirty(long from, long to) {
        dirtyTo = dirtyFrom < 0 ? to : Math.max(dirtyTo, to);
        dirtyFrom = dirtyFrom < 0 ? from : Math.min(dirtyFrom, from);
        grew |= to > allocated;
    }

    /**
     * Writes zeros over {@code [from, to)} where it is not zero already, extending the file if it is shorter.
     *
     * @return whether what the file held there was all zero
     */
    private boolean zeroFrom(FileChannel channel, long from, long to) throws IOException {
        boolean wasZero = true;
        long size = channel.size();
        ByteBuffer chunk = ByteBuffer.allocate(ZEROS.length);
        for (long position = from; position < to; position += ZEROS.length) {
            int length = (int) Math.min(ZEROS.length, to - position);
            int present = (int) Math.max(0, Math.min(length, size - position));
            chunk.clear().limit(present);
            while (chunk.hasRemaining() && channel.read(chunk, position + chunk.position()) > 0) {
                // reads until the chunk is full
            }
            boolean zero = Arrays.equals(chunk.array(), 0, present, ZEROS, 0, present);
            wasZero &= zero;
            if (!zero || present < length) {
                writeZeros(channel, position, position + length);
            }
        }
        return wasZero;
    }

    private void writeZeros(FileChannel channel, long from, long to) throws IOException {
        for (long position = from; position < to; position += ZEROS.length) {
            write(channel, ByteBuffer.wrap(ZEROS, 0, (int) Math.min(ZEROS.length, to - position)), position);
        }
    }

    private FileChannel channel(long first) throws IOException {
        FileChannel channel = segments.get(first);
        if (channel == null) {
            channel = FileChannel.open(segmentPath(first), StandardOpenOption.READ, StandardOpenOption.WRITE);
            segments.put(first, channel);
        }
        return channel;
    }

    private void deleteSegment(long first) {
        FileChannel channel = segments.remove(first);
        if (first == currentFirstLsn) {
            forgetCurrent();
        }
        try {
            if (channel != null) {
                channel.close();
            }
            Files.deleteIfExists(segmentPath(first));
        } catch (IOException e) {
            log.warn("pagestream: deleting outbox segment {} in {} failed", first, dir, e);
        }
    }

    private void syncDirectory() throws IOException {
        try (FileChannel directory = FileChannel.open(dir, StandardOpenOption.READ)) {
            directory.force(true);
        }
    }

    private Path segmentPath(long firstLsn) {
        return dir.resolve(String.format("%020d%s", firstLsn, SEGMENT_SUFFIX));
    }
}
