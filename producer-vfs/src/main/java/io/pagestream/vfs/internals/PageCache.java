package io.pagestream.vfs.internals;

import io.pagestream.schemas.PageChecksum;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The last committed image of recently written pages of one database, with its page hash, so that the next
 * transaction's pre-images of hot pages (page 1, the growing end of a table) need no read from the file and no
 * hashing. Valid only while no one else writes the file: cleared when the file change counter shows an outside
 * writer.
 */
final class PageCache {
    private record Page(byte[] image, long hash) {}

    private final long maxBytes;
    private long bytes;
    private final LinkedHashMap<Integer, Page> pages = new LinkedHashMap<>(64, 0.75f, true);

    PageCache(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    byte[] get(int pgno) {
        Page page = pages.get(pgno);
        return page == null ? null : page.image();
    }

    /** The page hash of {@code image} as page {@code pgno}: remembered if it is the very array cached, else computed. */
    long hash(int pgno, byte[] image) {
        Page page = pages.get(pgno);
        return page != null && page.image() == image ? page.hash() : PageChecksum.of(pgno, image);
    }

    /** Page images are never modified after capture, so they are shared, not copied. */
    void put(int pgno, byte[] image, long hash) {
        Page previous = pages.put(pgno, new Page(image, hash));
        bytes += image.length - (previous == null ? 0 : previous.image().length);
        var eldest = pages.entrySet().iterator();
        while (bytes > maxBytes && eldest.hasNext()) {
            Map.Entry<Integer, Page> entry = eldest.next();
            bytes -= entry.getValue().image().length;
            eldest.remove();
        }
    }

    void removeBeyond(long pageCount) {
        var iterator = pages.entrySet().iterator();
        while (iterator.hasNext()) {
            Map.Entry<Integer, Page> entry = iterator.next();
            if (entry.getKey() > pageCount) {
                bytes -= entry.getValue().image().length;
                iterator.remove();
            }
        }
    }

    void clear() {
        pages.clear();
        bytes = 0;
    }
}
