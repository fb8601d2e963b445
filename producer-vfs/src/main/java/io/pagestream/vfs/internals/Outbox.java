package io.pagestream.vfs.internals;

import io.pagestream.schemas.PagestreamException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code <db>-pagestream-outbox/} beside a writer database: the encoded entries committed locally and not yet
 * acknowledged by Kafka, in LSN order. An entry is staged before SQLite's commit point (when SQLite syncs the
 * database, the outbox is synced alongside), so after a crash the outbox holds every committed entry Kafka may
 * lack, plus at most one staged entry whose transaction may not have committed: the database's checksum decides.
 *
 * <p>Segment files named by their first LSN; a segment is deleted once Kafka acknowledged its last entry. Each
 * record is {@code magic, length, lsn, crc32c(payload), payload}; a torn tail (a crash mid-append) is cut off when
 * the outbox is read back.
 */
final class Outbox implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Outbox.class);
    private static final String SUFFIX = "-pagestream-outbox";
    private static final String SEGMENT_SUFFIX = ".entries";
    private static final int MAGIC = 0x5053_4F42; // "PSOB"
    private static final int RECORD_HEADER = 4 + 4 + 8 + 4;
    private static final long SEGMENT_BYTES = 8L << 20;

    /** A staged entry as read back. */
    record Staged(long lsn, byte[] payload) {}

    /** An entry not yet acknowledged: where it starts, so a rolled-back one can be cut off again. */
    private record Pending(long lsn, long bytes, long segmentFirstLsn, long start) {}

    private final Path dir;
    /** First LSN of each segment file, with its channel while open. */
    private final TreeMap<Long, FileChannel> segments = new TreeMap<>();
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private long pendingBytes;
    private long currentFirstLsn = -1;
    private FileChannel current;
    private boolean directoryDirty;
    private boolean unsynced;

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
    }

    Path directory() {
        return dir;
    }

    /**
     * Every entry in the outbox, in order; a torn or corrupt tail is cut off (it can only be the entry being
     * appended when the process died). Resets what is pending to exactly these entries.
     */
    synchronized List<Staged> readAll() {
        List<Staged> staged = new ArrayList<>();
        pending.clear();
        pendingBytes = 0;
        try {
            for (Long first : new ArrayList<>(segments.keySet())) {
                FileChannel channel = channel(first);
                long position = 0;
                long size = channel.size();
                ByteBuffer header = ByteBuffer.allocate(RECORD_HEADER);
                while (position + RECORD_HEADER <= size) {
                    header.clear();
                    channel.read(header, position);
                    int length = header.getInt(4);
                    if (header.getInt(0) != MAGIC || length < 0 || position + RECORD_HEADER + length > size) {
                        break;
                    }
                    ByteBuffer payload = ByteBuffer.allocate(length);
                    channel.read(payload, position + RECORD_HEADER);
                    CRC32C crc = new CRC32C();
                    crc.update(payload.array());
                    if ((int) crc.getValue() != header.getInt(16)) {
                        break;
                    }
                    long lsn = header.getLong(8);
                    staged.add(new Staged(lsn, payload.array()));
                    pending.add(new Pending(lsn, RECORD_HEADER + length, first, position));
                    pendingBytes += RECORD_HEADER + length;
                    position += RECORD_HEADER + length;
                }
                if (position < size) {
                    log.warn("pagestream: outbox {}: cutting off a torn entry at byte {} of segment {}", dir, position, first);
                    channel.truncate(position);
                }
                currentFirstLsn = first;
                current = channel;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the outbox " + dir, e);
        }
        return staged;
    }

    /** Appends an entry (no sync: see {@link #sync()}). */
    synchronized void stage(long lsn, byte[] payload) throws IOException {
        if (current == null || current.size() >= SEGMENT_BYTES) {
            startSegment(lsn);
        }
        ByteBuffer record = ByteBuffer.allocate(RECORD_HEADER + payload.length);
        CRC32C crc = new CRC32C();
        crc.update(payload);
        record.putInt(MAGIC).putInt(payload.length).putLong(lsn).putInt((int) crc.getValue()).put(payload).flip();
        long start = current.size();
        while (record.hasRemaining()) {
            current.write(record, start + record.position());
        }
        pending.add(new Pending(lsn, record.capacity(), currentFirstLsn, start));
        pendingBytes += record.capacity();
        unsynced = true;
    }

    /** Whether entries were staged since the last {@link #sync()}. */
    synchronized boolean needsSync() {
        return unsynced;
    }

    /** Removes the newest staged entry: its transaction rolled back. */
    synchronized void unstage(long lsn) throws IOException {
        Pending last = pending.peekLast();
        if (last == null || last.lsn() != lsn) {
            return;
        }
        pending.removeLast();
        pendingBytes -= last.bytes();
        channel(last.segmentFirstLsn()).truncate(last.start());
    }

    /** Makes the staged entries durable; called while SQLite syncs the database, before its commit point. */
    void sync() throws IOException {
        FileChannel channel;
        boolean syncDirectory;
        synchronized (this) {
            channel = current;
            syncDirectory = directoryDirty;
            directoryDirty = false;
            unsynced = false;
        }
        if (channel != null) {
            channel.force(false);
        }
        if (syncDirectory) {
            try (FileChannel directory = FileChannel.open(dir, StandardOpenOption.READ)) {
                directory.force(true);
            }
        }
    }

    /** Kafka holds every entry up to {@code lsn}: segments holding nothing newer are deleted. */
    synchronized void acknowledged(long lsn) {
        while (!pending.isEmpty() && pending.peekFirst().lsn() <= lsn) {
            pendingBytes -= pending.removeFirst().bytes();
        }
        long oldestNeeded = pending.isEmpty() ? currentFirstLsn : pending.peekFirst().segmentFirstLsn();
        for (Long first : new ArrayList<>(segments.headMap(oldestNeeded, false).keySet())) {
            deleteSegment(first);
        }
    }

    /** Drops every entry: the journal went on without them (another writer, or a base entry supersedes them). */
    synchronized void clear() {
        for (Long first : new ArrayList<>(segments.keySet())) {
            deleteSegment(first);
        }
        pending.clear();
        pendingBytes = 0;
        current = null;
        currentFirstLsn = -1;
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
        current = null;
    }

    private void startSegment(long firstLsn) throws IOException {
        FileChannel channel = FileChannel.open(segmentPath(firstLsn), StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
        FileChannel previous = segments.put(firstLsn, channel);
        if (previous != null && previous != channel) {
            previous.close();
        }
        current = channel;
        currentFirstLsn = firstLsn;
        directoryDirty = true;
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
        try {
            if (channel != null) {
                channel.close();
            }
            Files.deleteIfExists(segmentPath(first));
        } catch (IOException e) {
            log.warn("pagestream: deleting outbox segment {} in {} failed", first, dir, e);
        }
        if (first == currentFirstLsn) {
            current = null;
            currentFirstLsn = -1;
        }
    }

    private Path segmentPath(long firstLsn) {
        return dir.resolve(String.format("%020d%s", firstLsn, SEGMENT_SUFFIX));
    }
}
