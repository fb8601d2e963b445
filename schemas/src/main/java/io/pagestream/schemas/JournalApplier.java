package io.pagestream.schemas;

import io.pagestream.schemas.avro.DeltaEncoding;
import io.pagestream.schemas.avro.JournalEntry;
import io.pagestream.schemas.avro.PageDelta;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * Applies a journal entry to a database file: verifies the pre-checksum, computes every new page and
 * the post-checksum, and writes only when both verify — a rejected entry leaves the file untouched.
 * Not atomic against a crash in the middle of writing; the replica makes that atomic.
 */
public final class JournalApplier {
    /** Zero pages an entry may add without carrying them; the writer always carries new pages. */
    public static final long MAX_IMPLICIT_ZERO_PAGES = 65536;

    private JournalApplier() {}

    /**
     * @param currentChecksum the file's checksum as last verified (e.g. the previous entry's post-checksum)
     * @return the file's new checksum, equal to the entry's post-checksum
     */
    public static long apply(JournalEntry entry, FileChannel file, long currentChecksum) {
        String where = entry.getDbId() + "@" + entry.getLsn();
        JournalCodec.validate(entry, "apply");
        if (!entry.getBase() && entry.getPreChecksum() != currentChecksum) {
            throw new ChecksumMismatchException(where + ": pre-apply checksum does not match the database",
                    entry.getPreChecksum(), currentChecksum);
        }
        try {
            if (entry.getPageCount() == 0) {
                return applyEmpty(entry, file, where);
            }
            int pageSize = entry.getPageSize();
            long pageCount = entry.getPageCount();
            int currentPageSize = entry.getBase() ? pageSize : currentPageSize(file, pageSize);
            boolean rewrite = entry.getBase() || currentPageSize != pageSize;
            long oldPages = rewrite ? 0 : file.size() / pageSize;
            if (rewrite) {
                requireEveryPage(entry, where);
            }
            // Pass 1: compute the post-checksum without writing anything.
            long checksum = rewrite ? JournalContract.EMPTY_CHECKSUM : currentChecksum;
            byte[][] pages = rewrite ? null : new byte[entry.getDeltas().size()][];
            int index = 0;
            long nextUncovered = oldPages + 1;
            long lastCarried = entry.getDeltas().isEmpty() ? 0 : entry.getDeltas().getLast().getPgno();
            if (pageCount - Math.max(oldPages, lastCarried) > MAX_IMPLICIT_ZERO_PAGES) {
                throw new CorruptEntryException(where + ": page count " + pageCount + " grows the database by more than "
                        + MAX_IMPLICIT_ZERO_PAGES + " pages the entry does not carry");
            }
            for (PageDelta delta : entry.getDeltas()) {
                int pgno = delta.getPgno();
                byte[] pre = rewrite ? null : readPage(file, pgno, pageSize, oldPages);
                byte[] post = PageDiff.decode(delta, pre == null ? new byte[pageSize] : pre, pageSize, where);
                if (pre != null && pgno <= oldPages) {
                    checksum ^= PageChecksum.of(pgno, pre);
                }
                checksum ^= PageChecksum.of(pgno, post);
                if (pages != null) {
                    pages[index++] = post;
                }
                if (!rewrite) {
                    checksum ^= PageChecksum.ofZeroPages(nextUncovered, pgno, pageSize);
                    nextUncovered = Math.max(nextUncovered, pgno + 1L);
                }
            }
            if (!rewrite) {
                checksum ^= PageChecksum.ofZeroPages(nextUncovered, pageCount + 1, pageSize);
                for (long pgno = pageCount + 1; pgno <= oldPages; pgno++) {
                    checksum ^= PageChecksum.of(pgno, readPage(file, pgno, pageSize, oldPages));
                }
            }
            if (checksum != entry.getPostChecksum()) {
                throw new ChecksumMismatchException(where + ": post-apply checksum does not match the entry; nothing written",
                        entry.getPostChecksum(), checksum);
            }
            // Pass 2: write.
            index = 0;
            for (PageDelta delta : entry.getDeltas()) {
                byte[] post = pages != null ? pages[index++] : PageDiff.decode(delta, new byte[pageSize], pageSize, where);
                writeFully(file, post, (delta.getPgno() - 1L) * pageSize);
            }
            resize(file, pageCount * pageSize);
            return checksum;
        } catch (IOException e) {
            throw new UncheckedIOException(where + ": cannot apply", e);
        }
    }

    /** Receives the pages of an entry that carries every page whole (see {@link #forEachWholePage}). */
    @FunctionalInterface
    public interface PageSink {
        void page(long pgno, byte[] image) throws IOException;
    }

    /**
     * Applies an entry spooled because it was too large to hold ({@link FragmentSpool}), which must carry every page
     * whole (as base entries and page-size changes do): its post-checksum is verified over the spooled pages before the
     * file is written, so a rejected entry leaves the file untouched; memory use is a page at a time.
     *
     * @param currentChecksum the file's checksum as last verified
     * @return the file's new checksum, equal to the entry's post-checksum
     */
    public static long applyWhole(FragmentSpool spool, FileChannel file, long currentChecksum, String origin) {
        JournalEntry fields = spool.fields();
        String where = origin + " " + spool.describe();
        verifyWhole(spool, currentChecksum, origin);
        int pageSize = fields.getPageSize();
        try (JournalCodec.EntryReader reader = spool.open(origin)) {
            forEachWholePage(reader, where, (pgno, image) -> writeFully(file, image, (pgno - 1) * pageSize));
            resize(file, (long) fields.getPageCount() * pageSize);
        } catch (IOException e) {
            throw new UncheckedIOException(where + ": cannot apply", e);
        }
        return fields.getPostChecksum();
    }

    /**
     * Checks a spooled entry against the database it applies to (its pre-checksum, unless it is a base entry) and
     * against itself (every page whole, its post-checksum), reading it a delta at a time; writes nothing.
     *
     * @throws ChecksumMismatchException when a checksum does not match
     * @throws CorruptEntryException when it does not carry every page whole
     */
    public static void verifyWhole(FragmentSpool spool, long currentChecksum, String origin) {
        JournalEntry fields = spool.fields();
        String where = origin + " " + spool.describe();
        if (!fields.getBase() && fields.getPreChecksum() != currentChecksum) {
            throw new ChecksumMismatchException(where + ": pre-apply checksum does not match the database",
                    fields.getPreChecksum(), currentChecksum);
        }
        long checksum;
        try (JournalCodec.EntryReader reader = spool.open(origin)) {
            checksum = forEachWholePage(reader, where, (pgno, image) -> { });
        } catch (IOException e) {
            throw new UncheckedIOException(where + ": cannot read the spooled entry", e);
        }
        if (checksum != fields.getPostChecksum()) {
            throw new ChecksumMismatchException(where + ": post-apply checksum does not match the entry; nothing written",
                    fields.getPostChecksum(), checksum);
        }
    }

    /**
     * Decodes the pages of an entry that must carry pages 1..pageCount (lock-byte page excepted) whole, handing each to
     * {@code sink} in order.
     *
     * @return the checksum of the database they make
     * @throws CorruptEntryException when a page is missing or not whole
     */
    public static long forEachWholePage(JournalCodec.EntryReader reader, String where, PageSink sink) throws IOException {
        JournalEntry fields = reader.fields();
        int pageSize = fields.getPageSize();
        long lockPage = JournalContract.lockBytePgno(pageSize);
        long checksum = JournalContract.EMPTY_CHECKSUM;
        long expected = 1;
        for (PageDelta delta = reader.next(); delta != null; delta = reader.next()) {
            if (expected == lockPage && delta.getPgno() != lockPage) {
                expected++;
            }
            if (delta.getPgno() != expected || PageDiff.needsPreImage(delta)) {
                throw new CorruptEntryException(where + ": an entry too large to apply in memory must carry every page"
                        + " whole (as base entries and page-size changes do); page " + expected + " is missing or encoded as "
                        + (delta.getPgno() == expected ? delta.getEncoding() : DeltaEncoding.PAGE));
            }
            byte[] image = PageDiff.decode(delta, new byte[pageSize], pageSize, where);
            checksum ^= PageChecksum.of(expected, image);
            sink.page(expected, image);
            expected++;
        }
        if (expected == lockPage && lockPage <= fields.getPageCount()) {
            expected++;
        }
        if (expected != fields.getPageCount() + 1L) {
            throw new CorruptEntryException(where + ": carries pages 1.." + (expected - 1) + " of " + fields.getPageCount());
        }
        return checksum;
    }

    /** A database with no pages: the file becomes empty. */
    private static long applyEmpty(JournalEntry entry, FileChannel file, String where) throws IOException {
        if (!entry.getDeltas().isEmpty() || entry.getPostChecksum() != JournalContract.EMPTY_CHECKSUM) {
            throw new CorruptEntryException(where + ": an entry with page count 0 must carry no pages and post-checksum 0");
        }
        file.truncate(0);
        return JournalContract.EMPTY_CHECKSUM;
    }


    /** Applies an entry to a file whose checksum is computed by scanning it first (tests and tools). */
    public static long apply(JournalEntry entry, Path path) {
        try (FileChannel file = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long current = entry.getBase() ? JournalContract.EMPTY_CHECKSUM : checksumOf(file);
            return apply(entry, file, current);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Full-scan checksum of a database file, using the page size in its header. */
    public static long checksumOf(FileChannel file) {
        try {
            if (file.size() == 0) {
                return JournalContract.EMPTY_CHECKSUM;
            }
            return PageChecksum.scan(file, currentPageSize(file, 0));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int currentPageSize(FileChannel file, int fallback) throws IOException {
        if (file.size() < 100) {
            return fallback;
        }
        byte[] header = new byte[100];
        readFully(file, header, 0);
        int size = PageChecksum.headerPageSize(header);
        return JournalContract.isValidPageSize(size) ? size : fallback;
    }

    /** A base entry or page-size change must carry pages 1..pageCount (lock-byte page excepted) whole. */
    public static void requireEveryPage(JournalEntry entry, String where) {
        long lockPage = JournalContract.lockBytePgno(entry.getPageSize());
        long expected = 1;
        for (PageDelta delta : entry.getDeltas()) {
            if (expected == lockPage && delta.getPgno() != lockPage) {
                expected++;
            }
            if (delta.getPgno() != expected || PageDiff.needsPreImage(delta)) {
                throw new CorruptEntryException(where + ": a " + (entry.getBase() ? "base entry" : "page-size change")
                        + " must carry every page whole; page " + expected + " is missing or encoded as "
                        + (delta.getPgno() == expected ? delta.getEncoding() : DeltaEncoding.PAGE));
            }
            expected++;
        }
        if (expected == lockPage && lockPage <= entry.getPageCount()) {
            expected++;
        }
        if (expected != entry.getPageCount() + 1L) {
            throw new CorruptEntryException(where + ": carries pages 1.." + (expected - 1) + " of " + entry.getPageCount());
        }
    }


    private static byte[] readPage(FileChannel file, long pgno, int pageSize, long oldPages) throws IOException {
        byte[] page = new byte[pageSize];
        if (pgno <= oldPages) {
            readFully(file, page, (pgno - 1) * pageSize);
        }
        return page;
    }

    static void readFully(FileChannel file, byte[] into, long position) throws IOException {
        ByteBuffer buffer = ByteBuffer.wrap(into);
        while (buffer.hasRemaining()) {
            int n = file.read(buffer, position + buffer.position());
            if (n < 0) {
                Arrays.fill(into, buffer.position(), into.length, (byte) 0);
                return;
            }
        }
    }

    private static void writeFully(FileChannel file, byte[] data, long position) throws IOException {
        ByteBuffer buffer = ByteBuffer.wrap(data);
        while (buffer.hasRemaining()) {
            file.write(buffer, position + buffer.position());
        }
    }

    private static void resize(FileChannel file, long size) throws IOException {
        long current = file.size();
        if (current > size) {
            file.truncate(size);
        } else if (current < size) {
            writeFully(file, new byte[] {0}, size - 1);
        }
    }
}
