package io.pagestream.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pagestream.schemas.avro.DeltaEncoding;
import io.pagestream.schemas.avro.PageDelta;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Randomized round trips of {@link PageDiff}. Every assertion names the seed; replay a failure with
 * {@code ./mvnw -pl schemas test -Dtest=PageDiffTest -Dpagestream.seed=N}.
 */
class PageDiffTest {
    private static final long SEED = TestPages.seed();
    private static final int ROUNDS = 100;
    private static final Set<DeltaEncoding> RANGES_FAMILY = EnumSet.of(DeltaEncoding.RANGES, DeltaEncoding.RANGES_LZ4);
    private static final Set<DeltaEncoding> PAGE_FAMILY = EnumSet.of(DeltaEncoding.PAGE, DeltaEncoding.PAGE_LZ4);

    /** How a round turns a pre-image into a post-image, and which encodings the diff may choose. */
    enum Mutation {
        NONE(EnumSet.of(DeltaEncoding.RANGES)),
        FEW_BYTES(EnumSet.of(DeltaEncoding.RANGES)),
        SCATTERED_BYTES(RANGES_FAMILY),
        RUNS(RANGES_FAMILY),
        WHOLE_PAGE_RANDOM(EnumSet.of(DeltaEncoding.PAGE)),
        NEW_PAGE_RANDOM(EnumSet.of(DeltaEncoding.PAGE)),
        NEW_PAGE_ZEROS(EnumSet.of(DeltaEncoding.PAGE_LZ4)),
        NEW_PAGE_TEXT(EnumSet.of(DeltaEncoding.PAGE_LZ4)),
        NEW_PAGE_SPARSE(PAGE_FAMILY),
        ZEROED_PAGE(EnumSet.of(DeltaEncoding.PAGE_LZ4)),
        TEXT_OVER_RANDOM(EnumSet.of(DeltaEncoding.PAGE_LZ4)),
        TEXT_FEW_BYTES(EnumSet.of(DeltaEncoding.RANGES)),
        ANY(EnumSet.allOf(DeltaEncoding.class));

        final Set<DeltaEncoding> allowed;

        Mutation(Set<DeltaEncoding> allowed) {
            this.allowed = allowed;
        }
    }

    @ParameterizedTest
    @EnumSource(Mutation.class)
    void randomRoundTrips(Mutation mutation) {
        Random rnd = new Random(SEED ^ (mutation.ordinal() * 0x9E3779B97F4A7C15L));
        for (int round = 0; round < ROUNDS; round++) {
            int pageSize = TestPages.randomPageSize(rnd);
            int pgno = 1 + rnd.nextInt(100_000);
            byte[] pre = switch (mutation) {
                case NEW_PAGE_RANDOM, NEW_PAGE_ZEROS, NEW_PAGE_TEXT, NEW_PAGE_SPARSE -> null;
                case TEXT_FEW_BYTES -> TestPages.textPage(pageSize, "INSERT INTO t VALUES(" + round + ");");
                default -> TestPages.anyPage(rnd, pageSize);
            };
            byte[] post = mutate(mutation, rnd, pre, pageSize); // may adjust pre (ZEROED_PAGE)
            byte[] preCopy = pre == null ? null : pre.clone();
            String what = "seed %d, %s round %d, page size %d".formatted(SEED, mutation, round, pageSize);

            PageDelta delta = PageDiff.encode(pgno, pre, post);

            assertThat(delta.getPgno()).as(what).isEqualTo(pgno);
            assertThat(delta.getEncoding()).as(what).isIn(mutation.allowed);
            assertThat(delta.getData().remaining()).as("%s: delta is never larger than the page", what).isLessThanOrEqualTo(pageSize);
            assertThat(PageDiff.needsPreImage(delta)).as(what).isEqualTo(RANGES_FAMILY.contains(delta.getEncoding()));
            byte[] base = pre == null ? new byte[pageSize] : pre;
            byte[] decoded = PageDiff.decode(delta, base, pageSize);
            assertThat(decoded).as("%s: decode(encode(pre, post), pre) == post", what).isEqualTo(post);
            assertThat(PageDiff.decode(delta, base, pageSize)).as("%s: decoding twice", what).isEqualTo(post);
            if (pre != null) {
                assertThat(pre).as("%s: pre-image not modified", what).isEqualTo(preCopy);
            }
            if (!needsPre(delta)) {
                // A whole-page delta does not depend on the pre-image at all.
                assertThat(PageDiff.decode(delta, TestPages.randomPage(rnd, pageSize), pageSize)).as(what).isEqualTo(post);
            }
        }
    }

    @Test
    void twoByteChangeIsSmallRanges() {
        Random rnd = new Random(SEED);
        for (int round = 0; round < 300; round++) {
            int pageSize = TestPages.randomPageSize(rnd);
            byte[] pre = TestPages.anyPage(rnd, pageSize);
            byte[] post = pre.clone();
            boolean adjacent = rnd.nextBoolean();
            int first = rnd.nextInt(pageSize - 1);
            int second = adjacent ? first + 1 : rnd.nextInt(pageSize);
            post[first] ^= (byte) (1 + rnd.nextInt(255));
            if (second != first) {
                post[second] ^= (byte) (1 + rnd.nextInt(255));
            }
            String what = "seed %d round %d, page size %d, bytes %d and %d".formatted(SEED, round, pageSize, first, second);

            PageDelta delta = PageDiff.encode(7, pre, post);

            assertThat(delta.getEncoding()).as(what).isEqualTo(DeltaEncoding.RANGES);
            assertThat(delta.getData().remaining()).as(what).isLessThan(16);
            assertThat(PageDiff.decode(delta, pre, pageSize)).as(what).isEqualTo(post);
        }
    }

    @Test
    void unchangedPageIsEmptyRanges() {
        byte[] page = TestPages.randomPage(new Random(SEED), 4096);
        PageDelta delta = PageDiff.encode(3, page, page.clone());
        assertThat(delta.getEncoding()).as("seed %d", SEED).isEqualTo(DeltaEncoding.RANGES);
        assertThat(delta.getData().remaining()).as("seed %d", SEED).isZero();
        assertThat(PageDiff.decode(delta, page, 4096)).as("seed %d", SEED).isEqualTo(page);
    }

    @Test
    void rangesFormatIsGapLengthBytes() {
        byte[] pre = new byte[512];
        byte[] post = pre.clone();
        post[3] = 1;
        post[4] = 2;
        post[300] = 9;
        PageDelta delta = PageDiff.encode(1, pre, post);
        assertThat(delta.getEncoding()).isEqualTo(DeltaEncoding.RANGES);
        // gap 3, length 2, bytes 1 2; gap 300 - 5 = 295 (varint a7 02), length 1, byte 9
        assertThat(PageDiff.bytes(delta.getData())).containsExactly(3, 2, 1, 2, 0xA7 - 256, 2, 1, 9);
    }

    @Test
    void closeRangesAreMerged() {
        byte[] pre = new byte[1024];
        byte[] post = pre.clone();
        post[10] = 1;
        post[12] = 1; // one equal byte between: merged into one range 10..12
        PageDelta delta = PageDiff.encode(1, pre, post);
        assertThat(PageDiff.bytes(delta.getData())).containsExactly(10, 3, 1, 0, 1);
    }

    @Test
    void fullPageIsPageFamilyAndRoundTrips() {
        Random rnd = new Random(SEED);
        for (int round = 0; round < 50; round++) {
            int pageSize = TestPages.randomPageSize(rnd);
            byte[] page = switch (round % 3) {
                case 0 -> TestPages.randomPage(rnd, pageSize);
                case 1 -> TestPages.sparsePage(rnd, pageSize);
                default -> new byte[pageSize];
            };
            String what = "seed %d round %d, page size %d".formatted(SEED, round, pageSize);
            PageDelta delta = PageDiff.fullPage(round + 1, page);
            assertThat(delta.getEncoding()).as(what).isIn(PAGE_FAMILY);
            assertThat(PageDiff.needsPreImage(delta)).as(what).isFalse();
            assertThat(PageDiff.decode(delta, new byte[pageSize], pageSize)).as(what).isEqualTo(page);
        }
        assertThat(PageDiff.fullPage(1, new byte[4096]).getEncoding()).isEqualTo(DeltaEncoding.PAGE_LZ4);
        assertThat(PageDiff.fullPage(1, TestPages.randomPage(rnd, 4096)).getEncoding()).isEqualTo(DeltaEncoding.PAGE);
    }

    // ---- corrupt deltas ----

    @Test
    void truncatedVarintIsCorrupt() {
        assertCorrupt(new PageDelta(7, DeltaEncoding.RANGES, buffer(0x80)), new byte[4096], 4096, "page 7", "ends inside a length");
        // gap present, length missing
        assertCorrupt(new PageDelta(7, DeltaEncoding.RANGES, buffer(5)), new byte[4096], 4096, "page 7", "ends inside a length");
        // gap and length continuation byte, then nothing
        assertCorrupt(new PageDelta(7, DeltaEncoding.RANGES, buffer(5, 0x81)), new byte[4096], 4096, "page 7",
                "ends inside a length");
    }

    @Test
    void overlongVarintIsCorrupt() {
        assertCorrupt(new PageDelta(8, DeltaEncoding.RANGES, buffer(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 1)), new byte[512], 512,
                "page 8", "malformed varint");
    }

    @Test
    void rangeBeyondPageIsCorrupt() {
        // gap 4095, length 2: bytes 4095..4096 of a 4096-byte page
        assertCorrupt(new PageDelta(9, DeltaEncoding.RANGES, buffer(0xFF, 0x1F, 2, 1, 1)), new byte[4096], 4096, "page 9",
                "does not fit");
        // second range starts past the end
        assertCorrupt(new PageDelta(9, DeltaEncoding.RANGES, buffer(0, 1, 1, 0xFF, 0x1F, 1, 1)), new byte[4096], 4096, "page 9",
                "does not fit");
        // huge gap (35-bit varint)
        assertCorrupt(new PageDelta(9, DeltaEncoding.RANGES, buffer(0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 1, 1)), new byte[4096], 4096,
                "page 9", "does not fit");
    }

    @Test
    void rangeLongerThanDataIsCorrupt() {
        assertCorrupt(new PageDelta(10, DeltaEncoding.RANGES, buffer(0, 10, 1, 2, 3)), new byte[1024], 1024, "page 10", "does not fit");
    }

    @Test
    void emptyRangeIsCorrupt() {
        assertCorrupt(new PageDelta(11, DeltaEncoding.RANGES, buffer(3, 0)), new byte[1024], 1024, "page 11", "does not fit");
    }

    @Test
    void preImageOfWrongLengthIsCorrupt() {
        byte[] pre = new byte[1024];
        byte[] post = pre.clone();
        post[5] = 5;
        PageDelta delta = PageDiff.encode(12, pre, post);
        assertCorrupt(delta, new byte[512], 1024, "page 12", "pre-image");
    }

    @Test
    void wrongFullPageLengthIsCorrupt() {
        Random rnd = new Random(SEED);
        assertCorrupt(new PageDelta(13, DeltaEncoding.PAGE, ByteBuffer.wrap(TestPages.randomPage(rnd, 4095))), new byte[4096], 4096,
                "page 13", "full-page delta is 4095 bytes");
        assertCorrupt(new PageDelta(13, DeltaEncoding.PAGE, ByteBuffer.wrap(TestPages.randomPage(rnd, 4097))), new byte[4096], 4096,
                "page 13", "full-page delta is 4097 bytes");
        assertCorrupt(new PageDelta(13, DeltaEncoding.PAGE, ByteBuffer.allocate(0)), new byte[4096], 4096, "page 13", "0 bytes");
        // A compressed page of another page size.
        PageDelta small = PageDiff.fullPage(13, new byte[2048]);
        assertThat(small.getEncoding()).isEqualTo(DeltaEncoding.PAGE_LZ4);
        assertCorrupt(small, new byte[4096], 4096, "page 13", "2048 bytes");
    }

    @Test
    void corruptLz4IsCorrupt() {
        byte[] text = TestPages.textPage(4096, "CREATE TABLE t(a, b, c);");
        PageDelta valid = PageDiff.fullPage(14, text);
        assertThat(valid.getEncoding()).isEqualTo(DeltaEncoding.PAGE_LZ4);
        byte[] data = PageDiff.bytes(valid.getData());

        // truncated stream
        byte[] truncated = Arrays.copyOf(data, data.length / 2);
        assertCorrupt(new PageDelta(14, DeltaEncoding.PAGE_LZ4, ByteBuffer.wrap(truncated)), new byte[4096], 4096, "page 14", "LZ4");
        // header promises more than the stream holds
        byte[] longer = data.clone();
        longer[0] = (byte) 0x80;
        longer[1] = (byte) 0x40; // varint 80 40 = 8192 instead of 80 20 = 4096
        assertCorrupt(new PageDelta(14, DeltaEncoding.PAGE_LZ4, ByteBuffer.wrap(longer)), new byte[4096], 4096, "page 14",
                "header says 8192");
        // garbage
        byte[] garbage = new byte[40];
        Arrays.fill(garbage, (byte) 0xFF);
        garbage[0] = (byte) 0x80;
        garbage[1] = (byte) 0x20;
        assertCorrupt(new PageDelta(14, DeltaEncoding.PAGE_LZ4, ByteBuffer.wrap(garbage)), new byte[4096], 4096, "page 14", "");
        // implausible and zero uncompressed lengths
        assertCorrupt(new PageDelta(14, DeltaEncoding.PAGE_LZ4, buffer(0xFF, 0xFF, 0xFF, 0x7F, 0, 0)), new byte[4096], 4096, "page 14",
                "implausible uncompressed length");
        assertCorrupt(new PageDelta(14, DeltaEncoding.RANGES_LZ4, buffer(0, 0)), new byte[4096], 4096, "page 14",
                "implausible uncompressed length");
        assertCorrupt(new PageDelta(14, DeltaEncoding.RANGES_LZ4, buffer()), new byte[4096], 4096, "page 14", "ends inside a length");
    }

    @Test
    void corruptRangesLz4IsCorrupt() {
        // Scattered changes over a sparse page give a compressible RANGES delta.
        byte[] pre = new byte[8192];
        byte[] post = pre.clone();
        for (int i = 0; i < post.length; i += 37) {
            post[i] = 1;
        }
        PageDelta valid = PageDiff.encode(15, pre, post);
        assertThat(valid.getEncoding()).isEqualTo(DeltaEncoding.RANGES_LZ4);
        assertThat(PageDiff.decode(valid, pre, 8192)).isEqualTo(post);
        byte[] data = PageDiff.bytes(valid.getData());
        byte[] truncated = Arrays.copyOf(data, data.length - 3);
        assertCorrupt(new PageDelta(15, DeltaEncoding.RANGES_LZ4, ByteBuffer.wrap(truncated)), pre, 8192, "page 15", "");
    }

    /** Random damage to valid delta data never escapes as anything but CorruptEntryException. */
    @Test
    void damagedDeltasFailCleanlyOrDecodeToOnePage() {
        Random rnd = new Random(SEED);
        for (int round = 0; round < 2000; round++) {
            int pageSize = TestPages.PAGE_SIZES[rnd.nextInt(4)];
            byte[] pre = TestPages.sparsePage(rnd, pageSize);
            byte[] post = switch (rnd.nextInt(3)) {
                case 0 -> mutate(Mutation.SCATTERED_BYTES, rnd, pre, pageSize);
                case 1 -> mutate(Mutation.RUNS, rnd, pre, pageSize);
                default -> TestPages.textPage(pageSize, "x" + round);
            };
            PageDelta valid = rnd.nextBoolean() ? PageDiff.encode(16, pre, post) : PageDiff.fullPage(16, post);
            byte[] data = PageDiff.bytes(valid.getData());
            if (data.length == 0) {
                continue;
            }
            switch (rnd.nextInt(3)) {
                case 0 -> data[rnd.nextInt(data.length)] ^= (byte) (1 << rnd.nextInt(8));
                case 1 -> data = Arrays.copyOf(data, rnd.nextInt(data.length));
                default -> data[rnd.nextInt(data.length)] = (byte) rnd.nextInt(256);
            }
            DeltaEncoding encoding = rnd.nextInt(4) == 0
                    ? DeltaEncoding.values()[rnd.nextInt(4)] // also decode under a wrong encoding
                    : valid.getEncoding();
            PageDelta damaged = new PageDelta(16, encoding, ByteBuffer.wrap(data));
            String what = "seed %d round %d: %s data of %d bytes".formatted(SEED, round, encoding, data.length);
            byte[] page;
            try {
                page = PageDiff.decode(damaged, pre.clone(), pageSize);
            } catch (CorruptEntryException e) {
                assertThat(e).as(what).hasMessageContaining("page 16");
                continue;
            } catch (RuntimeException e) {
                throw new AssertionError(what + ": expected CorruptEntryException, got " + e, e);
            }
            assertThat(page).as(what).hasSize(pageSize);
        }
    }

    private static byte[] mutate(Mutation mutation, Random rnd, byte[] pre, int pageSize) {
        return switch (mutation) {
            case NONE -> pre.clone();
            case FEW_BYTES, TEXT_FEW_BYTES -> {
                byte[] post = pre.clone();
                int n = 1 + rnd.nextInt(4);
                for (int i = 0; i < n; i++) {
                    post[rnd.nextInt(pageSize)] ^= (byte) (1 + rnd.nextInt(255));
                }
                yield post;
            }
            case SCATTERED_BYTES -> {
                byte[] post = pre.clone();
                int n = 1 + rnd.nextInt(Math.max(1, pageSize / 64));
                for (int i = 0; i < n; i++) {
                    post[rnd.nextInt(pageSize)] ^= (byte) (1 + rnd.nextInt(255));
                }
                yield post;
            }
            case RUNS -> {
                byte[] post = pre.clone();
                int n = 1 + rnd.nextInt(4);
                for (int i = 0; i < n; i++) {
                    int length = 1 + rnd.nextInt(pageSize / 16);
                    int start = rnd.nextInt(pageSize - length + 1);
                    for (int j = start; j < start + length; j++) {
                        post[j] = (byte) (pre[j] ^ (1 + rnd.nextInt(255)));
                    }
                }
                yield post;
            }
            case WHOLE_PAGE_RANDOM, NEW_PAGE_RANDOM -> {
                byte[] post = TestPages.randomPage(rnd, pageSize);
                if (pre != null) {
                    for (int i = 0; i < 8; i++) {
                        post[i] = (byte) ~pre[i]; // make sure the page does not start with an equal run
                    }
                }
                yield post;
            }
            case NEW_PAGE_ZEROS -> new byte[pageSize];
            case NEW_PAGE_TEXT, TEXT_OVER_RANDOM -> TestPages.textPage(pageSize, "CREATE TABLE pages(pgno INTEGER, data BLOB);");
            case NEW_PAGE_SPARSE -> TestPages.sparsePage(rnd, pageSize);
            case ZEROED_PAGE -> {
                byte[] post = new byte[pageSize];
                // ensure the pre-image is not mostly zeros already, so RANGES cannot win
                for (int i = 0; i < pageSize; i++) {
                    if (pre[i] == 0) {
                        pre[i] = 1;
                    }
                }
                yield post;
            }
            case ANY -> mutate(Mutation.values()[rnd.nextInt(Mutation.ANY.ordinal())], rnd, pre, pageSize);
        };
    }

    private static boolean needsPre(PageDelta delta) {
        return RANGES_FAMILY.contains(delta.getEncoding());
    }

    private static void assertCorrupt(PageDelta delta, byte[] pre, int pageSize, String page, String reason) {
        assertThatThrownBy(() -> PageDiff.decode(delta, pre, pageSize))
                .as("seed %d: %s %s", SEED, delta.getEncoding(), Arrays.toString(PageDiff.bytes(delta.getData())))
                .isInstanceOf(CorruptEntryException.class)
                .hasMessageContaining(page)
                .hasMessageContaining(reason);
    }

    private static ByteBuffer buffer(int... bytes) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int b : bytes) {
            out.write(b);
        }
        return ByteBuffer.wrap(out.toByteArray());
    }
}
