package io.pagestream.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pagestream.schemas.avro.CatalogEntry;
import io.pagestream.schemas.avro.RestorePoint;
import io.pagestream.schemas.avro.SnapshotChunk;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Snapshot chunks and catalog entries: round trips, and every kind of damage refused with its origin named. */
class SnapshotCodecTest {
    private static final long SEED = TestPages.seed();
    private static final String ORIGIN = "pagestream.snapshots-0@17";

    @Test
    void chunksRoundTripAndTheirChecksumsXorToTheDatabasesChecksum() {
        Random rnd = new Random(SEED);
        int pageSize = 1024;
        int pageCount = 1 + rnd.nextInt(40);
        byte[] database = new byte[pageCount * pageSize];
        rnd.nextBytes(database);
        long expected = PageChecksum.ofPages(1, database, pageCount, pageSize);
        int perChunk = 1 + rnd.nextInt(7);
        int count = (pageCount + perChunk - 1) / perChunk;
        long combined = 0;
        for (int index = 0; index < count; index++) {
            int first = index * perChunk;
            int pages = Math.min(perChunk, pageCount - first);
            SnapshotChunk chunk = chunk("db", index, count, pageSize, first + 1,
                    Arrays.copyOfRange(database, first * pageSize, (first + pages) * pageSize));
            SnapshotChunk decoded = SnapshotCodec.decodeChunk(SnapshotCodec.encodeChunk(chunk), ORIGIN);
            assertThat(decoded).as("seed %d chunk %d", SEED, index).isEqualTo(chunk);
            combined ^= decoded.getChecksum();
        }
        assertThat(combined).as("seed %d", SEED).isEqualTo(expected);
    }

    @Test
    void aDamagedPageIsRefusedNamingTheDbSnapshotAndChunk() {
        Random rnd = new Random(SEED);
        byte[] pages = new byte[4 * 512];
        rnd.nextBytes(pages);
        byte[] value = SnapshotCodec.encodeChunk(chunk("orders", 2, 5, 512, 9, pages));
        int flipped = value.length - 1 - rnd.nextInt(pages.length - 16);
        value[flipped] ^= 0x10;
        assertThatThrownBy(() -> SnapshotCodec.decodeChunk(value, ORIGIN))
                .as("seed %d, byte %d", SEED, flipped)
                .isInstanceOf(ChecksumMismatchException.class)
                .hasMessageContaining(ORIGIN)
                .hasMessageContaining("chunk 2/5 of snapshot snap-1 of db orders");
    }

    @Test
    void malformedChunksAndForeignRecordsAreRefused() {
        byte[] pages = new byte[1000];
        byte[] partialPage = SnapshotCodec.encodeChunk(chunk("db", 0, 1, 512, 1, pages));
        byte[] padded = SnapshotCodec.encodeChunk(chunk("db", 0, 1, 500, 1, new byte[500]));
        byte[] badIndex = SnapshotCodec.encodeChunk(chunk("db", 3, 3, 512, 1, new byte[512]));
        for (byte[] value : List.of(partialPage, padded, badIndex)) {
            assertThatThrownBy(() -> SnapshotCodec.decodeChunk(value, ORIGIN))
                    .isInstanceOf(CorruptEntryException.class).hasMessageContaining("invalid chunk fields");
        }
        byte[] journalRecord = JournalCodec.encodeEntry(TestPages.entry("db", 1, true, 0, 0, 512, 0, List.of()));
        assertThatThrownBy(() -> SnapshotCodec.decodeChunk(journalRecord, ORIGIN))
                .isInstanceOf(CorruptEntryException.class).hasMessageContaining("foreign schema");
        byte[] empty = new byte[0];
        assertThatThrownBy(() -> SnapshotCodec.decodeChunk(empty, ORIGIN))
                .isInstanceOf(CorruptEntryException.class).hasMessageContaining("too short");
        byte[] valid = SnapshotCodec.encodeChunk(chunk("db", 0, 1, 512, 1, new byte[512]));
        byte[] longer = Arrays.copyOf(valid, valid.length + 3);
        assertThatThrownBy(() -> SnapshotCodec.decodeChunk(longer, ORIGIN))
                .isInstanceOf(CorruptEntryException.class).hasMessageContaining("3 bytes after the record's Avro body");
    }

    @Test
    void catalogEntriesRoundTripAndMustListRestorePointsInLsnOrder() {
        List<RestorePoint> points = new ArrayList<>(List.of(point("a", 10), point("b", 25)));
        CatalogEntry entry = new CatalogEntry("db", points, 0L);
        assertThat(SnapshotCodec.decodeCatalog(SnapshotCodec.encodeCatalog(entry), ORIGIN)).isEqualTo(entry);

        CatalogEntry unordered = new CatalogEntry("db", List.of(point("b", 25), point("a", 10)), 0L);
        assertThatThrownBy(() -> SnapshotCodec.decodeCatalog(SnapshotCodec.encodeCatalog(unordered), ORIGIN))
                .isInstanceOf(CorruptEntryException.class)
                .hasMessageContaining(ORIGIN)
                .hasMessageContaining("restore point a at LSN 10 is out of order");
    }

    private static SnapshotChunk chunk(String dbId, int index, int count, int pageSize, long firstPgno, byte[] pages) {
        long checksum = pages.length % pageSize == 0 ? PageChecksum.ofPages(firstPgno, pages, pages.length / pageSize, pageSize) : 0;
        return new SnapshotChunk(dbId, "snap-1", 42L, index, count, pageSize, firstPgno, ByteBuffer.wrap(pages), checksum);
    }

    private static RestorePoint point(String id, long lsn) {
        return new RestorePoint(id, lsn, 1_700_000_000_000L + lsn, 4096, 10L, 0x1234L + lsn, 2, 0, 5L, 6L, 0, 100L + lsn,
                1_700_000_000_500L + lsn);
    }
}
