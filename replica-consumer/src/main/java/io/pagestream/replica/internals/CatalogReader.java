package io.pagestream.replica.internals;

import io.pagestream.schemas.SnapshotCodec;
import io.pagestream.schemas.SnapshotContract;
import io.pagestream.schemas.avro.CatalogEntry;
import io.pagestream.schemas.avro.RestorePoint;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Reads restore points: the newest catalog entry under each db id, the catalog read to its end. */
public final class CatalogReader {
    private static final Logger log = LoggerFactory.getLogger(CatalogReader.class);

    private CatalogReader() {}

    /** The database's restore points, oldest first; none when the catalog topic does not exist or lists none. */
    public static List<RestorePoint> restorePoints(PartitionReader reader, String journalTopic, String dbId)
            throws IOException {
        return all(reader, journalTopic, dbId::equals).getOrDefault(dbId, List.of());
    }

    /** The restore points of every database the catalog lists that {@code wanted} accepts, oldest first. */
    public static Map<String, List<RestorePoint>> all(PartitionReader reader, String journalTopic, Predicate<String> wanted)
            throws IOException {
        String topic = SnapshotContract.catalogTopic(journalTopic);
        if (reader.partitionCount(topic) == 0) {
            log.info("catalog topic {} does not exist: no database has restore points", topic);
            return Map.of();
        }
        TopicPartition partition = new TopicPartition(topic, 0);
        Map<String, ConsumerRecord<byte[], byte[]>> newest = new TreeMap<>();
        reader.read(partition, reader.beginningOffset(partition), reader.endOffset(partition), record -> {
            String dbId = record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8);
            if (dbId != null && wanted.test(dbId)) {
                newest.put(dbId, record);
            }
            return true;
        });
        Map<String, List<RestorePoint>> points = new TreeMap<>();
        newest.forEach((dbId, record) -> {
            // Only the newest value counts (a tombstone removes the database's restore points).
            if (record.value() != null) {
                CatalogEntry entry = SnapshotCodec.decodeCatalog(record.value(), PartitionReader.origin(record));
                points.put(dbId, List.copyOf(entry.getRestorePoints()));
            }
        });
        return points;
    }
}
