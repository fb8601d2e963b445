package io.pagestream.vfs.internals;

import io.pagestream.schemas.JournalContract;
import io.pagestream.schemas.PageChecksum;
import io.pagestream.schemas.PageDiff;
import io.pagestream.schemas.avro.JournalEntry;
import io.pagestream.schemas.avro.PageDelta;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/** Turns a committed transaction's page images into a journal entry, advancing the chain checksum. */
final class EntryBuilder {
    private EntryBuilder() {}

    /**
     * @param pre DIFF: the images at transaction start of the pages in {@code post} (null value: the page did not
     *     exist) and of truncated pages; empty for BASE and REWRITE, whose {@code post} is every page
     * @param preChecksum the checksum after the previous entry of this database
     * @param known where the hashes of pre-images that an earlier entry carried as post-images are remembered
     * @param postHashes receives the page hash of every image in {@code post}, unless null
     * @return the entry; its post-checksum is the chain's new checksum
     */
    static JournalEntry build(String dbId, long lsn, CommittedTransaction.Kind kind, int pageSize, int pageCount,
            long commitTimeMillis, Map<Integer, byte[]> pre, Map<Integer, byte[]> post, long preChecksum, PageCache known,
            Map<Integer, Long> postHashes) {
        List<PageDelta> deltas = new ArrayList<>(post.size());
        // Whole-database entries carry no pre-images: every page is new against the empty database.
        long checksum = kind == CommittedTransaction.Kind.DIFF ? preChecksum : JournalContract.EMPTY_CHECKSUM;
        for (Map.Entry<Integer, byte[]> page : sorted(post).entrySet()) {
            int pgno = page.getKey();
            byte[] postImage = page.getValue();
            byte[] preImage = pre.get(pgno);
            if (preImage != null) {
                checksum ^= known.hash(pgno, preImage);
            }
            long postHash = PageChecksum.of(pgno, postImage);
            if (postHashes != null) {
                postHashes.put(pgno, postHash);
            }
            checksum ^= postHash;
            deltas.add(PageDiff.encode(pgno, preImage, postImage));
        }
        // Pages the transaction truncated away leave the checksum.
        for (Map.Entry<Integer, byte[]> page : pre.entrySet()) {
            if (page.getKey() > pageCount && page.getValue() != null) {
                checksum ^= known.hash(page.getKey(), page.getValue());
            }
        }
        boolean base = kind == CommittedTransaction.Kind.BASE;
        // The all-arguments constructor: the builder would validate and deep-copy every delta again.
        return new JournalEntry(dbId, lsn, base, base ? JournalContract.EMPTY_CHECKSUM : preChecksum, checksum,
                pageSize, pageCount, commitTimeMillis, deltas);
    }

    private static SortedMap<Integer, byte[]> sorted(Map<Integer, byte[]> pages) {
        return pages instanceof SortedMap<Integer, byte[]> sortedPages ? sortedPages : new TreeMap<>(pages);
    }
}
