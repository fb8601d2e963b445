package io.pagestream.vfs.internals;

/**
 * Called on the committing thread, while the database is still locked, for every transaction that
 * becomes a journal entry. Lets tests record the writer's exact file image per LSN without opening the
 * database file themselves (closing any other descriptor on it would drop SQLite's POSIX locks).
 */
@FunctionalInterface
public interface CommitObserver {
    void committed(String dbId, long lsn, DatabaseImage image);

    /** The committed database as SQLite's file layer sees it. */
    interface DatabaseImage {
        byte[] readAll();
    }
}
