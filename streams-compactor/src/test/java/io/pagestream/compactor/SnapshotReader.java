package io.pagestream.compactor;

import static org.assertj.core.api.Assertions.assertThat;

import io.pagestream.schemas.SnapshotCodec;
import io.pagestream.schemas.SnapshotContract;
import io.pagestream.schemas.avro.CatalogEntry;
import io.pagestream.schemas.avro.RestorePoint;
import io.pagestream.schemas.avro.SnapshotChunk;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/** Reads the catalog and snapshots topics as a restorer would (read_committed) and rebuilds snapshots from their chunks. */
final class SnapshotReader implements AutoCloseable {
    /** One catalog record. */
    record Listed(long offset, CatalogEntry entry) {}

    private final String journal;
    private final KafkaConsumer<byte[], byte[]> consumer;

    SnapshotReader(String bootstrapServers, String journal) {
        this.journal = journal;
        this.consumer = new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** Every catalog record of a database, oldest first. */
    List<Listed> catalog(String dbId) {
        List<Listed> listed = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> record : readAll(new TopicPartition(SnapshotContract.catalogTopic(journal), 0), 0, Long.MAX_VALUE)) {
            if (new String(record.key(), StandardCharsets.UTF_8).equals(dbId)) {
                listed.add(new Listed(record.offset(), SnapshotCodec.decodeCatalog(record.value(), "catalog@" + record.offset())));
            }
        }
        return listed;
    }

    /**
     * The database file a restore point names, rebuilt from its chunks: every chunk decodes, they cover pages
     * 1..pageCount exactly once and their checksums XOR to the restore point's.
     */
    byte[] rebuild(String dbId, RestorePoint point) {
        TopicPartition partition = new TopicPartition(SnapshotContract.snapshotsTopic(journal), point.getSnapshotPartition());
        List<SnapshotChunk> chunks = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> record : readAll(partition, point.getFirstChunkOffset(), point.getLastChunkOffset() + 1)) {
            SnapshotChunk chunk = SnapshotCodec.decodeChunk(record.value(), partition + "@" + record.offset());
            if (chunk.getSnapshotId().equals(point.getSnapshotId())) {
                chunks.add(chunk);
            }
        }
        String what = "snapshot " + point.getSnapshotId() + " of " + dbId + " at LSN " + point.getLsn();
        assertThat(chunks).as(what).hasSize(point.getChunkCount());
        ByteArrayOutputStream pages = new ByteArrayOutputStream();
        long checksum = 0;
        long nextPgno = 1;
        for (int index = 0; index < chunks.size(); index++) {
            SnapshotChunk chunk = chunks.get(index);
            assertThat(chunk.getIndex()).as(what).isEqualTo(index);
            assertThat(chunk.getCount()).as(what).isEqualTo(point.getChunkCount());
            assertThat(chunk.getDbId()).as(what).isEqualTo(dbId);
            assertThat(chunk.getLsn()).as(what).isEqualTo(point.getLsn());
            assertThat(chunk.getPageSize()).as(what).isEqualTo(point.getPageSize());
            assertThat(chunk.getFirstPgno()).as(what + " chunk " + index).isEqualTo(nextPgno);
            byte[] bytes = SnapshotCodec.bytes(chunk.getPages());
            nextPgno += bytes.length / point.getPageSize();
            checksum ^= chunk.getChecksum();
            pages.writeBytes(bytes);
        }
        assertThat(nextPgno - 1).as(what + ": pages covered").isEqualTo(point.getPageCount());
        assertThat(checksum).as(what + ": checksum").isEqualTo(point.getChecksum());
        return pages.toByteArray();
    }

    /**
     * Checks every catalog record of a database: each restore point it names rebuilds exactly the writer's file at its
     * LSN, and each record's restore points are in LSN order (the codec refuses anything else) and end after the
     * previous record's.
     *
     * @return the LSNs of the snapshots rebuilt
     */
    List<Long> verifyCatalog(String dbId, SeededWriters writers, long seed) {
        List<Listed> listed = catalog(dbId);
        assertThat(listed).as("seed %d: catalog of %s", seed, dbId).isNotEmpty();
        Map<String, Long> rebuilt = new HashMap<>();
        long newest = 0;
        for (Listed record : listed) {
            List<RestorePoint> points = record.entry().getRestorePoints();
            assertThat(points.getLast().getLsn()).as("seed %d: catalog of %s at %d", seed, dbId, record.offset())
                    .isGreaterThan(newest);
            newest = points.getLast().getLsn();
            for (RestorePoint point : points) {
                if (rebuilt.putIfAbsent(point.getSnapshotId(), point.getLsn()) == null) {
                    assertThat(SeededWriters.sha256(rebuild(dbId, point)))
                            .as("seed %d: %s at LSN %d from snapshot %s", seed, dbId, point.getLsn(), point.getSnapshotId())
                            .isEqualTo(writers.image(dbId, point.getLsn()));
                }
            }
        }
        return rebuilt.values().stream().sorted().toList();
    }

    /** Keys of the tombstones (records without a value) in a partition of the snapshots topic. */
    Set<String> tombstones(int snapshotPartition) {
        Set<String> keys = new HashSet<>();
        for (ConsumerRecord<byte[], byte[]> record : readAll(new TopicPartition(SnapshotContract.snapshotsTopic(journal),
                snapshotPartition), 0, Long.MAX_VALUE)) {
            if (record.value() == null) {
                keys.add(new String(record.key(), StandardCharsets.UTF_8));
            }
        }
        return keys;
    }

    /** Restore points of the database's newest catalog record. */
    int restorePoints(String dbId) {
        List<Listed> listed = catalog(dbId);
        return listed.isEmpty() ? 0 : listed.getLast().entry().getRestorePoints().size();
    }

    private List<ConsumerRecord<byte[], byte[]>> readAll(TopicPartition partition, long from, long to) {
        consumer.assign(List.of(partition));
        consumer.seek(partition, from);
        long end = Math.min(to, consumer.endOffsets(List.of(partition)).get(partition));
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        while (consumer.position(partition) < end) {
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                if (record.offset() < end) {
                    records.add(record);
                }
            }
        }
        return records;
    }

    @Override
    public void close() {
        consumer.close();
    }
}
