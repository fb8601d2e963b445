package io.pagestream.vfs.internals;

import java.util.HashMap;
import java.util.Map;

/** Pages a write transaction touched, captured on the committing thread. */
final class TransactionCapture {
    /** Address of the sqlite3_file whose lock began the transaction. */
    final long owner;
    /** Page size at transaction start; 0 while the database is empty. */
    int pageSize;
    long originalPages;
    /** The file's size in pages as this transaction's writes and truncations leave it. */
    long pages;
    /** Started by hot-journal recovery: its pre-images are not the last committed state. */
    final boolean recovery;
    /**
     * Recovery only: the playback's sync of the database has passed. A later sync in the same capture is a transaction's
     * (locking_mode=EXCLUSIVE keeps the recovery's lock into the connection's first transaction).
     */
    boolean playedBack;
    /** A write did not fit the page grid (page-size change): the commit ships every page. */
    boolean rewrite;
    /** The file change counter (page 1, bytes 24..27) when the transaction began. */
    int startChangeCounter;
    /** The header at start was taken from our last commit, not read: the commit checks it was not changed outside. */
    boolean headerAssumed;
    /**
     * The change counter in SQLite's first write of page 1 in this transaction (the counter it read at the start, plus
     * one), or null while it has not written page 1. Later writes of page 1 in the same transaction count on.
     */
    Integer firstPage1Counter;
    /** The page image SQLite read from the rollback journal since the last write of the database, if any. */
    byte[] journalPage;
    /**
     * The last write put back the page image SQLite had just read from the journal: it is playing the journal back
     * (a rollback), and the sync that follows commits nothing.
     */
    boolean restoring;
    /** The entry staged for this transaction before its commit point; null until then. */
    TrackedDatabase.Prepared prepared;
    final Map<Integer, byte[]> preImages = new HashMap<>();
    final Map<Integer, byte[]> postImages = new HashMap<>();

    TransactionCapture(long owner, int pageSize, long originalPages, boolean recovery) {
        this.owner = owner;
        this.pageSize = pageSize;
        this.originalPages = originalPages;
        this.pages = originalPages;
        this.recovery = recovery;
    }

    void switchToRewrite() {
        rewrite = true;
        preImages.clear();
        postImages.clear();
    }
}
