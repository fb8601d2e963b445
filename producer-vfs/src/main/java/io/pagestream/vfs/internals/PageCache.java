package io.pagestream.vfs.internals;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The last committed image of recently written pages of one database, so that the next transaction's
 * pre-images of hot pages (page 1, the growing end of a table) need no read from the file. Valid only while
 * no one else writes the file: cleared when the file change counter shows an outside writer.
 */
final class PageCache {
    private final long maxBytes;
    private long bytes;
    private final LinkedHashMap<Integer, byte[]> pages = new LinkedHashMap<>(64, 0.75f, true);

    PageCache(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    byte[] get(int pgno) {
        return pages.get(pgno);
    }

    /** Page images are never modified after capture, so they are shared, not copied. */
    void put(int pgno, byte[] image) {
        byte[] previous = pages.put(pgno, image);
        bytes += image.length - (previous == null ? 0 : previous.length);
        var eldest = pages.entrySet().iterator();
        while (bytes > maxBytes && eldest.hasNext()) {
            Map.Entry<Integer, byte[]> entry = eldest.next();
            bytes -= entry.getValue().length;
            eldest.remove();
        }
    }

    void removeBeyond(long pageCount) {
        var iterator = pages.entrySet().iterator();
        while (iterator.hasNext()) {
            Map.Entry<Integer, byte[]> entry = iterator.next();
            if (entry.getKey() > pageCount) {
                bytes -= entry.getValue().length;
                iterator.remove();
            }
        }
    }

    void clear() {
        pages.clear();
        bytes = 0;
    }
}
