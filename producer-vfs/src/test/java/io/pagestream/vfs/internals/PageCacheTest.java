package io.pagestream.vfs.internals;

import static org.assertj.core.api.Assertions.assertThat;

import io.pagestream.schemas.PageChecksum;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The page cache hands back a committed image's hash only for that very image, as that page. */
class PageCacheTest {
    private static final int PAGE = 4096;

    @Test
    void aRememberedHashIsUsedOnlyForTheCachedImageOfThatPage() {
        Random random = new Random(7);
        byte[] image = new byte[PAGE];
        random.nextBytes(image);
        PageCache cache = new PageCache(16L * PAGE);
        long remembered = 0x1234_5678_9abc_def0L; // not the real hash: shows which one is returned
        cache.put(3, image, remembered);

        assertThat(cache.get(3)).isSameAs(image);
        assertThat(cache.hash(3, image)).isEqualTo(remembered);
        assertThat(cache.hash(3, image.clone())).isEqualTo(PageChecksum.of(3, image));
        assertThat(cache.hash(4, image)).isEqualTo(PageChecksum.of(4, image));
    }

    @Test
    void evictionAndTruncationForgetImagesAndHashes() {
        Random random = new Random(8);
        PageCache cache = new PageCache(4L * PAGE);
        byte[][] images = new byte[7][PAGE];
        for (int pgno = 1; pgno <= 6; pgno++) {
            random.nextBytes(images[pgno]);
            cache.put(pgno, images[pgno], PageChecksum.of(pgno, images[pgno]));
        }
        assertThat(cache.get(1)).as("least recently used, over the budget").isNull();
        assertThat(cache.get(2)).isNull();
        assertThat(cache.get(6)).isSameAs(images[6]);

        cache.removeBeyond(4);
        assertThat(cache.get(5)).isNull();
        assertThat(cache.get(6)).isNull();
        assertThat(cache.get(4)).isSameAs(images[4]);
        assertThat(cache.hash(4, images[4])).isEqualTo(PageChecksum.of(4, images[4]));
    }
}
