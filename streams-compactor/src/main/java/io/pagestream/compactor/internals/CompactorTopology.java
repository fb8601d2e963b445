package io.pagestream.compactor.internals;

import io.pagestream.compactor.CompactorConfig;
import io.pagestream.schemas.SnapshotContract;
import java.nio.file.Path;
import java.util.Map;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.AutoOffsetReset;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.Stores;

/**
 * The compactor's topology: journal topic → apply and snapshot (replica store, catalog store) → catalog topic, and
 * tombstones of expired snapshots' chunks → snapshots topic.
 */
public final class CompactorTopology {
    static final String CATALOG_STORE = "pagestream-catalog";
    static final String PENDING_STORE = "pagestream-pending-entries";
    static final String FIRST_OFFSETS_STORE = "pagestream-first-offsets";
    static final String CATALOG_SINK = "catalog";
    static final String TOMBSTONE_SINK = "snapshot-tombstones";
    private static final String SOURCE = "journal";
    private static final String PROCESSOR = "apply-and-snapshot";

    private CompactorTopology() {}

    /**
     * @param snapshotProducer the plain (non-transactional) producer chunks are sent with, shared by the tasks
     * @param snapshotPartitions partitions of the snapshots topic
     * @param journalConsumerSettings settings of the plain consumer a resumed task reads split entries (or snapshots) with
     * @param trimmer deletes journal records below what a partition still needs
     */
    public static Topology build(CompactorConfig config, StatusBoard board, Producer<byte[], byte[]> snapshotProducer,
            int snapshotPartitions, Map<String, Object> journalConsumerSettings, JournalTrimmer trimmer) {
        JournalReader journalReader = new JournalReader(journalConsumerSettings);
        Path replicasDir = replicasDir(config);
        Path copiesDir = copiesDir(config);
        String journal = config.journalTopic();
        SnapshotCadence cadence = new SnapshotCadence(config.journalRatio(), config.snapshotInterval());
        CatalogHistory history = new CatalogHistory(config.retention());
        SnapshotInstaller installer = new SnapshotInstaller(journalConsumerSettings, journal);
        Topology topology = new Topology();
        // A new compactor must see every database from its first (base) entry.
        topology.addSource(AutoOffsetReset.earliest(), SOURCE, new ByteArrayDeserializer(), new ByteArrayDeserializer(), journal);
        topology.addProcessor(PROCESSOR, () -> new JournalProcessor(config.checkInterval(), cadence, history, board,
                () -> new SnapshotTaker(snapshotProducer, SnapshotContract.snapshotsTopic(journal), snapshotPartitions,
                        copiesDir, config.chunkBytes(), config.bytesPerPunctuation()), journalReader,
                config.retentionCheckInterval(), trimmer, installer, snapshotPartitions), SOURCE);
        topology.addStateStore(new ReplicaStoreBuilder(replicasDir, board), PROCESSOR);
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(CATALOG_STORE), Serdes.String(),
                Serdes.ByteArray()), PROCESSOR);
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(PENDING_STORE), Serdes.String(),
                Serdes.Long()), PROCESSOR);
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(FIRST_OFFSETS_STORE), Serdes.String(),
                Serdes.Long()), PROCESSOR);
        topology.addSink(CATALOG_SINK, SnapshotContract.catalogTopic(journal), new ByteArraySerializer(),
                new ByteArraySerializer(), PROCESSOR);
        topology.addSink(TOMBSTONE_SINK, SnapshotContract.snapshotsTopic(journal), new ByteArraySerializer(),
                new ByteArraySerializer(), new ChunkPartitioner(), PROCESSOR);
        return topology;
    }

    public static Path replicasDir(CompactorConfig config) {
        return config.stateDir().resolve("replicas");
    }

    public static Path copiesDir(CompactorConfig config) {
        return config.stateDir().resolve("copies");
    }

    public static Path streamsDir(CompactorConfig config) {
        return config.stateDir().resolve("streams");
    }
}
