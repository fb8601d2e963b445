package io.pagestream.compactor.internals;

import io.pagestream.replica.ReplicaStatus;
import io.pagestream.schemas.PagestreamException;
import io.pagestream.schemas.SnapshotCodec;
import io.pagestream.schemas.avro.CatalogEntry;
import io.pagestream.schemas.avro.RestorePoint;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A stream task's work: applies its partition's journal records to the replica files and, on a wall-clock schedule,
 * snapshots the databases that are due, one at a time, appending each finished snapshot's restore point to the
 * database's catalog entry and forwarding that entry to the catalog topic within the task's transaction.
 */
final class JournalProcessor implements Processor<byte[], byte[], byte[], byte[]> {
    private static final Logger log = LoggerFactory.getLogger(JournalProcessor.class);

    private final Duration checkInterval;
    private final SnapshotCadence cadence;
    private final CatalogHistory history;
    private final StatusBoard board;
    private final SnapshotTakerFactory takers;
    private final JournalReader journalReader;
    /** Journal bytes each database got since its newest snapshot was started (counted from this task's start). */
    private final Map<String, Long> journalBytes = new HashMap<>();
    private ProcessorContext<byte[], byte[]> context;
    private ReplicaStore replicas;
    private KeyValueStore<String, byte[]> catalog;
    private PendingEntries pending;
    /** Whether the first record since the task started was handled. */
    private boolean resumed;
    private SnapshotTaker taker;

    /** Creates the task's snapshot taker once the task is known. */
    interface SnapshotTakerFactory {
        SnapshotTaker create();
    }

    JournalProcessor(Duration checkInterval, SnapshotCadence cadence, CatalogHistory history, StatusBoard board,
            SnapshotTakerFactory takers, JournalReader journalReader) {
        this.checkInterval = checkInterval;
        this.cadence = cadence;
        this.history = history;
        this.board = board;
        this.takers = takers;
        this.journalReader = journalReader;
    }

    @Override
    public void init(ProcessorContext<byte[], byte[]> context) {
        this.context = context;
        this.replicas = context.getStateStore(ReplicaStore.NAME);
        this.catalog = context.getStateStore(CompactorTopology.CATALOG_STORE);
        this.pending = new PendingEntries(context.getStateStore(CompactorTopology.PENDING_STORE));
        this.taker = takers.create();
        try (KeyValueIterator<String, byte[]> entries = catalog.all()) {
            entries.forEachRemaining(entry -> newest(entry).ifPresent(point -> board.restorePointListed(entry.key, point)));
        }
        context.schedule(checkInterval, PunctuationType.WALL_CLOCK_TIME, this::check);
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
        RecordMetadata origin = context.recordMetadata().orElseThrow();
        if (record.key() == null) {
            // No database to halt for it; the replica service stops here, the compactor goes on with the others.
            log.error("journal record {}-{}@{} has no key (db id): not a Pagestream journal record; skipped", origin.topic(),
                    origin.partition(), origin.offset());
            return;
        }
        if (!resumed) {
            resumed = true;
            catchUp(origin);
        }
        String dbId = new String(record.key(), StandardCharsets.UTF_8);
        byte[] value = record.value();
        int valueSize = value == null ? 0 : value.length;
        replicas.stage(new ConsumerRecord<>(origin.topic(), origin.partition(), origin.offset(), record.timestamp(),
                TimestampType.CREATE_TIME, record.key().length, valueSize, record.key(), value, record.headers(),
                Optional.empty()));
        pending.seen(dbId, record.headers(), origin.offset());
        journalBytes.merge(dbId, (long) valueSize, Long::sum);
    }

    /**
     * A resumed task starts at its committed offset, before which the replica files must have everything: reads back
     * the earlier fragments of an entry that offset splits, or, on an instance without replica files for the
     * partition (it moved here), the partition from its beginning.
     */
    private void catchUp(RecordMetadata first) {
        OptionalLong from = replicas.status().isEmpty() ? OptionalLong.of(0) : pending.earliest();
        if (from.isPresent() && from.getAsLong() < first.offset()) {
            log.info("journal {}-{}: reading offsets {}..{} before the committed offset", first.topic(), first.partition(),
                    from.getAsLong(), first.offset() - 1);
            replicas.catchUp(journalReader, new TopicPartition(first.topic(), first.partition()), from.getAsLong(),
                    first.offset());
        }
    }

    /** Moves the snapshot under way on by one step, or starts one for the first database that is due. */
    private void check(long nowMillis) {
        replicas.applyStaged();
        if (taker.busy()) {
            taker.step(nowMillis).ifPresent(taken -> list(taken.dbId(), taken.point(), nowMillis));
            return;
        }
        for (ReplicaStatus replica : replicas.status().values()) {
            if (replica.halted()) {
                continue;
            }
            long databaseBytes = replica.position().pageCount() * replica.position().pageSize();
            RestorePoint newest = newest(replica.dbId());
            if (cadence.isDue(replica.position().lsn(), databaseBytes, journalBytes.getOrDefault(replica.dbId(), 0L), newest,
                    nowMillis)) {
                journalBytes.remove(replica.dbId());
                taker.start(replica);
                return;
            }
        }
    }

    /** Appends a finished snapshot to its database's catalog entry and forwards the entry to the catalog topic. */
    private void list(String dbId, RestorePoint point, long nowMillis) {
        byte[] stored = catalog.get(dbId);
        CatalogEntry current = stored == null ? null : SnapshotCodec.decodeCatalog(stored, "catalog store of db " + dbId);
        CatalogEntry updated;
        try {
            updated = history.append(dbId, current, point, nowMillis);
        } catch (PagestreamException e) {
            log.error("{}: not listed", e.getMessage());
            return;
        }
        byte[] encoded = SnapshotCodec.encodeCatalog(updated);
        catalog.put(dbId, encoded);
        context.forward(new Record<>(dbId.getBytes(StandardCharsets.UTF_8), encoded, nowMillis));
        log.info("snapshot {} of db {} at LSN {}: {} pages in {} chunks (partition {}, offsets {}..{}); {} restore point(s) listed",
                point.getSnapshotId(), dbId, point.getLsn(), point.getPageCount(), point.getChunkCount(),
                point.getSnapshotPartition(), point.getFirstChunkOffset(), point.getLastChunkOffset(),
                updated.getRestorePoints().size());
        board.snapshotTaken(dbId, point);
    }

    private RestorePoint newest(String dbId) {
        byte[] stored = catalog.get(dbId);
        return stored == null ? null : newest(KeyValue.pair(dbId, stored)).orElse(null);
    }

    private static Optional<RestorePoint> newest(KeyValue<String, byte[]> entry) {
        List<RestorePoint> points = SnapshotCodec.decodeCatalog(entry.value, "catalog store of db " + entry.key).getRestorePoints();
        return points.isEmpty() ? Optional.empty() : Optional.of(points.getLast());
    }

    @Override
    public void close() {
        if (taker != null) {
            taker.close();
        }
    }
}
