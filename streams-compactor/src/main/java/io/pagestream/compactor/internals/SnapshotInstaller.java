package io.pagestream.compactor.internals;

import io.pagestream.replica.ReplicaPosition;
import io.pagestream.replica.internals.PartitionReader;
import io.pagestream.replica.internals.PositionFile;
import io.pagestream.replica.internals.ReplicaEngine;
import io.pagestream.replica.internals.SnapshotDownload;
import io.pagestream.schemas.PagestreamException;
import io.pagestream.schemas.avro.RestorePoint;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rebuilds a task's replica files from the restore points in its catalog store, since the journal before the oldest
 * kept one may be trimmed: each database's newest snapshot whose chunks are all there and verify becomes its replica
 * file, at the restore point's position, and the task then reads only the journal after it.
 */
final class SnapshotInstaller {
    private static final Logger log = LoggerFactory.getLogger(SnapshotInstaller.class);
    private static final Duration READ_TIMEOUT = Duration.ofMinutes(2);

    private final Map<String, Object> consumerSettings;
    private final String journal;

    /** @param consumerSettings bootstrap servers and client settings of a group-less, read_committed consumer */
    SnapshotInstaller(Map<String, Object> consumerSettings, String journal) {
        Map<String, Object> settings = new HashMap<>(consumerSettings);
        settings.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        this.consumerSettings = Map.copyOf(settings);
        this.journal = journal;
    }

    /**
     * Installs, for each database listed with its restore points (oldest first), the newest snapshot that verifies
     * (an older one when a chunk of the newest is missing or damaged) into {@code directory}.
     *
     * @return the databases installed; one without a usable snapshot is left to the journal, where its replica halts
     *     with the reason when the records it needs are gone
     */
    Set<String> install(Map<String, List<RestorePoint>> catalog, Path directory) {
        Set<String> installed = new TreeSet<>();
        if (catalog.isEmpty()) {
            return installed;
        }
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerSettings, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            PartitionReader reader = new PartitionReader(consumer, READ_TIMEOUT);
            catalog.forEach((dbId, points) -> {
                for (int i = points.size() - 1; i >= 0; i--) {
                    try {
                        installOne(reader, directory, dbId, points.get(i));
                        installed.add(dbId);
                        return;
                    } catch (PagestreamException | IOException e) {
                        log.error("replica of db {}: cannot start from snapshot {} (LSN {}): {}", dbId,
                                points.get(i).getSnapshotId(), points.get(i).getLsn(), e.getMessage());
                    }
                }
            });
        }
        return installed;
    }

    /** Downloads beside the replica file, records the position, then renames the download into place (the commit point). */
    private void installOne(PartitionReader reader, Path directory, String dbId, RestorePoint point) throws IOException {
        Path replica = directory.resolve(ReplicaEngine.fileName(dbId));
        Path download = directory.resolve("." + replica.getFileName() + ".snapshot");
        try {
            try (FileChannel file = FileChannel.open(download, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                new SnapshotDownload(reader, journal, dbId, point, progress -> { }).writeTo(file);
                file.force(true);
            }
            ReplicaPosition position = new ReplicaPosition(point.getLsn(), point.getChecksum(), point.getPageSize(),
                    point.getPageCount(), point.getJournalPartition(), point.getJournalOffset(), point.getCommitTimeMillis());
            try (PositionFile positions = PositionFile.open(replica)) {
                positions.write(dbId, ReplicaPosition.EMPTY, position);
            }
            Files.move(download, replica, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel dir = FileChannel.open(directory, StandardOpenOption.READ)) {
                dir.force(true);
            }
            log.info("replica of db {} starts from snapshot {} at LSN {} (journal offset {})", dbId, point.getSnapshotId(),
                    point.getLsn(), point.getJournalOffset());
        } catch (UncheckedIOException e) {
            throw e.getCause();
        } finally {
            Files.deleteIfExists(download);
        }
    }
}
