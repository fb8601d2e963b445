package io.pagestream.compactor.internals;

import io.pagestream.replica.ReplicaListener;
import io.pagestream.replica.ReplicaStatus;
import io.pagestream.replica.internals.ReplicaEngine;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.processor.StateStore;
import org.apache.kafka.streams.processor.StateStoreContext;

/**
 * A stream task's replica files, as a Kafka Streams state store: journal records are staged, then applied through the
 * replica's own engine (every entry verified exactly as a replica verifies it) at the latest when Streams commits the
 * task — stores are committed before the task's offsets, so the files are never behind the committed offsets, and
 * records Streams delivers again after a crash are skipped by the engine by offset and LSN. The files live in the
 * compactor's own directory, not Streams', so that Streams never wipes them: they are the durable state.
 */
public final class ReplicaStore implements StateStore {
    public static final String NAME = "pagestream-replicas";
    /** Records staged before they are applied without waiting for the commit, to bound memory. */
    private static final int MAX_STAGED_RECORDS = 1_000;
    private static final Duration BUSY_TIMEOUT = Duration.ofSeconds(10);
    private static final int MAX_BATCH_PAGES = 16_384;

    private final Path replicasDir;
    private final StatusBoard board;
    private final List<ConsumerRecord<byte[], byte[]>> staged = new ArrayList<>();
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
        engine = new ReplicaEngine(replicasDir.resolve(String.valueOf(context.taskId().partition())), Set.of(),
                ReplicaListener.NONE, BUSY_TIMEOUT, MAX_BATCH_PAGES);
        engine.openExisting();
        board.add(engine);
        context.register(root, (key, value) -> {});
    }

    /** Stages a journal record of this task's partition, in offset order. */
    void stage(ConsumerRecord<byte[], byte[]> record) {
        staged.add(record);
        if (staged.size() >= MAX_STAGED_RECORDS) {
            applyStaged();
        }
    }

    /** Applies the staged records, each database's as one atomic batch. */
    void applyStaged() {
        if (!staged.isEmpty()) {
            engine.process(staged);
            staged.clear();
        }
    }

    /** Every database of this task's partition as of the last apply. */
    Map<String, ReplicaStatus> status() {
        return engine.status();
    }

    @Override
    public void commit(Map<TopicPartition, Long> changelogOffsets) {
        applyStaged();
    }

    @Override
    public void close() {
        // Records staged but not applied were not committed either: Streams delivers them again.
        staged.clear();
        if (engine != null) {
            board.remove(engine);
            engine.close();
            engine = null;
        }
    }

    @Override
    public boolean persistent() {
        return false;
    }

    @Override
    public boolean isOpen() {
        return engine != null;
    }
}
