package io.pagestream.compactor.internals;

import io.pagestream.replica.ReplicaListener;
import io.pagestream.replica.ReplicaStatus;
import io.pagestream.replica.internals.ReplicaEngine;
import io.pagestream.schemas.avro.RestorePoint;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.processor.StateStore;
import org.apache.kafka.streams.processor.StateStoreContext;
import org.apache.kafka.streams.state.internals.CacheFlushListener;
import org.apache.kafka.streams.state.internals.CachedStateStore;

/**
 * A stream task's replica files, as a Kafka Streams state store (opened and closed with the task): journal records are
 * checked and staged through the replica's own engine, every entry verified exactly as a replica verifies it, and
 * applied in batches, one atomic apply per database and batch. The files must never be behind the offsets Streams
 * commits: Streams commits a task's offsets before it calls {@link #flush()}, but calls {@link #flushCache()} of a
 * {@link CachedStateStore} just before, so the batch is applied there. Records Streams delivers again after a crash are
 * skipped by the engine by offset and LSN. The files live in the compactor's own directory, not Streams', so that
 * Streams never wipes them: they are the durable state.
 */
public final class ReplicaStore implements StateStore, CachedStateStore<byte[], byte[]> {
    public static final String NAME = "pagestream-replicas";
    private static final Duration BUSY_TIMEOUT = Duration.ofSeconds(10);
    private static final int MAX_BATCH_PAGES = 16_384;

    private final Path replicasDir;
    private final StatusBoard board;
    private Path directory;
    private ReplicaEngine engine;

    ReplicaStore(Path replicasDir, StatusBoard board) {
        this.replicasDir = replicasDir;
        this.board = board;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void init(StateStoreContext context, StateStore root) {
        // One directory per journal partition: a task always handles the same partition.
        directory = replicasDir.resolve(String.valueOf(context.taskId().partition()));
        openEngine();
        context.register(root, (key, value) -> {});
    }

    private void openEngine() {
        engine = new ReplicaEngine(directory, Set.of(), ReplicaListener.NONE, BUSY_TIMEOUT, MAX_BATCH_PAGES);
        engine.openExisting();
        board.add(engine);
    }

    /**
     * Starts the databases of an instance without replica files for the partition from their snapshots, as the journal
     * before them may be trimmed, and opens them.
     *
     * @param catalog each database's restore points, oldest first
     * @return the databases started from a snapshot
     */
    Set<String> installSnapshots(SnapshotInstaller installer, Map<String, List<RestorePoint>> catalog) {
        Set<String> installed = installer.install(catalog, directory);
        if (!installed.isEmpty()) {
            close();
            openEngine();
        }
        return installed;
    }

    /** Stages a journal record of this task's partition (records come in offset order): its entry, once complete. */
    void stage(ConsumerRecord<byte[], byte[]> record) {
        engine.stage(List.of(record));
    }

    /** Applies the staged entries: before Streams commits the task's offsets, and before the files are read. */
    void applyStaged() {
        engine.flush();
    }

    @Override
    public void flushCache() {
        applyStaged();
    }

    @Override
    public void clearCache() {
        // Staged entries are verified and stay valid: records Streams delivers again are skipped as already staged.
    }

    @Override
    public boolean setFlushListener(CacheFlushListener<byte[], byte[]> listener, boolean sendOldValues) {
        return false;
    }

    /**
     * Applies records read directly from the journal, those before the first one Streams delivers to a resumed task:
     * the earlier fragments of an entry the task's committed offset splits, or the partition up to there when this
     * instance has no replica files for it. Records already applied are skipped.
     */
    void catchUp(JournalReader reader, TopicPartition partition, long from, long to) {
        reader.read(partition, from, to, engine::process);
    }

    /** Every database of this task's partition as of the last apply (staged entries not included). */
    Map<String, ReplicaStatus> status() {
        return engine.status();
    }

    @Override
    public void close() {
        if (engine != null) {
            board.remove(engine);
            engine.close();
            engine = null;
        }
    }

    @Override
    public boolean persistent() {
        // The files outlive the process. It also makes Streams keep its process id in the state directory, so a
        // restarted compactor has the same transactional ids and fences a killed predecessor's open transaction at
        // once, instead of its commits waiting behind it until the broker times it out.
        return true;
    }

    @Override
    public boolean isOpen() {
        return engine != null;
    }
}
