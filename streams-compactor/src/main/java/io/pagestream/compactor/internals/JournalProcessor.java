package io.pagestream.compactor.internals;

import io.pagestream.replica.ReplicaStatus;
import io.pagestream.schemas.PagestreamException;
import io.pagestream.schemas.SnapshotCodec;
import io.pagestream.schemas.SnapshotContract;
import io.pagestream.schemas.avro.CatalogEntry;
import io.pagestream.schemas.avro.RestorePoint;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeMap;
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
 * database's catalog entry and forwarding that entry to the catalog topic within the task's transaction. On another
 * schedule it expires restore points past retention (tombstoning their chunks) and trims the journal below what the
 * kept ones still need.
 */
final class JournalProcessor implements Processor<byte[], byte[], byte[], byte[]> {
    private static final Logger log = LoggerFactory.getLogger(JournalProcessor.class);

    private final Duration checkInterval;
    private final SnapshotCadence cadence;
    private final CatalogHistory history;
    private final StatusBoard board;
    private final SnapshotTakerFactory takers;
    private final JournalReader journalReader;
    private final Duration retentionCheckInterval;
    private final JournalTrimmer trimmer;
    private final SnapshotInstaller installer;
    private final int snapshotPartitions;
    /** Journal bytes each database got since its newest snapshot was started (counted from this task's start). */
    private final Map<String, Long> journalBytes = new HashMap<>();
    private ProcessorContext<byte[], byte[]> context;
    private ReplicaStore replicas;
    private KeyValueStore<String, byte[]> catalog;
    private PendingEntries pending;
    private KeyValueStore<String, Long> firstOffsets;
    private int partition;
    /**
     * What the journal partition needed as of the previous retention check, whose state has been committed since
     * (the check requests a commit, and a failed one closes the task, which drops this): null until then.
     */
    private JournalFloor committedFloor;
    /** Whether the first record since the task started was handled. */
    private boolean resumed;
    private SnapshotTaker taker;

    /** Creates the task's snapshot taker once the task is known. */
    interface SnapshotTakerFactory {
        SnapshotTaker create();
    }

    JournalProcessor(Duration checkInterval, SnapshotCadence cadence, CatalogHistory history, StatusBoard board,
            SnapshotTakerFactory takers, JournalReader journalReader, Duration retentionCheckInterval, JournalTrimmer trimmer,
            SnapshotInstaller installer, int snapshotPartitions) {
        this.checkInterval = checkInterval;
        this.cadence = cadence;
        this.history = history;
        this.board = board;
        this.takers = takers;
        this.journalReader = journalReader;
        this.retentionCheckInterval = retentionCheckInterval;
        this.trimmer = trimmer;
        this.installer = installer;
        this.snapshotPartitions = snapshotPartitions;
    }

    @Override
    public void init(ProcessorContext<byte[], byte[]> context) {
        this.context = context;
        this.replicas = context.getStateStore(ReplicaStore.NAME);
        this.catalog = context.getStateStore(CompactorTopology.CATALOG_STORE);
        this.pending = new PendingEntries(context.getStateStore(CompactorTopology.PENDING_STORE));
        this.firstOffsets = context.getStateStore(CompactorTopology.FIRST_OFFSETS_STORE);
        this.partition = context.taskId().partition();
        this.committedFloor = null;
        this.taker = takers.create();
        try (KeyValueIterator<String, byte[]> entries = catalog.all()) {
            entries.forEachRemaining(entry -> newest(entry).ifPresent(point -> board.restorePointListed(entry.key, point)));
        }
        context.schedule(checkInterval, PunctuationType.WALL_CLOCK_TIME, this::check);
        context.schedule(retentionCheckInterval, PunctuationType.WALL_CLOCK_TIME, this::retain);
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
        firstOffsets.putIfAbsent(dbId, origin.offset());
        journalBytes.merge(dbId, (long) valueSize, Long::sum);
    }

    /**
     * A resumed task starts at its committed offset, before which the replica files must have everything: reads back
     * the earlier fragments of an entry that offset splits, or, on an instance without replica files for the
     * partition (it moved here), the databases' newest snapshots and the partition from its beginning (it may be
     * trimmed: a database's records before its snapshot are then skipped, or gone).
     */
    private void catchUp(RecordMetadata first) {
        boolean noReplicas = replicas.status().isEmpty();
        if (noReplicas) {
            replicas.installSnapshots(installer, restorePoints());
        }
        OptionalLong from = noReplicas ? OptionalLong.of(0) : pending.earliest();
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
        CatalogEntry appended;
        try {
            appended = history.append(dbId, current, point);
        } catch (PagestreamException e) {
            log.error("{}: not listed", e.getMessage());
            return;
        }
        Optional<CatalogHistory.Expiry> expiry = history.expire(appended, nowMillis);
        CatalogEntry updated = expiry.map(CatalogHistory.Expiry::kept).orElse(appended);
        publish(updated, expiry.map(CatalogHistory.Expiry::expired).orElse(List.of()), nowMillis);
        log.info("snapshot {} of db {} at LSN {}: {} pages in {} chunks (partition {}, offsets {}..{}); {} restore point(s) listed",
                point.getSnapshotId(), dbId, point.getLsn(), point.getPageCount(), point.getChunkCount(),
                point.getSnapshotPartition(), point.getFirstChunkOffset(), point.getLastChunkOffset(),
                updated.getRestorePoints().size());
        board.snapshotTaken(dbId, point);
    }

    /**
     * Expires restore points past retention, then has the journal trimmed below what the catalog needed at the previous
     * check, which is committed by now: a floor computed from state a transaction may still abort is never used.
     */
    private void retain(long nowMillis) {
        List<KeyValue<String, byte[]>> entries = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> stored = catalog.all()) {
            stored.forEachRemaining(entries::add);
        }
        for (KeyValue<String, byte[]> entry : entries) {
            history.expire(SnapshotCodec.decodeCatalog(entry.value, "catalog store of db " + entry.key), nowMillis)
                    .ifPresent(expiry -> publish(expiry.kept(), expiry.expired(), nowMillis));
        }
        if (committedFloor != null) {
            trimmer.trim(partition, committedFloor);
        }
        // Before the first record the replica files may not list every database of the partition yet.
        committedFloor = resumed ? floor() : null;
        context.commit();
    }

    /** What the partition needs now, as far as this task knows. */
    private JournalFloor floor() {
        Map<String, Long> first = new HashMap<>();
        try (KeyValueIterator<String, Long> stored = firstOffsets.all()) {
            stored.forEachRemaining(entry -> first.put(entry.key, entry.value));
        }
        return JournalFloor.ofTask(partition, restorePoints(), first, replicas.status().keySet(), pending.earliest());
    }

    /**
     * Stores and forwards a database's catalog entry, then tombstones every chunk of the restore points it no longer
     * names, in the same transaction.
     */
    private void publish(CatalogEntry entry, List<RestorePoint> expired, long nowMillis) {
        String dbId = entry.getDbId();
        byte[] encoded = SnapshotCodec.encodeCatalog(entry);
        catalog.put(dbId, encoded);
        context.forward(new Record<>(dbId.getBytes(StandardCharsets.UTF_8), encoded, nowMillis), CompactorTopology.CATALOG_SINK);
        for (RestorePoint point : expired) {
            if (point.getSnapshotPartition() != ChunkPartitioner.partition(dbId, snapshotPartitions)) {
                log.warn("snapshot {} of db {} expired, but its chunks are in partition {}, not where the snapshots topic's"
                        + " {} partitions put the db now: not tombstoned", point.getSnapshotId(), dbId,
                        point.getSnapshotPartition(), snapshotPartitions);
                continue;
            }
            for (int index = 0; index < point.getChunkCount(); index++) {
                context.forward(new Record<byte[], byte[]>(SnapshotContract.chunkKey(dbId, point.getSnapshotId(), index), null,
                        nowMillis), CompactorTopology.TOMBSTONE_SINK);
            }
            log.info("snapshot {} of db {} at LSN {} expired: {} chunk(s) tombstoned", point.getSnapshotId(), dbId,
                    point.getLsn(), point.getChunkCount());
        }
    }

    /** Each database's restore points in the catalog store, oldest first. */
    private Map<String, List<RestorePoint>> restorePoints() {
        Map<String, List<RestorePoint>> points = new TreeMap<>();
        try (KeyValueIterator<String, byte[]> stored = catalog.all()) {
            stored.forEachRemaining(entry -> points.put(entry.key, SnapshotCodec.decodeCatalog(entry.value,
                    "catalog store of db " + entry.key).getRestorePoints()));
        }
        return points;
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
        committedFloor = null;
        if (taker != null) {
            taker.close();
        }
    }
}
