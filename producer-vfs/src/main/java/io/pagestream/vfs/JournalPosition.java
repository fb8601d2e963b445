package io.pagestream.vfs;

/** Where a database's journal ends: the newest entry's LSN and post-apply checksum. */
public record JournalPosition(long lsn, long postChecksum) {}
