package io.pagestream.compactor.internals;

import java.nio.file.Path;
import java.util.Map;
import org.apache.kafka.streams.state.StoreBuilder;

/** Builds each task's {@link ReplicaStore}; it has no changelog (the replica files are durable on their own). */
final class ReplicaStoreBuilder implements StoreBuilder<ReplicaStore> {
    private final Path replicasDir;
    private final StatusBoard board;

    ReplicaStoreBuilder(Path replicasDir, StatusBoard board) {
        this.replicasDir = replicasDir;
        this.board = board;
    }

    @Override
    public StoreBuilder<ReplicaStore> withCachingEnabled() {
        throw new UnsupportedOperationException("the replica store has no cache");
    }

    @Override
    public StoreBuilder<ReplicaStore> withCachingDisabled() {
        return this;
    }

    @Override
    public StoreBuilder<ReplicaStore> withLoggingEnabled(Map<String, String> config) {
        throw new UnsupportedOperationException("the replica store has no changelog");
    }

    @Override
    public StoreBuilder<ReplicaStore> withLoggingDisabled() {
        return this;
    }

    @Override
    public ReplicaStore build() {
        return new ReplicaStore(replicasDir, board);
    }

    @Override
    public Map<String, String> logConfig() {
        return Map.of();
    }

    @Override
    public boolean loggingEnabled() {
        return false;
    }

    @Override
    public String name() {
        return ReplicaStore.NAME;
    }
}
