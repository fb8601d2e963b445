package io.pagestream.schemas;

import io.pagestream.schemas.avro.CatalogEntry;
import io.pagestream.schemas.avro.RestorePoint;
import io.pagestream.schemas.avro.SnapshotChunk;
import java.nio.ByteBuffer;

/**
 * Encodes and decodes snapshot chunks (the snapshots topic) and catalog entries (the catalog topic), in the journal's
 * Avro single-object encoding. A chunk decodes only when its pages hash to the checksum it carries.
 */
public final class SnapshotCodec {
    private static final SingleObject<SnapshotChunk> CHUNK = new SingleObject<>(SnapshotChunk.getClassSchema());
    private static final SingleObject<CatalogEntry> CATALOG = new SingleObject<>(CatalogEntry.getClassSchema());

    private SnapshotCodec() {}

    public static byte[] encodeChunk(SnapshotChunk chunk) {
        return CHUNK.encode(chunk);
    }

    /**
     * @throws CorruptEntryException naming the origin, db, snapshot and chunk when the record is not a whole, intact
     *     chunk (wrong schema, bad structure, pages that do not hash to its checksum)
     */
    public static SnapshotChunk decodeChunk(byte[] value, String origin) {
        SnapshotChunk chunk = CHUNK.decode(value, origin);
        String where = origin + ": chunk " + chunk.getIndex() + "/" + chunk.getCount() + " of snapshot "
                + chunk.getSnapshotId() + " of db " + chunk.getDbId() + " (LSN " + chunk.getLsn() + ")";
        int pageSize = chunk.getPageSize();
        ByteBuffer pages = chunk.getPages();
        if (chunk.getCount() < 1 || chunk.getIndex() < 0 || chunk.getIndex() >= chunk.getCount()
                || !JournalContract.isValidPageSize(pageSize) || chunk.getFirstPgno() < 1
                || pages.remaining() % pageSize != 0) {
            throw new CorruptEntryException(where + ": invalid chunk fields (page size " + pageSize + ", first page "
                    + chunk.getFirstPgno() + ", " + pages.remaining() + " page bytes)");
        }
        long actual = PageChecksum.ofPages(chunk.getFirstPgno(), bytes(pages), pages.remaining() / pageSize, pageSize);
        if (actual != chunk.getChecksum()) {
            throw new ChecksumMismatchException(where + ": its pages do not match its checksum", chunk.getChecksum(), actual);
        }
        return chunk;
    }

    /** The page images of a chunk, in one array. */
    public static byte[] bytes(ByteBuffer pages) {
        if (pages.hasArray() && pages.arrayOffset() == 0 && pages.position() == 0 && pages.remaining() == pages.array().length) {
            return pages.array();
        }
        byte[] copy = new byte[pages.remaining()];
        pages.duplicate().get(copy);
        return copy;
    }

    public static byte[] encodeCatalog(CatalogEntry entry) {
        return CATALOG.encode(entry);
    }

    /** @throws CorruptEntryException naming the origin when the value is not a catalog entry with ordered restore points */
    public static CatalogEntry decodeCatalog(byte[] value, String origin) {
        CatalogEntry entry = CATALOG.decode(value, origin);
        long previous = 0;
        for (RestorePoint point : entry.getRestorePoints()) {
            if (point.getLsn() <= previous || point.getChunkCount() < 1 || point.getPageCount() < 0
                    || point.getFirstChunkOffset() > point.getLastChunkOffset()) {
                throw new CorruptEntryException(origin + ": catalog of db " + entry.getDbId() + ": restore point "
                        + point.getSnapshotId() + " at LSN " + point.getLsn() + " is out of order or malformed");
            }
            previous = point.getLsn();
        }
        return entry;
    }
}
