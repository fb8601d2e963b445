package io.pagestream.vfs.internals;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.pagestream.schemas.JournalContract;
import io.pagestream.schemas.PagestreamException;
import io.pagestream.vfs.PagestreamConfig;
import io.pagestream.vfs.WriterFencedException;
import io.pagestream.vfs.WriterPosition;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Pagestream VFS as SQLite sees it: a copy of the default (unix) VFS whose xOpen hands main database
 * files a copy of their io-methods table in which only xWrite, xTruncate, xSync, xLock, xUnlock, xFileControl
 * and xClose call into Java, and their rollback journals one in which only xRead and xClose do (a rollback is told
 * from a commit by SQLite reading page images back from the journal). Database reads and every other file (temp
 * files, statement journals) never leave C.
 * Every upcall catches everything: an exception escaping one would kill the JVM.
 */
public final class VfsBridge {
    private static final Logger log = LoggerFactory.getLogger(VfsBridge.class);
    private static final Arena ARENA = Arena.global(); // SQLite may call the stubs until the process ends
    private static final Map<String, String> DB_ID_PATHS = new HashMap<>();
    private static final String JOURNAL_SUFFIX = "-journal";
    /** SQLite's journal modes in the order it matches a PRAGMA value against them (by prefix). */
    private static final List<String> JOURNAL_MODES = List.of("delete", "persist", "off", "truncate", "memory", "wal");

    private final SqliteNative sqlite = SqliteNative.get();
    private final String dbIdParameter;
    private final JournalPublisher publisher;
    private final CommitSettings commitSettings;
    private final CommitObserver observer;
    private final MemorySegment realVfs;
    private final MemorySegment realOpen;
    private final MemorySegment vfs;
    private final int fileSize;
    private final MemorySegment dbIdParameterName;
    private final MemorySegment commitModeParameterName = ARENA.allocateFrom(PagestreamConfig.COMMIT_MODE_URI_PARAMETER);
    private final ConcurrentHashMap<Long, OpenFile> files = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, TrackedDatabase> databases = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, RealMethods> realTables = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, MemorySegment> ourTables = new ConcurrentHashMap<>();
    /** Rollback journals of tracked databases, by sqlite3_file address: their reads tell a rollback's playback. */
    private final ConcurrentHashMap<Long, Journal> journals = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, MemorySegment> journalTables = new ConcurrentHashMap<>();
    private final MemorySegment closeStub;
    private final MemorySegment writeStub;
    private final MemorySegment syncStub;
    private final MemorySegment truncateStub;
    private final MemorySegment lockStub;
    private final MemorySegment unlockStub;
    private final MemorySegment fileControlStub;
    private final MemorySegment journalReadStub;
    private final MemorySegment journalCloseStub;

    /** A tracked database's rollback journal as SQLite opened it. */
    private record Journal(RealMethods real, TrackedDatabase db) {}

    public VfsBridge(String name, String dbIdParameter, JournalPublisher publisher, CommitObserver observer,
            CommitSettings commitSettings) {
        this.dbIdParameter = dbIdParameter;
        this.publisher = publisher;
        this.commitSettings = commitSettings;
        this.observer = observer;
        this.realVfs = sqlite.findVfs(MemorySegment.NULL).reinterpret(SqliteNative.VFS_SIZE);
        if (realVfs.address() == 0) {
            throw new PagestreamException("SQLite has no default VFS");
        }
        MemorySegment nativeName = ARENA.allocateFrom(name);
        if (!sqlite.findVfs(nativeName).equals(MemorySegment.NULL)) {
            throw new PagestreamException("a VFS named '" + name + "' is already registered in this process");
        }
        this.realOpen = realVfs.get(ADDRESS, SqliteNative.VFS_OPEN);
        this.fileSize = realVfs.get(JAVA_INT, SqliteNative.VFS_SZ_OS_FILE);
        this.dbIdParameterName = ARENA.allocateFrom(dbIdParameter);
        closeStub = stub("xClose", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        writeStub = stub("xWrite", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG));
        truncateStub = stub("xTruncate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
        syncStub = stub("xSync", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        lockStub = stub("xLock", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        unlockStub = stub("xUnlock", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        fileControlStub = stub("xFileControl", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
        journalReadStub = stub("xJournalRead", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG));
        journalCloseStub = stub("xJournalClose", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        MemorySegment openStub = stub("xOpen", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS));

        vfs = ARENA.allocate(SqliteNative.VFS_SIZE, 8);
        vfs.copyFrom(realVfs);
        vfs.set(ADDRESS, SqliteNative.VFS_NEXT, MemorySegment.NULL);
        vfs.set(ADDRESS, SqliteNative.VFS_NAME, nativeName);
        vfs.set(ADDRESS, SqliteNative.VFS_OPEN, openStub);
        int rc = sqlite.registerVfs(vfs);
        if (rc != SqliteNative.SQLITE_OK) {
            throw new PagestreamException("sqlite3_vfs_register('" + name + "') failed with code " + rc);
        }
    }

    /** Unregisters the VFS; connections must be closed first. */
    public void unregister() {
        sqlite.unregisterVfs(vfs);
        synchronized (DB_ID_PATHS) {
            for (TrackedDatabase db : databases.values()) {
                db.stateFile.close();
                db.outbox.close();
                DB_ID_PATHS.remove(db.dbId);
            }
            databases.clear();
        }
    }

    /** Why a database of this VFS no longer publishes, if another writer fenced it. */
    public Optional<WriterFencedException> fencedBy(String dbId) {
        return ofDatabase(dbId, TrackedDatabase::fencedBy);
    }

    /** Where a database of this VFS stands: committed and acknowledged LSNs; empty if it is not open. */
    public Optional<WriterPosition> position(String dbId) {
        return ofDatabase(dbId, TrackedDatabase::position);
    }

    /** Why the latest refused commit of a database of this VFS failed, if one was refused. */
    public Optional<PagestreamException> lastRefusal(String dbId) {
        return ofDatabase(dbId, TrackedDatabase::lastRefusal);
    }

    private <T> Optional<T> ofDatabase(String dbId, Function<TrackedDatabase, T> property) {
        return databases.values().stream().filter(db -> db.dbId.equals(dbId)).map(property).filter(Objects::nonNull)
                .findFirst();
    }

    private MemorySegment stub(String method, FunctionDescriptor descriptor) {
        try {
            MethodHandle handle = MethodHandles.lookup().findVirtual(VfsBridge.class, method, descriptor.toMethodType()).bindTo(this);
            return SqliteNative.LINKER.upcallStub(handle, descriptor, ARENA);
        } catch (ReflectiveOperationException e) {
            throw new PagestreamException("cannot bind VFS upcall " + method, e);
        }
    }

    /** Kept small: it runs for every journal file too, and a large method keeps the JIT recompiling. */
    private int xOpen(MemorySegment pVfs, MemorySegment zName, MemorySegment file, int flags, MemorySegment outFlags) {
        MemorySegment handle = file.reinterpret(fileSize);
        try {
            if ((flags & SqliteNative.SQLITE_OPEN_WAL) != 0) {
                return refuseWal(zName, handle);
            }
            int rc = (int) SqliteNative.OPEN.invokeExact(realOpen, realVfs, zName, file, flags, outFlags);
            if (rc != SqliteNative.SQLITE_OK) {
                handle.set(ADDRESS, 0, MemorySegment.NULL);
                return rc;
            }
            if (zName.equals(MemorySegment.NULL)) {
                return rc;
            }
            if ((flags & SqliteNative.SQLITE_OPEN_MAIN_JOURNAL) != 0) {
                // Read-only: SQLite checking whether a journal is hot, at every transaction (it never plays back or
                // writes through such a handle).
                return (flags & SqliteNative.SQLITE_OPEN_READONLY) != 0 ? rc : openJournal(zName, handle, rc);
            }
            if ((flags & SqliteNative.SQLITE_OPEN_MAIN_DB) == 0) {
                return rc;
            }
            return openDatabase(zName, handle, rc);
        } catch (Throwable e) {
            return openFailed(handle, e);
        }
    }

    private static int refuseWal(MemorySegment zName, MemorySegment handle) {
        log.error("pagestream: refusing to open a WAL file for {}: journal_mode=WAL is not supported yet"
                + " (the database was put in WAL mode outside Pagestream; use DELETE, TRUNCATE or PERSIST)", string(zName));
        handle.set(ADDRESS, 0, MemorySegment.NULL);
        return SqliteNative.SQLITE_CANTOPEN;
    }

    /** A main database file the real VFS just opened: track it and give it the capturing method table. */
    private int openDatabase(MemorySegment zName, MemorySegment handle, int rc) {
        MemorySegment methods = handle.get(ADDRESS, 0);
        if (methods.equals(MemorySegment.NULL)) {
            return rc;
        }
        RealMethods real = realMethods(methods);
        String path = string(zName);
        String requestedId = sqlite.uriParameter(zName, dbIdParameterName);
        String dbId = requestedId == null || requestedId.isEmpty() ? Path.of(path).getFileName().toString() : requestedId;
        TrackedDatabase db;
        try {
            db = track(path, dbId, commitSettings(zName));
        } catch (PagestreamException e) {
            log.error("pagestream: cannot open {}: {}", path, e.getMessage());
            return refuseOpened(real, handle);
        }
        int descriptor = DeviceWriteBack.sqliteDescriptor(handle, Path.of(path)).orElse(-1);
        if (descriptor < 0) {
            log.warn("pagestream: {}: no file descriptor found in SQLite's unixFile; commits wait for the outbox's"
                    + " write to the device before SQLite's fsync starts the database's", path);
        }
        files.put(handle.address(), new OpenFile(handle, real, db, descriptor));
        handle.set(ADDRESS, 0, ourTables.computeIfAbsent(methods.address(), address -> methodTable(real)));
        return rc;
    }

    /**
     * A tracked database's rollback journal: only its reads and close call into Java, so that a rollback playing the
     * journal back is told from a commit (see {@link TrackedDatabase#journalPageRead}).
     */
    private int openJournal(MemorySegment zName, MemorySegment handle, int rc) {
        MemorySegment methods = handle.get(ADDRESS, 0);
        String path = string(zName);
        TrackedDatabase db = path.endsWith(JOURNAL_SUFFIX) ? databases.get(path.substring(0, path.length() - JOURNAL_SUFFIX.length())) : null;
        if (methods.equals(MemorySegment.NULL) || db == null) {
            return rc;
        }
        RealMethods real = realMethods(methods);
        journals.put(handle.address(), new Journal(real, db));
        handle.set(ADDRESS, 0, journalTables.computeIfAbsent(methods.address(), address -> journalTable(real)));
        db.journalOpened(1);
        return rc;
    }

    private MemorySegment journalTable(RealMethods real) {
        MemorySegment table = ARENA.allocate(SqliteNative.IO_METHODS_SIZE, 8);
        table.copyFrom(real.table);
        table.set(ADDRESS, SqliteNative.IO_READ, journalReadStub);
        table.set(ADDRESS, SqliteNative.IO_CLOSE, journalCloseStub);
        return table;
    }

    private int xJournalRead(MemorySegment file, MemorySegment buffer, int amount, long offset) {
        Journal journal;
        int rc;
        try {
            journal = journals.get(file.address());
            rc = journal.real.read(file, buffer, amount, offset);
        } catch (Throwable e) {
            logQuietly("pagestream: reading a rollback journal failed", e);
            return SqliteNative.SQLITE_IOERR_READ;
        }
        // Only page images matter (headers and checksums are a few bytes). Without its copy a rollback's playback could
        // pass for a commit, so a failed copy fails the read: the rollback stops, and the journal stays hot for recovery.
        if (rc == SqliteNative.SQLITE_OK && amount >= JournalContract.MIN_PAGE_SIZE) {
            try {
                journal.db.journalPageRead(buffer, amount);
            } catch (Throwable e) {
                logQuietly("pagestream: db " + journal.db.dbId + ": keeping a page image read from the journal failed", e);
                return SqliteNative.SQLITE_IOERR_READ;
            }
        }
        return rc;
    }

    private int xJournalClose(MemorySegment file) {
        try {
            Journal journal = journals.remove(file.address());
            journal.db.journalOpened(-1);
            return journal.real.close(file);
        } catch (Throwable e) {
            logQuietly("pagestream: closing a rollback journal failed", e);
            return SqliteNative.SQLITE_IOERR_CLOSE;
        }
    }

    private RealMethods realMethods(MemorySegment methods) {
        return realTables.computeIfAbsent(methods.address(), address -> new RealMethods(methods));
    }

    private int openFailed(MemorySegment handle, Throwable e) {
        logQuietly("pagestream: xOpen failed", e);
        try {
            MemorySegment methods = handle.get(ADDRESS, 0);
            if (!methods.equals(MemorySegment.NULL) && !files.containsKey(handle.address())) {
                return refuseOpened(realMethods(methods), handle);
            }
        } catch (Throwable again) {
            logQuietly("pagestream: cleaning up a failed xOpen failed", again);
        }
        return SqliteNative.SQLITE_CANTOPEN;
    }

    /** The VFS's commit settings, with the commit mode the database's URI may set. */
    private CommitSettings commitSettings(MemorySegment zName) {
        String mode = sqlite.uriParameter(zName, commitModeParameterName);
        if (mode == null || mode.isEmpty()) {
            return commitSettings;
        }
        return switch (mode.toLowerCase(Locale.ROOT)) {
            case "sync" -> commitSettings.withSync(true);
            case "async" -> commitSettings.withSync(false);
            default -> throw new PagestreamException(PagestreamConfig.COMMIT_MODE_URI_PARAMETER + "=" + mode
                    + " is neither sync nor async");
        };
    }

    /**
     * One path per db id in the whole process (a db id names one LSN chain), one tracked database per path in this
     * VFS; the state file's lock keeps a path to one VFS and one process.
     */
    private TrackedDatabase track(String path, String dbId, CommitSettings settings) {
        synchronized (DB_ID_PATHS) {
            TrackedDatabase existing = databases.get(path);
            if (existing != null) {
                if (!existing.dbId.equals(dbId)) {
                    throw new PagestreamException("it is already open as db id '" + existing.dbId + "', not '" + dbId + "'");
                }
                return existing;
            }
            if (dbId.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > WriterStateFile.MAX_DB_ID_BYTES) {
                throw new PagestreamException("db id longer than " + WriterStateFile.MAX_DB_ID_BYTES + " UTF-8 bytes");
            }
            String owner = DB_ID_PATHS.get(dbId);
            if (owner != null) {
                throw new PagestreamException("db id '" + dbId + "' is already used by " + owner
                        + "; give each database its own id with the " + dbIdParameter + " URI parameter");
            }
            TrackedDatabase db = new TrackedDatabase(path, dbId, publisher, observer, settings);
            DB_ID_PATHS.put(dbId, path);
            databases.put(path, db);
            return db;
        }
    }

    private static int refuseOpened(RealMethods real, MemorySegment handle) {
        try {
            real.close(handle);
        } catch (Throwable e) {
            logQuietly("pagestream: closing a refused file failed", e);
        }
        handle.set(ADDRESS, 0, MemorySegment.NULL);
        return SqliteNative.SQLITE_CANTOPEN;
    }

    private MemorySegment methodTable(RealMethods real) {
        MemorySegment table = ARENA.allocate(SqliteNative.IO_METHODS_SIZE, 8);
        table.copyFrom(real.table);
        table.set(ADDRESS, SqliteNative.IO_CLOSE, closeStub);
        table.set(ADDRESS, SqliteNative.IO_WRITE, writeStub);
        table.set(ADDRESS, SqliteNative.IO_TRUNCATE, truncateStub);
        table.set(ADDRESS, SqliteNative.IO_SYNC, syncStub);
        table.set(ADDRESS, SqliteNative.IO_LOCK, lockStub);
        table.set(ADDRESS, SqliteNative.IO_UNLOCK, unlockStub);
        table.set(ADDRESS, SqliteNative.IO_FILE_CONTROL, fileControlStub);
        return table;
    }

    private int xClose(MemorySegment file) {
        try {
            OpenFile open = files.remove(file.address());
            return open.real.close(open.file);
        } catch (Throwable e) {
            logQuietly("pagestream: xClose failed", e);
            return SqliteNative.SQLITE_IOERR_CLOSE;
        }
    }

    private int xWrite(MemorySegment file, MemorySegment buffer, int amount, long offset) {
        OpenFile open = files.get(file.address());
        try {
            open.db.beforeWrite(open, buffer, amount, offset);
        } catch (Throwable e) {
            captureFailed(open, e);
        }
        try {
            return open.real.write(open.file, buffer, amount, offset);
        } catch (Throwable e) {
            logQuietly("pagestream: xWrite failed", e);
            return SqliteNative.SQLITE_IOERR_WRITE;
        }
    }

    private int xTruncate(MemorySegment file, long size) {
        OpenFile open = files.get(file.address());
        try {
            open.db.beforeTruncate(open, size);
        } catch (Throwable e) {
            captureFailed(open, e);
        }
        try {
            return open.real.truncate(open.file, size);
        } catch (Throwable e) {
            logQuietly("pagestream: xTruncate failed", e);
            return SqliteNative.SQLITE_IOERR_TRUNCATE;
        }
    }

    private int xSync(MemorySegment file, int flags) {
        OpenFile open = files.get(file.address());
        try {
            return open.db.sync(open, flags);
        } catch (Throwable e) {
            // Also when the outbox could not be synced: the entry would not survive a power cut, so no commit.
            logQuietly("pagestream: db " + open.db.dbId + ": xSync failed; the commit fails", e);
            return SqliteNative.SQLITE_IOERR_FSYNC;
        }
    }

    private int xLock(MemorySegment file, int level) {
        OpenFile open = files.get(file.address());
        int rc;
        try {
            rc = open.real.lock(open.file, level);
        } catch (Throwable e) {
            logQuietly("pagestream: xLock failed", e);
            return SqliteNative.SQLITE_IOERR_LOCK;
        }
        if (rc == SqliteNative.SQLITE_OK) {
            int previous = open.lockLevel;
            open.lockLevel = level;
            try {
                open.db.afterLock(open, previous, level);
            } catch (Throwable e) {
                captureFailed(open, e);
            }
        }
        return rc;
    }

    private int xUnlock(MemorySegment file, int level) {
        OpenFile open = files.get(file.address());
        try {
            open.db.beforeUnlock(open, level);
            int rc = open.real.unlock(open.file, level);
            if (rc == SqliteNative.SQLITE_OK) {
                open.lockLevel = level;
            }
            return rc;
        } catch (Throwable e) {
            logQuietly("pagestream: xUnlock failed", e);
            return SqliteNative.SQLITE_IOERR_UNLOCK;
        }
    }

    private int xFileControl(MemorySegment file, int op, MemorySegment arg) {
        OpenFile open = files.get(file.address());
        try {
            if (op == SqliteNative.SQLITE_FCNTL_PRAGMA) {
                Integer refused = refusePragma(open, arg);
                if (refused != null) {
                    return refused;
                }
            } else if (op == SqliteNative.SQLITE_FCNTL_SYNC) {
                int rc = stageBeforeSync(open);
                if (rc != SqliteNative.SQLITE_OK) {
                    return rc;
                }
            } else if (op == SqliteNative.SQLITE_FCNTL_CHUNK_SIZE) {
                open.db.chunkSizeSet();
            } else if (op == SqliteNative.SQLITE_FCNTL_COMMIT_PHASETWO) {
                try {
                    open.db.onCommit(open); // a lost entry refuses later commits (TrackedDatabase.entryLost)
                } catch (Throwable e) {
                    // The transaction is committed locally whatever happens here: never fail it.
                    logQuietly("pagestream: db " + open.db.dbId + ": handing over a committed transaction failed", e);
                }
            }
            return open.real.fileControl(open.file, op, arg);
        } catch (Throwable e) {
            logQuietly("pagestream: xFileControl failed", e);
            return SqliteNative.SQLITE_ERROR;
        }
    }

    /** Stages the transaction's entry before the commit point; an error code fails (and rolls back) the commit. */
    private int stageBeforeSync(OpenFile open) {
        try {
            return open.db.beforeSync(open);
        } catch (Throwable e) {
            logQuietly("pagestream: db " + open.db.dbId + ": staging the entry in the outbox failed; the commit fails", e);
            try {
                return open.db.stagingFailed(e);
            } catch (Throwable again) {
                return SqliteNative.SQLITE_IOERR_WRITE;
            }
        }
    }

    /**
     * PRAGMA journal_mode=WAL and =OFF are refused with an SQL error, and =MEMORY for a database that commits
     * synchronously; everything else passes.
     */
    private Integer refusePragma(OpenFile open, MemorySegment arg) {
        MemorySegment args = arg.reinterpret(3 * ADDRESS.byteSize());
        String pragma = string(args.getAtIndex(ADDRESS, 1));
        String value = string(args.getAtIndex(ADDRESS, 2));
        if (pragma == null || value == null) {
            return null;
        }
        String setting = value.trim().toLowerCase(Locale.ROOT);
        String reason = switch (pragma.toLowerCase(Locale.ROOT)) {
            case "journal_mode" -> switch (journalMode(setting)) {
                case "wal" -> "journal_mode=WAL is not supported yet; use DELETE, TRUNCATE, PERSIST or MEMORY";
                case "off" -> "journal_mode=OFF cannot roll back, so a failed transaction could leave pages Pagestream never"
                        + " publishes; use DELETE, TRUNCATE, PERSIST or MEMORY";
                // A rollback is told from a commit by SQLite reading the journal file back (see TrackedDatabase.journalPageRead).
                case "memory" -> open.db.commitsSynchronously() ? TrackedDatabase.MEMORY_JOURNAL_WITH_SYNC_REFUSED : null;
                default -> null;
            };
            default -> null;
        };
        if (reason == null) {
            return null;
        }
        String message = "pagestream: db " + open.db.dbId + ": " + reason;
        try (Arena arena = Arena.ofConfined()) {
            args.setAtIndex(ADDRESS, 0, sqlite.sqliteString(arena.allocateFrom(message)));
        }
        return SqliteNative.SQLITE_ERROR;
    }

    /** The journal mode SQLite picks for a PRAGMA journal_mode value: the first whose name starts with it. */
    private static String journalMode(String value) {
        if (value.isEmpty()) {
            return value; // a query, not a change
        }
        for (String mode : JOURNAL_MODES) {
            if (mode.startsWith(value)) {
                return mode;
            }
        }
        return value;
    }

    /**
     * Before the commit point: the commit publishes the transaction as a whole-database entry instead, or is refused
     * if the transaction has no capture at all. Never throws, even out of memory: an exception escaping an upcall
     * would kill the JVM.
     */
    private void captureFailed(OpenFile open, Throwable e) {
        try {
            open.db.abandonCapture(e);
            log.error("pagestream: capturing a transaction of db {} failed; its commit publishes every page, or is refused"
                    + " if the transaction has no capture", open.db.dbId, e);
        } catch (Throwable ignored) {
            // out of memory: abandonCapture set needsBase before anything that allocates
        }
    }

    /** Logging from a catch block of an upcall must not throw (it may run out of memory itself). */
    private static void logQuietly(String message, Throwable e) {
        try {
            log.error(message, e);
        } catch (Throwable ignored) {
            // nothing more can be done without risking the JVM
        }
    }

    private static String string(MemorySegment pointer) {
        return pointer.equals(MemorySegment.NULL) ? null : pointer.reinterpret(Long.MAX_VALUE).getString(0);
    }
}
