package io.pagestream.vfs.internals;

import io.pagestream.schemas.JournalContract;
import io.pagestream.schemas.PageChecksum;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
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
    private static final int CHANGE_COUNTER_OFFSET = 24;
    private static final long PAGE_CACHE_BYTES = 4L << 20;

    final String path;
    final String dbId;
    final WriterStateFile stateFile;
    private final JournalPublisher publisher;
    private final CommitObserver observer;

    private volatile TransactionCapture capture;
    private boolean verified;
    private long lastLsn;
    private int expectedChangeCounter;
    /** Size in pages after our last commit; -1 when unknown (first use, outside change, recovery). */
    private long committedPages = -1;
    private boolean sizeFromFile;
    private final PageCache cache = new PageCache(PAGE_CACHE_BYTES);
    private volatile boolean needsBase;

    /** The chain's checksum after the last entry the publisher built; publisher thread only. */
    long chainChecksum;

    TrackedDatabase(String path, String dbId, JournalPublisher publisher, CommitObserver observer) {
        this.path = path;
        this.dbId = dbId;
        this.publisher = publisher;
        this.observer = observer;
        this.stateFile = new WriterStateFile(java.nio.file.Path.of(path));
    }

    /** The next commit must publish a base entry (publishing failed, or the file changed outside the VFS). */
    void requireBase() {
        needsBase = true;
    }

    /** Kafka acknowledged an entry: record the position (a few memory stores, see {@link WriterStateFile}). */
    void acknowledged(WriterStateFile.State state) {
        stateFile.write(state);
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
                    capture = null; // rolled back: SQLite restored the pages before releasing the lock
                }
            }
        }
    }

    synchronized void beforeWrite(OpenFile file, MemorySegment buffer, int amount, long offset) throws Throwable {
        TransactionCapture tx = capture != null ? capture : begin(file, false);
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
        if (!tx.preImages.containsKey(pgno)) {
            byte[] pre = null;
            if (pgno <= tx.originalPages) {
                pre = tx.recovery ? null : cache.get(pgno);
                if (pre == null) {
                    pre = file.read(offset, pageSize);
                }
            }
            tx.preImages.put(pgno, pre);
        }
        tx.postImages.put(pgno, RealMethods.copyOf(buffer.reinterpret(amount), amount));
        tx.pages = Math.max(tx.pages, pgno);
    }

    synchronized void beforeTruncate(OpenFile file, long size) throws Throwable {
        TransactionCapture tx = capture != null ? capture : begin(file, false);
        if (tx.rewrite || tx.pageSize == 0) {
            return;
        }
        int pageSize = tx.pageSize;
        long keep = size / pageSize;
        long current = Math.min(file.size() / pageSize, tx.originalPages);
        for (long pgno = keep + 1; pgno <= current; pgno++) {
            tx.preImages.computeIfAbsent((int) pgno, p -> readUnchecked(file, (p - 1L) * pageSize, pageSize));
        }
        tx.postImages.keySet().removeIf(pgno -> pgno > keep);
        tx.pages = keep;
    }

    /** SQLITE_FCNTL_CHUNK_SIZE: the file may now grow past its last page, so its size must be asked for. */
    synchronized void chunkSizeSet() {
        sizeFromFile = true;
    }

    /** SQLITE_FCNTL_COMMIT_PHASETWO: the transaction is durable locally; the lock is still held. */
    synchronized void onCommit(OpenFile file) throws Throwable {
        TransactionCapture tx = capture;
        if (tx == null) {
            return;
        }
        capture = null;
        CommittedTransaction.Kind kind = CommittedTransaction.Kind.DIFF;
        if (tx.recovery && !verified) {
            // Exclusive locking mode kept the recovery's lock into this transaction: nothing verified the file.
            WriterStateFile.State state = stateFile.read();
            lastLsn = state != null && state.dbId().equals(dbId) ? state.lsn() : 0;
            verified = true;
        }
        if (needsBase || tx.recovery) {
            kind = CommittedTransaction.Kind.BASE;
        } else if (tx.rewrite || tx.pageSize == 0
                || (tx.postImages.containsKey(1) && PageChecksum.headerPageSize(tx.postImages.get(1)) != tx.pageSize)) {
            kind = CommittedTransaction.Kind.REWRITE;
        }
        // Page-grid writes and truncations determine the size; ask the file only when something else may have.
        long fileSize = kind == CommittedTransaction.Kind.DIFF && !sizeFromFile ? tx.pages * tx.pageSize : file.size();
        int pageSize;
        Map<Integer, byte[]> pre = tx.preImages;
        Map<Integer, byte[]> post;
        if (kind == CommittedTransaction.Kind.DIFF) {
            pageSize = tx.pageSize;
            post = tx.postImages;
            long pageCount = fileSize / pageSize;
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
            if (pageCount == tx.originalPages && unchanged(pre, post)) {
                return;
            }
        } else {
            byte[] header = file.read(0, HEADER_BYTES);
            pageSize = PageChecksum.headerPageSize(header);
            if (fileSize > 0 && !JournalContract.isValidPageSize(pageSize)) {
                log.error("pagestream: db {} ({}): committed file has no valid page size in its header; not published", dbId, path);
                return;
            }
            post = readAllPages(file, pageSize, fileSize);
            pre = Map.of();
        }
        int pageCount = pageSize == 0 ? 0 : (int) (fileSize / pageSize);
        if (kind == CommittedTransaction.Kind.BASE) {
            needsBase = false;
        }
        if (kind == CommittedTransaction.Kind.DIFF) {
            if (pageCount < tx.originalPages) {
                cache.removeBeyond(pageCount);
            }
            for (Map.Entry<Integer, byte[]> page : post.entrySet()) {
                if (page.getKey() <= pageCount) {
                    cache.put(page.getKey(), page.getValue());
                }
            }
        } else {
            cache.clear();
        }
        committedPages = pageCount;
        long lsn = ++lastLsn;
        byte[] first = post.get(1);
        if (first != null && first.length >= HEADER_BYTES) {
            expectedChangeCounter = ByteBuffer.wrap(first).getInt(CHANGE_COUNTER_OFFSET);
        }
        if (observer != null) {
            try {
                observer.committed(dbId, lsn, () -> readUnchecked(file, 0, (int) fileSize));
            } catch (RuntimeException e) {
                log.error("pagestream: commit observer failed for db {} LSN {}", dbId, lsn, e);
            }
        }
        publisher.enqueue(new CommittedTransaction(this, lsn, kind, pageSize, pageCount, System.currentTimeMillis(), pre, post));
    }

    /**
     * Starts capturing a transaction. One read of the database header per transaction: its file change
     * counter tells whether anyone wrote the file since our last commit, which keeps the cached page images
     * and page count trustworthy.
     */
    private TransactionCapture begin(OpenFile file, boolean recovery) throws Throwable {
        byte[] header = file.read(0, HEADER_BYTES); // zeros past the end of a new, empty file
        int pageSize = PageChecksum.headerPageSize(header);
        if (!JournalContract.isValidPageSize(pageSize)) {
            pageSize = 0;
        }
        int changeCounter = ByteBuffer.wrap(header).getInt(CHANGE_COUNTER_OFFSET);
        // During hot-journal recovery the file is mid-rollback: verify at the next transaction instead.
        if (!recovery) {
            if (!verified) {
                verifyAgainstState(file, pageSize, file.size());
                verified = true;
            } else if (changeCounter != expectedChangeCounter) {
                log.warn("pagestream: db {} ({}) was changed outside the Pagestream VFS (file change counter {}, expected {});"
                        + " the next commit publishes a base entry", dbId, path, changeCounter, expectedChangeCounter);
                needsBase = true;
                committedPages = -1;
                cache.clear();
            }
            expectedChangeCounter = changeCounter;
        }
        long originalPages = pageSize == 0 ? 0 : recovery || committedPages < 0 ? file.size() / pageSize : committedPages;
        capture = new TransactionCapture(file.address(), pageSize, originalPages, recovery);
        return capture;
    }

    /** First transaction in this process: does the file still match the position the state file recorded? */
    private void verifyAgainstState(OpenFile file, int pageSize, long fileSize) throws Throwable {
        WriterStateFile.State state = stateFile.read();
        long checksum = JournalContract.EMPTY_CHECKSUM;
        long pageCount = pageSize == 0 ? 0 : fileSize / pageSize;
        if (pageSize != 0) {
            for (Map.Entry<Integer, byte[]> page : readAllPages(file, pageSize, fileSize).entrySet()) {
                checksum ^= PageChecksum.of(page.getKey(), page.getValue());
            }
        }
        committedPages = pageCount;
        cache.clear();
        if (state != null && state.dbId().equals(dbId) && state.checksum() == checksum && state.pageCount() == pageCount
                && (pageCount == 0 || state.pageSize() == pageSize)) {
            lastLsn = state.lsn();
            chainChecksum = checksum;
            log.info("pagestream: db {} ({}) continues its journal after LSN {}", dbId, path, lastLsn);
            return;
        }
        if (state == null || !state.dbId().equals(dbId)) {
            lastLsn = 0;
            log.info("pagestream: db {} ({}) has no journal position yet; its first commit publishes a base entry", dbId, path);
        } else {
            lastLsn = state.lsn();
            log.warn("pagestream: db {} ({}) does not match its journal position (LSN {}, checksum {} vs file {}): changed"
                    + " outside the Pagestream VFS; the next commit publishes a base entry", dbId, path, state.lsn(),
                    JournalContract.hex(state.checksum()), JournalContract.hex(checksum));
        }
        needsBase = true;
    }

    private static TreeMap<Integer, byte[]> readAllPages(OpenFile file, int pageSize, long fileSize) throws Throwable {
        TreeMap<Integer, byte[]> pages = new TreeMap<>();
        long pageCount = pageSize == 0 ? 0 : fileSize / pageSize;
        long lockPage = pageSize == 0 ? 0 : JournalContract.lockBytePgno(pageSize);
        int pagesPerRead = Math.max(1, (1 << 20) / Math.max(pageSize, 1));
        for (long first = 1; first <= pageCount; first += pagesPerRead) {
            int count = (int) Math.min(pagesPerRead, pageCount - first + 1);
            byte[] chunk = file.read((first - 1) * pageSize, count * pageSize);
            for (int i = 0; i < count; i++) {
                if (first + i != lockPage) {
                    pages.put((int) (first + i), Arrays.copyOfRange(chunk, i * pageSize, (i + 1) * pageSize));
                }
            }
        }
        return pages;
    }

    private static boolean unchanged(Map<Integer, byte[]> pre, Map<Integer, byte[]> post) {
        for (Map.Entry<Integer, byte[]> page : post.entrySet()) {
            if (!Arrays.equals(pre.get(page.getKey()), page.getValue())) {
                return false;
            }
        }
        return true;
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
