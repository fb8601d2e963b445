package io.pagestream.replica.internals;

import io.pagestream.schemas.SnapshotCodec;
import io.pagestream.schemas.SnapshotContract;
import io.pagestream.schemas.avro.CatalogEntry;
import io.pagestream.schemas.avro.RestorePoint;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Reads one database's restore points: the newest catalog entry under its id, the catalog read to its end. */
public final class CatalogReader {
    private static final Logger log = LoggerFactory.getLogger(CatalogReader.class);

    private CatalogReader() {}

    /** The database's restore points, oldest first; none when the catalog topic does not exist or lists none. */
    public static List<RestorePoint> restorePoints(PartitionReader reader, String journalTopic, String dbId)
            throws IOException {
        String topic = SnapshotContract.catalogTopic(journalTopic);
        if (reader.partitionCount(topic) == 0) {
            log.info("catalog topic {} does not exist: db {} has no restore points", topic, dbId);
            return List.of();
        }
        TopicPartition partition = new TopicPartition(topic, 0);
        byte[] key = dbId.getBytes(StandardCharsets.UTF_8);
        AtomicReference<ConsumerRecord<byte[], byte[]>> newest = new AtomicReference<>();
        reader.read(partition, reader.beginningOffset(partition), reader.endOffset(partition), record -> {
            if (Arrays.equals(record.key(), key)) {
                newest.set(record);
            }
            return true;
        });
        // Only the newest value counts (a tombstone removes the database's restore points).
        if (newest.get() == null || newest.get().value() == null) {
            return List.of();
        }
        CatalogEntry entry = SnapshotCodec.decodeCatalog(newest.get().value(), PartitionReader.origin(newest.get()));
        return List.copyOf(entry.getRestorePoints());
    }
}
