package io.pagestream.vfs.internals;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** The underlying VFS's sqlite3_io_methods for one file, invoked from Java. */
final class RealMethods {
    final MemorySegment table;
    private final MemorySegment close;
    private final MemorySegment read;
    private final MemorySegment write;
    private final MemorySegment truncate;
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
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment size = arena.allocate(JAVA_LONG);
            int rc = (int) SqliteNative.FILE_POINTER.invokeExact(fileSize, file, size);
            if (rc != SqliteNative.SQLITE_OK) {
                throw new java.io.IOException("xFileSize failed with SQLite code " + rc);
            }
            return size.get(JAVA_LONG, 0);
        }
    }

    /** Reads {@code length} bytes at {@code offset}; bytes past the end of file read as zeros. */
    byte[] readBytes(MemorySegment file, long offset, int length) throws Throwable {
        byte[] out = new byte[length];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(length);
            int rc = read(file, buffer, length, offset);
            if (rc != SqliteNative.SQLITE_OK && rc != SqliteNative.SQLITE_IOERR_SHORT_READ) {
                throw new java.io.IOException("xRead of " + length + " bytes at " + offset + " failed with SQLite code " + rc);
            }
            MemorySegment.copy(buffer, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, out, 0, length);
        }
        return out;
    }
}
