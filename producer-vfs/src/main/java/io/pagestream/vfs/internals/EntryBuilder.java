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
     * @param preChecksum the checksum after the previous entry of this database
     * @return the entry; its post-checksum is the chain's new checksum
     */
    static JournalEntry build(CommittedTransaction tx, long preChecksum) {
        List<PageDelta> deltas = new ArrayList<>(tx.postImages().size());
        // Whole-database entries carry no pre-images: every page is new against the empty database.
        long checksum = tx.kind() == CommittedTransaction.Kind.DIFF ? preChecksum : JournalContract.EMPTY_CHECKSUM;
        for (Map.Entry<Integer, byte[]> page : sorted(tx.postImages()).entrySet()) {
            int pgno = page.getKey();
            byte[] post = page.getValue();
            byte[] pre = tx.preImages().get(pgno);
            if (pre != null) {
                checksum ^= PageChecksum.of(pgno, pre);
            }
            checksum ^= PageChecksum.of(pgno, post);
            deltas.add(PageDiff.encode(pgno, pre, post));
        }
        // Pages the transaction truncated away leave the checksum.
        for (Map.Entry<Integer, byte[]> page : tx.preImages().entrySet()) {
            if (page.getKey() > tx.pageCount() && page.getValue() != null) {
                checksum ^= PageChecksum.of(page.getKey(), page.getValue());
            }
        }
        boolean base = tx.kind() == CommittedTransaction.Kind.BASE;
        // The all-arguments constructor: the builder would validate and deep-copy every delta again.
        return new JournalEntry(tx.db().dbId, tx.lsn(), base, base ? JournalContract.EMPTY_CHECKSUM : preChecksum, checksum,
                tx.pageSize(), tx.pageCount(), tx.commitTimeMillis(), deltas);
    }

    private static SortedMap<Integer, byte[]> sorted(Map<Integer, byte[]> pages) {
        return pages instanceof SortedMap<Integer, byte[]> sortedPages ? sortedPages : new TreeMap<>(pages);
    }
}
