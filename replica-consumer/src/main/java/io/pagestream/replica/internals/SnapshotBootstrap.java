package io.pagestream.replica.internals;

import io.pagestream.replica.ReplicaPosition;
import io.pagestream.schemas.PageChecksum;
import io.pagestream.schemas.PagestreamException;
import io.pagestream.schemas.avro.RestorePoint;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts new replicas from their databases' newest restore points instead of the journal's base entries: a snapshot's
 * chunks become the replica file and the restore point its position, so the replica reads only the journal after it.
 * Also starts over, from a snapshot, a replica whose position the journal's retention has deleted.
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
                    installOne(reader, journalTopic, directory, database.getKey(), points.get(i), ReplicaPosition.EMPTY);
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

    /**
     * Replaces each wanted replica whose next journal record was deleted (its partition now begins after its position)
     * with the newest snapshot the journal still continues from; the old file is kept beside it, renamed.
     *
     * @return why, per database, a replica the journal left behind cannot continue: no such snapshot exists
     */
    public static Map<String, StartOffsets.NewReplica> replaceTrimmed(PartitionReader reader, String journalTopic,
            Path directory, Predicate<String> wanted) throws IOException {
        Map<String, ReplicaPosition> behind = new TreeMap<>();
        Map<Integer, Long> beginnings = new TreeMap<>();
        if (!Files.isDirectory(directory)) {
            return Map.of();
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, "*" + PositionFile.SUFFIX)) {
            for (Path positionFile : files) {
                String name = positionFile.getFileName().toString();
                Path replica = directory.resolve(name.substring(0, name.length() - PositionFile.SUFFIX.length()));
                PositionFile.Recorded recorded = PositionFile.peek(replica);
                if (recorded == null || !wanted.test(recorded.dbId())) {
                    continue;
                }
                ReplicaPosition newest = recorded.pending() != null ? recorded.pending() : recorded.current();
                long beginning = beginnings.computeIfAbsent(newest.partition(),
                        p -> reader.beginningOffset(new TopicPartition(journalTopic, p)));
                if (newest.lsn() > 0 && newest.offset() + 1 < beginning) {
                    positionOf(replica, recorded).ifPresent(position -> behind.put(recorded.dbId(), position));
                }
            }
        }
        if (behind.isEmpty()) {
            return Map.of();
        }
        Map<String, List<RestorePoint>> catalog = CatalogReader.all(reader, journalTopic, behind::containsKey);
        Map<String, StartOffsets.NewReplica> halted = new TreeMap<>();
        for (Map.Entry<String, ReplicaPosition> replica : behind.entrySet()) {
            String dbId = replica.getKey();
            ReplicaPosition position = replica.getValue();
            long beginning = beginnings.get(position.partition());
            List<RestorePoint> usable = catalog.getOrDefault(dbId, List.of()).stream()
                    .filter(p -> p.getJournalPartition() == position.partition() && p.getJournalOffset() + 1 >= beginning
                            && p.getLsn() >= position.lsn())
                    .toList();
            List<String> failures = new ArrayList<>();
            boolean replaced = false;
            for (RestorePoint point : usable.reversed()) {
                try {
                    log.warn("replica of {} at {}: {}-{} now begins at offset {}; starting over from snapshot {} (LSN {})",
                            dbId, position, journalTopic, position.partition(), beginning, point.getSnapshotId(),
                            point.getLsn());
                    installOne(reader, journalTopic, directory, dbId, point, position);
                    replaced = true;
                    break;
                } catch (PagestreamException e) {
                    failures.add(e.getMessage());
                }
            }
            if (!replaced) {
                halted.put(dbId, new StartOffsets.NewReplica(position.partition(), position.offset() + 1,
                        new PagestreamException("replica of " + dbId + " at LSN " + position.lsn() + " (partition "
                                + position.partition() + " offset " + position.offset() + ") cannot continue: " + journalTopic
                                + "-" + position.partition() + " now begins at offset " + beginning
                                + ", after its position, and no usable snapshot continues from there"
                                + (failures.isEmpty() ? "" : " (" + String.join("; ", failures) + ")"))));
            }
        }
        return halted;
    }

    /**
     * The recorded position the file is at; empty when it is at neither (an interrupted apply to roll back: its
     * rollback journal is not empty, or an outside change): the replica then opens as usual and reports it.
     */
    private static Optional<ReplicaPosition> positionOf(Path replica, PositionFile.Recorded recorded) throws IOException {
        Path rollbackJournal = Path.of(replica + "-journal");
        if (!Files.exists(replica) || Files.exists(rollbackJournal) && Files.size(rollbackJournal) > 0) {
            return Optional.empty();
        }
        try (FileChannel file = FileChannel.open(replica, StandardOpenOption.READ)) {
            for (ReplicaPosition candidate : new ReplicaPosition[] {recorded.pending(), recorded.current()}) {
                if (candidate != null && candidate.lsn() > 0 && file.size() == candidate.pageCount() * candidate.pageSize()
                        && PageChecksum.scan(file, candidate.pageSize()) == candidate.checksum()) {
                    return Optional.of(candidate);
                }
            }
        }
        return Optional.empty();
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
     * renames it into place: the rename is the commit point, as for an apply (the file there holds {@code current},
     * empty for a new replica; a replaced file is first linked aside, so it is kept whole and readers see one or the other).
     */
    private static void installOne(PartitionReader reader, String journalTopic, Path directory, String dbId,
            RestorePoint point, ReplicaPosition current) throws IOException {
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
                positions.write(dbId, current, position);
            }
            if (current.lsn() > 0) {
                Path aside = directory.resolve("." + replica.getFileName() + ".trimmed-at-lsn-" + current.lsn());
                Files.deleteIfExists(aside);
                Files.createLink(aside, replica);
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
