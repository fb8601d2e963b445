package io.pagestream.replica.internals;

import io.pagestream.replica.RestoreProgress;
import io.pagestream.replica.RestoreResult;
import io.pagestream.schemas.ChecksumMismatchException;
import io.pagestream.schemas.JournalApplier;
import io.pagestream.schemas.PagestreamException;
import io.pagestream.schemas.avro.RestorePoint;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds a restored database in a temporary file beside the output (a snapshot, then the journal up to the target),
 * verifies it, and only then renames it into place: a failure or crash at any point publishes nothing.
 */
public final class RestoreExecution {
    private static final Logger log = LoggerFactory.getLogger(RestoreExecution.class);
    private static final String TEMP_SUFFIX = ".restoring";

    private final PartitionReader reader;
    private final String journalTopic;
    private final String dbId;
    private final Consumer<RestoreProgress> progress;

    public RestoreExecution(PartitionReader reader, String journalTopic, String dbId, Consumer<RestoreProgress> progress) {
        this.reader = reader;
        this.journalTopic = journalTopic;
        this.dbId = dbId;
        this.progress = progress;
    }

    /**
     * @throws PagestreamException when the output exists and {@code force} is false, when no start is usable, or when
     *     the journal or the result does not verify; the output is then untouched and no temporary file is left
     */
    public RestoreResult run(RestoreSources sources, RestoreSources.Target target, Path output, boolean force)
            throws IOException {
        Path destination = output.toAbsolutePath();
        if (!force && Files.exists(destination)) {
            throw new PagestreamException("db " + dbId + ": output " + destination + " exists; restore with force to replace it");
        }
        Path directory = Files.createDirectories(destination.getParent());
        Path temp = Files.createTempFile(directory, "." + destination.getFileName() + ".", TEMP_SUFFIX);
        boolean published = false;
        try {
            RestoreResult result;
            try (FileChannel file = FileChannel.open(temp, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                result = build(sources, target, file, destination);
                file.force(true);
            }
            checkIntegrity(temp);
            publish(temp, destination, force);
            published = true;
            return result;
        } finally {
            if (!published) {
                Files.deleteIfExists(temp);
            }
        }
    }

    private RestoreResult build(RestoreSources sources, RestoreSources.Target target, FileChannel file, Path destination)
            throws IOException {
        List<String> fallbacks = new ArrayList<>();
        List<RestoreSources.Start> starts = new ArrayList<>(sources.starts(target));
        for (int i = 0; i < starts.size(); i++) {
            RestoreSources.Start start = starts.get(i);
            file.truncate(0);
            if (start.point() != null) {
                try {
                    new SnapshotDownload(reader, journalTopic, dbId, start.point(), progress).writeTo(file);
                } catch (PagestreamException e) {
                    if (i == starts.size() - 1 && !sources.journal().fromBeginning()) {
                        // Only now is a base entry older than the journal read worth reading the whole partition for.
                        sources = new RestoreSources(dbId, JournalIndex.scan(reader, sources.journal().partition(), dbId),
                                sources.restorePoints());
                        sources.baseStart(target).ifPresent(starts::add);
                    }
                    if (i == starts.size() - 1) {
                        throw new PagestreamException(e.getMessage() + "; no older restore point or base entry in the journal"
                                + " reaches LSN " + target.lsn(), e);
                    }
                    String fallback = e.getMessage() + "; falling back to " + describe(starts.get(i + 1));
                    log.warn("restore of db {}: {}", dbId, fallback);
                    fallbacks.add(fallback);
                    continue;
                }
            }
            JournalReplay.Outcome replayed = replay(sources, start, target, file);
            if (replayed.entriesApplied() > 0) {
                // Otherwise the file is the snapshot, whose download already scanned it against the target's checksum.
                verify(file, target);
            }
            return new RestoreResult(dbId, destination, target.lsn(), Instant.ofEpochMilli(target.commitTimeMillis()),
                    target.checksum(), Optional.ofNullable(start.point()).map(RestorePoint::getSnapshotId),
                    replayed.entriesApplied(), file.size(), fallbacks);
        }
        throw new PagestreamException("db " + dbId + ": nothing to restore LSN " + target.lsn() + " from");
    }

    private JournalReplay.Outcome replay(RestoreSources sources, RestoreSources.Start start, RestoreSources.Target target,
            FileChannel file) throws IOException {
        JournalReplay replay = new JournalReplay(reader, dbId, progress);
        RestorePoint point = start.point();
        if (point == null) {
            return replay.replay(file, sources.journal().partition(), start.base().firstOffset(), target.lastOffset(),
                    start.base().lsn() - 1, 0, target.lsn());
        }
        if (point.getLsn() == target.lsn()) {
            return new JournalReplay.Outcome(point.getLsn(), point.getChecksum(), 0);
        }
        return replay.replay(file, new TopicPartition(journalTopic, point.getJournalPartition()),
                point.getJournalOffset() + 1, target.lastOffset(), point.getLsn(), point.getChecksum(), target.lsn());
    }

    /** A full scan, independent of the checksums carried along while building. */
    private void verify(FileChannel file, RestoreSources.Target target) throws IOException {
        long size = file.size();
        progress.accept(new RestoreProgress(RestoreProgress.Stage.VERIFY, 0, size, 0, 0));
        long checksum = JournalApplier.checksumOf(file);
        if (checksum != target.checksum()) {
            throw new ChecksumMismatchException("db " + dbId + ": the restored database is not the database at LSN "
                    + target.lsn(), target.checksum(), checksum);
        }
        progress.accept(new RestoreProgress(RestoreProgress.Stage.VERIFY, size, size, 0, 0));
    }

    private void checkIntegrity(Path file) {
        try (Connection connection = DriverManager.getConnection("jdbc:sqlite:file:" + file + "?mode=ro&immutable=1");
                Statement statement = connection.createStatement();
                ResultSet result = statement.executeQuery("PRAGMA integrity_check")) {
            String verdict = result.next() ? result.getString(1) : "no answer";
            if (!"ok".equals(verdict)) {
                throw new PagestreamException("db " + dbId + ": the restored database fails PRAGMA integrity_check: " + verdict);
            }
        } catch (SQLException e) {
            throw new PagestreamException("db " + dbId + ": cannot run PRAGMA integrity_check on the restored database: "
                    + e.getMessage(), e);
        }
    }

    /** Renames into place; without force, a hard link, which fails rather than replace a file created meanwhile. */
    private void publish(Path temp, Path destination, boolean force) throws IOException {
        if (force) {
            Files.move(temp, destination, StandardCopyOption.ATOMIC_MOVE);
        } else {
            try {
                Files.createLink(destination, temp);
            } catch (FileAlreadyExistsException e) {
                throw new PagestreamException("db " + dbId + ": output " + destination + " exists; restore with force to replace it");
            }
            Files.delete(temp);
        }
        try (FileChannel directory = FileChannel.open(destination.getParent(), StandardOpenOption.READ)) {
            directory.force(true);
        }
    }

    private static String describe(RestoreSources.Start start) {
        return start.point() != null ? "snapshot " + start.point().getSnapshotId() + " (LSN " + start.point().getLsn() + ")"
                : "the journal's base entry at LSN " + start.base().lsn();
    }
}
