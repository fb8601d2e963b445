package io.pagestream.vfs.internals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pagestream.schemas.PagestreamException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The outbox's file format and recovery: preallocated segments, torn tails, withdrawn entries leaving no stale
 * bytes, entries larger than a segment, and both ways of making entries durable.
 */
class OutboxTest {
    @TempDir
    Path dir;

    @Test
    void stagedEntriesReadBackInOrderAcrossSegmentsAndReopening() throws IOException {
        Random random = seeded("segments");
        Path db = dir.resolve("a.db");
        List<byte[]> payloads = new ArrayList<>();
        try (Outbox outbox = new Outbox(db)) {
            outbox.readAll();
            for (int lsn = 1; lsn <= 60; lsn++) {
                // Mostly small entries, some of several MiB so segments roll over, one larger than a segment.
                int size = lsn == 30 ? (9 << 20) : random.nextInt(10) == 0 ? random.nextInt(3 << 20) : random.nextInt(400);
                byte[] payload = randomBytes(random, size);
                payloads.add(payload);
                outbox.stage(lsn, payload, sentBeforeCommit(lsn));
                outbox.syncBeforeDatabaseSync(-1);
                assertThat(outbox.needsSync()).isFalse();
            }
        }
        assertThat(segmentCount(db)).isGreaterThan(2);
        try (Outbox reopened = new Outbox(db)) {
            assertReadsBack(reopened, payloads);
            int[] forced = {0};
            reopened.acknowledged(59, () -> {
                try {
                    assertThat(segmentCount(db)).as("the position is durable before any segment goes").isGreaterThan(2);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
                forced[0]++;
            });
            assertThat(forced[0]).isEqualTo(1);
            assertThat(segmentCount(db)).isEqualTo(1);
            reopened.acknowledged(59, () -> forced[0]++);
            assertThat(forced[0]).as("nothing to delete, nothing to force").isEqualTo(1);
            // The segment holding LSN 60 stays whole; the caller skips what Kafka has.
            List<Outbox.Staged> left = reopened.readAll();
            assertThat(left.getLast().lsn()).isEqualTo(60);
            assertThat(left.getFirst().lsn()).isGreaterThan(30);
        }
    }

    @Test
    void anEntryWrittenAsItIsEncodedStaysInMemoryUpToTheLimitAndBeyondIsReadBackFromItsSegment() throws IOException {
        Random random = seeded("streamed");
        Path db = dir.resolve("streamed.db");
        byte[] small = randomBytes(random, 1000);
        byte[] large = randomBytes(random, Outbox.IN_MEMORY_BYTES + (3 << 20) + 17);
        byte[] after = randomBytes(random, 300);
        try (Outbox outbox = new Outbox(db)) {
            outbox.readAll();
            outbox.stage(1, small, false);
            EntryPayload kept = outbox.stage(2, false, out -> out.write(small));
            assertThat(kept.inMemory()).isTrue();
            EntryPayload spilled = outbox.stage(3, true, out -> {
                for (int from = 0; from < large.length; from += 4099) {
                    out.write(large, from, Math.min(4099, large.length - from));
                }
            });
            assertThat(spilled.inMemory()).isFalse();
            assertThat(spilled.length()).isEqualTo(large.length);
            try (java.io.InputStream in = spilled.open()) {
                assertThat(in.readNBytes(large.length)).isEqualTo(large);
            }
            // A failed encoding stages nothing.
            assertThatThrownBy(() -> outbox.stage(4, false, out -> {
                out.write(large);
                throw new IOException("the file could not be read");
            })).hasMessageContaining("could not be read");
            outbox.stage(4, after, false);
            outbox.syncBeforeDatabaseSync(-1);
            assertThat(outbox.pendingBytes()).isEqualTo(4L * 20 + 1000 + 1000 + large.length + after.length);
        }
        try (Outbox reopened = new Outbox(db)) {
            List<Outbox.Staged> staged = reopened.readAll();
            assertThat(staged).extracting(Outbox.Staged::lsn).containsExactly(1L, 2L, 3L, 4L);
            assertThat(staged.get(2).sentBeforeCommit()).isTrue();
            try (java.io.InputStream in = staged.get(2).payload().open()) {
                assertThat(in.readNBytes(large.length)).isEqualTo(large);
            }
            assertThat(staged.get(3).payload().bytes()).isEqualTo(after);
        }
    }

    @Test
    void aTornTailIsZeroedAndAppendingContinuesWhereTheLastWholeEntryEnds() throws IOException {
        Path db = dir.resolve("b.db");
        try (Outbox outbox = new Outbox(db)) {
            outbox.readAll();
            outbox.stage(1, bytes(100, 1), false);
            outbox.stage(2, bytes(100, 2), false);
        }
        Path segment = onlySegment(db);
        try (FileChannel channel = FileChannel.open(segment, StandardOpenOption.WRITE)) {
            // A crash half-way through entry 2: its payload's second half never reached the file.
            channel.write(ByteBuffer.wrap(new byte[60]), 20 + 100 + 20 + 40);
            channel.write(ByteBuffer.wrap(new byte[] {7}), 4000); // and garbage further on
        }
        try (Outbox outbox = new Outbox(db)) {
            assertThat(outbox.readAll()).extracting(Outbox.Staged::lsn).containsExactly(1L);
            outbox.stage(2, bytes(10, 3), false);
        }
        try (Outbox outbox = new Outbox(db)) {
            List<Outbox.Staged> staged = outbox.readAll();
            assertThat(staged).extracting(Outbox.Staged::lsn).containsExactly(1L, 2L);
            assertThat(staged.get(1).payload().bytes()).isEqualTo(bytes(10, 3));
        }
        assertThat(Files.size(segment)).isEqualTo(8L << 20);
        assertThat(Files.readAllBytes(segment)[4000]).isZero();
    }

    @Test
    void aDamagedEntryFollowedByAWholeOneIsRefusedAndLeftAsItIs() throws IOException {
        Path db = dir.resolve("damaged.db");
        try (Outbox outbox = new Outbox(db)) {
            outbox.readAll();
            for (int lsn = 1; lsn <= 3; lsn++) {
                outbox.stage(lsn, bytes(100, lsn), false);
            }
        }
        Path segment = onlySegment(db);
        try (FileChannel channel = FileChannel.open(segment, StandardOpenOption.WRITE)) {
            channel.write(ByteBuffer.wrap(new byte[] {0x55}), 20 + 100 + 20 + 50); // bit rot in entry 2's payload
        }
        byte[] damaged = Files.readAllBytes(segment);
        try (Outbox outbox = new Outbox(db)) {
            assertThatThrownBy(outbox::readAll).isInstanceOf(PagestreamException.class)
                    .hasMessageContaining("byte 120 of segment 1").hasMessageContaining("committed entries follow it");
        }
        assertThat(Files.readAllBytes(segment)).as("entry 3 is not zeroed").isEqualTo(damaged);
    }

    @Test
    void anUnstagedEntryLeavesNoBytesBehindForAShorterOneThatReplacesIt() throws IOException {
        Path db = dir.resolve("c.db");
        try (Outbox outbox = new Outbox(db)) {
            outbox.readAll();
            outbox.stage(1, bytes(50, 1), false);
            // The long entry's payload holds a whole outbox record: stale, it would read back as entry 3.
            byte[] embedded = recordOf(3, bytes(30, 9));
            byte[] long2 = new byte[500];
            System.arraycopy(embedded, 0, long2, 260, embedded.length); // where the shorter entry 2 ends
            outbox.stage(2, long2, false);
            outbox.unstage(2);
            outbox.stage(2, bytes(260, 2), false);
            outbox.syncBeforeDatabaseSync(-1);
        }
        try (Outbox outbox = new Outbox(db)) {
            assertThat(outbox.readAll()).extracting(Outbox.Staged::lsn).containsExactly(1L, 2L);
        }
    }

    @Test
    void entriesStagedWithoutSyncsGoThroughTheMappingAndReadBackTheSame() throws IOException {
        Random random = seeded("mapped");
        Path db = dir.resolve("e.db");
        List<byte[]> payloads = new ArrayList<>();
        try (Outbox outbox = new Outbox(db)) {
            outbox.readAll();
            for (int lsn = 1; lsn <= 3000; lsn++) {
                byte[] payload = randomBytes(random, random.nextInt(20) == 0 ? random.nextInt(200_000) : random.nextInt(600));
                outbox.stage(lsn, payload, sentBeforeCommit(lsn));
                if (random.nextInt(10) == 0) {
                    outbox.unstage(lsn); // a rolled-back commit: the same LSN is staged again
                    payload = randomBytes(random, random.nextInt(300));
                    outbox.stage(lsn, payload, sentBeforeCommit(lsn));
                }
                payloads.add(payload);
                if (lsn == 1500) {
                    outbox.syncBeforeDatabaseSync(-1); // synchronous switched on for a while
                    assertThat(outbox.needsSync()).isFalse();
                }
            }
            assertThat(outbox.needsSync()).isTrue();
        }
        try (Outbox reopened = new Outbox(db)) {
            assertReadsBack(reopened, payloads);
        }
    }

    @Test
    void clearDeletesEverySegmentAndStagingStartsAFreshOne() throws IOException {
        Path db = dir.resolve("d.db");
        try (Outbox outbox = new Outbox(db)) {
            outbox.readAll();
            outbox.stage(1, bytes(10, 1), false);
            outbox.clear();
            assertThat(segmentCount(db)).isZero();
            assertThat(outbox.pendingBytes()).isZero();
            outbox.stage(7, bytes(10, 7), false);
            outbox.syncBeforeDatabaseSync(-1);
        }
        try (Outbox outbox = new Outbox(db)) {
            assertThat(outbox.readAll()).extracting(Outbox.Staged::lsn).containsExactly(7L);
        }
    }

    private static Random seeded(String test) {
        long seed = System.nanoTime();
        System.out.println("OutboxTest " + test + " seed=" + seed);
        return new Random(seed);
    }

    /** The outbox holds LSN 1, 2, … with exactly these payloads. */
    private static void assertReadsBack(Outbox outbox, List<byte[]> payloads) {
        List<Outbox.Staged> staged = outbox.readAll();
        assertThat(staged).extracting(Outbox.Staged::lsn).containsExactlyElementsOf(
                java.util.stream.LongStream.rangeClosed(1, payloads.size()).boxed().toList());
        for (int i = 0; i < staged.size(); i++) {
            assertThat(staged.get(i).payload().bytes()).as("LSN %d", i + 1).isEqualTo(payloads.get(i));
            assertThat(staged.get(i).sentBeforeCommit()).as("LSN %d sent before its commit", i + 1)
                    .isEqualTo(sentBeforeCommit(i + 1));
        }
    }

    /** Which entries the tests stage as synchronous commits' (sent to Kafka before their commit point). */
    private static boolean sentBeforeCommit(long lsn) {
        return lsn % 3 == 0;
    }

    private static byte[] randomBytes(Random random, int length) {
        byte[] bytes = new byte[length];
        random.nextBytes(bytes);
        return bytes;
    }

    private static byte[] bytes(int length, int value) {
        byte[] bytes = new byte[length];
        java.util.Arrays.fill(bytes, (byte) value);
        return bytes;
    }

    private static byte[] recordOf(long lsn, byte[] payload) {
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(payload);
        return ByteBuffer.allocate(20 + payload.length).putInt(0x5053_4F42).putInt(payload.length).putLong(lsn)
                .putInt((int) crc.getValue()).put(payload).array();
    }

    private static long segmentCount(Path db) throws IOException {
        try (Stream<Path> files = Files.list(Path.of(db + "-pagestream-outbox"))) {
            return files.count();
        }
    }

    private static Path onlySegment(Path db) throws IOException {
        try (Stream<Path> files = Files.list(Path.of(db + "-pagestream-outbox"))) {
            return files.findFirst().orElseThrow();
        }
    }
}
