package io.pagestream.replica.internals;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.PrimitiveIterator;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes {@code <db>-journal} in SQLite's rollback-journal format (fileformat2 "The Rollback Journal",
 * pager.c) holding the pre-images of the pages an apply is about to replace and the original database size.
 * While it exists with a non-zero header and no connection holds RESERVED, it is a hot journal: the next
 * SQLite connection to open the database rolls the apply back. Truncating it to zero bytes commits the
 * apply (SQLite's journal_mode=TRUNCATE does the same). The file persists between applies, so creating it —
 * and syncing its directory — happens once.
 */
final class RollbackJournal implements AutoCloseable {
    private static final byte[] MAGIC = {(byte) 0xd9, (byte) 0xd5, 0x05, (byte) 0xf9, 0x20, (byte) 0xa1, 0x63, (byte) 0xd7};
    /** Header size; SQLite reads the sector size from the header and skips that many bytes. */
    static final int SECTOR_SIZE = 512;
    private static final int WRITE_CHUNK = 1 << 20;

    /** Reads one page of the database as it is before the apply. */
    interface PageReader {
        void read(long pgno, byte[] into) throws IOException;
    }

    private final Path path;
    private FileChannel channel;

    RollbackJournal(Path database) {
        this.path = Path.of(database + "-journal");
    }

    /**
     * Writes and syncs a journal restoring {@code originalPageCount} pages of {@code pageSize} bytes.
     *
     * @param pages ascending page numbers whose current images to save, each within the original size
     */
    void write(int pageSize, long originalPageCount, int pageCount, PrimitiveIterator.OfLong pages, PageReader reader)
            throws IOException {
        FileChannel journal = channel();
        int nonce = ThreadLocalRandom.current().nextInt();
        ByteBuffer out = ByteBuffer.allocate(Math.max(WRITE_CHUNK, SECTOR_SIZE + pageSize + 8));
        out.put(MAGIC).putInt(pageCount).putInt(nonce).putInt((int) originalPageCount).putInt(SECTOR_SIZE).putInt(pageSize);
        out.position(SECTOR_SIZE);
        long position = 0;
        byte[] page = new byte[pageSize];
        int written = 0;
        while (pages.hasNext()) {
            long pgno = pages.nextLong();
            reader.read(pgno, page);
            if (out.remaining() < pageSize + 8) {
                position += flush(journal, out, position);
            }
            out.putInt((int) pgno).put(page).putInt(checksum(nonce, page));
            written++;
        }
        if (written != pageCount) {
            throw new IllegalStateException("journal announced " + pageCount + " pages and holds " + written);
        }
        position += flush(journal, out, position);
        journal.truncate(position);
        journal.force(false);
    }

    /**
     * Commits the apply: a zero-length journal is not hot. Not synced: should a power cut undo the truncation, the
     * resurrected journal rolls the file back to the position before this apply, which the position file still holds
     * ({@link PositionFile#earlier()}).
     */
    void finish() throws IOException {
        channel().truncate(0);
    }

    /** SQLite's pager_cksum: the nonce plus every 200th byte going down from pageSize − 200. */
    private static int checksum(int nonce, byte[] page) {
        int sum = nonce;
        for (int i = page.length - 200; i > 0; i -= 200) {
            sum += page[i] & 0xFF;
        }
        return sum;
    }

    private static long flush(FileChannel journal, ByteBuffer out, long position) throws IOException {
        out.flip();
        long length = out.remaining();
        while (out.hasRemaining()) {
            journal.write(out, position + out.position());
        }
        out.clear();
        return length;
    }

    private FileChannel channel() throws IOException {
        if (channel == null) {
            channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            syncDirectory(path.toAbsolutePath().getParent());
        }
        return channel;
    }

    /** Makes the journal's directory entry durable, as SQLite does when it creates a journal. */
    private static void syncDirectory(Path directory) throws IOException {
        try (FileChannel dir = FileChannel.open(directory, StandardOpenOption.READ)) {
            dir.force(true);
        }
    }

    @Override
    public void close() throws IOException {
        if (channel != null) {
            channel.close();
            channel = null;
        }
    }
}
