package io.pagestream.vfs.internals;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The main database file of one sqlite-jdbc connection, locked, read and written through SQLite's own
 * {@code sqlite3_file} — the descriptor SQLite's lock bookkeeping knows. Java opening and closing a second
 * descriptor on the file would drop every POSIX lock the process holds on it. The connection itself must
 * run no statement on the database while this is used: its pager would not know about these locks.
 */
public final class SqliteMainFile implements AutoCloseable {
    public static final int LOCK_NONE = 0;
    public static final int LOCK_SHARED = 1;
    public static final int LOCK_RESERVED = 2;
    public static final int LOCK_EXCLUSIVE = 4;
    private static final int SQLITE_BUSY = 5;

    private final MemorySegment file;
    private final RealMethods methods;
    private final Arena arena = Arena.ofShared();
    private MemorySegment buffer;

    private SqliteMainFile(MemorySegment file) {
        this.file = file.reinterpret(ADDRESS.byteSize());
        this.methods = new RealMethods(this.file.get(ADDRESS, 0));
        this.buffer = arena.allocate(65536, 8);
    }

    /**
     * @param connection opened with {@code SQLiteConfig.enableLoadExtension(true)}
     */
    public static SqliteMainFile of(Connection connection) throws SQLException {
        SqliteNative.get().loadInto(connection);
        try (Statement statement = connection.createStatement();
                ResultSet result = statement.executeQuery("select pagestream_main_file()")) {
            long address = result.getLong(1);
            return new SqliteMainFile(MemorySegment.ofAddress(address));
        }
    }

    public long size() throws IOException {
        try {
            return methods.fileSize(file);
        } catch (IOException e) {
            throw e;
        } catch (Throwable e) {
            throw new IOException("xFileSize failed", e);
        }
    }

    /** Reads {@code length} bytes at {@code offset} into {@code into}; bytes past the end of file read as zeros. */
    public void read(long offset, byte[] into, int length) throws IOException {
        MemorySegment native_ = buffer(length);
        int rc = call(() -> methods.read(file, native_, length, offset), "xRead");
        if (rc != SqliteNative.SQLITE_OK && rc != SqliteNative.SQLITE_IOERR_SHORT_READ) {
            throw new IOException("xRead of " + length + " bytes at " + offset + " failed with SQLite code " + rc);
        }
        MemorySegment.copy(native_, JAVA_BYTE, 0, into, 0, length);
    }

    public void write(long offset, byte[] data, int length) throws IOException {
        MemorySegment native_ = buffer(length);
        MemorySegment.copy(data, 0, native_, JAVA_BYTE, 0, length);
        check(call(() -> methods.write(file, native_, length, offset), "xWrite"), "xWrite of " + length + " bytes at " + offset);
    }

    public void truncate(long size) throws IOException {
        check(call(() -> methods.truncate(file, size), "xTruncate"), "xTruncate to " + size);
    }

    /**
     * Raises the file's SQLite lock one step ({@code SQLITE_LOCK_SHARED} 1, {@code RESERVED} 2, {@code EXCLUSIVE} 4), as
     * the pager would, through the VFS's per-process lock bookkeeping so other connections in this process see it.
     *
     * @return false when another connection holds a conflicting lock (SQLITE_BUSY); a failed EXCLUSIVE attempt keeps
     *     PENDING, which lets readers finish but admits no new ones, so retry it
     */
    public boolean lock(int level) throws IOException {
        int rc = call(() -> methods.lock(file, level), "xLock");
        if (rc == SQLITE_BUSY) {
            return false;
        }
        check(rc, "xLock(" + level + ")");
        return true;
    }

    /** Lowers the file's SQLite lock to {@code level} (0 none, 1 shared). */
    public void unlock(int level) throws IOException {
        check(call(() -> methods.unlock(file, level), "xUnlock"), "xUnlock(" + level + ")");
    }

    public void sync() throws IOException {
        check(call(() -> methods.sync(file, SqliteNative.SQLITE_SYNC_FULL), "xSync"), "xSync");
    }

    @Override
    public void close() {
        arena.close();
    }

    private MemorySegment buffer(int length) {
        if (buffer.byteSize() < length) {
            buffer = arena.allocate(length, 8);
        }
        return buffer;
    }

    private interface NativeCall {
        int invoke() throws Throwable;
    }

    private static int call(NativeCall call, String what) throws IOException {
        try {
            return call.invoke();
        } catch (Throwable e) {
            throw new IOException(what + " failed", e);
        }
    }

    private static void check(int rc, String what) throws IOException {
        if (rc != SqliteNative.SQLITE_OK) {
            throw new IOException(what + " failed with SQLite code " + rc);
        }
    }
}
