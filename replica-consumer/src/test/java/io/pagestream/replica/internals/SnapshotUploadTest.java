package io.pagestream.replica.internals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pagestream.replica.ReplicaPosition;
import io.pagestream.schemas.ChecksumMismatchException;
import io.pagestream.schemas.PageChecksum;
import io.pagestream.schemas.SnapshotCodec;
import io.pagestream.schemas.avro.RestorePoint;
import io.pagestream.schemas.avro.SnapshotChunk;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A snapshot sent in bounded steps: its chunks rebuild the file, and the restore point names them. */
class SnapshotUploadTest {
    private static final long SEED = Long.getLong("pagestream.seed", System.nanoTime());

    @TempDir
    Path dir;

    @Test
    void chunksSentAFewAtATimeRebuildTheFileAndTheRestorePointNamesThem() throws Exception {
        System.out.println("SnapshotUploadTest seed=" + SEED);
        Random rnd = new Random(SEED);
        int pageSize = 1024;
        int pages = 1 + rnd.nextInt(100);
        byte[] database = new byte[pages * pageSize];
        rnd.nextBytes(database);
        Path copy = Files.write(dir.resolve("copy.db"), database);
        ReplicaPosition position = new ReplicaPosition(17, PageChecksum.ofPages(1, database, pages, pageSize), pageSize, pages,
                0, 99, 1_700_000_000_000L);
        MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer());

        int chunkBytes = pageSize * (1 + rnd.nextInt(8));
        RestorePoint point;
        try (SnapshotUpload upload = new SnapshotUpload(producer, "t.snapshots", 2, "db", copy, position, chunkBytes)) {
            int calls = 0;
            while (!upload.sendSome(3L * pageSize)) {
                calls++;
                assertThat(upload.bytesSent()).isLessThan(upload.totalBytes());
            }
            assertThat(calls).as("seed %d", SEED).isGreaterThanOrEqualTo(pages * pageSize / (3 * pageSize + chunkBytes) - 1);
            point = upload.complete(Duration.ofSeconds(5), 1_800_000_000_000L);
        }
        assertThat(copy).doesNotExist();

        ByteArrayOutputStream rebuilt = new ByteArrayOutputStream();
        for (ProducerRecord<byte[], byte[]> record : producer.history()) {
            assertThat(record.partition()).isEqualTo(2);
            SnapshotChunk chunk = SnapshotCodec.decodeChunk(record.value(), "mock");
            assertThat(chunk.getFirstPgno()).isEqualTo(rebuilt.size() / pageSize + 1);
            rebuilt.write(SnapshotCodec.bytes(chunk.getPages()));
        }
        assertThat(rebuilt.toByteArray()).as("seed %d", SEED).isEqualTo(database);
        assertThat(point.getChunkCount()).isEqualTo(producer.history().size());
        assertThat(point.getLsn()).isEqualTo(17);
        assertThat(point.getChecksum()).isEqualTo(position.checksum());
        assertThat(point.getJournalPartition()).isZero();
        assertThat(point.getJournalOffset()).isEqualTo(99);
        assertThat(point.getSnapshotPartition()).isEqualTo(2);
        assertThat(point.getLastChunkOffset() - point.getFirstChunkOffset() + 1).isEqualTo(point.getChunkCount());
    }

    @Test
    void aCopyThatIsNotTheDatabaseAtThePositionIsRefused() throws Exception {
        byte[] database = new byte[4 * 512];
        new Random(SEED).nextBytes(database);
        Path copy = Files.write(dir.resolve("copy.db"), database);
        ReplicaPosition position = new ReplicaPosition(3, 0x1234L, 512, 4, 0, 5, 0);
        MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer());
        try (SnapshotUpload upload = new SnapshotUpload(producer, "t.snapshots", 0, "db", copy, position, 1 << 20)) {
            assertThat(upload.sendSome(Long.MAX_VALUE)).isTrue();
            assertThatThrownBy(() -> upload.complete(Duration.ofSeconds(5), 0))
                    .isInstanceOf(ChecksumMismatchException.class)
                    .hasMessageContaining("snapshot " + upload.snapshotId() + " of db db at LSN 3");
        }
    }
}
