package io.pagestream.vfs.internals;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.pagestream.schemas.PagestreamException;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.zip.CRC32C;
import org.sqlite.SQLiteConfig;

/**
 * SQLite's C API as reached from Java: the shim's wrappers (sqlite-jdbc exports no sqlite3_* symbols),
 * the struct offsets of sqlite3_vfs / sqlite3_io_methods (LP64, sqlite3.h 3.54), and invokers for
 * function pointers found in those structs.
 */
public final class SqliteNative {
    public static final int SQLITE_OK = 0;
    public static final int SQLITE_ERROR = 1;
    public static final int SQLITE_CANTOPEN = 14;
    public static final int SQLITE_IOERR = 10;
    public static final int SQLITE_READONLY = 8;
    public static final int SQLITE_FULL = 13;
    public static final int SQLITE_IOERR_FSYNC = SQLITE_IOERR | (4 << 8);
    public static final int SQLITE_IOERR_SHORT_READ = SQLITE_IOERR | (2 << 8);
    public static final int SQLITE_IOERR_WRITE = SQLITE_IOERR | (3 << 8);
    public static final int SQLITE_IOERR_TRUNCATE = SQLITE_IOERR | (6 << 8);
    public static final int SQLITE_IOERR_UNLOCK = SQLITE_IOERR | (8 << 8);
    public static final int SQLITE_IOERR_LOCK = SQLITE_IOERR | (15 << 8);
    public static final int SQLITE_IOERR_CLOSE = SQLITE_IOERR | (16 << 8);

    public static final int SQLITE_IOERR_READ = SQLITE_IOERR | (1 << 8);

    public static final int SQLITE_OPEN_READONLY = 0x00000001;
    public static final int SQLITE_OPEN_MAIN_DB = 0x00000100;
    public static final int SQLITE_OPEN_MAIN_JOURNAL = 0x00000800;
    public static final int SQLITE_OPEN_WAL = 0x00080000;

    public static final int SQLITE_LOCK_RESERVED = 2;

    public static final int SQLITE_FCNTL_CHUNK_SIZE = 6;
    public static final int SQLITE_FCNTL_PRAGMA = 14;
    public static final int SQLITE_FCNTL_SYNC = 21;
    public static final int SQLITE_FCNTL_COMMIT_PHASETWO = 22;

    /** sqlite3_vfs. */
    public static final long VFS_SIZE = 168;
    public static final long VFS_SZ_OS_FILE = 4;
    public static final long VFS_NEXT = 16;
    public static final long VFS_NAME = 24;
    public static final long VFS_OPEN = 40;

    /** sqlite3_io_methods (iVersion 3). */
    public static final long IO_METHODS_SIZE = 152;
    public static final long IO_CLOSE = 8;
    public static final long IO_READ = 16;
    public static final long IO_WRITE = 24;
    public static final long IO_TRUNCATE = 32;
    public static final long IO_SYNC = 40;
    public static final long IO_FILE_SIZE = 48;
    public static final long IO_LOCK = 56;
    public static final long IO_UNLOCK = 64;
    public static final long IO_FILE_CONTROL = 80;

    static final Linker LINKER = Linker.nativeLinker();

    /** Invokers taking the function pointer as first argument. */
    static final MethodHandle OPEN = invoker(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS));
    static final MethodHandle FILE_ONLY = invoker(FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle READ_WRITE = invoker(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG));
    static final MethodHandle FILE_LONG = invoker(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
    static final MethodHandle FILE_INT = invoker(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle FILE_POINTER = invoker(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle FILE_CONTROL = invoker(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));

    public static final int SQLITE_SYNC_FULL = 3;

    private static volatile SqliteNative instance;

    private final Path library;

    final MethodHandle vfsFind;
    final MethodHandle vfsRegister;
    final MethodHandle vfsUnregister;
    final MethodHandle uriParameter;
    final MethodHandle message;

    private SqliteNative(Path library, SymbolLookup shim) throws Throwable {
        this.library = library;
        vfsFind = downcall(shim, "pagestream_vfs_find", FunctionDescriptor.of(ADDRESS, ADDRESS));
        vfsRegister = downcall(shim, "pagestream_vfs_register", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        vfsUnregister = downcall(shim, "pagestream_vfs_unregister", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        uriParameter = downcall(shim, "pagestream_uri_parameter", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS));
        message = downcall(shim, "pagestream_message", FunctionDescriptor.of(ADDRESS, ADDRESS));
    }

    /** Loads the shim into sqlite-jdbc's SQLite once per JVM. */
    public static SqliteNative get() {
        SqliteNative loaded = instance;
        if (loaded != null) {
            return loaded;
        }
        synchronized (SqliteNative.class) {
            if (instance == null) {
                instance = load();
            }
            return instance;
        }
    }

    private static SqliteNative load() {
        try {
            Path library = extractShim();
            SQLiteConfig config = new SQLiteConfig();
            config.enableLoadExtension(true);
            try (Connection connection = config.createConnection("jdbc:sqlite::memory:");
                    PreparedStatement load = connection.prepareStatement("select load_extension(?)")) {
                load.setString(1, library.toString());
                load.execute();
            }
            return new SqliteNative(library, SymbolLookup.libraryLookup(library, Arena.global()));
        } catch (Throwable e) {
            throw new PagestreamException("cannot load the Pagestream SQLite shim into sqlite-jdbc: " + e.getMessage(), e);
        }
    }

    /**
     * Loads the shim into a connection opened with {@code SQLiteConfig.enableLoadExtension(true)}, which gives that
     * connection the SQL function {@code pagestream_main_file()}.
     */
    public void loadInto(Connection connection) throws SQLException {
        try (PreparedStatement load = connection.prepareStatement("select load_extension(?)")) {
            load.setString(1, library.toString());
            load.execute();
        }
    }

    /**
     * Extracts the shim once per content and user: a JVM killed before it could delete a per-run copy would leave one
     * behind on every start.
     */
    private static Path extractShim() throws IOException {
        String resource = "native/libpagestream_shim.so";
        byte[] library;
        try (InputStream in = SqliteNative.class.getResourceAsStream("/io/pagestream/vfs/" + resource)) {
            if (in == null) {
                throw new IOException("resource io/pagestream/vfs/" + resource + " is missing from the jar (built only for Linux)");
            }
            library = in.readAllBytes();
        }
        CRC32C crc = new CRC32C();
        crc.update(library);
        Path file = Path.of(System.getProperty("java.io.tmpdir"), "pagestream-shim-" + System.getProperty("user.name") + "-"
                + Long.toHexString(crc.getValue()) + "-" + library.length + ".so");
        // Compared byte for byte: the name is predictable, so a file already there is trusted only if it is this library.
        if (!Files.exists(file) || !java.util.Arrays.equals(Files.readAllBytes(file), library)) {
            Path staged = Files.createTempFile(file.getParent(), "pagestream-shim-", ".tmp");
            try {
                Files.write(staged, library);
                Files.move(staged, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(staged);
            }
        }
        return file;
    }

    private static MethodHandle downcall(SymbolLookup lookup, String name, FunctionDescriptor descriptor) {
        MemorySegment symbol = lookup.find(name).orElseThrow(() -> new PagestreamException("shim symbol " + name + " not found"));
        return LINKER.downcallHandle(symbol, descriptor);
    }

    private static MethodHandle invoker(FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(descriptor);
    }

    public MemorySegment findVfs(MemorySegment name) {
        try {
            return (MemorySegment) vfsFind.invokeExact(name);
        } catch (Throwable e) {
            throw new PagestreamException("sqlite3_vfs_find failed", e);
        }
    }

    public int registerVfs(MemorySegment vfs) {
        try {
            return (int) vfsRegister.invokeExact(vfs, 0);
        } catch (Throwable e) {
            throw new PagestreamException("sqlite3_vfs_register failed", e);
        }
    }

    public int unregisterVfs(MemorySegment vfs) {
        try {
            return (int) vfsUnregister.invokeExact(vfs);
        } catch (Throwable e) {
            throw new PagestreamException("sqlite3_vfs_unregister failed", e);
        }
    }

    /** sqlite3_uri_parameter on a main-db filename as given to xOpen; null when absent. */
    public String uriParameter(MemorySegment filename, MemorySegment name) {
        try {
            MemorySegment value = (MemorySegment) uriParameter.invokeExact(filename, name);
            return value.equals(MemorySegment.NULL) ? null : value.reinterpret(Long.MAX_VALUE).getString(0);
        } catch (Throwable e) {
            throw new PagestreamException("sqlite3_uri_parameter failed", e);
        }
    }

    /** A copy of {@code text} allocated by sqlite3_mprintf, for SQLite to free. */
    public MemorySegment sqliteString(MemorySegment text) {
        try {
            return (MemorySegment) message.invokeExact(text);
        } catch (Throwable e) {
            throw new PagestreamException("sqlite3_mprintf failed", e);
        }
    }
}
