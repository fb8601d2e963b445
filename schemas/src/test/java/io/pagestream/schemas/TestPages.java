package io.pagestream.schemas;

import io.pagestream.schemas.avro.JournalEntry;
import io.pagestream.schemas.avro.PageDelta;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Shared builders for page images, fake databases and entries used by the schema tests. */
final class TestPages {
    static final int[] PAGE_SIZES = {512, 1024, 2048, 4096, 8192, 16384, 32768, 65536};
    private static final byte[] SQLITE_MAGIC = "SQLite format 3\0".getBytes(StandardCharsets.US_ASCII);

    private TestPages() {}

    /**
     * The seed of a randomized test class: {@code -Dpagestream.seed=N} replays a run (e.g.
     * {@code ./mvnw -pl schemas test -Dpagestream.seed=N}); every assertion message names it.
     */
    static long seed() {
        return Long.getLong("pagestream.seed", System.nanoTime());
    }

    static int randomPageSize(Random rnd) {
        return PAGE_SIZES[rnd.nextInt(PAGE_SIZES.length)];
    }

    static byte[] randomPage(Random rnd, int pageSize) {
        byte[] page = new byte[pageSize];
        rnd.nextBytes(page);
        return page;
    }

    /** A page that looks like a SQLite b-tree page: mostly zeros with some random cells at the end. */
    static byte[] sparsePage(Random rnd, int pageSize) {
        byte[] page = new byte[pageSize];
        int used = rnd.nextInt(pageSize / 2);
        for (int i = pageSize - used; i < pageSize; i++) {
            page[i] = (byte) rnd.nextInt(256);
        }
        page[0] = 0x0D;
        return page;
    }

    static byte[] textPage(int pageSize, String text) {
        byte[] unit = text.getBytes(StandardCharsets.US_ASCII);
        byte[] page = new byte[pageSize];
        for (int i = 0; i < pageSize; i++) {
            page[i] = unit[i % unit.length];
        }
        return page;
    }

    /** A random page or a sparse one. */
    static byte[] anyPage(Random rnd, int pageSize) {
        return rnd.nextBoolean() ? randomPage(rnd, pageSize) : sparsePage(rnd, pageSize);
    }

    /** Writes the SQLite magic and the page size (bytes 16..17, big-endian, 1 means 65536) into page 1. */
    static byte[] withHeader(byte[] page1, int pageSize) {
        System.arraycopy(SQLITE_MAGIC, 0, page1, 0, SQLITE_MAGIC.length);
        int raw = pageSize == 65536 ? 1 : pageSize;
        page1[16] = (byte) (raw >>> 8);
        page1[17] = (byte) raw;
        return page1;
    }

    /** A fake database: {@code count} pages, page 1 carrying a valid header page size. */
    static List<byte[]> randomDatabase(Random rnd, int pageSize, int count) {
        List<byte[]> pages = new ArrayList<>(count);
        for (int pgno = 1; pgno <= count; pgno++) {
            byte[] page = anyPage(rnd, pageSize);
            pages.add(pgno == 1 ? withHeader(page, pageSize) : page);
        }
        return pages;
    }

    /** XOR of the pages' checksums, the checksum of a database with these pages. */
    static long checksum(List<byte[]> pages) {
        long checksum = JournalContract.EMPTY_CHECKSUM;
        for (int i = 0; i < pages.size(); i++) {
            checksum ^= PageChecksum.of(i + 1, pages.get(i));
        }
        return checksum;
    }

    static byte[] concat(List<byte[]> pages) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        pages.forEach(out::writeBytes);
        return out.toByteArray();
    }

    static byte[] read(Path path) {
        try {
            return Files.readAllBytes(path);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<byte[]> copy(List<byte[]> pages) {
        List<byte[]> copy = new ArrayList<>(pages.size());
        pages.forEach(page -> copy.add(page.clone()));
        return copy;
    }

    /** A base entry carrying every page whole. */
    static JournalEntry baseEntry(String dbId, long lsn, int pageSize, List<byte[]> pages) {
        List<PageDelta> deltas = new ArrayList<>(pages.size());
        for (int i = 0; i < pages.size(); i++) {
            deltas.add(PageDiff.fullPage(i + 1, pages.get(i)));
        }
        return entry(dbId, lsn, true, JournalContract.EMPTY_CHECKSUM, checksum(pages), pageSize, pages.size(), deltas);
    }

    /** A deep copy through our Avro model: the generated copy-builders would need a class-trust system property. */
    static <T extends org.apache.avro.specific.SpecificRecord> T copy(T record) {
        return JournalAvroModel.INSTANCE.deepCopy(record.getSchema(), record);
    }

    static JournalEntry entry(String dbId, long lsn, boolean base, long pre, long post, int pageSize, int pageCount,
            List<PageDelta> deltas) {
        return JournalEntry.newBuilder()
                .setDbId(dbId)
                .setLsn(lsn)
                .setBase(base)
                .setPreChecksum(pre)
                .setPostChecksum(post)
                .setPageSize(pageSize)
                .setPageCount(pageCount)
                .setCommitTimeMillis(1_700_000_000_000L + lsn)
                .setDeltas(new ArrayList<>(deltas))
                .build();
    }
}
