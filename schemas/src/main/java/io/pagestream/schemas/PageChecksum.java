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

    /** Full scan of a database file; used to verify, never on the commit path. */
    public static long scan(FileChannel file, int pageSize) {
        try {
            long size = file.size();
            long pages = size / pageSize;
            long checksum = JournalContract.EMPTY_CHECKSUM;
            int pagesPerChunk = Math.max(1, (1 << 20) / pageSize);
            byte[] chunk = new byte[pagesPerChunk * pageSize];
            for (long first = 1; first <= pages; first += pagesPerChunk) {
                int count = (int) Math.min(pagesPerChunk, pages - first + 1);
                ByteBuffer buffer = ByteBuffer.wrap(chunk, 0, count * pageSize);
                long position = (first - 1) * pageSize;
                while (buffer.hasRemaining()) {
                    int n = file.read(buffer, position + buffer.position());
                    if (n < 0) {
                        throw new IOException("file shrank while scanning");
                    }
                }
                checksum ^= ofPages(first, chunk, count, pageSize);
            }
            return checksum;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
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
