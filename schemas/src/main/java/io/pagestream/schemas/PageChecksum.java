package io.pagestream.schemas;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import net.jpountz.xxhash.StreamingXXHash64;
import net.jpountz.xxhash.XXHashFactory;

/** The per-page hash and whole-database rolling checksum defined in {@link JournalContract}. */
public final class PageChecksum {
    private static final XXHashFactory FACTORY = XXHashFactory.fastestInstance();
    private static final ThreadLocal<StreamingXXHash64> HASH =
            ThreadLocal.withInitial(() -> FACTORY.newStreamingHash64(JournalContract.CHECKSUM_SEED));
    private static final ThreadLocal<byte[]> PGNO = ThreadLocal.withInitial(() -> new byte[4]);

    private PageChecksum() {}

    /** The page's contribution to the database checksum; 0 for the lock-byte page. */
    public static long of(long pgno, byte[] page, int offset, int pageSize) {
        if (pgno == JournalContract.lockBytePgno(pageSize)) {
            return 0L;
        }
        StreamingXXHash64 hash = HASH.get();
        byte[] number = PGNO.get();
        number[0] = (byte) (pgno >>> 24);
        number[1] = (byte) (pgno >>> 16);
        number[2] = (byte) (pgno >>> 8);
        number[3] = (byte) pgno;
        hash.reset();
        hash.update(number, 0, 4);
        hash.update(page, offset, pageSize);
        return hash.getValue();
    }

    public static long of(long pgno, byte[] page) {
        return of(pgno, page, 0, page.length);
    }

    /** XOR of the contributions of {@code count} consecutive pages, the first numbered {@code firstPgno}. */
    public static long ofPages(long firstPgno, byte[] pages, int count, int pageSize) {
        long checksum = 0;
        for (int i = 0; i < count; i++) {
            checksum ^= of(firstPgno + i, pages, i * pageSize, pageSize);
        }
        return checksum;
    }

    /** XOR of the contributions of all-zero pages numbered {@code fromInclusive} up to {@code toExclusive}. */
    public static long ofZeroPages(long fromInclusive, long toExclusive, int pageSize) {
        long checksum = 0;
        byte[] zeros = null;
        for (long pgno = fromInclusive; pgno < toExclusive; pgno++) {
            if (zeros == null) {
                zeros = new byte[pageSize];
            }
            checksum ^= of(pgno, zeros);
        }
        return checksum;
    }

    /** Reads {@code length} bytes of a database file at {@code offset} into {@code into}. */
    @FunctionalInterface
    public interface FileReader {
        void read(long offset, byte[] into, int length) throws IOException;
    }

    /** Full scan of a database file; used to verify, never on the commit path. */
    public static long scan(FileChannel file, int pageSize) {
        try {
            return scan((offset, into, length) -> {
                ByteBuffer buffer = ByteBuffer.wrap(into, 0, length);
                while (buffer.hasRemaining()) {
                    if (file.read(buffer, offset + buffer.position()) < 0) {
                        throw new IOException("file shrank while scanning");
                    }
                }
            }, pageSize, file.size() / pageSize);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Full-scan checksum of {@code pageCount} pages, holding one chunk of about 1 MiB in memory. */
    public static long scan(FileReader file, int pageSize, long pageCount) throws IOException {
        long checksum = JournalContract.EMPTY_CHECKSUM;
        int pagesPerChunk = Math.max(1, (1 << 20) / pageSize);
        byte[] chunk = new byte[pagesPerChunk * pageSize];
        for (long first = 1; first <= pageCount; first += pagesPerChunk) {
            int count = (int) Math.min(pagesPerChunk, pageCount - first + 1);
            file.read((first - 1) * pageSize, chunk, count * pageSize);
            checksum ^= ofPages(first, chunk, count, pageSize);
        }
        return checksum;
    }

    /** Page size recorded in a database header (bytes 16..17; 1 means 65536), or 0 for an empty file. */
    public static int headerPageSize(byte[] firstBytes) {
        if (firstBytes.length < 18) {
            return 0;
        }
        int raw = ((firstBytes[16] & 0xFF) << 8) | (firstBytes[17] & 0xFF);
        return raw == 1 ? 65536 : raw;
    }
}
