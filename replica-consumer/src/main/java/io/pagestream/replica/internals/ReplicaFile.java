package io.pagestream.replica.internals;

import io.pagestream.replica.ReplicaPosition;
import io.pagestream.replica.ReplicaStateException;
import io.pagestream.schemas.FragmentSpool;
import io.pagestream.schemas.JournalApplier;
import io.pagestream.schemas.JournalCodec;
import io.pagestream.schemas.JournalContract;
import io.pagestream.schemas.PageChecksum;
import io.pagestream.schemas.avro.JournalEntry;
import io.pagestream.vfs.internals.SqliteMainFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.LongStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;

/**
 * One replica database file, written atomically for its readers. An apply takes SQLite's EXCLUSIVE lock
 * on the file handle of a sqlite-jdbc connection of its own, through SQLite's VFS (so readers in this JVM
 * are excluded as well as other processes), records the position it leads to, writes and syncs a rollback
 * journal of the pages it replaces and the original size, writes the new pages and size through that same
 * handle, syncs, and commits by truncating the journal. A crash at any point leaves either the old
 * database or a hot journal that the next SQLite connection rolls back to it; reopening resolves the
 * recorded position by the file's checksum. The lock connection never runs a statement on the database:
 * its pager would start a transaction of its own (and write page 1 of an empty file).
 */
public final class ReplicaFile implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ReplicaFile.class);

    private final Path path;
    private final String dbId;
    private final PositionFile positions;
    private final Connection lockConnection;
    private final SqliteMainFile file;
    private final RollbackJournal journal;
    private final Duration busyTimeout;
    private ReplicaPosition position;
    /** Page 1 as this replica last left it: SQLite bumps its change counter on any write, so a change means an outside writer. */
    private byte[] firstPage;

    private ReplicaFile(Path path, String dbId, PositionFile positions, Connection lockConnection, Duration busyTimeout)
            throws SQLException {
        this.path = path;
        this.dbId = dbId;
        this.positions = positions;
        this.lockConnection = lockConnection;
        this.file = SqliteMainFile.of(lockConnection);
        this.journal = new RollbackJournal(path);
        this.busyTimeout = busyTimeout;
    }

    /**
     * Opens (creating when missing) the replica of {@code dbId} at {@code path}, rolls back an apply a crash
     * interrupted, and resolves the recorded position by the file's checksum.
     *
     * @throws ReplicaStateException when the file has content but no position, belongs to another db id, or
     *     matches neither recorded position
     */
    public static ReplicaFile open(Path path, String dbId, Duration busyTimeout) {
        Path absolute = path.toAbsolutePath();
        try {
            if (!PositionFile.exists(absolute) && Files.exists(absolute) && Files.size(absolute) > 0) {
                throw new ReplicaStateException("replica of " + dbId + ": " + absolute + " exists and is not empty but has no"
                        + " position file " + PositionFile.pathFor(absolute) + "; refusing to overwrite it (move it away to"
                        + " start a new replica)");
            }
            Files.createDirectories(absolute.getParent());
        } catch (IOException e) {
            throw new UncheckedIOException("replica of " + dbId + ": cannot prepare " + absolute, e);
        }
        PositionFile positions = PositionFile.open(absolute);
        Connection connection = null;
        try {
            SQLiteConfig config = new SQLiteConfig();
            config.enableLoadExtension(true);
            connection = config.createConnection("jdbc:sqlite:" + absolute);
            ReplicaFile replica = new ReplicaFile(absolute, dbId, positions, connection, busyTimeout);
            replica.recover();
            return replica;
        } catch (SQLException | RuntimeException e) {
            closeQuietly(connection);
            positions.close();
            if (e instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new ReplicaStateException("replica of " + dbId + ": cannot open " + absolute + ": " + e.getMessage(), e);
        }
    }

    public ReplicaPosition position() {
        return position;
    }

    /**
     * A batch to stage entries into, on top of the file's current state; staging reads pages of the file, so an outside
     * write is reported as such here rather than as the checksum mismatch it would cause (and checked again under the lock).
     */
    StagedBatch newBatch() {
        try {
            requireUnchangedSinceLastApply();
        } catch (IOException e) {
            throw new UncheckedIOException("replica of " + dbId + ": cannot read " + path, e);
        }
        int pageSize = position.pageSize();
        return new StagedBatch(position, (pgno, into) -> file.read((pgno - 1) * pageSize, into, pageSize));
    }

    /** Brings the file from its recorded position to the batch's, atomically for readers and crash-safely. */
    void commit(StagedBatch batch) {
        if (batch.isEmpty()) {
            return;
        }
        ReplicaPosition target = batch.position();
        beginExclusive();
        boolean written = false;
        try {
            requireUnchangedSinceLastApply();
            positions.write(dbId, position, target);
            int originalPageSize = batch.originalPageSize();
            TreeSet<Long> save = batch.pagesToSave();
            journal.write(originalPageSize > 0 ? originalPageSize : Math.max(batch.pageSize(), JournalContract.MIN_PAGE_SIZE),
                    batch.originalPageCount(), save.size(), save.stream().mapToLong(Long::longValue).iterator(),
                    (pgno, into) -> file.read((pgno - 1) * originalPageSize, into, originalPageSize));
            written = true;
            int pageSize = batch.pageSize();
            for (Map.Entry<Long, byte[]> page : batch.pagesToWrite().entrySet()) {
                file.write((page.getKey() - 1) * pageSize, page.getValue(), pageSize);
            }
            byte[] zeros = new byte[Math.max(pageSize, 1)];
            for (var zero = batch.pagesToZero(); zero.hasNext(); ) {
                file.write((zero.nextLong() - 1) * pageSize, zeros, pageSize);
            }
            long size = batch.pageCount() * pageSize;
            if (file.size() != size) {
                file.truncate(size);
            }
            file.sync();
            journal.finish();
            position = target;
            byte[] newFirstPage = batch.pagesToWrite().get(1L);
            firstPage = batch.pageCount() == 0 ? null : newFirstPage != null ? newFirstPage : firstPage;
        } catch (IOException e) {
            throw new UncheckedIOException("replica of " + dbId + ": apply up to " + target + " failed", e);
        } finally {
            endTransaction();
            if (written && position != target) {
                // The journal may be hot: let SQLite roll it back and learn where the file stands.
                recover();
            }
        }
    }

    /**
     * Applies an entry spooled because it was too large to hold ({@link FragmentSpool}), which replaces every page, as
     * {@link #commit} applies a batch: its checksums are verified over the spool first, then, under the exclusive lock,
     * the rollback journal saves every page of the file, and the new pages are written one at a time from the spool.
     *
     * @param partition where its last fragment is
     * @param offset where its last fragment is
     */
    void commitWhole(FragmentSpool spool, int partition, long offset, String origin) {
        JournalEntry fields = spool.fields();
        ReplicaPosition target = new ReplicaPosition(fields.getLsn(), fields.getPostChecksum(), fields.getPageSize(),
                fields.getPageCount(), partition, offset, fields.getCommitTimeMillis());
        String where = "replica of " + dbId + " at " + origin;
        try {
            requireUnchangedSinceLastApply();
        } catch (IOException e) {
            throw new UncheckedIOException(where + ": cannot read " + path, e);
        }
        JournalApplier.verifyWhole(spool, position.checksum(), where);
        beginExclusive();
        boolean written = false;
        byte[][] newFirstPage = {null};
        try {
            requireUnchangedSinceLastApply();
            positions.write(dbId, position, target);
            int originalPageSize = position.pageSize();
            long originalPageCount = position.pageCount();
            long lockPage = originalPageSize > 0 ? JournalContract.lockBytePgno(originalPageSize) : -1;
            int save = (int) (originalPageCount - (lockPage <= originalPageCount && lockPage > 0 ? 1 : 0));
            journal.write(originalPageSize > 0 ? originalPageSize : Math.max(fields.getPageSize(), JournalContract.MIN_PAGE_SIZE),
                    originalPageCount, save,
                    LongStream.rangeClosed(1, originalPageCount).filter(pgno -> pgno != lockPage).iterator(),
                    (pgno, into) -> file.read((pgno - 1) * originalPageSize, into, originalPageSize));
            written = true;
            int pageSize = fields.getPageSize();
            try (JournalCodec.EntryReader reader = spool.open(where)) {
                JournalApplier.forEachWholePage(reader, where, (pgno, image) -> {
                    file.write((pgno - 1) * pageSize, image, pageSize);
                    if (pgno == 1) {
                        newFirstPage[0] = image;
                    }
                });
            }
            long size = (long) fields.getPageCount() * pageSize;
            if (file.size() != size) {
                file.truncate(size);
            }
            file.sync();
            journal.finish();
            position = target;
            firstPage = newFirstPage[0];
        } catch (IOException e) {
            throw new UncheckedIOException(where + ": apply up to " + target + " failed", e);
        } finally {
            endTransaction();
            if (written && position != target) {
                recover();
            }
        }
    }

    /** Rolls back an interrupted apply (SQLite does, when a connection reads) and resolves the recorded position. */
    private void recover() {
        try {
            // SQLite deletes a journal it rolls back: later applies must write a new file, not the unlinked one.
            journal.close();
        } catch (IOException e) {
            throw new UncheckedIOException("replica of " + dbId + ": cannot close " + path + "-journal", e);
        }
        rollBackHotJournal();
        beginExclusive();
        try {
            long size = file.size();
            int pageSize = 0;
            if (size >= 100) {
                byte[] header = new byte[100];
                file.read(0, header, 100);
                pageSize = PageChecksum.headerPageSize(header);
            }
            long pageCount = JournalContract.isValidPageSize(pageSize) ? size / pageSize : 0;
            long checksum = pageCount == 0 ? JournalContract.EMPTY_CHECKSUM
                    : PageChecksum.scan(file::read, pageSize, pageCount);
            position = resolve(positions.read(), positions.earlier(), size, pageCount, checksum);
            firstPage = null;
            if (position.pageCount() > 0) {
                firstPage = new byte[position.pageSize()];
                file.read(0, firstPage, firstPage.length);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("replica of " + dbId + ": cannot read " + path, e);
        } finally {
            endTransaction();
        }
    }

    private ReplicaPosition resolve(PositionFile.Recorded recorded, ReplicaPosition earlier, long size, long pageCount,
            long checksum) {
        if (recorded == null) {
            if (size > 0) {
                throw new ReplicaStateException("replica of " + dbId + ": " + path + " has content but no recorded position");
            }
            return ReplicaPosition.EMPTY;
        }
        if (!recorded.dbId().equals(dbId)) {
            throw new ReplicaStateException("replica file " + path + " belongs to db " + recorded.dbId() + ", not " + dbId);
        }
        for (ReplicaPosition candidate : new ReplicaPosition[] {recorded.pending(), recorded.current(), earlier}) {
            if (candidate != null && candidate.checksum() == checksum && candidate.pageCount() == pageCount) {
                if (candidate == recorded.pending() && candidate.lsn() != recorded.current().lsn()) {
                    log.debug("replica of {}: the last apply completed: {}", dbId, candidate);
                }
                return candidate;
            }
        }
        throw new ReplicaStateException("replica of " + dbId + ": " + path + " (checksum " + JournalContract.hex(checksum) + ", "
                + pageCount + " pages) matches neither recorded position (" + recorded.current() + " / " + recorded.pending()
                + "): it was changed outside the replica; move it and its " + PositionFile.SUFFIX + " file away to start over");
    }

    private void requireUnchangedSinceLastApply() throws IOException {
        long expectedSize = position.pageCount() * position.pageSize();
        long size = file.size();
        boolean changed = size != expectedSize;
        if (!changed && firstPage != null) {
            byte[] current = new byte[firstPage.length];
            file.read(0, current, current.length);
            changed = !Arrays.equals(current, firstPage);
        }
        if (changed) {
            throw new ReplicaStateException("replica of " + dbId + ": " + path + " was written outside the replica since "
                    + position + " (size or page 1 differ); open replicas read-only (PRAGMA query_only=1)");
        }
    }

    /** A connection reading the database rolls back a hot journal an interrupted apply left. */
    private void rollBackHotJournal() {
        try (Connection reader = DriverManager.getConnection("jdbc:sqlite:" + path);
                Statement statement = reader.createStatement()) {
            statement.execute("PRAGMA busy_timeout=" + Math.min(Integer.MAX_VALUE, busyTimeout.toMillis()));
            statement.executeQuery("PRAGMA schema_version").close();
        } catch (SQLException e) {
            throw new ReplicaStateException("replica of " + dbId + ": cannot open " + path + " with SQLite: " + e.getMessage(), e);
        }
    }

    /**
     * Takes SQLite's EXCLUSIVE lock the way the pager does (SHARED, RESERVED, then EXCLUSIVE, retried while
     * readers finish — holding PENDING meanwhile admits no new readers).
     */
    private void beginExclusive() {
        try {
            long started = System.nanoTime();
            long warnAt = started + busyTimeout.toNanos();
            long pauseMicros = 50;
            int level = SqliteMainFile.LOCK_SHARED;
            while (true) {
                if (file.lock(level)) {
                    if (level == SqliteMainFile.LOCK_EXCLUSIVE) {
                        return;
                    }
                    level = level == SqliteMainFile.LOCK_SHARED ? SqliteMainFile.LOCK_RESERVED : SqliteMainFile.LOCK_EXCLUSIVE;
                    continue;
                }
                if (System.nanoTime() > warnAt) {
                    log.warn("replica of {}: readers have kept {} locked for {} ms; still waiting to apply", dbId, path,
                            (System.nanoTime() - started) / 1_000_000);
                    warnAt += busyTimeout.toNanos();
                }
                LockSupport.parkNanos(pauseMicros * 1000);
                pauseMicros = Math.min(pauseMicros * 2, 5_000);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("replica of " + dbId + ": cannot lock " + path, e);
        }
    }

    private void endTransaction() {
        try {
            file.unlock(SqliteMainFile.LOCK_NONE);
        } catch (IOException e) {
            throw new UncheckedIOException("replica of " + dbId + ": cannot release the lock on " + path, e);
        }
    }

    @Override
    public void close() {
        try {
            journal.close();
        } catch (IOException e) {
            log.warn("replica of {}: closing the journal failed: {}", dbId, e.toString());
        }
        file.close();
        closeQuietly(lockConnection);
        positions.close();
    }

    private static void closeQuietly(Connection connection) {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException e) {
                log.warn("closing a replica connection failed: {}", e.toString());
            }
        }
    }
}
