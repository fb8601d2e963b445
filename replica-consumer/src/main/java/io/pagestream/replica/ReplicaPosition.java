package io.pagestream.replica;

import io.pagestream.schemas.JournalContract;

/**
 * Where a replica file stands: the last applied entry's LSN and post-checksum, the database's page size and
 * page count after it, and the Kafka record it came from (the last fragment's offset for a fragmented entry).
 */
public record ReplicaPosition(long lsn, long checksum, int pageSize, long pageCount, int partition, long offset,
        long commitTimeMillis) {

    /** A replica that has applied nothing: an empty file. */
    public static final ReplicaPosition EMPTY = new ReplicaPosition(0, JournalContract.EMPTY_CHECKSUM, 0, 0, -1, -1, 0);

    @Override
    public String toString() {
        return "LSN " + lsn + " (checksum " + JournalContract.hex(checksum) + ", " + pageCount + " pages of " + pageSize
                + " bytes, partition " + partition + " offset " + offset + ")";
    }
}
