package io.pagestream.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The per-page hash and the XOR database checksum. Replay with {@code -Dpagestream.seed=N}. */
class PageChecksumTest {
    private static final long SEED = TestPages.seed();

    @Test
    void lockBytePageContributesNothing() {
        Random rnd = new Random(SEED);
        for (int pageSize : TestPages.PAGE_SIZES) {
            long lockPage = JournalContract.lockBytePgno(pageSize);
            assertThat(lockPage).isEqualTo(0x40000000L / pageSize + 1);
            byte[] page = TestPages.randomPage(rnd, pageSize);
            assertThat(PageChecksum.of(lockPage, page)).as("seed %d, page size %d", SEED, pageSize).isZero();
            assertThat(PageChecksum.of(lockPage, new byte[pageSize])).isZero();
            assertThat(PageChecksum.of(lockPage - 1, page)).as("seed %d, page size %d", SEED, pageSize).isNotZero();
            assertThat(PageChecksum.of(lockPage + 1, page)).as("seed %d, page size %d", SEED, pageSize).isNotZero();
        }
        assertThat(JournalContract.lockBytePgno(4096)).isEqualTo(262145L);
        assertThat(JournalContract.lockBytePgno(65536)).isEqualTo(16385L);
    }

    @Test
    void checksumIsOrderIndependentXor() {
        Random rnd = new Random(SEED);
        List<byte[]> pages = TestPages.randomDatabase(rnd, 1024, 50);
        List<Long> hashes = new ArrayList<>();
        long forward = 0;
        for (int i = 0; i < pages.size(); i++) {
            long hash = PageChecksum.of(i + 1, pages.get(i));
            hashes.add(hash);
            forward ^= hash;
        }
        for (int shuffle = 0; shuffle < 5; shuffle++) {
            Collections.shuffle(hashes, rnd);
            long xor = hashes.stream().reduce(0L, (a, b) -> a ^ b);
            assertThat(xor).as("seed %d", SEED).isEqualTo(forward);
        }
        long backward = 0;
        for (int i = pages.size() - 1; i >= 0; i--) {
            backward ^= PageChecksum.of(i + 1, pages.get(i));
        }
        assertThat(backward).as("seed %d", SEED).isEqualTo(forward).isEqualTo(TestPages.checksum(pages));
        // XOR: changing one page and back restores the checksum; removing a page removes exactly its hash.
        assertThat(forward ^ hashes.getFirst() ^ hashes.getFirst()).isEqualTo(forward);
    }

    @Test
    void hashCoversPageNumberAndBytes() {
        Random rnd = new Random(SEED);
        byte[] page = TestPages.randomPage(rnd, 4096);
        long hash = PageChecksum.of(7, page);
        assertThat(PageChecksum.of(7, page.clone())).isEqualTo(hash);
        assertThat(PageChecksum.of(8, page)).as("seed %d", SEED).isNotEqualTo(hash);
        byte[] flipped = page.clone();
        flipped[4095] ^= 1;
        assertThat(PageChecksum.of(7, flipped)).as("seed %d", SEED).isNotEqualTo(hash);
        // Offset form hashes the slice only.
        byte[] framed = new byte[4096 + 100];
        System.arraycopy(page, 0, framed, 37, 4096);
        assertThat(PageChecksum.of(7, framed, 37, 4096)).isEqualTo(hash);
        // Two swapped pages do not cancel out: the page number is part of the hash.
        byte[] other = TestPages.randomPage(rnd, 4096);
        assertThat(PageChecksum.of(1, page) ^ PageChecksum.of(2, other))
                .isNotEqualTo(PageChecksum.of(1, other) ^ PageChecksum.of(2, page));
    }

    @Test
    void scanMatchesXorOfPages(@TempDir Path dir) throws IOException {
        Random rnd = new Random(SEED);
        int pageSize = 512;
        List<byte[]> pages = TestPages.randomDatabase(rnd, pageSize, 3000); // more than one 1 MiB scan chunk
        try (FileChannel file = FileChannel.open(dir.resolve("db"), StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            assertThat(PageChecksum.scan(file, pageSize)).isEqualTo(JournalContract.EMPTY_CHECKSUM);
            file.write(ByteBuffer.wrap(TestPages.concat(pages)), 0);
            assertThat(PageChecksum.scan(file, pageSize)).as("seed %d", SEED).isEqualTo(TestPages.checksum(pages));
            assertThat(JournalApplier.checksumOf(file)).as("seed %d", SEED).isEqualTo(TestPages.checksum(pages));
        }
    }

    @Test
    void headerPageSize() {
        byte[] header = new byte[100];
        assertThat(PageChecksum.headerPageSize(TestPages.withHeader(header.clone(), 4096))).isEqualTo(4096);
        assertThat(PageChecksum.headerPageSize(TestPages.withHeader(header.clone(), 512))).isEqualTo(512);
        assertThat(PageChecksum.headerPageSize(TestPages.withHeader(header.clone(), 65536))).isEqualTo(65536);
        assertThat(PageChecksum.headerPageSize(new byte[17])).isZero();
        assertThat(PageChecksum.headerPageSize(new byte[0])).isZero();
    }

    @Test
    void hexIsSixteenLowerCaseDigits() {
        assertThat(JournalContract.hex(0)).isEqualTo("0000000000000000");
        assertThat(JournalContract.hex(-1)).isEqualTo("ffffffffffffffff");
        assertThat(JournalContract.hex(0xABCL)).isEqualTo("0000000000000abc");
    }
}
