package io.pagestream.replica.internals;

import io.pagestream.replica.ReplicaPosition;
import io.pagestream.schemas.ChecksumMismatchException;
import io.pagestream.schemas.CorruptEntryException;
import io.pagestream.schemas.JournalApplier;
import io.pagestream.schemas.JournalCodec;
import io.pagestream.schemas.JournalContract;
import io.pagestream.schemas.PageChecksum;
import io.pagestream.schemas.PageDiff;
import io.pagestream.schemas.avro.JournalEntry;
import io.pagestream.schemas.avro.PageDelta;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.Map;
import java.util.NavigableMap;
import java.util.PrimitiveIterator;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.LongStream;

/**
 * Consecutive entries of one database applied in memory on top of its file: each entry's pre-checksum is
 * checked against the state the previous one left, its pages are computed, and its post-checksum is
 * verified, before anything is written. The result is the set of pages to write, the final size, and the
 * pages of the original file the rollback journal must save.
 */
final class StagedBatch {
    private final RollbackJournal.PageReader original;
    private final int originalPageSize;
    private final long originalPageCount;

    /** Pages whose content differs from the original file (or is beyond it). */
    private final TreeMap<Long, byte[]> pages = new TreeMap<>();
    private int pageSize;
    private long pageCount;
    private long checksum;
    /** Pages 1..lowWater of the original file are still the database's unless in {@link #pages}; above it, zeros. */
    private long lowWater;
    private ReplicaPosition position;
    private int entries;

    StagedBatch(ReplicaPosition start, RollbackJournal.PageReader original) {
        this.original = original;
        this.originalPageSize = start.pageSize();
        this.originalPageCount = start.pageCount();
        this.pageSize = start.pageSize();
        this.pageCount = start.pageCount();
        this.checksum = start.checksum();
        this.lowWater = start.pageCount();
        this.position = start;
    }

    /**
     * Stages one entry. A rejected entry leaves the batch as it was.
     *
     * @throws ChecksumMismatchException when the pre- or post-checksum does not verify
     * @throws CorruptEntryException when the entry is malformed
     */
    void add(JournalEntry entry, int partition, long offset) {
        String where = entry.getDbId() + "@" + entry.getLsn() + " (partition " + partition + " offset " + offset + ")";
        JournalCodec.validate(entry, "partition " + partition + " offset " + offset);
        if (!entry.getBase() && entry.getPreChecksum() != checksum) {
            throw new ChecksumMismatchException(where + ": pre-apply checksum does not match the replica at LSN "
                    + position.lsn(), entry.getPreChecksum(), checksum);
        }
        boolean rewrite = entry.getBase() || (entry.getPageCount() > 0 && pageCount > 0 && entry.getPageSize() != pageSize);
        if (rewrite) {
            stageRewrite(entry, where);
        } else {
            stageChanges(entry, where);
        }
        position = new ReplicaPosition(entry.getLsn(), entry.getPostChecksum(), pageSize, pageCount, partition, offset,
                entry.getCommitTimeMillis());
        entries++;
    }

    /** A base entry or a page-size change: every page is carried; the original file is wholly replaced. */
    private void stageRewrite(JournalEntry entry, String where) {
        JournalApplier.requireEveryPage(entry, where);
        int newPageSize = entry.getPageSize();
        TreeMap<Long, byte[]> carried = new TreeMap<>();
        long computed = JournalContract.EMPTY_CHECKSUM;
        for (PageDelta delta : entry.getDeltas()) {
            byte[] post = PageDiff.decode(delta, new byte[newPageSize], newPageSize, where);
            computed ^= PageChecksum.of(delta.getPgno(), post);
            carried.put((long) delta.getPgno(), post);
        }
        verifyPost(entry, computed, where);
        pages.clear();
        pages.putAll(carried);
        lowWater = 0;
        pageSize = newPageSize;
        pageCount = entry.getPageCount();
        checksum = computed;
    }

    private void stageChanges(JournalEntry entry, String where) {
        int size = pageCount > 0 ? pageSize : entry.getPageSize();
        long newCount = entry.getPageCount();
        long lastCarried = entry.getDeltas().isEmpty() ? 0 : entry.getDeltas().getLast().getPgno();
        if (newCount - Math.max(pageCount, lastCarried) > JournalApplier.MAX_IMPLICIT_ZERO_PAGES) {
            throw new CorruptEntryException(where + ": page count " + newCount + " grows the database by more than "
                    + JournalApplier.MAX_IMPLICIT_ZERO_PAGES + " pages the entry does not carry");
        }
        Map<Long, byte[]> produced = new HashMap<>();
        long computed = checksum;
        long nextUncovered = pageCount + 1;
        for (PageDelta delta : entry.getDeltas()) {
            long pgno = delta.getPgno();
            byte[] pre = view(pgno, size);
            byte[] post = PageDiff.decode(delta, pre, size, where);
            if (pgno <= pageCount) {
                computed ^= PageChecksum.of(pgno, pre);
            }
            computed ^= PageChecksum.of(pgno, post);
            computed ^= PageChecksum.ofZeroPages(nextUncovered, pgno, size);
            nextUncovered = Math.max(nextUncovered, pgno + 1);
            produced.put(pgno, post);
        }
        computed ^= PageChecksum.ofZeroPages(nextUncovered, newCount + 1, size);
        for (long pgno = newCount + 1; pgno <= pageCount; pgno++) {
            computed ^= PageChecksum.of(pgno, view(pgno, size));
        }
        verifyPost(entry, computed, where);
        pages.putAll(produced);
        if (newCount < pageCount) {
            pages.tailMap(newCount, false).clear();
            lowWater = Math.min(lowWater, newCount);
        }
        pageSize = newCount > 0 ? size : pageSize;
        pageCount = newCount;
        checksum = computed;
    }

    private void verifyPost(JournalEntry entry, long computed, String where) {
        if (computed != entry.getPostChecksum()) {
            throw new ChecksumMismatchException(where + ": post-apply checksum does not match the entry; nothing written",
                    entry.getPostChecksum(), computed);
        }
    }

    /** The page as the staged entries left it. */
    private byte[] view(long pgno, int size) {
        byte[] staged = pages.get(pgno);
        if (staged != null) {
            return staged;
        }
        byte[] page = new byte[size];
        if (pgno <= lowWater && pgno <= pageCount) {
            try {
                original.read(pgno, page);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read page " + pgno + " of the replica", e);
            }
        }
        return page;
    }



    boolean isEmpty() {
        return entries == 0;
    }

    int entries() {
        return entries;
    }

    int stagedPages() {
        return pages.size();
    }

    ReplicaPosition position() {
        return position;
    }

    int originalPageSize() {
        return originalPageSize;
    }

    long originalPageCount() {
        return originalPageCount;
    }

    /** Pages of the original file that the apply overwrites, zeroes or truncates away: the journal saves them. */
    TreeSet<Long> pagesToSave() {
        TreeSet<Long> save = new TreeSet<>();
        boolean sameGeometry = pageSize == originalPageSize;
        long lockPage = originalPageSize > 0 ? JournalContract.lockBytePgno(originalPageSize) : -1;
        for (long pgno = (sameGeometry ? lowWater : 0) + 1; pgno <= originalPageCount; pgno++) {
            if (pgno != lockPage) {
                save.add(pgno);
            }
        }
        if (sameGeometry) {
            save.addAll(pages.headMap(Math.min(lowWater, originalPageCount), true).keySet());
        }
        return save;
    }

    /** Pages to write, with their final content. */
    NavigableMap<Long, byte[]> pagesToWrite() {
        return pages;
    }

    /** Pages the final database has that hold neither staged content nor their original bytes: they must be zero. */
    PrimitiveIterator.OfLong pagesToZero() {
        if (pageCount == 0 || pageSize == 0) {
            return LongStream.empty().iterator();
        }
        // In this batch's page size: the pages the original file's bytes reach (all of them when the size changed).
        long from = lowWater + 1;
        long to = Math.min(Math.ceilDiv(originalPageCount * originalPageSize, (long) pageSize), pageCount);
        long lockPage = pageSize > 0 ? JournalContract.lockBytePgno(pageSize) : -1;
        return LongStream.rangeClosed(from, to).filter(pgno -> pgno != lockPage && !pages.containsKey(pgno)).iterator();
    }

    int pageSize() {
        return pageSize;
    }

    long pageCount() {
        return pageCount;
    }
}
