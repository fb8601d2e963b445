package io.pagestream.schemas;

import io.pagestream.schemas.avro.DeltaEncoding;
import io.pagestream.schemas.avro.PageDelta;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/** Encodes a page's new image against its pre-image (see {@link JournalContract}) and back. */
public final class PageDiff {
    private static final LZ4Factory LZ4 = LZ4Factory.fastestInstance();
    private static final LZ4Compressor COMPRESSOR = LZ4.fastCompressor();
    private static final LZ4SafeDecompressor DECOMPRESSOR = LZ4.safeDecompressor();
    /** Below this, LZ4's framing cannot pay for itself. */
    private static final int MIN_COMPRESSIBLE = 64;

    private PageDiff() {}

    /** The smallest delta turning {@code pre} into {@code post}; {@code pre == null} means the page is new. */
    public static PageDelta encode(int pgno, byte[] pre, byte[] post) {
        byte[] ranges = pre == null ? null : ranges(pre, post);
        DeltaEncoding encoding;
        byte[] data;
        if (ranges != null && ranges.length < post.length) {
            encoding = DeltaEncoding.RANGES;
            data = ranges;
        } else {
            encoding = DeltaEncoding.PAGE;
            data = post;
        }
        byte[] compressed = compress(data);
        if (compressed != null) {
            encoding = encoding == DeltaEncoding.PAGE ? DeltaEncoding.PAGE_LZ4 : DeltaEncoding.RANGES_LZ4;
            data = compressed;
        }
        return new PageDelta(pgno, encoding, ByteBuffer.wrap(data));
    }

    /** A whole-page delta (base entries and page-size changes). */
    public static PageDelta fullPage(int pgno, byte[] post) {
        return encode(pgno, null, post);
    }

    /**
     * The new page image. {@code pre} is the current image (all zeros for a page the file lacks) and is
     * not modified.
     *
     * @throws CorruptEntryException if the delta does not decode to exactly one page
     */
    public static byte[] decode(PageDelta delta, byte[] pre, int pageSize) {
        byte[] data = bytes(delta.getData());
        switch (delta.getEncoding()) {
            case PAGE -> {
                return checkedPage(data, pageSize, delta);
            }
            case PAGE_LZ4 -> {
                return checkedPage(decompress(data, delta), pageSize, delta);
            }
            case RANGES -> {
                return applyRanges(data, pre, pageSize, delta);
            }
            case RANGES_LZ4 -> {
                return applyRanges(decompress(data, delta), pre, pageSize, delta);
            }
            default -> throw new CorruptEntryException("page " + delta.getPgno() + ": unknown encoding " + delta.getEncoding());
        }
    }

    /** {@link #decode(PageDelta, byte[], int)}, its errors prefixed with {@code where} (db, LSN, record). */
    public static byte[] decode(PageDelta delta, byte[] pre, int pageSize, String where) {
        try {
            return decode(delta, pre, pageSize);
        } catch (CorruptEntryException e) {
            throw new CorruptEntryException(where + ": " + e.getMessage(), e);
        }
    }

    /** Whether decoding needs the page's pre-image. */
    public static boolean needsPreImage(PageDelta delta) {
        return delta.getEncoding() == DeltaEncoding.RANGES || delta.getEncoding() == DeltaEncoding.RANGES_LZ4;
    }

    /** RANGES data for {@code pre -> post}, or null when it would not be smaller than the page. */
    static byte[] ranges(byte[] pre, byte[] post) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(64);
        int length = post.length;
        int previousEnd = 0;
        int i = 0;
        while (i < length) {
            int mismatch = Arrays.mismatch(pre, i, length, post, i, length);
            if (mismatch < 0) {
                break;
            }
            int start = i + mismatch;
            int end = start + 1;
            while (end < length) {
                if (pre[end] != post[end]) {
                    end++;
                    continue;
                }
                // Absorb a short equal run when another difference follows it closely.
                int lookahead = Math.min(length, end + JournalContract.RANGE_MERGE_GAP + 1);
                int next = Arrays.mismatch(pre, end, lookahead, post, end, lookahead);
                if (next < 0) {
                    break;
                }
                end += next + 1;
            }
            writeVarint(out, start - previousEnd);
            writeVarint(out, end - start);
            out.write(post, start, end - start);
            if (out.size() >= length) {
                return null;
            }
            previousEnd = end;
            i = end;
        }
        return out.toByteArray();
    }

    private static byte[] applyRanges(byte[] data, byte[] pre, int pageSize, PageDelta delta) {
        if (pre.length != pageSize) {
            throw new CorruptEntryException("page " + delta.getPgno() + ": pre-image is " + pre.length + " bytes, page size " + pageSize);
        }
        byte[] page = pre.clone();
        int[] cursor = {0};
        int position = 0;
        while (cursor[0] < data.length) {
            long gap = readVarint(data, cursor, delta);
            long length = readVarint(data, cursor, delta);
            long start = position + gap;
            if (length <= 0 || start + length > pageSize || cursor[0] + length > data.length) {
                throw new CorruptEntryException("page " + delta.getPgno() + ": byte range [" + start + ", " + (start + length)
                        + ") does not fit a " + pageSize + "-byte page or the delta data");
            }
            System.arraycopy(data, cursor[0], page, (int) start, (int) length);
            cursor[0] += (int) length;
            position = (int) (start + length);
        }
        return page;
    }

    private static byte[] checkedPage(byte[] data, int pageSize, PageDelta delta) {
        if (data.length != pageSize) {
            throw new CorruptEntryException("page " + delta.getPgno() + ": full-page delta is " + data.length
                    + " bytes, page size " + pageSize);
        }
        return data;
    }

    private static byte[] compress(byte[] raw) {
        if (raw.length < MIN_COMPRESSIBLE) {
            return null;
        }
        byte[] out = new byte[5 + COMPRESSOR.maxCompressedLength(raw.length)];
        int header = putVarint(out, 0, raw.length);
        int size = COMPRESSOR.compress(raw, 0, raw.length, out, header);
        int total = header + size;
        return total < raw.length ? Arrays.copyOf(out, total) : null;
    }

    private static byte[] decompress(byte[] data, PageDelta delta) {
        int[] cursor = {0};
        long length = readVarint(data, cursor, delta);
        if (length <= 0 || length > JournalContract.MAX_PAGE_SIZE * 4L) {
            throw new CorruptEntryException("page " + delta.getPgno() + ": implausible uncompressed length " + length);
        }
        byte[] out = new byte[(int) length];
        try {
            int produced = DECOMPRESSOR.decompress(data, cursor[0], data.length - cursor[0], out, 0);
            if (produced != length) {
                throw new CorruptEntryException("page " + delta.getPgno() + ": LZ4 data decompressed to " + produced
                        + " bytes, header says " + length);
            }
        } catch (LZ4Exception e) {
            throw new CorruptEntryException("page " + delta.getPgno() + ": LZ4 data is corrupt", e);
        }
        return out;
    }

    static byte[] bytes(ByteBuffer buffer) {
        ByteBuffer view = buffer.duplicate();
        byte[] out = new byte[view.remaining()];
        view.get(out);
        return out;
    }

    private static void writeVarint(ByteArrayOutputStream out, int value) {
        while ((value & ~0x7F) != 0) {
            out.write((value & 0x7F) | 0x80);
            value >>>= 7;
        }
        out.write(value);
    }

    private static int putVarint(byte[] out, int offset, int value) {
        int start = offset;
        while ((value & ~0x7F) != 0) {
            out[offset++] = (byte) ((value & 0x7F) | 0x80);
            value >>>= 7;
        }
        out[offset++] = (byte) value;
        return offset - start;
    }

    private static long readVarint(byte[] data, int[] cursor, PageDelta delta) {
        long value = 0;
        for (int shift = 0; shift < 35; shift += 7) {
            if (cursor[0] >= data.length) {
                throw new CorruptEntryException("page " + delta.getPgno() + ": delta data ends inside a length");
            }
            int b = data[cursor[0]++] & 0xFF;
            value |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                return value;
            }
        }
        throw new CorruptEntryException("page " + delta.getPgno() + ": malformed varint in delta data");
    }
}
