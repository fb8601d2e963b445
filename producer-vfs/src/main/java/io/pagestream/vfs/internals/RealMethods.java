package io.pagestream.vfs.internals;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** The underlying VFS's sqlite3_io_methods for one file, invoked from Java. */
final class RealMethods {
    private static final ThreadLocal<MemorySegment> SCRATCH =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(64 * 1024, 8));

    final MemorySegment table;
    private final MemorySegment close;
    private final MemorySegment read;
    private final MemorySegment write;
    private final MemorySegment truncate;
    private final MemorySegment sync;
    private final MemorySegment fileSize;
    private final MemorySegment lock;
    private final MemorySegment unlock;
    private final MemorySegment fileControl;

    RealMethods(MemorySegment pMethods) {
        table = pMethods.reinterpret(SqliteNative.IO_METHODS_SIZE);
        close = table.get(ADDRESS, SqliteNative.IO_CLOSE);
        read = table.get(ADDRESS, SqliteNative.IO_READ);
        write = table.get(ADDRESS, SqliteNative.IO_WRITE);
        truncate = table.get(ADDRESS, SqliteNative.IO_TRUNCATE);
        sync = table.get(ADDRESS, SqliteNative.IO_SYNC);
        fileSize = table.get(ADDRESS, SqliteNative.IO_FILE_SIZE);
        lock = table.get(ADDRESS, SqliteNative.IO_LOCK);
        unlock = table.get(ADDRESS, SqliteNative.IO_UNLOCK);
        fileControl = table.get(ADDRESS, SqliteNative.IO_FILE_CONTROL);
    }

    int close(MemorySegment file) throws Throwable {
        return (int) SqliteNative.FILE_ONLY.invokeExact(close, file);
    }

    int read(MemorySegment file, MemorySegment buffer, int amount, long offset) throws Throwable {
        return (int) SqliteNative.READ_WRITE.invokeExact(read, file, buffer, amount, offset);
    }

    int write(MemorySegment file, MemorySegment buffer, int amount, long offset) throws Throwable {
        return (int) SqliteNative.READ_WRITE.invokeExact(write, file, buffer, amount, offset);
    }

    int truncate(MemorySegment file, long size) throws Throwable {
        return (int) SqliteNative.FILE_LONG.invokeExact(truncate, file, size);
    }

    int sync(MemorySegment file, int flags) throws Throwable {
        return (int) SqliteNative.FILE_INT.invokeExact(sync, file, flags);
    }

    int lock(MemorySegment file, int level) throws Throwable {
        return (int) SqliteNative.FILE_INT.invokeExact(lock, file, level);
    }

    int unlock(MemorySegment file, int level) throws Throwable {
        return (int) SqliteNative.FILE_INT.invokeExact(unlock, file, level);
    }

    int fileControl(MemorySegment file, int op, MemorySegment arg) throws Throwable {
        return (int) SqliteNative.FILE_CONTROL.invokeExact(fileControl, file, op, arg);
    }

    long fileSize(MemorySegment file) throws Throwable {
        MemorySegment size = scratch(JAVA_LONG.byteSize());
        int rc = (int) SqliteNative.FILE_POINTER.invokeExact(fileSize, file, size);
        if (rc != SqliteNative.SQLITE_OK) {
            throw new IOException("xFileSize failed with SQLite code " + rc);
        }
        return size.get(JAVA_LONG, 0);
    }

    /** Reads {@code length} bytes at {@code offset}; bytes past the end of file read as zeros. */
    byte[] readBytes(MemorySegment file, long offset, int length) throws Throwable {
        MemorySegment buffer = scratch(length);
        int rc = read(file, buffer, length, offset);
        if (rc != SqliteNative.SQLITE_OK && rc != SqliteNative.SQLITE_IOERR_SHORT_READ) {
            throw new IOException("xRead of " + length + " bytes at " + offset + " failed with SQLite code " + rc);
        }
        return copyOf(buffer, length);
    }

    /** Writes {@code bytes} at {@code offset}. */
    void writeBytes(MemorySegment file, long offset, byte[] bytes) throws Throwable {
        MemorySegment buffer = scratch(bytes.length);
        MemorySegment.copy(bytes, 0, buffer, JAVA_BYTE, 0, bytes.length);
        int rc = write(file, buffer, bytes.length, offset);
        if (rc != SqliteNative.SQLITE_OK) {
            throw new IOException("xWrite of " + bytes.length + " bytes at " + offset + " failed with SQLite code " + rc);
        }
    }

    /** Copies native bytes to a new array (MemorySegment.toArray costs a reflective class-name lookup per call). */
    static byte[] copyOf(MemorySegment source, int length) {
        byte[] out = new byte[length];
        MemorySegment.copy(source, JAVA_BYTE, 0, out, 0, length);
        return out;
    }

    /** A per-thread native buffer: the commit path reads pages on every transaction. */
    private static MemorySegment scratch(long size) {
        MemorySegment buffer = SCRATCH.get();
        if (buffer.byteSize() < size) {
            buffer = Arena.ofAuto().allocate(Math.max(size, buffer.byteSize() * 2), 8);
            SCRATCH.set(buffer);
        }
        return buffer;
    }
}
