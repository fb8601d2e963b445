package io.pagestream.compactor.internals;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.streams.processor.StreamPartitioner;

/**
 * Sends a chunk key's record to the snapshots partition of its database, where the snapshot taker put the chunks, so
 * that a tombstone lands beside the chunk it deletes.
 */
final class ChunkPartitioner implements StreamPartitioner<byte[], byte[]> {
    /** The snapshots topic's partition for a database: the default partitioner's choice for its id. */
    static int partition(String dbId, int partitions) {
        return Utils.toPositive(Utils.murmur2(dbId.getBytes(StandardCharsets.UTF_8))) % partitions;
    }

    /** @param chunkKey {@code <db id>/<snapshot id>/<index>}, the db id possibly holding '/' itself */
    @Override
    public Optional<Set<Integer>> partitions(String topic, byte[] chunkKey, byte[] value, int partitions) {
        String key = new String(chunkKey, StandardCharsets.UTF_8);
        String dbId = key.substring(0, key.lastIndexOf('/', key.lastIndexOf('/') - 1));
        return Optional.of(Set.of(partition(dbId, partitions)));
    }
}
