package io.pagestream.schemas;

import java.util.HexFormat;

/**
 * The journal contract, frozen: everything a consumer needs to verify and apply an entry on its own.
 * Changing any value here breaks every journal already written.
 *
 * <h2>Record</h2>
 * One committed write transaction of one database is one {@code JournalEntry} (schemas/src/main/avro),
 * published as one Kafka record: key = db id (UTF-8), value = the entry in Avro single-object
 * encoding ({@code C3 01}, 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema, Avro
 * binary body). An encoded entry larger than the producer's fragment limit is split into consecutive
 * {@code JournalFragment} records (same key, index 0..count-1, each carrying the whole entry's length
 * and CRC32C); a consumer concatenates the chunks and decodes the result as a {@code JournalEntry}.
 *
 * <h2>Entry fields</h2>
 * <ul>
 *   <li>{@code dbId} — database id; equals the record key.</li>
 *   <li>{@code lsn} — 1, 2, 3… per db id, no gaps; an entry applies only to the state after lsn − 1.</li>
 *   <li>{@code base} — the entry carries every page and replaces the database; its pre-image is the
 *       empty file and {@code preChecksum} is 0. The first entry of a db id is a base entry; a writer
 *       that finds its file changed outside the VFS publishes a new one.</li>
 *   <li>{@code preChecksum}, {@code postChecksum} — {@link #CHECKSUM_DEFINITION} of the whole
 *       database before and after apply.</li>
 *   <li>{@code pageSize}, {@code pageCount} — page size and database size in pages after apply;
 *       the file is truncated or extended to {@code pageSize × pageCount} bytes.</li>
 *   <li>{@code commitTimeMillis} — writer's clock at commit.</li>
 *   <li>{@code deltas} — changed pages, ascending pgno, each ≤ pageCount. A page the file did not have
 *       before apply has an all-zero pre-image.</li>
 * </ul>
 *
 * <h2>Delta encodings</h2>
 * <ul>
 *   <li>{@code PAGE} — data is the whole new page.</li>
 *   <li>{@code RANGES} — data is a sequence of (uvarint gap, uvarint length, length bytes): gap counts
 *       bytes since the end of the previous range (from offset 0 for the first); the bytes replace
 *       the pre-image there; the rest of the page is the pre-image.</li>
 *   <li>{@code PAGE_LZ4}, {@code RANGES_LZ4} — the same, LZ4-block-compressed, preceded by the
 *       uncompressed length as a uvarint. Used only when smaller.</li>
 * </ul>
 * A page-size change (VACUUM after {@code PRAGMA page_size}) is carried by an entry whose deltas
 * are every page, {@code PAGE}-encoded.
 *
 * <h2>Headers</h2>
 * Every record carries {@link #HEADER_DB_ID} (see {@link #headerDbId}), {@link #HEADER_LSN} (decimal), and every entry record
 * {@link #HEADER_PRE_CHECKSUM}, {@link #HEADER_POST_CHECKSUM} (16 lower-case hex digits); fragments
 * carry {@link #HEADER_FRAGMENT} ("index/count"), and the last fragment of an entry the two checksums too, so a
 * chain's newest position can be read from headers alone. All are ASCII, so console tools print them.
 */
public final class JournalContract {
    private JournalContract() {}

    /** Rolling checksum of a database: XOR over its pages, the lock-byte page excluded, of XXH64. */
    public static final String CHECKSUM_DEFINITION =
            "XOR over pages p (lock-byte page excluded) of XXH64(seed 0, big-endian u32 pgno || page bytes)";

    public static final long CHECKSUM_SEED = 0L;

    /** Checksum of a database with no pages. */
    public static final long EMPTY_CHECKSUM = 0L;

    /** SQLite's PENDING_BYTE: the page holding this file offset is never written (lock-byte page). */
    public static final long PENDING_BYTE = 0x40000000L;

    public static final int MIN_PAGE_SIZE = 512;
    public static final int MAX_PAGE_SIZE = 65536;

    /** Single-object encoding marker bytes (Avro specification). */
    public static final byte MAGIC_0 = (byte) 0xC3;
    public static final byte MAGIC_1 = (byte) 0x01;
    public static final int SINGLE_OBJECT_HEADER_LENGTH = 10;

    public static final String HEADER_DB_ID = "ps.db";
    public static final String HEADER_LSN = "ps.lsn";
    public static final String HEADER_PRE_CHECKSUM = "ps.pre";
    public static final String HEADER_POST_CHECKSUM = "ps.post";
    public static final String HEADER_FRAGMENT = "ps.frag";

    /** Default journal topic. */
    public static final String DEFAULT_TOPIC = "pagestream.journal";

    /** Ranges closer than this are merged into one: a range header costs about two bytes. */
    public static final int RANGE_MERGE_GAP = 2;

    /** 1-based number of the lock-byte page for a page size. */
    public static long lockBytePgno(int pageSize) {
        return PENDING_BYTE / pageSize + 1;
    }

    public static boolean isValidPageSize(int pageSize) {
        return pageSize >= MIN_PAGE_SIZE && pageSize <= MAX_PAGE_SIZE && Integer.bitCount(pageSize) == 1;
    }

    /** A db id as written in the {@link #HEADER_DB_ID} header: UTF-8, percent-encoded outside printable ASCII. */
    public static String headerDbId(String dbId) {
        StringBuilder out = new StringBuilder(dbId.length());
        for (byte b : dbId.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            int c = b & 0xFF;
            if (c > 0x20 && c < 0x7F && c != '%') {
                out.append((char) c);
            } else {
                out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xF, 16)));
            }
        }
        return out.toString();
    }

    /** Checksum as written in headers and messages: 16 lower-case hex digits. */
    public static String hex(long checksum) {
        return HexFormat.of().toHexDigits(checksum);
    }
}
