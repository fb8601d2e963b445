package io.pagestream.vfs.internals;

import io.pagestream.schemas.JournalCodec;
import io.pagestream.schemas.JournalContract;
import io.pagestream.schemas.PageChecksum;
import io.pagestream.schemas.PageDiff;
import io.pagestream.schemas.PagestreamConfigException;
import io.pagestream.schemas.PagestreamException;
import io.pagestream.schemas.RetriablePagestreamException;
import io.pagestream.schemas.avro.JournalEntry;
import io.pagestream.schemas.avro.PageDelta;
import io.pagestream.vfs.JournalPosition;
import io.pagestream.vfs.PagestreamConfig;
import io.pagestream.vfs.WriterFencedException;
import io.pagestream.vfs.WriterPosition;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One writer database: captures each write transaction's pages as SQLite writes them and, at commit,
 * hands them to the publisher with the next LSN. SQLite's own locks serialize writers, so the methods
 * here run one transaction at a time; the monitor guards against readers' lock calls.
 *
 * <p>Pre-images come from the file itself, read just before SQLite first overwrites a page in the
 * transaction, so capture works the same in every rollback journal mode.
 */
final class TrackedDatabase {
    private static final Logger log = LoggerFactory.getLogger(TrackedDatabase.class);
    private static final int HEADER_BYTES = 100;
    private static final VarHandle BIG_ENDIAN_INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
    private static final int CHANGE_COUNTER_OFFSET = 24;
    private static final int VERSION_VALID_FOR_OFFSET = 92;
    private static final long PAGE_CACHE_BYTES = 4L << 20;
    /** Why a database in commit.mode=sync refuses journal_mode=MEMORY, at the PRAGMA or, set past it, at commit. */
    static final String MEMORY_JOURNAL_WITH_SYNC_REFUSED = "journal_mode=MEMORY with commit.mode=sync is not supported:"
            + " without a journal file a rollback that wrote pages early cannot be told from a commit, whose entry goes to"
            + " Kafka before the commit point; use DELETE, TRUNCATE or PERSIST";
    /** Pause between attempts to read the journal's end when a committed transaction cannot go on without it. */
    private static final long VERIFY_RETRY_NANOS = 200_000_000;
    /**
     * Heap a transaction's page images may take before capture drops them and publishes the whole database instead
     * (which streams from the file, whatever its size). Running out of memory inside a VFS upcall would abort the JVM,
     * so it stays well clear.
     */
    private static final long CAPTURE_BUDGET = Runtime.getRuntime().maxMemory() / 8;
    /** Pages a whole-database entry reads from the file at a time (its encoding streams to the outbox). */
    private static final int WHOLE_DATABASE_READ_BYTES = 1 << 20;

    final String path;
    final String dbId;
    final WriterStateFile stateFile;
    final Outbox outbox;
    private final CommitSettings settings;
    private final JournalPublisher publisher;
    private final CommitObserver observer;

    private volatile TransactionCapture capture;
    /** Volatile, with {@link #lastLsn}, for {@link #position()} on any thread. */
    private volatile boolean verified;
    private volatile long lastLsn;
    /** The LSN the publisher last recorded as acknowledged; -1 until then (the state file tells). */
    private volatile long acknowledgedLsn = -1;
    /** Database header (first 100 bytes) after our last commit; null when it must be read (first use, outside change, rollback). */
    private byte[] expectedHeader;
    /** Size in pages after our last commit; -1 when unknown (first use, outside change, recovery). */
    private long committedPages = -1;
    private boolean sizeFromFile;
    private final PageCache cache = new PageCache(PAGE_CACHE_BYTES);
    /**
     * Pages a rolled-back transaction left different from the chain, with their images in the chain: SQLite does not
     * journal a free page it hands out again, so a rollback does not restore it. The next entry carries them.
     */
    private final Map<Integer, byte[]> unrestored = new HashMap<>();
    /**
     * The change counter of the journal's newest entry when the file holds an older one (see {@link #carryBackLanded}):
     * the next commit counts on from it, so replica readers never see one counter on two different databases.
     */
    private Integer counterFloor;
    /** Rollback journal files of this database open now: none at a commit means an in-memory journal. */
    private int openJournals;
    private volatile boolean needsBase;
    /** Set by the publisher when another writer claimed this db id. */
    private volatile WriterFencedException fencedBy;
    /**
     * The entry of a synchronous COMMIT that gave up on Kafka, with its page images: whether it landed anyway decides
     * how the chain goes on (its images are then the chain's images of its pages).
     */
    private Prepared uncertainEntry;
    /** Kafka was unreachable when this process first reconciled the database: see {@link #journalEndUnread()}. */
    private volatile boolean journalEndUnread;
    private volatile PagestreamException lastRefusal;
    /** Why the latest attempt to reconcile the database with its journal failed (see {@link #verifyAgainstState}). */
    private RetriablePagestreamException unverifiedReason;
    /** Why the transaction in progress has no capture (it could not begin): its commit is refused. */
    private volatile Throwable uncaptured;
    /** Why a committed transaction's entry never reached the publisher: every later commit is refused (see {@link #entryLost}). */
    private volatile Throwable entryLost;

    /** The chain's checksum after the last committed entry. */
    private long chainChecksum;

    TrackedDatabase(String path, String dbId, JournalPublisher publisher, CommitObserver observer, CommitSettings settings) {
        this.path = path;
        this.dbId = dbId;
        this.publisher = publisher;
        this.observer = observer;
        this.settings = settings;
        this.stateFile = new WriterStateFile(java.nio.file.Path.of(path));
        try {
            this.outbox = new Outbox(java.nio.file.Path.of(path));
        } catch (RuntimeException e) {
            stateFile.close();
            throw e;
        }
    }

    /** The next commit must publish a base entry (capture failed, or the file changed outside the VFS). */
    void requireBase() {
        needsBase = true;
    }

    /**
     * Kafka acknowledged an entry: record the position (a few memory stores, see {@link WriterStateFile}), then let
     * the outbox drop what Kafka now holds (forcing the position to disk first when a segment goes). Publisher thread.
     */
    void acknowledged(WriterStateFile.State position) {
        stateFile.write(position);
        acknowledgedLsn = position.lsn();
        outbox.acknowledged(position.lsn(), stateFile::force);
    }

    /**
     * Whether this process went on from the recorded position without reading where the journal ends (Kafka was
     * unreachable at the first transaction): the publisher reads it before sending anything, since Kafka may hold
     * outbox entries whose acknowledgement the previous process never saw.
     */
    boolean journalEndUnread() {
        return journalEndUnread;
    }

    /** Another writer claimed this db id: every later commit fails. Publisher thread. */
    void fenced(WriterFencedException error) {
        fencedBy = error;
    }

    /**
     * Refuses the commit: SQLite rolls the transaction back and reports {@code code} to the application, which can ask
     * {@link #lastRefusal()} why; the reason is logged too.
     */
    private int refuse(int code, PagestreamException reason) {
        lastRefusal = reason;
        String name = switch (code) {
            case SqliteNative.SQLITE_READONLY -> "SQLITE_READONLY";
            case SqliteNative.SQLITE_IOERR -> "SQLITE_IOERR";
            case SqliteNative.SQLITE_FULL -> "SQLITE_FULL";
            default -> "SQLITE_ERROR";
        };
        log.error("pagestream: commit refused ({}), the transaction rolls back: {} (file {})", name, reason.getMessage(), path);
        return code;
    }

    /**
     * The newest committed LSN and the newest acknowledged one. Until this process reconciled the database (at its first
     * write transaction) both are the position the state file recorded.
     */
    WriterPosition position() {
        long acknowledged = acknowledgedLsn;
        if (acknowledged < 0) {
            WriterStateFile.State state = recordedState();
            acknowledged = state == null ? 0 : state.lsn();
        }
        return new WriterPosition(verified ? lastLsn : acknowledged, acknowledged);
    }

    /** Why the latest refused commit of this database failed, if one was refused. */
    PagestreamException lastRefusal() {
        return lastRefusal;
    }

    /** Why this database no longer publishes, if it was fenced. */
    WriterFencedException fencedBy() {
        return fencedBy;
    }

    void afterLock(OpenFile file, int previousLevel, int level) throws Throwable {
        if (level >= SqliteNative.SQLITE_LOCK_RESERVED && previousLevel < SqliteNative.SQLITE_LOCK_RESERVED) {
            synchronized (this) {
                if (capture == null) {
                    // Straight from SHARED to EXCLUSIVE is hot-journal recovery rolling back a crashed writer.
                    begin(file, level > SqliteNative.SQLITE_LOCK_RESERVED);
                }
            }
        }
    }

    void beforeUnlock(OpenFile file, int level) {
        TransactionCapture current = capture;
        if (current != null && level < SqliteNative.SQLITE_LOCK_RESERVED && current.owner == file.address()) {
            synchronized (this) {
                if (capture == current) {
                    capture = null;
                    unprepare(current);
                    // After a rollback that spilled page 1, SQLite counts on from the spilled counter, not from the
                    // restored file's: the next transaction reads the header rather than assume it.
                    expectedHeader = null;
                    if (!needsBase && !keepUnrestored(current)) {
                        // Pages changed with no image to go back to (journal_mode=OFF reached through an attached
                        // database, or a write off the page grid): the file no longer matches the chain.
                        log.warn("pagestream: db {} ({}): a rolled-back transaction left pages changed; the next commit"
                                + " publishes a base entry", dbId, path);
                        forgetFileState();
                    }
                }
            }
        }
    }

    /**
     * After a rollback: remembers which pages the file now holds differently from the chain, with their chain images
     * (a page carried from an earlier rollback and not written since is still different).
     *
     * @return false when that cannot be told (no images kept, or a page the chain does not have)
     */
    private boolean keepUnrestored(TransactionCapture tx) {
        if (tx.recovery) {
            return true; // hot-journal playback restores the committed pages by construction
        }
        if (tx.rewrite) {
            return false;
        }
        Map<Integer, byte[]> left = new HashMap<>();
        for (Map.Entry<Integer, byte[]> page : tx.preImages.entrySet()) {
            byte[] now = tx.postImages.get(page.getKey());
            boolean differs = now == null ? unrestored.containsKey(page.getKey()) : !Arrays.equals(page.getValue(), now);
            if (differs) {
                if (page.getValue() == null) {
                    return false;
                }
                left.put(page.getKey(), page.getValue());
            }
        }
        if (!left.isEmpty()) {
            log.info("pagestream: db {} ({}): a rolled-back transaction left {} reused free page(s) changed; the next"
                    + " commit carries them", dbId, path, left.size());
        }
        unrestored.clear();
        unrestored.putAll(left);
        return true;
    }

    /**
     * Capture failed part-way (e.g. out of memory): free its images; the commit reads every page and publishes them as
     * the transaction's entry. Without a capture at all (it could not begin) there is nothing to build that entry: the
     * commit is refused.
     */
    void abandonCapture(Throwable cause) {
        needsBase = true;
        TransactionCapture tx = capture;
        if (tx != null) {
            tx.switchToRewrite();
        } else {
            uncaptured = cause; // no allocation here: it may be out of memory
        }
    }

    /**
     * Past the commit point, building or handing over the transaction's entry failed: the journal lacks a committed
     * transaction, and every later commit is refused rather than published past the gap. Reopening the database in a
     * new VFS reconciles the file with the journal and the outbox (publishing the entry if it was staged).
     */
    void entryLost(Throwable cause) {
        entryLost = cause; // first, and no allocation here: it may be out of memory
        forgetFileState();
        publisher.entryLost();
    }

    /** Building or staging the entry before the commit point failed: the commit is refused, with that reason. */
    int stagingFailed(Throwable cause) {
        return refuse(SqliteNative.SQLITE_IOERR, new PagestreamException("db " + dbId + ": building or staging its entry"
                + " failed (" + cause + ")", cause));
    }

    /** The file may differ from what the chain describes: rebase, and trust nothing cached about it. */
    private void forgetFileState() {
        needsBase = true;
        unrestored.clear();
        committedPages = -1;
        expectedHeader = null;
        cache.clear();
    }

    synchronized void beforeWrite(OpenFile file, MemorySegment buffer, int amount, long offset) throws Throwable {
        file.syncedAhead = false;
        TransactionCapture tx = capture != null ? capture : begin(file, false);
        unprepare(tx); // written after its entry was staged (rolled back in exclusive mode, then written again)
        byte[] journalPage = tx.journalPage;
        tx.journalPage = null;
        tx.restoring = journalPage != null && journalPage.length == amount
                && MemorySegment.mismatch(buffer.reinterpret(amount), 0, amount, MemorySegment.ofArray(journalPage), 0, amount) < 0;
        if (tx.rewrite) {
            return;
        }
        if (tx.pageSize == 0 && offset == 0 && JournalContract.isValidPageSize(amount)) {
            tx.pageSize = amount;
        }
        int pageSize = tx.pageSize;
        if (pageSize == 0 || amount != pageSize || offset % pageSize != 0) {
            tx.switchToRewrite();
            return;
        }
        int pgno = (int) (offset / pageSize) + 1;
        if (!capturePreImage(tx, file, pgno)) {
            return;
        }
        byte[] post = RealMethods.copyOf(buffer.reinterpret(amount), amount);
        if (pgno == 1 && tx.firstPage1Counter == null) {
            tx.firstPage1Counter = changeCounter(post);
        }
        tx.postImages.put(pgno, post);
        tx.pages = Math.max(tx.pages, pgno);
    }

    synchronized void beforeTruncate(OpenFile file, long size) throws Throwable {
        file.syncedAhead = false;
        TransactionCapture tx = capture != null ? capture : begin(file, false);
        // The commit's own shrink, after its entry was staged, is the size the entry already carries.
        if (tx.prepared != null && (tx.prepared.committed() == null || size != tx.prepared.committedBytes())) {
            unprepare(tx);
        }
        if (tx.rewrite || tx.pageSize == 0) {
            return;
        }
        int pageSize = tx.pageSize;
        long keep = size / pageSize;
        long current = Math.min(file.size() / pageSize, tx.originalPages);
        for (long pgno = keep + 1; pgno <= current; pgno++) {
            if (!capturePreImage(tx, file, (int) pgno)) {
                return;
            }
        }
        tx.postImages.keySet().removeIf(pgno -> pgno > keep);
        tx.pages = keep;
    }

    /**
     * Keeps a page's image at transaction start, once per page, from the page cache or the file — within the capture
     * budget (a pre-image and a post-image per page); beyond it the transaction becomes a whole-database entry.
     *
     * @return false when the transaction was switched to a whole-database entry
     */
    private boolean capturePreImage(TransactionCapture tx, OpenFile file, int pgno) throws Throwable {
        if (tx.preImages.containsKey(pgno)) {
            return true;
        }
        if ((tx.preImages.size() + 1L) * 2 * tx.pageSize > CAPTURE_BUDGET) {
            log.warn("pagestream: a transaction of db {} changes more than {} MiB of pages; it is published as a"
                    + " whole-database entry", dbId, CAPTURE_BUDGET >> 20);
            tx.switchToRewrite();
            return false;
        }
        byte[] pre = null;
        if (pgno <= tx.originalPages) {
            pre = tx.recovery ? null : cache.get(pgno);
            if (pre == null) {
                pre = file.read((pgno - 1L) * tx.pageSize, tx.pageSize);
            }
        }
        tx.preImages.put(pgno, pre);
        return true;
    }

    /**
     * SQLite syncs the database: the entry staged for this commit becomes durable with it, and a sync already done
     * while Kafka took the entry (with the outbox's, see {@link #syncAhead}) is not done again.
     */
    int sync(OpenFile file, int flags) throws Throwable {
        file.lastSyncFlags = flags;
        if (file.syncedAhead) {
            file.syncedAhead = false;
            return SqliteNative.SQLITE_OK;
        }
        outbox.syncBeforeDatabaseSync(file.descriptor); // nothing to do when nothing was staged since
        return file.real.sync(file.file, flags);
    }

    /** A transaction's change counter starts no lower than the journal's newest (see {@link #counterFloor}). */
    private void raiseToCounterFloor(TransactionCapture tx) {
        if (counterFloor != null && tx.startChangeCounter - counterFloor < 0) {
            tx.startChangeCounter = counterFloor;
        }
    }

    /** Whether this database's COMMITs wait for Kafka (commit.mode=sync). */
    boolean commitsSynchronously() {
        return settings.sync();
    }

    /** SQLite read a page image of {@code amount} bytes from the database's rollback journal into {@code buffer}. */
    synchronized void journalPageRead(MemorySegment buffer, int amount) {
        if (capture != null) {
            capture.journalPage = RealMethods.copyOf(buffer.reinterpret(amount), amount);
        }
    }

    /** A rollback journal of this database was opened ({@code +1}) or closed ({@code -1}). */
    synchronized void journalOpened(int change) {
        openJournals += change;
    }

    /** SQLITE_FCNTL_CHUNK_SIZE: the file may now grow past its last page, so its size must be asked for. */
    synchronized void chunkSizeSet() {
        sizeFromFile = true;
    }

    /**
     * SQLITE_FCNTL_SYNC: the transaction's pages are all written and its commit point comes next. Its entry is built
     * and staged in the outbox now, so it is there (and synced with the database) before the transaction commits.
     *
     * @return SQLITE_OK; SQLITE_FULL when the outbox is full, SQLITE_READONLY when another writer fenced this one (the
     *     commit then fails and rolls back)
     */
    synchronized int beforeSync(OpenFile file) throws Throwable {
        TransactionCapture tx = capture;
        if (fencedBy != null && tx != null) {
            return refuse(SqliteNative.SQLITE_READONLY, fencedBy);
        }
        Throwable lost = entryLost;
        if (lost != null) {
            return refuse(SqliteNative.SQLITE_IOERR, new PagestreamException("db " + dbId + ": a committed transaction's"
                    + " entry could not be built or staged (" + lost + "), so the journal lacks it: commits are refused"
                    + " until the database is reopened in a new VFS, which reconciles it with its journal and outbox", lost));
        }
        Throwable notCaptured = uncaptured;
        if (tx == null && notCaptured != null) {
            return refuse(SqliteNative.SQLITE_IOERR, new PagestreamException("db " + dbId + ": its transaction could not"
                    + " begin to be captured (" + notCaptured + ")", notCaptured));
        }
        // Playing the journal back (hot-journal recovery, or a rollback after pages were written) syncs too, but
        // commits nothing: free pages SQLite reused without journaling them keep their new bytes, and would look
        // like a transaction.
        if (tx == null || tx.prepared != null) {
            return SqliteNative.SQLITE_OK;
        }
        if (tx.recovery && !tx.playedBack) {
            tx.playedBack = true; // a hot journal's playback syncs once, even when it had no page to put back
            return SqliteNative.SQLITE_OK;
        }
        if (tx.restoring) {
            return SqliteNative.SQLITE_OK;
        }
        tx.journalPage = null;
        if (!verified) {
            verifyLate(file, tx, settings.sync());
        }
        if (!verified) {
            return refuse(SqliteNative.SQLITE_IOERR, unverifiedReason);
        }
        if (settings.sync() && openJournals == 0) {
            // journal_mode=MEMORY (set through an attached database, past the PRAGMA check): a rollback could not be told.
            return refuse(SqliteNative.SQLITE_ERROR,
                    new PagestreamConfigException("db " + dbId + ": " + MEMORY_JOURNAL_WITH_SYNC_REFUSED));
        }
        // A chunked file's final size is known only after the commit point: staged at commit instead (null).
        Prepared prepared = sizeFromFile ? null : prepare(file, tx, true);
        // Whatever stages an entry, here or at the commit, must first know where the chain ends.
        if (uncertainEntry != null && (prepared == null || prepared.committed() != null)) {
            long chainEnd = lastLsn;
            if (!settleUncertain(tx)) {
                return refuse(SqliteNative.SQLITE_IOERR, new RetriablePagestreamException("db " + dbId
                        + ": whether LSN " + uncertainEntry.committed().entry().getLsn() + " reached Kafka is still unknown"));
            }
            if (prepared != null && lastLsn != chainEnd) {
                prepared = prepare(file, tx, true); // the journal holds a transaction the file does not
            }
        }
        if (prepared == null) {
            return SqliteNative.SQLITE_OK; // nothing staged: the commit stages it
        }
        if (prepared.committed() != null) {
            PagestreamException full = awaitOutboxRoom(prepared.payloadBytes());
            if (full != null) {
                return refuse(SqliteNative.SQLITE_FULL, full);
            }
        }
        stage(tx, prepared);
        CommittedTransaction committed = tx.prepared.committed();
        if (committed != null && committed.sync() != null) {
            return awaitKafka(file, tx, committed);
        }
        return SqliteNative.SQLITE_OK;
    }

    /**
     * Synchronous mode: the commit point waits until Kafka holds the entry. If it does not in time, the commit fails
     * and rolls back, and the entry is withdrawn; should it have reached Kafka anyway, the next commit learns it.
     */
    private int awaitKafka(OpenFile file, TransactionCapture tx, CommittedTransaction committed) throws InterruptedException {
        publisher.enqueue(committed);
        syncAhead(file);
        try {
            committed.sync().acknowledged.get(settings.syncTimeoutMs(), TimeUnit.MILLISECONDS);
            return SqliteNative.SQLITE_OK;
        } catch (ExecutionException | TimeoutException e) {
            unprepare(tx);
            Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
            return refuse(SqliteNative.SQLITE_IOERR, new RetriablePagestreamException("db " + dbId
                    + ": Kafka did not acknowledge LSN " + committed.entry().getLsn() + " within commit.sync.timeout.ms "
                    + settings.syncTimeoutMs() + " (" + cause + ")", cause));
        }
    }

    /**
     * While Kafka takes the entry, the database's own sync (which SQLite asks for next, unless synchronous=OFF: as
     * at its last commit) runs too, rather than after Kafka answered. A failure here leaves the sync to SQLite.
     * The outbox is made durable with it as in async mode: Kafka holds the entry once the COMMIT returns, but a
     * restart after a power loss, perhaps in async mode with Kafka away, must still find the database's newest
     * entries in the outbox to continue the chain from them. If the outbox cannot be synced, neither is the database
     * here: SQLite's own sync tries the outbox again and fails the commit if it still cannot.
     */
    private void syncAhead(OpenFile file) {
        if (file.lastSyncFlags == 0) {
            return;
        }
        try {
            outbox.syncBeforeDatabaseSync(file.descriptor);
            file.syncedAhead = file.real.sync(file.file, file.lastSyncFlags) == SqliteNative.SQLITE_OK;
        } catch (Throwable e) {
            log.debug("pagestream: db {}: syncing ahead of SQLite failed; SQLite syncs itself", dbId, e);
        }
    }

    /**
     * Before the next commit after a synchronous one gave up: did its entry reach Kafka after all? If so the journal
     * holds a transaction the file does not, and this commit carries the file back from it: that entry's page images
     * are the chain's images of its pages, so they become this commit's pre-images (and stay the chain's images should
     * this commit roll back too). Its change counter, which replica readers have seen, is counted on from. A size change
     * or whole-database entry cannot be carried back this way: a base entry follows it instead.
     *
     * @return false when that is still unknown (Kafka unreachable): this commit fails too
     */
    private boolean settleUncertain(TransactionCapture tx) throws InterruptedException {
        Prepared landed = uncertainEntry;
        JournalEntry entry = landed.committed().entry();
        try {
            boolean inJournal = landed.committed().sync().landed.get(settings.syncTimeoutMs(), TimeUnit.MILLISECONDS);
            if (!inJournal) {
                outbox.unstage(entry.getLsn()); // its outbox copy, kept until now for a restart to settle it
            } else {
                lastLsn = entry.getLsn();
                byte[] first = landed.post().get(1);
                if (first != null) {
                    counterFloor = changeCounter(first); // for later commits too, should this one not commit
                    raiseToCounterFloor(tx);
                }
                if (landed.kind() == CommittedTransaction.Kind.DIFF && entry.getPageCount() == tx.originalPages && !needsBase
                        && !tx.rewrite && !tx.recovery) {
                    chainChecksum = entry.getPostChecksum();
                    landed.post().forEach((pgno, image) -> {
                        tx.preImages.put(pgno, image);
                        unrestored.put(pgno, image);
                        cache.put(pgno, image, landed.postHashes().get(pgno));
                    });
                    log.warn("pagestream: db {} ({}): LSN {} reached Kafka after its synchronous commit gave up; this commit"
                            + " carries its {} page(s) back", dbId, path, lastLsn, landed.post().size());
                } else {
                    needsBase = true;
                    log.warn("pagestream: db {} ({}): LSN {} reached Kafka after its synchronous commit gave up; a base entry"
                            + " follows it", dbId, path, lastLsn);
                }
            }
            uncertainEntry = null;
            return true;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (ExecutionException | TimeoutException e) {
            return false;
        }
    }

    /**
     * SQLITE_FCNTL_COMMIT_PHASETWO: the transaction is committed locally; the lock is still held. Nothing can fail it
     * now: should its entry not reach the publisher, later commits are refused (see {@link #entryLost}).
     */
    synchronized void onCommit(OpenFile file) {
        TransactionCapture tx = capture;
        if (tx == null) {
            return;
        }
        capture = null;
        try {
            publishCommitted(file, tx);
        } catch (Throwable e) {
            entryLost(e);
            log.error("pagestream: db {} ({}): a committed transaction's entry could not be built or staged; the journal"
                    + " lacks it, and commits are refused until the database is reopened in a new VFS", dbId, path, e);
        }
    }

    private void publishCommitted(OpenFile file, TransactionCapture tx) throws Throwable {
        if (tx.prepared == null) {
            // Its sync was taken for a playback's. Past the commit point nothing can fail it: it waits until Kafka can be
            // read if the outbox holds an entry Kafka may have; any other cause stays, and the entry is lost.
            if (!verified) {
                verifyLate(file, tx, false);
            }
            if (!verified) {
                while (!journalReadable()) {
                    java.util.concurrent.locks.LockSupport.parkNanos(VERIFY_RETRY_NANOS);
                }
                verifyLate(file, tx, false);
                if (!verified) {
                    throw unverifiedReason;
                }
            }
            // Its sync was taken for a rollback's: the LSN it takes depends on whether a given-up entry landed, and past
            // the commit point only Kafka's answer settles that.
            while (uncertainEntry != null && !settleUncertain(tx)) {
                log.error("pagestream: db {} ({}): a committed transaction waits to learn whether LSN {} reached Kafka",
                        dbId, path, uncertainEntry.committed().entry().getLsn());
            }
            Prepared prepared = prepare(file, tx, false);
            if (prepared == null) {
                return;
            }
            stage(tx, prepared); // committed already: staged whatever the outbox holds
        }
        confirm(file, tx.prepared);
    }

    /**
     * Reconciles a transaction whose capture began unverified: in exclusive locking mode SQLite keeps its lock, and the
     * capture, from a hot journal's playback into the connection's first transaction, or across a commit refused because
     * Kafka could not be read. Nothing verified the file before this transaction wrote it, so where the journal ends
     * (Kafka may be ahead of the recorded position) and what the outbox holds decide the LSN, and the entry is a base
     * entry.
     *
     * @param needsKafka whether an unreachable Kafka leaves it unverified (the commit is then refused); otherwise it goes
     *     on from the recorded position, as {@link #verifyAgainstState} decides
     */
    private void verifyLate(OpenFile file, TransactionCapture tx, boolean needsKafka) throws Throwable {
        verified = verifyAgainstState(file, validPageSize(file.read(0, HEADER_BYTES)), file.size(), needsKafka);
        if (verified) {
            needsBase |= !tx.recovery; // a recovery's entry is a base entry anyway
            raiseToCounterFloor(tx);
        }
    }

    /** Whether the database can be claimed and its journal's end read now. */
    private boolean journalReadable() {
        try {
            publisher.claim(dbId);
            publisher.lastPosition(dbId);
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /**
     * Waits for room in the outbox for {@code bytes} under the 'block' policy.
     *
     * @return null when there is room, otherwise why the commit is refused
     */
    private PagestreamException awaitOutboxRoom(long bytes) throws InterruptedException {
        long deadline = System.nanoTime() + settings.outboxFullTimeoutMs() * 1_000_000;
        boolean blocking = settings.policy() == PagestreamConfig.OutboxFullPolicy.BLOCK;
        while (true) {
            long pending = outbox.pendingBytes();
            if (pending == 0 || pending + bytes <= settings.outboxMaxBytes()) {
                return null;
            }
            if (!blocking || System.nanoTime() >= deadline) {
                return new RetriablePagestreamException("db " + dbId + ": the outbox is full — " + pending + " bytes of"
                        + " entries not yet acknowledged by Kafka, outbox.max.bytes " + settings.outboxMaxBytes()
                        + (blocking ? ", still full after outbox.full.timeout.ms " + settings.outboxFullTimeoutMs() : "")
                        + "; nothing committed is lost");
            }
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
        }
    }

    /** Stages the entry in the outbox; a whole-database entry is encoded now, as it goes there. */
    private void stage(TransactionCapture tx, Prepared prepared) throws IOException {
        CommittedTransaction committed = prepared.committed();
        if (committed != null) {
            long lsn = committed.entry().getLsn();
            boolean sentBeforeCommit = committed.sync() != null;
            if (prepared.encoding() != null) {
                EntryPayload payload = outbox.stage(lsn, sentBeforeCommit, prepared.encoding());
                prepared = prepared.staged(new CommittedTransaction(this, committed.entry(), payload, committed.sync()));
            } else {
                outbox.stage(lsn, committed.payload().bytes(), sentBeforeCommit);
            }
        }
        tx.prepared = prepared;
    }

    /** The staged entry no longer describes the transaction (it rolled back, or wrote again): take it back. */
    private void unprepare(TransactionCapture tx) {
        Prepared prepared = tx.prepared;
        if (prepared == null) {
            return;
        }
        tx.prepared = null;
        if (prepared.committed() != null) {
            SyncCommit sync = prepared.committed().sync();
            if (sync != null) {
                // Sent to Kafka before the commit point: it may be there although the transaction is not. The outbox
                // keeps its copy (published never again) until the next commit learns which: should the process stop
                // first, the restart finds there what to carry back if Kafka has it.
                sync.withdraw();
                uncertainEntry = prepared;
                return;
            }
            try {
                outbox.unstage(prepared.committed().entry().getLsn());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /**
     * The entry a transaction makes, built but not yet counted as committed: {@code committed} null when it changed
     * nothing. {@code post} and its page hashes feed the page cache once the commit is confirmed (a whole-database
     * entry's {@code post} is page 1 only). A whole-database entry is encoded by {@code encoding} as it is staged, and
     * has no payload until then.
     */
    record Prepared(CommittedTransaction committed, CommittedTransaction.Kind kind, long originalPages,
            Map<Integer, byte[]> post, Map<Integer, Long> postHashes, Outbox.EntryWriter encoding) {
        static final Prepared NOTHING = new Prepared(null, null, 0, Map.of(), Map.of(), null);

        long committedBytes() {
            return (long) committed.entry().getPageCount() * committed.entry().getPageSize();
        }

        /** The entry's size in the outbox; before a whole-database entry is encoded, the size of its pages. */
        long payloadBytes() {
            return committed.payload() != null ? committed.payload().length() : committedBytes();
        }

        /** This entry as staged: with its payload, encoded. */
        Prepared staged(CommittedTransaction withPayload) {
            return new Prepared(withPayload, kind, originalPages, post, postHashes, null);
        }
    }

    /**
     * Builds the transaction's entry without counting it committed. Before the commit point ({@code early}) the file
     * is not yet shrunk: the commit page count comes from the database header, and when that is not trustworthy the
     * entry is left for the commit itself (null).
     */
    private Prepared prepare(OpenFile file, TransactionCapture tx, boolean early) throws Throwable {
        if (tx.headerAssumed && changedOutside(file, tx)) {
            log.warn("pagestream: db {} ({}) was changed outside the Pagestream VFS (its change counter moved on since the"
                    + " last commit); this commit publishes a base entry", dbId, path);
            forgetFileState();
        }
        if (needsBase || tx.recovery) {
            return prepareWholeDatabase(file, tx, CommittedTransaction.Kind.BASE, early);
        }
        if (tx.rewrite || tx.pageSize == 0
                || (tx.postImages.containsKey(1) && PageChecksum.headerPageSize(tx.postImages.get(1)) != tx.pageSize)) {
            return prepareWholeDatabase(file, tx, CommittedTransaction.Kind.REWRITE, early);
        }
        return prepareDiff(file, tx, early);
    }

    private Prepared prepareDiff(OpenFile file, TransactionCapture tx, boolean early) throws Throwable {
        int pageSize = tx.pageSize;
        byte[] first = tx.postImages.containsKey(1) ? tx.postImages.get(1) : file.read(0, pageSize);
        long pageCount;
        if (early) {
            pageCount = headerPageCount(first);
            if (pageCount < 0) {
                return null;
            }
            // Pages the commit is about to truncate away: their images leave the checksum.
            for (long pgno = pageCount + 1; pgno <= tx.originalPages; pgno++) {
                if (!capturePreImage(tx, file, (int) pgno)) {
                    return prepareWholeDatabase(file, tx, CommittedTransaction.Kind.REWRITE, true);
                }
            }
        } else {
            // Page-grid writes and truncations determine the size; ask the file only when something else may have.
            pageCount = sizeFromFile ? file.size() / pageSize : tx.pages;
        }
        Map<Integer, byte[]> pre = tx.preImages;
        Map<Integer, byte[]> post = new TreeMap<>(tx.postImages);
        // Pages captured as pre-images but not rewritten (truncated, then regrown) and holes past the old end.
        for (Integer pgno : pre.keySet()) {
            if (pgno <= pageCount && !post.containsKey(pgno)) {
                post.put(pgno, file.read((pgno - 1L) * pageSize, pageSize));
            }
        }
        for (long pgno = tx.originalPages + 1; pgno <= pageCount; pgno++) {
            if (!post.containsKey((int) pgno) && pgno != JournalContract.lockBytePgno(pageSize)) {
                post.put((int) pgno, file.read((pgno - 1) * pageSize, pageSize));
            }
        }
        // Pages written back unchanged (rolled-back statements, spills) are no part of the entry, nor pages past its end.
        final long count = pageCount;
        post.entrySet().removeIf(page -> page.getKey() > count || Arrays.equals(pre.get(page.getKey()), page.getValue()));
        if (post.isEmpty() && pageCount == tx.originalPages) {
            return Prepared.NOTHING;
        }
        if (pageCount >= 1) {
            byte[] page1 = post.getOrDefault(1, first); // not in post: unwritten or unchanged, as the file holds it
            if (changeCounter(page1) != tx.startChangeCounter + 1) {
                // Not written by SQLite: the file holds the start image. This adds to the capture's own pre-images,
                // which a second prepare of the same transaction (after unprepare or a settled uncertainty) finds as is.
                pre.putIfAbsent(1, page1.clone());
                post.put(1, advanceChangeCounter(file, page1, tx.startChangeCounter));
            }
        }
        Map<Integer, Long> postHashes = new HashMap<>();
        return new Prepared(build(CommittedTransaction.Kind.DIFF, pageSize, (int) pageCount, pre, post, postHashes, early),
                CommittedTransaction.Kind.DIFF, tx.originalPages, post, postHashes, null);
    }

    /**
     * Base entries and page-size changes: every page, read from the file — twice, a slice at a time, so no more than a
     * slice is held whatever the database's size: now for the post-checksum (which the entry's fields carry before its
     * pages), and again as the entry is encoded into the outbox (see {@link #stage}). The lock is held meanwhile, so the
     * file does not change between the two.
     *
     * @throws PagestreamException when the database is too large for one entry of the journal format
     */
    private Prepared prepareWholeDatabase(OpenFile file, TransactionCapture tx, CommittedTransaction.Kind kind, boolean early)
            throws Throwable {
        long fileSize = file.size();
        byte[] header = file.read(0, HEADER_BYTES);
        int pageSize = PageChecksum.headerPageSize(header);
        if (fileSize > 0 && !JournalContract.isValidPageSize(pageSize)) {
            forgetFileState();
            throw new PagestreamException("the file has no valid page size in its header, so no entry can hold it");
        }
        long pageCount = pageSize == 0 ? 0 : fileSize / pageSize;
        if (early && pageSize != 0) {
            pageCount = headerPageCount(header);
            if (pageCount < 0) {
                return null;
            }
        }
        // Each page's delta adds a few bytes of framing to the page; an entry's length is a 32-bit int.
        if (pageCount * (pageSize + 16L) + 1024 > Outbox.MAX_PAYLOAD_BYTES) {
            throw new PagestreamException("it needs a whole-database entry but is " + ((pageCount * pageSize) >> 20)
                    + " MiB, more than one journal entry can hold (" + (Outbox.MAX_PAYLOAD_BYTES >> 20) + " MiB encoded)");
        }
        if (pageCount > 0 && (!tx.recovery || counterFloor != null) && changeCounter(header) != tx.startChangeCounter + 1) {
            advanceChangeCounter(file, header, tx.startChangeCounter);
        }
        long checksum = pageSize == 0 ? JournalContract.EMPTY_CHECKSUM : checksumOf(file, pageSize, pageCount);
        boolean base = kind == CommittedTransaction.Kind.BASE;
        JournalEntry fields = new JournalEntry(dbId, lastLsn + 1, base, base ? JournalContract.EMPTY_CHECKSUM : chainChecksum,
                checksum, pageSize, (int) pageCount, System.currentTimeMillis(), List.of());
        long lockPage = pageSize == 0 ? 0 : JournalContract.lockBytePgno(pageSize);
        int deltaCount = (int) (pageCount - (lockPage <= pageCount ? 1 : 0));
        final int size = pageSize;
        final long count = pageCount;
        Outbox.EntryWriter encoding = out -> JournalCodec.writeEntry(fields, deltaCount,
                new WholeDatabaseDeltas(file, size, count), out);
        Map<Integer, byte[]> post = pageCount > 0 ? Map.of(1, file.read(0, pageSize)) : Map.of();
        CommittedTransaction committed = new CommittedTransaction(this, fields, null,
                settings.sync() && early ? new SyncCommit() : null);
        // No page hashes: a whole-database entry clears the page cache they would feed.
        return new Prepared(committed, kind, tx.originalPages, post, Map.of(), encoding);
    }

    /** Every page of the file but the lock-byte page, whole, read a slice at a time as the deltas are taken. */
    private static final class WholeDatabaseDeltas implements java.util.Iterator<PageDelta> {
        private final OpenFile file;
        private final int pageSize;
        private final long pageCount;
        private final long lockPage;
        private final int pagesPerRead;
        private long next = 1;
        private long sliceFirst;
        private byte[] slice;

        WholeDatabaseDeltas(OpenFile file, int pageSize, long pageCount) {
            this.file = file;
            this.pageSize = pageSize;
            this.pageCount = pageCount;
            this.lockPage = JournalContract.lockBytePgno(pageSize);
            this.pagesPerRead = Math.max(1, WHOLE_DATABASE_READ_BYTES / pageSize);
        }

        @Override
        public boolean hasNext() {
            return next + (next == lockPage ? 1 : 0) <= pageCount;
        }

        @Override
        public PageDelta next() {
            if (next == lockPage) {
                next++;
            }
            if (next > pageCount) {
                throw new java.util.NoSuchElementException();
            }
            if (slice == null || next >= sliceFirst + pagesPerRead) {
                int pages = (int) Math.min(pagesPerRead, pageCount - next + 1);
                sliceFirst = next;
                slice = readUnchecked(file, (next - 1) * pageSize, pages * pageSize);
            }
            int from = (int) (next - sliceFirst) * pageSize;
            PageDelta delta = PageDiff.encode((int) next, null, Arrays.copyOfRange(slice, from, from + pageSize));
            next++;
            return delta;
        }
    }

    /** The next LSN's entry, encoded; nothing about the database changes until {@link #confirm}. */
    private CommittedTransaction build(CommittedTransaction.Kind kind, int pageSize, int pageCount, Map<Integer, byte[]> pre,
            Map<Integer, byte[]> post, Map<Integer, Long> postHashes, boolean early) {
        JournalEntry entry = EntryBuilder.build(dbId, lastLsn + 1, kind, pageSize, pageCount, System.currentTimeMillis(), pre,
                post, chainChecksum, cache, postHashes);
        // Only before the commit point can a COMMIT still wait for Kafka (and fail).
        return new CommittedTransaction(this, entry, EntryPayload.inMemory(JournalCodec.encodeEntry(entry)),
                settings.sync() && early ? new SyncCommit() : null);
    }

    /**
     * Whether another writer changed the file after our last commit. SQLite reads the counter when a transaction
     * takes its lock and writes it one higher the first time it writes page 1 (every later write of page 1 in the same
     * transaction, when the cache spills, counts on), so a first counter beyond that means it read one our last
     * commit did not leave: another writer counted on from ours. (In exclusive locking mode SQLite's page 1 may carry
     * an older counter than the one this VFS advanced in the file; no one else can write then.) The transaction then
     * starts from the counter SQLite saw, so it is never written backwards.
     */
    private boolean changedOutside(OpenFile file, TransactionCapture tx) throws Throwable {
        int counter = tx.firstPage1Counter != null ? tx.firstPage1Counter : changeCounter(file.read(0, HEADER_BYTES));
        if (counter - (tx.startChangeCounter + 1) <= 0) {
            return false;
        }
        tx.startChangeCounter = counter - 1;
        return true;
    }

    /** The page size the header records, or 0 when it records none (an empty or foreign file). */
    private static int validPageSize(byte[] header) {
        int pageSize = PageChecksum.headerPageSize(header);
        return JournalContract.isValidPageSize(pageSize) ? pageSize : 0;
    }

    /**
     * The database size the header records (bytes 28..31), or -1 when SQLite's rule says not to trust it: the
     * version-valid-for number (bytes 92..95) must equal the change counter.
     */
    private static long headerPageCount(byte[] header) {
        long pages = Integer.toUnsignedLong((int) BIG_ENDIAN_INT.get(header, 28));
        return pages > 0 && changeCounter(header) == (int) BIG_ENDIAN_INT.get(header, VERSION_VALID_FOR_OFFSET) ? pages : -1;
    }

    /** The transaction committed: its entry joins the chain and goes to the publisher. */
    private void confirm(OpenFile file, Prepared prepared) {
        CommittedTransaction committed = prepared.committed();
        if (committed == null) {
            return;
        }
        JournalEntry entry = committed.entry();
        int pageCount = entry.getPageCount();
        if (prepared.kind() == CommittedTransaction.Kind.DIFF) {
            if (pageCount < prepared.originalPages()) {
                cache.removeBeyond(pageCount);
            }
            prepared.post().forEach((pgno, image) -> cache.put(pgno, image, prepared.postHashes().get(pgno)));
        } else {
            cache.clear();
            if (prepared.kind() == CommittedTransaction.Kind.BASE) {
                needsBase = false;
            }
        }
        committedPages = pageCount;
        counterFloor = null;
        unrestored.clear(); // a diff entry carried them (as pages it changed or truncated); a whole-database one too
        lastLsn = entry.getLsn();
        chainChecksum = entry.getPostChecksum();
        byte[] first = prepared.post().get(1);
        if (first != null && first.length >= HEADER_BYTES) {
            expectedHeader = Arrays.copyOf(first, HEADER_BYTES);
        }
        if (observer != null) {
            long size = prepared.committedBytes();
            try {
                observer.committed(dbId, entry.getLsn(), () -> readUnchecked(file, 0, (int) size));
            } catch (RuntimeException e) {
                log.error("pagestream: commit observer failed for db {} LSN {}", dbId, entry.getLsn(), e);
            }
        }
        if (committed.sync() == null) {
            publisher.enqueue(committed); // a synchronous one went before the commit point
        }
    }

    private static int changeCounter(byte[] page) {
        return (int) BIG_ENDIAN_INT.get(page, CHANGE_COUNTER_OFFSET);
    }

    /**
     * Readers of a replica keep their page cache while the file change counter stays the same, so every commit
     * must move it on, as SQLite does in normal locking mode. In locking_mode=EXCLUSIVE SQLite bumps it in a
     * connection's first transaction only: then the commit sets it here, with the version-valid-for number SQLite
     * keeps equal to it, and writes page 1's first bytes back before the lock drops.
     *
     * @return a copy of {@code start} (page 1 or its header) with the counter one past {@code startCounter}
     */
    private static byte[] advanceChangeCounter(OpenFile file, byte[] start, int startCounter) throws Throwable {
        byte[] advanced = start.clone();
        BIG_ENDIAN_INT.set(advanced, CHANGE_COUNTER_OFFSET, startCounter + 1);
        BIG_ENDIAN_INT.set(advanced, VERSION_VALID_FOR_OFFSET, startCounter + 1);
        file.write(0, Arrays.copyOf(advanced, HEADER_BYTES));
        return advanced;
    }

    /**
     * Starts capturing a transaction. After our own commit the header is known without reading it: whether anyone
     * else wrote the file meanwhile shows in the change counter of SQLite's first write of page 1 (see
     * {@link #changedOutside}). Otherwise the header is read: its page size and change counter start the capture.
     */
    private TransactionCapture begin(OpenFile file, boolean recovery) throws Throwable {
        boolean known = verified && !recovery && expectedHeader != null;
        byte[] header = known ? expectedHeader : file.read(0, HEADER_BYTES); // zeros past the end of a new, empty file
        int pageSize = validPageSize(header);
        // During hot-journal recovery the file is mid-rollback: verify at the next transaction instead.
        if (!recovery) {
            if (!verified) {
                verified = verifyAgainstState(file, pageSize, file.size(), settings.sync()); // if not, the commit is refused
            }
            expectedHeader = header;
        }
        long originalPages = pageSize == 0 ? 0 : recovery || committedPages < 0 ? file.size() / pageSize : committedPages;
        capture = new TransactionCapture(file.address(), pageSize, originalPages, recovery);
        uncaptured = null;
        capture.startChangeCounter = changeCounter(header);
        raiseToCounterFloor(capture);
        capture.headerAssumed = known;
        if (needsBase) {
            capture.switchToRewrite(); // the commit reads every page anyway: keep no images
        } else if (!recovery) {
            // Their images in the chain are their pre-images, whatever the file holds: the entry carries them back.
            capture.preImages.putAll(unrestored);
        }
        return capture;
    }

    /**
     * First transaction in this process: claims the db id (fencing any other writer of it), then reconciles the file
     * with the position the state file recorded, the end of the journal and the end of the outbox. Entries in the
     * outbox that Kafka lacks are published first.
     *
     * @param needsKafka whether an unreachable Kafka stops it (synchronous commits, before their commit point);
     *     otherwise it goes on from the recorded position, unless the outbox holds an entry Kafka may have (see
     *     {@link #sentButNotCommitted})
     * @return false when it stopped: nothing is reconciled, and the next transaction tries again
     */
    private boolean verifyAgainstState(OpenFile file, int pageSize, long fileSize, boolean needsKafka) throws Throwable {
        try {
            return reconcile(file, pageSize, fileSize, needsKafka);
        } catch (Exception e) {
            // Going on without the outbox's entries (or the recorded position) would drop committed transactions.
            return unverified("cannot reconcile it with its outbox, state file and journal (" + e + "); its commits are"
                    + " refused until that succeeds", e);
        }
    }

    /** {@link #verifyAgainstState}, which turns whatever this throws into refused commits. */
    private boolean reconcile(OpenFile file, int pageSize, long fileSize, boolean needsKafka) throws Throwable {
        WriterStateFile.State state = recordedState();
        long pageCount = pageSize == 0 ? 0 : fileSize / pageSize;
        committedPages = pageCount;
        cache.clear();
        long recordedLsn = state == null ? 0 : state.lsn();
        // Claimed before the journal's end is read: no other writer can add to it afterwards. Asked first, so a commit
        // refused for want of Kafka does not read the outbox and checksum the whole file for nothing.
        Optional<JournalPosition> published = Optional.empty();
        RuntimeException unreachable = null;
        try {
            publisher.claim(dbId);
            published = publisher.lastPosition(dbId);
        } catch (RuntimeException e) {
            // Kafka may hold an entry the file does not (sent before a commit point the process never reached): a
            // chain continued from the recorded position could fork it.
            if (needsKafka) {
                return unverified("cannot claim it and read its journal's end from Kafka (" + e.getMessage() + "); with"
                        + " commit.mode=sync its commits are refused until that succeeds", e);
            }
            unreachable = e;
        }
        List<Outbox.Staged> kept = outbox.readAll();
        List<Outbox.Staged> staged = kept.stream().filter(entry -> entry.lsn() > recordedLsn).toList();
        long checksum = pageSize == 0 ? JournalContract.EMPTY_CHECKSUM : checksumOf(file, pageSize, pageCount);
        if (unreachable != null) {
            long unsettled = sentButNotCommitted(staged, checksum);
            if (unsettled > 0) {
                return unverified("cannot claim it and read its journal's end from Kafka (" + unreachable.getMessage()
                        + "); its outbox holds LSN " + unsettled + ", which a synchronous commit sent to Kafka before"
                        + " stopping short of its commit point: its commits are refused until Kafka says whether it has"
                        + " that entry", unreachable);
            }
            journalEndUnread = true;
            log.warn("pagestream: db {} ({}): cannot claim it and read its journal position from Kafka ({}); continuing"
                    + " from the recorded position", dbId, path, unreachable.getMessage());
        }
        long publishedLsn = published.map(JournalPosition::lsn).orElse(0L);
        boolean kafkaAhead = published.isPresent() && publishedLsn >= recordedLsn;
        long endLsn = kafkaAhead ? publishedLsn : recordedLsn;
        long endChecksum = kafkaAhead ? published.get().postChecksum() : state == null ? JournalContract.EMPTY_CHECKSUM : state.checksum();
        // Entries the journal already has (a synchronous commit's, sent before its commit point) need nothing here.
        if (staged.stream().anyMatch(entry -> entry.lsn() > endLsn)) {
            if (resumeFromOutbox(staged, endLsn, endChecksum, checksum)) {
                return true;
            }
            // Publishing them would fork the journal; dropping them would drop committed transactions: only a person
            // can tell whose history wins.
            return unverified("the " + staged.size() + " committed entries in its outbox (LSN " + staged.getFirst().lsn()
                    + " to " + staged.getLast().lsn() + ") do not continue its journal's end (LSN " + endLsn + "): another"
                    + " writer published this db id, or they are another db id's. Its commits are refused; to give those"
                    + " transactions up and publish the file as a base entry, move " + outbox.directory() + " away while the"
                    + " database is closed", null);
        }
        outbox.skipThrough(endLsn);
        if (state != null && endLsn == recordedLsn && endChecksum == checksum && state.pageCount() == pageCount
                && (pageCount == 0 || state.pageSize() == pageSize)) {
            continueAfter(endLsn, checksum, "its recorded position");
            return true;
        }
        if (published.isPresent() && kafkaAhead && endChecksum == checksum) {
            continueAfter(endLsn, checksum, "the journal's newest entry");
            return true;
        }
        if (carryBackLanded(kept, endLsn, endChecksum, file, pageSize, pageCount, checksum)) {
            return true;
        }
        lastLsn = Math.max(recordedLsn, publishedLsn);
        needsBase = true;
        if (lastLsn == 0) {
            log.info("pagestream: db {} ({}) has no journal yet; its first commit publishes a base entry", dbId, path);
        } else {
            log.warn("pagestream: db {} ({}) does not match the end of its journal (LSN {}, changed outside the VFS or"
                    + " written by another writer): the next commit publishes a base entry", dbId, path, lastLsn);
        }
        return true;
    }

    /** Records (and logs) why the database could not be reconciled: its next refused commit names that reason. */
    private boolean unverified(String reason, Exception cause) {
        unverifiedReason = new RetriablePagestreamException("db " + dbId + ": " + reason, cause);
        log.error("pagestream: db {} ({}): {}", dbId, path, reason);
        return false;
    }

    /**
     * Publishes the outbox's entries the journal lacks, when they continue its end: all of them when the file is the
     * last one's result; all but the last when the file is its predecessor's (that transaction never reached its commit
     * point). Anything else leaves the file unexplained: the committed entries go, then a base entry.
     *
     * @return false when the outbox does not continue the journal
     */
    private boolean resumeFromOutbox(List<Outbox.Staged> staged, long endLsn, long endChecksum, long fileChecksum) {
        List<JournalEntry> ahead = new ArrayList<>();
        List<EntryPayload> payloads = new ArrayList<>();
        long chain = endChecksum;
        for (Outbox.Staged record : staged) {
            JournalEntry entry = decode(record);
            if (entry.getLsn() == endLsn && !isJournalEnd(entry, endLsn, endChecksum)) {
                return false; // the journal's entry at that LSN is another history's
            }
            if (entry.getLsn() <= endLsn) {
                continue; // Kafka has it already
            }
            if (entry.getLsn() != endLsn + 1 + ahead.size() || (!entry.getBase() && entry.getPreChecksum() != chain)
                    || !entry.getDbId().equals(dbId)) {
                return false;
            }
            ahead.add(entry);
            payloads.add(record.payload());
            chain = entry.getPostChecksum();
        }
        lastLsn = endLsn;
        chainChecksum = endChecksum;
        outbox.skipThrough(endLsn);
        if (ahead.isEmpty()) {
            return false;
        }
        JournalEntry last = ahead.getLast();
        if (fileChecksum != last.getPostChecksum()) {
            // The last staged transaction did not commit (or the file changed outside the VFS: then a base follows).
            try {
                outbox.unstage(last.getLsn());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            ahead.removeLast();
            payloads.removeLast();
        }
        for (int i = 0; i < ahead.size(); i++) {
            JournalEntry entry = ahead.get(i);
            lastLsn = entry.getLsn();
            chainChecksum = entry.getPostChecksum();
            publisher.enqueue(new CommittedTransaction(this, entry, payloads.get(i), null));
        }
        if (fileChecksum != chainChecksum) {
            needsBase = true;
            // SQLite does not journal a free page it reuses, so rolling back a crashed commit can leave such pages
            // holding the new bytes: the database is logically unchanged, but no longer byte for byte the chain's end.
            log.warn("pagestream: db {} ({}): published {} entries from its outbox (to LSN {}); the file (checksum {}) differs"
                    + " from the chain's end ({}) — free pages a rolled-back commit left behind, or a change outside the VFS:"
                    + " the next commit publishes a base entry", dbId, path, ahead.size(), lastLsn,
                    JournalContract.hex(fileChecksum), JournalContract.hex(chainChecksum));
        } else {
            log.info("pagestream: db {} ({}) publishes {} entries from its outbox, then continues its journal after LSN {}",
                    dbId, path, ahead.size(), lastLsn);
        }
        return true;
    }

    /**
     * The journal ends with an entry of this writer's that the file does not hold: a synchronous commit that Kafka took
     * just before the process died short of the local commit point, so SQLite rolled it back. If the outbox still has
     * that entry and the file is what rolling it back leaves (its pages as before the entry, or as after it where
     * SQLite reused a free page without journaling it), the next commit carries the file back: the entry's page images
     * become that commit's pre-images, as after a rollback in this process, and no base entry is needed. Either way
     * the next commit counts the change counter on from that entry's, which replica readers have seen.
     *
     * @return false when that does not explain the file (then a base entry follows)
     */
    private boolean carryBackLanded(List<Outbox.Staged> kept, long endLsn, long endChecksum, OpenFile file, int pageSize,
            long pageCount, long fileChecksum) throws Throwable {
        JournalEntry landed = landedEntry(kept, endLsn, endChecksum);
        if (landed == null || pageSize == 0 || landed.getPageSize() != pageSize
                || (long) landed.getDeltas().size() * 2 * pageSize > CAPTURE_BUDGET) {
            return false;
        }
        Map<Integer, byte[]> after = new HashMap<>();
        long restored = endChecksum;
        for (PageDelta delta : landed.getDeltas()) {
            int pgno = delta.getPgno();
            byte[] now = pgno <= pageCount ? file.read((pgno - 1L) * pageSize, pageSize) : new byte[pageSize];
            byte[] image;
            try {
                image = PageDiff.decode(delta, now, pageSize);
            } catch (RuntimeException e) {
                return false;
            }
            after.put(pgno, image);
            restored ^= PageChecksum.of(pgno, image) ^ PageChecksum.of(pgno, now);
        }
        // The counter bytes change in every commit, so the delta holds them whatever the file's page 1 is.
        byte[] first = after.get(1);
        if (first != null) {
            counterFloor = changeCounter(first);
        }
        // An entry too large to read back whole (a whole-database one) was read to its first page only: never carried back.
        boolean partial = kept.stream().filter(staged -> staged.lsn() == endLsn).reduce((a, b) -> b)
                .map(staged -> !staged.payload().inMemory()).orElse(true);
        if (restored != fileChecksum || landed.getBase() || partial || landed.getPageCount() != pageCount) {
            return false;
        }
        lastLsn = endLsn;
        chainChecksum = endChecksum;
        unrestored.clear();
        unrestored.putAll(after);
        log.warn("pagestream: db {} ({}): the journal ends with LSN {}, which Kafka took before this writer stopped short of"
                + " its local commit point; the file holds the transaction rolled back, and the next commit carries its {}"
                + " page(s) back", dbId, path, endLsn, after.size());
        return true;
    }

    /**
     * The LSN of the outbox's newest entry if a synchronous commit sent it to Kafka and the file does not hold it (the
     * transaction never reached its commit point): whether Kafka has it is unknown. Otherwise 0.
     */
    private long sentButNotCommitted(List<Outbox.Staged> staged, long fileChecksum) {
        if (staged.isEmpty() || !staged.getLast().sentBeforeCommit()) {
            return 0;
        }
        Outbox.Staged last = staged.getLast();
        return decode(last).getPostChecksum() == fileChecksum ? 0 : last.lsn();
    }

    /** An outbox entry; of one too large to hold in memory, its fields and first page only (see {@link EntryPayload}). */
    private JournalEntry decode(Outbox.Staged record) {
        String origin = "outbox of " + dbId + "@" + record.lsn();
        if (record.payload().inMemory()) {
            return JournalCodec.decodeEntry(record.payload().bytes(), origin);
        }
        try (java.io.InputStream in = record.payload().open()) {
            return JournalCodec.readEntryStart(in, 1, origin);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + origin, e);
        }
    }

    /** The outbox's copy of the journal's newest entry, if it is there and is the same entry. */
    private JournalEntry landedEntry(List<Outbox.Staged> kept, long endLsn, long endChecksum) {
        Outbox.Staged record = kept.stream().filter(staged -> staged.lsn() == endLsn).reduce((a, b) -> b).orElse(null);
        if (record == null) {
            return null;
        }
        JournalEntry entry = decode(record); // one that does not decode refuses commits (see verifyAgainstState)
        return isJournalEnd(entry, endLsn, endChecksum) ? entry : null;
    }

    /** Whether an outbox entry is the journal's newest one (the same LSN, result and db id). */
    private boolean isJournalEnd(JournalEntry entry, long endLsn, long endChecksum) {
        return entry.getLsn() == endLsn && entry.getPostChecksum() == endChecksum && entry.getDbId().equals(dbId);
    }

    /** The recorded position, unless it belongs to another db id (the database was renamed). */
    private WriterStateFile.State recordedState() {
        WriterStateFile.State state = stateFile.read();
        return state != null && state.dbId().equals(dbId) ? state : null;
    }

    private void continueAfter(long lsn, long checksum, String source) {
        lastLsn = lsn;
        chainChecksum = checksum;
        log.info("pagestream: db {} ({}) continues its journal after LSN {} ({})", dbId, path, lsn, source);
    }

    /** Visits consecutive pages read from the file in 1 MiB chunks. */
    private interface ChunkVisitor {
        void visit(long firstPgno, byte[] chunk, int count);
    }

    private static void forEachChunk(OpenFile file, int pageSize, long pageCount, ChunkVisitor visitor) throws Throwable {
        int pagesPerRead = Math.max(1, (1 << 20) / pageSize);
        for (long first = 1; first <= pageCount; first += pagesPerRead) {
            int count = (int) Math.min(pagesPerRead, pageCount - first + 1);
            visitor.visit(first, file.read((first - 1) * pageSize, count * pageSize), count);
        }
    }

    /** Full-scan checksum holding no more than one chunk in memory. */
    private static long checksumOf(OpenFile file, int pageSize, long pageCount) throws Throwable {
        long[] checksum = {JournalContract.EMPTY_CHECKSUM};
        forEachChunk(file, pageSize, pageCount,
                (first, chunk, count) -> checksum[0] ^= PageChecksum.ofPages(first, chunk, count, pageSize));
        return checksum[0];
    }

    private static byte[] readUnchecked(OpenFile file, long offset, int length) {
        try {
            return file.read(offset, length);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }
}
