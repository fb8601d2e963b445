package io.pagestream.replica.internals;

import io.pagestream.replica.ReplicaPosition;
import io.pagestream.schemas.PagestreamException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32C;

/**
 * {@code <replica>-pagestream-replica}: the replica's recorded position. Before an apply changes the file it
 * records both the current position and the one the apply leads to, synced; after a crash the file's
 * checksum says which of the two it holds (the apply either rolled back through SQLite's hot journal or
 * completed). Two CRC-protected slots written alternately, so a torn write leaves the previous record intact.
 * Locked while open: one replica process per file.
 */
public final class PositionFile implements AutoCloseable {
    public static final String SUFFIX = "-pagestream-replica";
    private static final int SLOT_SIZE = 512;
    private static final int MAGIC = 0x50535250; // "PSRP"
    private static final int VERSION = 1;
    private static final int MAX_DB_ID_BYTES = 300;

    /** The position the file held when the record was written, and the one the apply in progress leads to. */
    public record Recorded(String dbId, ReplicaPosition current, ReplicaPosition pending) {}

    /**
     * The position files this process holds, by path: closing any other descriptor on one would drop the process's
     * lock on it, so a second open is refused and a peek reads through the holder.
     */
    private static final Map<Path, PositionFile> OPEN_IN_THIS_PROCESS = new ConcurrentHashMap<>();

    private final Path path;
    private final FileChannel channel;
    private final FileLock lock;
    private long sequence;

    private PositionFile(Path path, FileChannel channel, FileLock lock) {
        this.path = path;
        this.channel = channel;
        this.lock = lock;
    }

    public static Path pathFor(Path replica) {
        return Path.of(replica + SUFFIX);
    }

    public static boolean exists(Path replica) {
        return Files.exists(pathFor(replica));
    }

    public static synchronized PositionFile open(Path replica) {
        Path path = pathFor(replica).toAbsolutePath();
        if (OPEN_IN_THIS_PROCESS.containsKey(path)) {
            throw new PagestreamException("replica " + replica + " is already kept by another replica in this process");
        }
        FileChannel channel = null;
        try {
            channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            FileLock lock = channel.tryLock();
            if (lock == null) {
                throw new PagestreamException("replica " + replica + " is already kept by another process (lock on " + path
                        + " is held)");
            }
            PositionFile positions = new PositionFile(path, channel, lock);
            positions.read(); // continues the slots' sequence, so the first write replaces the older record
            OPEN_IN_THIS_PROCESS.put(path, positions);
            return positions;
        } catch (IOException e) {
            closeQuietly(channel);
            throw new UncheckedIOException("cannot open replica position " + path, e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    /** Reads the newest intact record of a position file without locking it (tools, tests). */
    public static Recorded peek(Path replica) {
        PositionFile holder = OPEN_IN_THIS_PROCESS.get(pathFor(replica).toAbsolutePath());
        if (holder != null) {
            return holder.read();
        }
        try (FileChannel channel = FileChannel.open(pathFor(replica), StandardOpenOption.READ)) {
            return read(channel);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read replica position " + pathFor(replica), e);
        }
    }

    /** The newest intact record, or null when there is none. */
    public synchronized Recorded read() {
        List<Slot> slots = slots();
        return slots.isEmpty() ? null : slots.getFirst().recorded();
    }

    /**
     * The position recorded before the newest record's current one (the older slot's current), or null. A journal
     * truncation lost to a power cut can resurrect the previous apply's journal and roll the file back to it.
     */
    public synchronized ReplicaPosition earlier() {
        List<Slot> slots = slots();
        return slots.size() < 2 ? null : slots.get(1).recorded().current();
    }

    private List<Slot> slots() {
        try {
            List<Slot> slots = slots(channel);
            if (!slots.isEmpty()) {
                sequence = Math.max(sequence, slots.getFirst().sequence());
            }
            return slots;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read replica position " + path, e);
        }
    }

    private record Slot(long sequence, Recorded recorded) {}

    private static Recorded read(FileChannel channel) throws IOException {
        List<Slot> slots = slots(channel);
        return slots.isEmpty() ? null : slots.getFirst().recorded();
    }

    /** The intact slots, newest first. */
    private static List<Slot> slots(FileChannel channel) throws IOException {
        List<Slot> slots = new ArrayList<>(2);
        for (int index = 0; index < 2; index++) {
            ByteBuffer buffer = ByteBuffer.allocate(SLOT_SIZE);
            while (buffer.hasRemaining()) {
                if (channel.read(buffer, (long) index * SLOT_SIZE + buffer.position()) < 0) {
                    break;
                }
            }
            byte[] slot = buffer.array();
            CRC32C crc = new CRC32C();
            crc.update(slot, 0, SLOT_SIZE - 4);
            if (buffer.getInt(0) != MAGIC || buffer.get(4) != VERSION || buffer.getInt(SLOT_SIZE - 4) != (int) crc.getValue()) {
                continue;
            }
            int idLength = Math.min(buffer.getShort(16) & 0xFFFF, MAX_DB_ID_BYTES);
            String dbId = new String(slot, 18, idLength, StandardCharsets.UTF_8);
            slots.add(new Slot(buffer.getLong(8), new Recorded(dbId, position(buffer, 320), position(buffer, 400))));
        }
        slots.sort(Comparator.comparingLong(Slot::sequence).reversed());
        return slots;
    }

    /** Records {@code current} and {@code pending} durably (synced) in the older slot. */
    public synchronized void write(String dbId, ReplicaPosition current, ReplicaPosition pending) {
        byte[] id = dbId.getBytes(StandardCharsets.UTF_8);
        if (id.length > MAX_DB_ID_BYTES) {
            throw new PagestreamException("db id longer than " + MAX_DB_ID_BYTES + " bytes: " + dbId);
        }
        sequence++;
        ByteBuffer buffer = ByteBuffer.allocate(SLOT_SIZE);
        buffer.putInt(0, MAGIC).put(4, (byte) VERSION).putLong(8, sequence).putShort(16, (short) id.length).put(18, id);
        put(buffer, 320, current);
        put(buffer, 400, pending);
        CRC32C crc = new CRC32C();
        crc.update(buffer.array(), 0, SLOT_SIZE - 4);
        buffer.putInt(SLOT_SIZE - 4, (int) crc.getValue());
        try {
            long at = (sequence % 2) * SLOT_SIZE;
            while (buffer.hasRemaining()) {
                channel.write(buffer, at + buffer.position());
            }
            channel.force(false);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot record replica position in " + path, e);
        }
    }

    private static void put(ByteBuffer buffer, int at, ReplicaPosition position) {
        buffer.putLong(at, position.lsn()).putLong(at + 8, position.checksum()).putInt(at + 16, position.pageSize())
                .putLong(at + 20, position.pageCount()).putInt(at + 28, position.partition())
                .putLong(at + 32, position.offset()).putLong(at + 40, position.commitTimeMillis());
    }

    private static ReplicaPosition position(ByteBuffer buffer, int at) {
        return new ReplicaPosition(buffer.getLong(at), buffer.getLong(at + 8), buffer.getInt(at + 16),
                buffer.getLong(at + 20), buffer.getInt(at + 28), buffer.getLong(at + 32), buffer.getLong(at + 40));
    }

    @Override
    public synchronized void close() {
        try {
            lock.release();
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close replica position " + path, e);
        } finally {
            OPEN_IN_THIS_PROCESS.remove(path, this);
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
}
