package io.pagestream.replica.internals;

import io.pagestream.replica.ReplicaPosition;
import io.pagestream.schemas.PagestreamException;
import io.pagestream.schemas.avro.RestorePoint;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts new replicas from their databases' newest restore points instead of the journal's base entries: a snapshot's
 * chunks become the replica file and the restore point its position, so the replica reads only the journal after it.
 */
public final class SnapshotBootstrap {
    private static final Logger log = LoggerFactory.getLogger(SnapshotBootstrap.class);

    private SnapshotBootstrap() {}

    /**
     * Installs, for each wanted database the catalog lists and {@code directory} has no replica of, its newest usable
     * snapshot (an older one when a chunk of the newest is missing or damaged).
     *
     * @return the databases installed
     */
    public static Set<String> install(PartitionReader reader, String journalTopic, Path directory, Predicate<String> wanted)
            throws IOException {
        Map<String, List<RestorePoint>> catalog = CatalogReader.all(reader, journalTopic,
                dbId -> wanted.test(dbId) && !hasReplica(directory.resolve(ReplicaEngine.fileName(dbId))));
        Set<String> installed = new TreeSet<>();
        for (Map.Entry<String, List<RestorePoint>> database : catalog.entrySet()) {
            List<RestorePoint> points = database.getValue();
            for (int i = points.size() - 1; i >= 0; i--) {
                try {
                    installOne(reader, journalTopic, directory, database.getKey(), points.get(i));
                    installed.add(database.getKey());
                    break;
                } catch (PagestreamException e) {
                    log.error("replica of {}: cannot start from snapshot {} (LSN {}): {}; trying {}", database.getKey(),
                            points.get(i).getSnapshotId(), points.get(i).getLsn(), e.getMessage(),
                            i > 0 ? "the older snapshot " + points.get(i - 1).getSnapshotId() : "the journal's base entry");
                }
            }
        }
        return installed;
    }

    /** A replica with a recorded position past nothing: an interrupted first apply or bootstrap starts over. */
    private static boolean hasReplica(Path replica) {
        PositionFile.Recorded recorded = PositionFile.exists(replica) ? PositionFile.peek(replica) : null;
        return recorded != null && (recorded.current().lsn() > 0 || Files.exists(replica) && sizeOf(replica) > 0);
    }

    private static long sizeOf(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Downloads the snapshot beside the replica file, records its position as the one a completed apply leads to, then
     * renames it into place: the rename is the commit point, as for an apply (an empty file holds the position before).
     */
    private static void installOne(PartitionReader reader, String journalTopic, Path directory, String dbId,
            RestorePoint point) throws IOException {
        Files.createDirectories(directory);
        Path replica = directory.resolve(ReplicaEngine.fileName(dbId));
        Path download = directory.resolve("." + replica.getFileName() + ".bootstrap");
        try {
            try (FileChannel file = FileChannel.open(download, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                new SnapshotDownload(reader, journalTopic, dbId, point, progress -> { }).writeTo(file);
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
            log.info("replica of {} starts from snapshot {}: {}", dbId, point.getSnapshotId(), position);
        } finally {
            Files.deleteIfExists(download);
        }
    }
}
