package io.pagestream.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.fail;

import io.pagestream.schemas.avro.DeltaEncoding;
import io.pagestream.schemas.avro.JournalEntry;
import io.pagestream.schemas.avro.PageDelta;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Applies entries to real files. The "databases" are random pages whose page 1 carries a valid page
 * size at header bytes 16..17, which is all the applier reads. Randomized: every assertion names the
 * seed; replay with {@code ./mvnw -pl schemas test -Dtest=JournalApplierTest -Dpagestream.seed=N}.
 */
class JournalApplierTest {
    private static final long SEED = TestPages.seed();
    private static final String DB = "app.db";

    @TempDir
    Path dir;
    private Path path;
    private FileChannel file;

    @BeforeEach
    void open() throws IOException {
        path = dir.resolve("replica.db");
        file = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    }

    @AfterEach
    void close() throws IOException {
        file.close();
    }

    /** The expected database: page size and pages. */
    private static final class Model {
        int pageSize;
        List<byte[]> pages;
        long lsn;

        Model(int pageSize, List<byte[]> pages, long lsn) {
            this.pageSize = pageSize;
            this.pages = pages;
            this.lsn = lsn;
        }

        long checksum() {
            return TestPages.checksum(pages);
        }

        byte[] bytes() {
            return TestPages.concat(pages);
        }
    }

    /** An entry and the model after it. */
    private record Step(JournalEntry entry, Model after, String description) {}

    // ---- base entries ----

    @Test
    void aSpooledEntryAppliesAsTheWholeOneAndOneThatDoesNotVerifyLeavesTheFileUntouched() throws IOException {
        Random rnd = new Random(SEED);
        int pageSize = TestPages.randomPageSize(rnd);
        List<byte[]> before = TestPages.randomDatabase(rnd, pageSize, 5);
        long current = JournalApplier.apply(TestPages.baseEntry(DB, 1, pageSize, before), file, 0);
        List<byte[]> pages = TestPages.randomDatabase(rnd, pageSize, 60);
        JournalEntry base = TestPages.baseEntry(DB, 2, pageSize, pages);

        try (FragmentSpool spool = spool(base, dir.resolve("good.spool"))) {
            assertThat(JournalApplier.applyWhole(spool, file, current, "test")).isEqualTo(base.getPostChecksum());
        }
        assertThat(TestPages.read(path)).as("seed %d", SEED).isEqualTo(TestPages.concat(pages));
        assertThat(dir.resolve("good.spool")).doesNotExist();

        JournalEntry wrong = TestPages.copy(base);
        wrong.setLsn(3);
        wrong.setPostChecksum(base.getPostChecksum() ^ 1);
        try (FragmentSpool spool = spool(wrong, dir.resolve("wrong.spool"))) {
            Throwable thrown = catchThrowable(() -> JournalApplier.applyWhole(spool, file, base.getPostChecksum(), "test"));
            assertThat(thrown).isInstanceOf(ChecksumMismatchException.class).hasMessageContaining("app.db@3");
        }
        assertThat(TestPages.read(path)).as("seed %d", SEED).isEqualTo(TestPages.concat(pages));
    }

    /** The entry's fragments, as a consumer receives them, spooled. */
    private static FragmentSpool spool(JournalEntry entry, Path at) {
        List<JournalRecord> records = JournalCodec.toRecords(entry, 4 * 1024);
        assertThat(records).hasSizeGreaterThan(2);
        FragmentSpool spool = null;
        for (int i = 0; i < records.size(); i++) {
            DecodedRecord.Fragment part = (DecodedRecord.Fragment) JournalCodec.decode(records.get(i).value(), "test");
            if (spool == null) {
                assertThat(FragmentSpool.worthSpooling(part, 1000)).isTrue();
                spool = FragmentSpool.start(part.fragment(), at, "test");
            } else {
                assertThat(spool.accept(part.fragment(), "test")).isEqualTo(i == records.size() - 1);
            }
        }
        assertThat(spool.fields().getDeltas()).isEmpty();
        return spool;
    }

    @Test
    void baseEntryRecreatesTheDatabase() throws IOException {
        Random rnd = new Random(SEED);
        for (int pageSize : new int[] {512, 4096, 65536}) {
            List<byte[]> pages = TestPages.randomDatabase(rnd, pageSize, 1 + rnd.nextInt(pageSize == 65536 ? 4 : 30));
            JournalEntry base = TestPages.baseEntry(DB, 1, pageSize, pages);
            String what = "seed %d, page size %d, %d pages".formatted(SEED, pageSize, pages.size());
            file.truncate(0);

            long checksum = JournalApplier.apply(base, file, 0x1234L); // the current checksum does not matter for a base

            assertThat(checksum).as(what).isEqualTo(base.getPostChecksum()).isEqualTo(TestPages.checksum(pages));
            assertThat(TestPages.read(path)).as(what).isEqualTo(TestPages.concat(pages));
            assertThat(PageChecksum.scan(file, pageSize)).as(what).isEqualTo(checksum);
            assertThat(JournalApplier.checksumOf(file)).as("%s: header page size read back", what).isEqualTo(checksum);
        }
    }

    @Test
    void baseEntryReplacesAnExistingLargerDatabase() throws IOException {
        Random rnd = new Random(SEED);
        List<byte[]> old = TestPages.randomDatabase(rnd, 1024, 40);
        JournalApplier.apply(TestPages.baseEntry(DB, 1, 1024, old), file, 0);
        List<byte[]> pages = TestPages.randomDatabase(rnd, 4096, 3);
        JournalEntry base = TestPages.baseEntry(DB, 2, 4096, pages);

        long checksum = JournalApplier.apply(base, path);

        assertThat(checksum).as("seed %d", SEED).isEqualTo(TestPages.checksum(pages));
        assertThat(TestPages.read(path)).as("seed %d", SEED).isEqualTo(TestPages.concat(pages));
    }

    @Test
    void baseEntryThroughPathApplies() {
        Random rnd = new Random(SEED);
        List<byte[]> pages = TestPages.randomDatabase(rnd, 2048, 12);
        Path other = dir.resolve("fresh.db");
        long checksum = JournalApplier.apply(TestPages.baseEntry(DB, 1, 2048, pages), other);
        assertThat(checksum).as("seed %d", SEED).isEqualTo(TestPages.checksum(pages));
        assertThat(TestPages.read(other)).as("seed %d", SEED).isEqualTo(TestPages.concat(pages));

        // A diff through apply(entry, Path): the current checksum comes from a scan using the header page size.
        Model model = new Model(2048, pages, 1);
        Step step = nextStep(rnd, model);
        assertThat(JournalApplier.apply(step.entry(), other)).as("seed %d: %s", SEED, step.description())
                .isEqualTo(step.after().checksum());
        assertThat(TestPages.read(other)).as("seed %d: %s", SEED, step.description()).isEqualTo(step.after().bytes());
    }

    @Test
    void baseEntryMissingAPageIsRejected() throws IOException {
        Random rnd = new Random(SEED);
        Model model = applyBase(rnd, 1024, 10);
        List<byte[]> pages = TestPages.randomDatabase(rnd, 1024, 8);

        JournalEntry middle = TestPages.baseEntry(DB, 2, 1024, pages);
        middle.getDeltas().remove(4);
        assertRejected(middle, model.checksum(), CorruptEntryException.class, "page 5 is missing");

        JournalEntry last = TestPages.baseEntry(DB, 2, 1024, pages);
        last.getDeltas().removeLast();
        assertRejected(last, model.checksum(), CorruptEntryException.class, "carries pages 1..7 of 8");

        JournalEntry first = TestPages.baseEntry(DB, 2, 1024, pages);
        first.getDeltas().removeFirst();
        assertRejected(first, model.checksum(), CorruptEntryException.class, "page 1 is missing");

        JournalEntry ranges = TestPages.baseEntry(DB, 2, 1024, pages);
        byte[] changed = pages.get(2).clone();
        changed[100] ^= 1;
        ranges.getDeltas().set(2, PageDiff.encode(3, pages.get(2), changed));
        assertThat(ranges.getDeltas().get(2).getEncoding()).isEqualTo(DeltaEncoding.RANGES);
        assertRejected(ranges, model.checksum(), CorruptEntryException.class, "encoded as RANGES");

        JournalEntry wrongPost = TestPages.baseEntry(DB, 2, 1024, pages);
        wrongPost.setPostChecksum(wrongPost.getPostChecksum() + 1);
        ChecksumMismatchException e = assertRejected(wrongPost, model.checksum(), ChecksumMismatchException.class, "post-apply");
        assertThat(e.expected()).isEqualTo(wrongPost.getPostChecksum());
        assertThat(e.actual()).isEqualTo(TestPages.checksum(pages));
    }

    @Test
    void emptyBaseEntryWithPageSizeApplies() throws IOException {
        Random rnd = new Random(SEED);
        applyBase(rnd, 4096, 5);
        JournalEntry empty = TestPages.entry(DB, 2, true, 0, JournalContract.EMPTY_CHECKSUM, 4096, 0, List.of());
        assertThat(JournalApplier.apply(empty, file, 0)).isEqualTo(JournalContract.EMPTY_CHECKSUM);
        assertThat(file.size()).isZero();
    }

    /**
     * The producer (producer-vfs TrackedDatabase.commit) publishes pageSize = headerPageSize(header) = 0 and
     * pageCount = 0 for an empty committed file, and JournalCodec.validate (JournalCodec.java:143) accepts any
     * page size when pageCount is 0.
     */
    @Test
    void emptyBaseEntryWithoutPageSizeApplies() throws IOException {
        Random rnd = new Random(SEED);
        applyBase(rnd, 4096, 5);
        JournalEntry empty = TestPages.entry(DB, 2, true, 0, JournalContract.EMPTY_CHECKSUM, 0, 0, List.of());
        JournalCodec.validate(empty, "test");
        assertThat(JournalApplier.apply(empty, file, 0)).isEqualTo(JournalContract.EMPTY_CHECKSUM);
        assertThat(file.size()).isZero();
    }

    @Test
    void emptyDiffEntryWithoutPageSizeApplies() throws IOException {
        file.truncate(0);
        JournalEntry empty = TestPages.entry(DB, 2, false, 0, JournalContract.EMPTY_CHECKSUM, 0, 0, List.of());
        JournalCodec.validate(empty, "test");
        assertThat(JournalApplier.apply(empty, file, 0)).isEqualTo(JournalContract.EMPTY_CHECKSUM);
        assertThat(file.size()).isZero();
    }

    // ---- chains of diff entries ----

    @Test
    void randomChainOfDiffEntries() throws IOException {
        Random rnd = new Random(SEED);
        for (int chain = 0; chain < 4; chain++) {
            int pageSize = TestPages.PAGE_SIZES[rnd.nextInt(4)];
            file.truncate(0);
            Model model = applyBase(rnd, pageSize, 1 + rnd.nextInt(20));
            long checksum = model.checksum();
            for (int step = 0; step < 40; step++) {
                Step next = nextStep(rnd, model);
                String what = "seed %d chain %d lsn %d (page size %d): %s".formatted(SEED, chain, next.entry().getLsn(), pageSize,
                        next.description());

                long returned = JournalApplier.apply(next.entry(), file, checksum);

                model = next.after();
                assertThat(returned).as(what).isEqualTo(next.entry().getPostChecksum()).isEqualTo(model.checksum());
                assertThat(file.size()).as(what).isEqualTo((long) model.pages.size() * pageSize);
                assertThat(TestPages.read(path)).as(what).isEqualTo(model.bytes());
                assertThat(PageChecksum.scan(file, pageSize)).as(what).isEqualTo(returned);
                checksum = returned;
            }
            assertThat(JournalApplier.checksumOf(file)).as("seed %d chain %d", SEED, chain).isEqualTo(checksum);
        }
    }

    @Test
    void truncateToEmptyAndRegrow() throws IOException {
        Random rnd = new Random(SEED);
        Model model = applyBase(rnd, 1024, 6);
        JournalEntry truncate = TestPages.entry(DB, 2, false, model.checksum(), JournalContract.EMPTY_CHECKSUM, 1024, 0, List.of());
        assertThat(JournalApplier.apply(truncate, file, model.checksum())).isEqualTo(JournalContract.EMPTY_CHECKSUM);
        assertThat(file.size()).isZero();

        // Regrow from nothing: new pages against all-zero pre-images, one page left as a hole.
        List<byte[]> pages = TestPages.randomDatabase(rnd, 1024, 4);
        pages.set(2, new byte[1024]);
        List<PageDelta> deltas = List.of(PageDiff.encode(1, null, pages.get(0)), PageDiff.encode(2, new byte[1024], pages.get(1)),
                PageDiff.fullPage(4, pages.get(3)));
        JournalEntry regrow = TestPages.entry(DB, 3, false, 0, TestPages.checksum(pages), 1024, 4, deltas);
        assertThat(JournalApplier.apply(regrow, file, 0)).as("seed %d", SEED).isEqualTo(TestPages.checksum(pages));
        assertThat(TestPages.read(path)).as("seed %d", SEED).isEqualTo(TestPages.concat(pages));
    }

    @Test
    void growWithoutDeltasAddsZeroPages() throws IOException {
        Random rnd = new Random(SEED);
        Model model = applyBase(rnd, 512, 3);
        List<byte[]> pages = TestPages.copy(model.pages);
        for (int i = 0; i < 5; i++) {
            pages.add(new byte[512]);
        }
        JournalEntry grow = TestPages.entry(DB, 2, false, model.checksum(), TestPages.checksum(pages), 512, 8, List.of());
        assertThat(JournalApplier.apply(grow, file, model.checksum())).as("seed %d", SEED).isEqualTo(TestPages.checksum(pages));
        assertThat(TestPages.read(path)).as("seed %d", SEED).isEqualTo(TestPages.concat(pages));
    }

    @Test
    void largestPageSizeChain() throws IOException {
        Random rnd = new Random(SEED);
        Model model = applyBase(rnd, 65536, 3);
        assertThat(TestPages.read(path)[16]).isEqualTo((byte) 0);
        assertThat(TestPages.read(path)[17]).isEqualTo((byte) 1); // 1 means 65536
        long checksum = model.checksum();
        for (int i = 0; i < 4; i++) {
            Step step = nextStep(rnd, model);
            checksum = JournalApplier.apply(step.entry(), file, checksum);
            model = step.after();
            assertThat(checksum).as("seed %d: %s", SEED, step.description()).isEqualTo(model.checksum());
            assertThat(TestPages.read(path)).as("seed %d: %s", SEED, step.description()).isEqualTo(model.bytes());
        }
    }

    // ---- page-size changes ----

    @Test
    void pageSizeChangeRewritesTheDatabase() throws IOException {
        Random rnd = new Random(SEED);
        int[][] changes = {{4096, 1024}, {1024, 8192}, {8192, 65536}, {65536, 512}};
        for (int[] change : changes) {
            file.truncate(0);
            Model model = applyBase(rnd, change[0], 2 + rnd.nextInt(change[0] == 65536 ? 3 : 10));
            int newSize = change[1];
            List<byte[]> pages = TestPages.randomDatabase(rnd, newSize, 1 + rnd.nextInt(newSize == 65536 ? 3 : 20));
            List<PageDelta> deltas = new ArrayList<>();
            for (int i = 0; i < pages.size(); i++) {
                deltas.add(PageDiff.fullPage(i + 1, pages.get(i)));
            }
            JournalEntry entry = TestPages.entry(DB, 2, false, model.checksum(), TestPages.checksum(pages), newSize, pages.size(),
                    deltas);
            String what = "seed %d: %d x %d -> %d x %d".formatted(SEED, model.pages.size(), change[0], pages.size(), newSize);

            long checksum = JournalApplier.apply(entry, file, model.checksum());

            assertThat(checksum).as(what).isEqualTo(TestPages.checksum(pages));
            assertThat(TestPages.read(path)).as(what).isEqualTo(TestPages.concat(pages));
            assertThat(PageChecksum.scan(file, newSize)).as(what).isEqualTo(checksum);
            assertThat(JournalApplier.checksumOf(file)).as(what).isEqualTo(checksum);

            // The chain goes on at the new page size.
            Model after = new Model(newSize, pages, 2);
            for (int i = 0; i < 3; i++) {
                Step step = nextStep(rnd, after);
                checksum = JournalApplier.apply(step.entry(), file, checksum);
                after = step.after();
                assertThat(TestPages.read(path)).as("%s, then %s", what, step.description()).isEqualTo(after.bytes());
                assertThat(checksum).as("%s, then %s", what, step.description()).isEqualTo(after.checksum());
            }
        }
    }

    @Test
    void pageSizeChangeMissingAPageIsRejected() throws IOException {
        Random rnd = new Random(SEED);
        Model model = applyBase(rnd, 4096, 6);
        List<byte[]> pages = TestPages.randomDatabase(rnd, 1024, 10);
        List<PageDelta> deltas = new ArrayList<>();
        for (int i = 0; i < pages.size(); i++) {
            if (i != 6) {
                deltas.add(PageDiff.fullPage(i + 1, pages.get(i)));
            }
        }
        JournalEntry entry = TestPages.entry(DB, 2, false, model.checksum(), TestPages.checksum(pages), 1024, pages.size(), deltas);
        assertRejected(entry, model.checksum(), CorruptEntryException.class, "page-size change must carry every page whole");
    }

    // ---- rejections leave the file untouched ----

    @Test
    void preChecksumMismatchIsRejected() throws IOException {
        Random rnd = new Random(SEED);
        Model model = advance(rnd, applyBase(rnd, 1024, 12), 3);
        Step step = nextStep(rnd, model);
        long current = model.checksum();

        ChecksumMismatchException e = assertRejected(step.entry(), current ^ 0x8000L, ChecksumMismatchException.class,
                "pre-apply checksum");
        assertThat(e.expected()).isEqualTo(step.entry().getPreChecksum());
        assertThat(e.actual()).isEqualTo(current ^ 0x8000L);
        assertThat(e.getMessage()).contains(JournalContract.hex(e.expected()), JournalContract.hex(e.actual()), DB + "@");

        JournalEntry wrongPre = TestPages.copy(step.entry());
        wrongPre.setPreChecksum(current + 1);
        ChecksumMismatchException e2 = assertRejected(wrongPre, current, ChecksumMismatchException.class, "pre-apply checksum");
        assertThat(e2.expected()).isEqualTo(current + 1);
        assertThat(e2.actual()).isEqualTo(current);

        // The untouched file still takes the right entry.
        assertThat(JournalApplier.apply(step.entry(), file, current)).isEqualTo(step.after().checksum());
    }

    @Test
    void wrongPostChecksumIsRejected() throws IOException {
        Random rnd = new Random(SEED);
        Model model = advance(rnd, applyBase(rnd, 2048, 10), 2);
        for (int i = 0; i < 30; i++) {
            Step step = nextStep(rnd, model);
            long wrong = step.entry().getPostChecksum() ^ (1L << rnd.nextInt(64));
            JournalEntry entry = TestPages.copy(step.entry());
            entry.setPostChecksum(wrong);

            ChecksumMismatchException e = assertRejected(entry, model.checksum(), ChecksumMismatchException.class,
                    "post-apply checksum");

            assertThat(e.expected()).as("seed %d: %s", SEED, step.description()).isEqualTo(wrong);
            assertThat(e.actual()).as("seed %d: %s", SEED, step.description()).isEqualTo(step.after().checksum());
            JournalApplier.apply(step.entry(), file, model.checksum());
            model = step.after();
        }
    }

    @Test
    void deltaBeyondPageCountIsRejected() throws IOException {
        Random rnd = new Random(SEED);
        Model model = applyBase(rnd, 1024, 8);
        byte[] page = TestPages.randomPage(rnd, 1024);
        JournalEntry entry = TestPages.entry(DB, 2, false, model.checksum(), 0, 1024, 8,
                List.of(PageDiff.encode(2, model.pages.get(1), page), PageDiff.fullPage(9, page)));
        assertThat(assertRejected(entry, model.checksum(), CorruptEntryException.class, "page 9 out of order or beyond page count 8"))
                .hasMessageContaining(DB + "@2");
    }

    @Test
    void deltasOutOfOrderAreRejected() throws IOException {
        Random rnd = new Random(SEED);
        Model model = applyBase(rnd, 1024, 8);
        byte[] page = TestPages.randomPage(rnd, 1024);
        List<PageDelta> swapped = List.of(PageDiff.fullPage(5, page), PageDiff.fullPage(3, page));
        // Post-checksum of what the deltas would produce, so only the order is wrong.
        List<byte[]> after = TestPages.copy(model.pages);
        after.set(2, page);
        after.set(4, page);
        JournalEntry entry = TestPages.entry(DB, 2, false, model.checksum(), TestPages.checksum(after), 1024, 8, swapped);
        assertRejected(entry, model.checksum(), CorruptEntryException.class, "page 3 out of order");

        List<PageDelta> duplicate = List.of(PageDiff.fullPage(3, page), PageDiff.fullPage(3, page));
        JournalEntry twice = TestPages.entry(DB, 2, false, model.checksum(), TestPages.checksum(after), 1024, 8, duplicate);
        assertRejected(twice, model.checksum(), CorruptEntryException.class, "page 3 out of order");
    }

    @Test
    void corruptDeltaIsRejected() throws IOException {
        Random rnd = new Random(SEED);
        Model model = applyBase(rnd, 1024, 8);
        Step step = nextStep(rnd, model);
        JournalEntry entry = TestPages.copy(step.entry());
        List<PageDelta> deltas = new ArrayList<>(entry.getDeltas());
        // A last delta whose range runs past the page: every delta before it decodes fine.
        deltas.add(new PageDelta(entry.getPageCount() + 1, DeltaEncoding.RANGES, ByteBuffer.wrap(new byte[] {(byte) 0xFF, 0x07, 2, 1, 1})));
        entry.setDeltas(deltas);
        entry.setPageCount(entry.getPageCount() + 1);
        assertRejected(entry, model.checksum(), CorruptEntryException.class, "page " + entry.getPageCount());

        JournalEntry wrongLength = TestPages.copy(step.entry());
        List<PageDelta> replaced = new ArrayList<>(wrongLength.getDeltas());
        if (!replaced.isEmpty()) {
            PageDelta last = replaced.getLast();
            replaced.set(replaced.size() - 1, new PageDelta(last.getPgno(), DeltaEncoding.PAGE, ByteBuffer.allocate(512)));
            wrongLength.setDeltas(replaced);
            assertRejected(wrongLength, model.checksum(), CorruptEntryException.class, "full-page delta is 512 bytes");
        }
    }

    /**
     * Bit flips in an encoded entry that still decode are caught by the applier: either it throws a
     * PagestreamException and leaves the file untouched, or what it writes verifies against the
     * (possibly flipped) post-checksum it returns.
     */
    @Test
    void bitFlippedEntriesNeverCorruptTheFileSilently() throws IOException {
        Random rnd = new Random(SEED);
        Model model = advance(rnd, applyBase(rnd, 512, 10), 2);
        Path copy = dir.resolve("scratch.db");
        int applied = 0;
        long deadline = System.nanoTime() + 1_000_000_000L; // a flipped length can cost Avro a huge allocation
        for (int round = 0; round < 300 && (round < 100 || System.nanoTime() < deadline); round++) {
            Step step = nextStep(rnd, model);
            byte[] value = JournalCodec.encodeEntry(step.entry());
            int header = JournalContract.SINGLE_OBJECT_HEADER_LENGTH;
            // Half of the flips hit the fixed fields (db id .. commit time), the rest anywhere in the body.
            int position = header + rnd.nextInt(rnd.nextBoolean() ? Math.min(40, value.length - header) : value.length - header);
            int bit = rnd.nextInt(8);
            value[position] ^= (byte) (1 << bit);
            String what = "seed %d round %d, flipped bit %d of byte %d: %s".formatted(SEED, round, bit, position, step.description());
            JournalEntry flipped;
            try {
                flipped = JournalCodec.decodeEntry(value, "test");
            } catch (PagestreamException e) {
                continue;
            }
            Files.write(copy, model.bytes());
            try (FileChannel channel = FileChannel.open(copy, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                long checksum;
                try {
                    checksum = JournalApplier.apply(flipped, channel, model.checksum());
                } catch (PagestreamException e) {
                    assertThat(TestPages.read(copy)).as("%s: rejected (%s) but written", what, e.getMessage()).isEqualTo(model.bytes());
                    continue;
                } catch (RuntimeException e) {
                    fail(what + ": expected a PagestreamException, got " + e, e);
                    return;
                }
                applied++;
                assertThat(checksum).as(what).isEqualTo(flipped.getPostChecksum());
                assertThat(PageChecksum.scan(channel, flipped.getPageSize())).as(what).isEqualTo(checksum);
                if (flipped.getPostChecksum() == step.entry().getPostChecksum() && flipped.getPageSize() == model.pageSize) {
                    assertThat(TestPages.read(copy)).as("%s: applied with the intended checksum", what).isEqualTo(step.after().bytes());
                }
            }
        }
        assertThat(applied).as("seed %d: flips in fields the checksum does not cover still apply", SEED).isPositive();
    }

    // ---- helpers ----

    /** Truncates the file, applies a random base entry and returns its model. */
    private Model applyBase(Random rnd, int pageSize, int pageCount) throws IOException {
        file.truncate(0);
        List<byte[]> pages = TestPages.randomDatabase(rnd, pageSize, pageCount);
        JournalEntry base = TestPages.baseEntry(DB, 1, pageSize, pages);
        assertThat(JournalApplier.apply(base, file, 0)).as("seed %d", SEED).isEqualTo(TestPages.checksum(pages));
        assertThat(TestPages.read(path)).as("seed %d", SEED).isEqualTo(TestPages.concat(pages));
        return new Model(pageSize, pages, 1);
    }

    private Model advance(Random rnd, Model model, int steps) {
        for (int i = 0; i < steps; i++) {
            Step step = nextStep(rnd, model);
            JournalApplier.apply(step.entry(), file, model.checksum());
            model = step.after();
        }
        return model;
    }

    /** A random valid diff entry on top of {@code model}: modified, grown, shrunk, and hole pages. */
    private static Step nextStep(Random rnd, Model model) {
        int pageSize = model.pageSize;
        List<byte[]> pages = TestPages.copy(model.pages);
        int oldCount = pages.size();
        StringBuilder description = new StringBuilder();
        TreeMap<Integer, PageDelta> deltas = new TreeMap<>();

        int newCount = switch (rnd.nextInt(5)) {
            case 0 -> Math.max(1, oldCount - 1 - rnd.nextInt(Math.max(1, oldCount / 2))); // shrink
            case 1 -> oldCount + 1 + rnd.nextInt(pageSize == 65536 ? 2 : 6); // grow
            default -> oldCount;
        };
        description.append(oldCount).append(" -> ").append(newCount).append(" pages;");
        while (pages.size() > newCount) {
            pages.removeLast();
        }
        // Grown pages: delta against the all-zero pre-image, whole, or left as a zero hole.
        while (pages.size() < newCount) {
            int pgno = pages.size() + 1;
            int kind = rnd.nextInt(4);
            byte[] post = kind == 3 ? new byte[pageSize] : TestPages.anyPage(rnd, pageSize);
            pages.add(post);
            switch (kind) {
                case 0 -> deltas.put(pgno, PageDiff.encode(pgno, null, post));
                case 1 -> deltas.put(pgno, PageDiff.encode(pgno, new byte[pageSize], post));
                case 2 -> deltas.put(pgno, PageDiff.fullPage(pgno, post));
                default -> { } // hole
            }
            description.append(" new ").append(pgno).append(kind == 3 ? " (hole)" : "");
        }
        // Modified pages among the kept ones.
        int kept = Math.min(oldCount, newCount);
        int modified = rnd.nextInt(Math.min(kept, 6) + 1);
        for (int i = 0; i < modified; i++) {
            int pgno = 1 + rnd.nextInt(kept);
            byte[] pre = pages.get(pgno - 1);
            byte[] post = pre.clone();
            switch (rnd.nextInt(4)) {
                case 0 -> post[rnd.nextInt(pageSize)] ^= (byte) (1 + rnd.nextInt(255));
                case 1 -> {
                    int length = 1 + rnd.nextInt(pageSize / 4);
                    int start = rnd.nextInt(pageSize - length + 1);
                    for (int j = start; j < start + length; j++) {
                        post[j] = (byte) rnd.nextInt(256);
                    }
                }
                case 2 -> post = TestPages.anyPage(rnd, pageSize);
                default -> { } // unchanged, still carried
            }
            if (pgno == 1) {
                System.arraycopy(pre, 0, post, 0, 18); // keep the magic and the page size
            }
            pages.set(pgno - 1, post);
            // The pre-image of a page touched twice in this step is its original image.
            byte[] original = model.pages.get(pgno - 1);
            deltas.put(pgno, rnd.nextInt(4) == 0 ? PageDiff.fullPage(pgno, post) : PageDiff.encode(pgno, original, post));
            description.append(" mod ").append(pgno);
        }
        Model after = new Model(pageSize, pages, model.lsn + 1);
        JournalEntry entry = TestPages.entry(DB, after.lsn, false, model.checksum(), after.checksum(), pageSize, newCount,
                new ArrayList<>(deltas.values()));
        return new Step(entry, after, description.toString());
    }

    /** Applies an entry expected to fail and checks the file kept every byte. */
    private <T extends PagestreamException> T assertRejected(JournalEntry entry, long currentChecksum, Class<T> type, String reason)
            throws IOException {
        byte[] before = TestPages.read(path);
        long size = file.size();
        Throwable thrown = catchThrowable(() -> JournalApplier.apply(entry, file, currentChecksum));
        assertThat(thrown).as("seed %d", SEED).isInstanceOf(type).hasMessageContaining(reason);
        assertThat(file.size()).as("seed %d: size untouched", SEED).isEqualTo(size);
        assertThat(TestPages.read(path)).as("seed %d: bytes untouched", SEED).isEqualTo(before);
        return type.cast(thrown);
    }
}
