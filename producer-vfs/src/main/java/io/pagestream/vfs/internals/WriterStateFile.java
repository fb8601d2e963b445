package io.pagestream.vfs.internals;

import io.pagestream.schemas.PagestreamException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32C;

/**
 * {@code <db>-pagestream} beside a writer database: the last position Kafka acknowledged (LSN, checksum,
 * size), so a reopened writer continues the LSN chain. Two CRC-protected slots written alternately, so a
 * torn write leaves the previous position readable. The file is memory-mapped: recording a position is a
 * few stores into the page cache (it survives the process being killed) and never touches the file
 * system's journal, which would slow the database's own fsyncs. The file is locked while the database is
 * tracked: one publishing process per database.
 */
final class WriterStateFile implements AutoCloseable {
    private static final String SUFFIX = "-pagestream";
    private static final int SLOT_SIZE = 512;
    private static final int MAGIC = 0x50535753; // "PSWS"
    private static final int VERSION = 1;

    record State(String dbId, long lsn, long checksum, int pageSize, long pageCount) {}

    /** Longest db id the state file can record. */
    static final int MAX_DB_ID_BYTES = 400;

    private static final Set<Path> OPEN_IN_THIS_PROCESS = ConcurrentHashMap.newKeySet();

    private final Path path;
    private final FileChannel channel;
    private final FileLock lock;
    private final MappedByteBuffer slots;
    private long sequence;

    WriterStateFile(Path databasePath) {
        this.path = Path.of(databasePath + SUFFIX).toAbsolutePath();
        // Checked before opening: closing a second descriptor on the file would drop this process's lock on it.
        if (!OPEN_IN_THIS_PROCESS.add(path)) {
            throw new PagestreamException("database " + databasePath + " is already published by another Pagestream VFS"
                    + " in this process");
        }
        FileChannel opened = null;
        FileLock acquired = null;
        try {
            opened = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            acquired = opened.tryLock();
        } catch (IOException | OverlappingFileLockException e) {
            closeQuietly(opened);
            OPEN_IN_THIS_PROCESS.remove(path);
            throw new PagestreamException("cannot open writer state " + path + ": " + e, e);
        }
        if (acquired == null) {
            closeQuietly(opened);
            OPEN_IN_THIS_PROCESS.remove(path);
            throw new PagestreamException("database " + databasePath + " is already published by another process (lock on "
                    + path + " is held)");
        }
        channel = opened;
        lock = acquired;
        try {
            slots = channel.map(FileChannel.MapMode.READ_WRITE, 0, 2L * SLOT_SIZE);
        } catch (IOException e) {
            close();
            throw new UncheckedIOException("cannot map writer state " + path, e);
        }
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // the open already failed; its error is the one to report
            }
        }
    }

    /** The newest intact state, or null when there is none. */
    synchronized State read() {
        State newest = null;
        long newestSequence = -1;
        byte[] slot = new byte[SLOT_SIZE];
        for (int index = 0; index < 2; index++) {
            slots.get(index * SLOT_SIZE, slot);
            ByteBuffer buffer = ByteBuffer.wrap(slot);
            CRC32C crc = new CRC32C();
            crc.update(slot, 0, SLOT_SIZE - 4);
            if (buffer.getInt(0) != MAGIC || buffer.get(4) != VERSION || buffer.getInt(SLOT_SIZE - 4) != (int) crc.getValue()) {
                continue;
            }
            long slotSequence = buffer.getLong(8);
            if (slotSequence > newestSequence) {
                int idLength = Math.min(buffer.getShort(48) & 0xFFFF, MAX_DB_ID_BYTES);
                String dbId = new String(slot, 50, idLength, StandardCharsets.UTF_8);
                newest = new State(dbId, buffer.getLong(16), buffer.getLong(24), buffer.getInt(32), buffer.getLong(36));
                newestSequence = slotSequence;
            }
        }
        sequence = Math.max(sequence, newestSequence);
        return newest;
    }

    /** Records a position in the older slot; the newer one stays intact until this one is complete. */
    synchronized void write(State state) {
        byte[] id = state.dbId().getBytes(StandardCharsets.UTF_8);
        if (id.length > MAX_DB_ID_BYTES) {
            throw new PagestreamException("db id longer than " + MAX_DB_ID_BYTES + " bytes: " + state.dbId());
        }
        sequence++;
        ByteBuffer buffer = ByteBuffer.allocate(SLOT_SIZE);
        buffer.putInt(0, MAGIC).put(4, (byte) VERSION)
                .putLong(8, sequence).putLong(16, state.lsn())
                .putLong(24, state.checksum()).putInt(32, state.pageSize()).putLong(36, state.pageCount())
                .putShort(48, (short) id.length).put(50, id);
        CRC32C crc = new CRC32C();
        crc.update(buffer.array(), 0, SLOT_SIZE - 4);
        buffer.putInt(SLOT_SIZE - 4, (int) crc.getValue());
        slots.put((int) (sequence % 2) * SLOT_SIZE, buffer.array());
    }

    /** Makes the recorded position survive a power loss (otherwise the page cache writes it back in its own time). */
    synchronized void force() {
        slots.force();
    }

    @Override
    public synchronized void close() {
        try {
            if (slots != null) {
                slots.force();
            }
            lock.release();
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close writer state " + path, e);
        } finally {
            OPEN_IN_THIS_PROCESS.remove(path);
        }
    }
}
