package io.pagestream.vfs.internals;

import io.pagestream.schemas.PagestreamException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
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
 * torn write leaves the previous position readable. The file is locked for the JVM's lifetime: one
 * publishing process per database.
 */
final class WriterStateFile implements AutoCloseable {
    static final String SUFFIX = "-pagestream";
    private static final int SLOT_SIZE = 512;
    private static final int MAX_DB_ID_BYTES = 400;
    private static final int MAGIC = 0x50535753; // "PSWS"
    private static final int VERSION = 1;

    record State(String dbId, long lsn, long checksum, int pageSize, long pageCount) {}

    private static final Set<Path> OPEN_IN_THIS_PROCESS = ConcurrentHashMap.newKeySet();

    private final Path path;
    private final FileChannel channel;
    private final FileLock lock;
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

    Path path() {
        return path;
    }

    /** The newest intact state, or null when there is none. */
    synchronized State read() {
        State newest = null;
        long newestSequence = -1;
        for (int slot = 0; slot < 2; slot++) {
            ByteBuffer buffer = ByteBuffer.allocate(SLOT_SIZE);
            try {
                while (buffer.hasRemaining() && channel.read(buffer, (long) slot * SLOT_SIZE + buffer.position()) > 0) {
                    // fill
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read writer state " + path, e);
            }
            if (buffer.position() < SLOT_SIZE) {
                continue;
            }
            buffer.flip();
            CRC32C crc = new CRC32C();
            crc.update(buffer.array(), 0, SLOT_SIZE - 4);
            if (buffer.getInt(0) != MAGIC || buffer.get(4) != VERSION || buffer.getInt(SLOT_SIZE - 4) != (int) crc.getValue()) {
                continue;
            }
            long slotSequence = buffer.getLong(8);
            if (slotSequence > newestSequence) {
                int idLength = buffer.getShort(48) & 0xFFFF;
                String dbId = new String(buffer.array(), 50, Math.min(idLength, MAX_DB_ID_BYTES), StandardCharsets.UTF_8);
                newest = new State(dbId, buffer.getLong(16), buffer.getLong(24), buffer.getInt(32), buffer.getLong(36));
                newestSequence = slotSequence;
            }
        }
        sequence = Math.max(sequence, newestSequence);
        return newest;
    }

    synchronized void write(State state) {
        byte[] id = state.dbId().getBytes(StandardCharsets.UTF_8);
        if (id.length > MAX_DB_ID_BYTES) {
            throw new PagestreamException("db id longer than " + MAX_DB_ID_BYTES + " bytes: " + state.dbId());
        }
        sequence++;
        ByteBuffer buffer = ByteBuffer.allocate(SLOT_SIZE);
        buffer.putInt(0, MAGIC).put(4, (byte) VERSION).putLong(8, sequence).putLong(16, state.lsn())
                .putLong(24, state.checksum()).putInt(32, state.pageSize()).putLong(36, state.pageCount())
                .putShort(48, (short) id.length).put(50, id);
        CRC32C crc = new CRC32C();
        crc.update(buffer.array(), 0, SLOT_SIZE - 4);
        buffer.putInt(SLOT_SIZE - 4, (int) crc.getValue());
        try {
            long position = (sequence % 2) * SLOT_SIZE;
            while (buffer.hasRemaining()) {
                channel.write(buffer, position + buffer.position());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write writer state " + path, e);
        }
    }

    @Override
    public synchronized void close() {
        try {
            lock.release();
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close writer state " + path, e);
        } finally {
            OPEN_IN_THIS_PROCESS.remove(path);
        }
    }
}
