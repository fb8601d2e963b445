package io.pagestream.vfs.internals;

import java.util.Map;

/**
 * A committed transaction handed from the committing thread to the publisher: raw page images only,
 * so the commit path does no hashing, diffing or encoding.
 *
 * @param kind DIFF: {@code postImages} are the written pages and {@code preImages} their images at
 *     transaction start (null value: the page did not exist), including truncated pages; BASE and
 *     REWRITE: {@code postImages} is every page and {@code preImages} is empty
 */
record CommittedTransaction(
        TrackedDatabase db,
        long lsn,
        Kind kind,
        int pageSize,
        int pageCount,
        long commitTimeMillis,
        Map<Integer, byte[]> preImages,
        Map<Integer, byte[]> postImages) {

    /** Heap held by the page images, for the publisher's queue bound. */
    long imageBytes() {
        return (long) (preImages.size() + postImages.size()) * pageSize;
    }

    enum Kind {
        DIFF,
        BASE,
        /** Every page, because the page size changed: verified against the previous checksum. */
        REWRITE
    }
}
