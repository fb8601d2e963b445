package io.pagestream.replica.internals;

import io.pagestream.replica.ReplicaListener;
import io.pagestream.replica.ReplicaPosition;
import io.pagestream.replica.ReplicaStatus;
import io.pagestream.schemas.CorruptEntryException;
import io.pagestream.schemas.PagestreamException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replica service's logic, without Kafka: journal records in, replica files out. One replica file per
 * database id in a directory; records of databases not followed are ignored. Records are handed over in
 * order, a poll's worth at a time; each database's entries in one hand-over are applied as one atomic batch.
 */
public final class ReplicaEngine implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ReplicaEngine.class);

    private final Path directory;
    private final Set<String> followed;
    private final ReplicaListener listener;
    private final Duration busyTimeout;
    private final int maxBatchPages;
    private final Map<String, DatabaseReplica> replicas = new ConcurrentHashMap<>();
    /** Databases with records staged since the last flush. */
    private final Set<DatabaseReplica> staged = new LinkedHashSet<>();

    /**
     * @param followed database ids to replicate; empty for every database in the journal
     * @param busyTimeout how long an apply waits for readers before logging and waiting again
     * @param maxBatchPages staged pages after which a batch is applied without waiting for the hand-over's end
     */
    public ReplicaEngine(Path directory, Set<String> followed, ReplicaListener listener, Duration busyTimeout,
            int maxBatchPages) {
        this.directory = directory.toAbsolutePath();
        this.followed = Set.copyOf(followed);
        this.listener = listener;
        this.busyTimeout = busyTimeout;
        this.maxBatchPages = maxBatchPages;
    }

    public boolean follows(String dbId) {
        return followed.isEmpty() || followed.contains(dbId);
    }

    /**
     * Opens the followed replicas already in the directory, recovering any apply a crash interrupted.
     *
     * @return their positions, where each resumes
     */
    public Map<String, ReplicaPosition> openExisting() {
        Map<String, ReplicaPosition> positions = new TreeMap<>();
        try {
            Files.createDirectories(directory);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the replica directory " + directory, e);
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, "*" + PositionFile.SUFFIX)) {
            for (Path positionFile : files) {
                String name = positionFile.getFileName().toString();
                Path replica = directory.resolve(name.substring(0, name.length() - PositionFile.SUFFIX.length()));
                PositionFile.Recorded recorded = PositionFile.peek(replica);
                if (recorded == null || !follows(recorded.dbId())) {
                    continue;
                }
                DatabaseReplica database = replica(recorded.dbId());
                database.open();
                if (!database.status().halted() && database.status().position().lsn() == 0) {
                    // Its first apply was interrupted: it holds nothing and, like a new replica, starts at a base entry.
                    replicas.remove(recorded.dbId()).close();
                    continue;
                }
                if (!database.status().halted()) {
                    positions.put(recorded.dbId(), database.status().position());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list replicas in " + directory, e);
        }
        return positions;
    }

    /** Whether the database's replica exists (opened or halted), so the journal before its position is not needed. */
    public boolean hasReplica(String dbId) {
        DatabaseReplica database = replicas.get(dbId);
        return database != null && (database.isStarted() || database.status().halted());
    }

    /** New replicas start at the base entries the start-up scan chose, or halt there when it found none usable. */
    public void startNewReplicas(Map<String, StartOffsets.NewReplica> newReplicas) {
        newReplicas.forEach((dbId, start) -> {
            DatabaseReplica database = replica(dbId);
            if (start.unusable() == null) {
                database.startAt(start.partition(), start.offset());
            } else {
                database.haltAtStart(start.unusable(), start.partition(), start.offset());
            }
        });
    }

    /**
     * Applies a poll's worth of records, in order.
     *
     * @throws CorruptEntryException at a record without a key: no database can be halted for it, so the service stops
     *     there (after applying the entries before it), and a restart stops at it again
     */
    public void process(Iterable<ConsumerRecord<byte[], byte[]>> records) {
        stage(records);
        flush();
    }

    /**
     * Checks and stages records, in order, without applying them: the next {@link #flush()} applies each database's
     * staged entries as one atomic batch (a database also applies on its own once its batch holds too many pages).
     *
     * @throws CorruptEntryException at a record without a key, after applying what was staged before it
     */
    public void stage(Iterable<ConsumerRecord<byte[], byte[]>> records) {
        for (ConsumerRecord<byte[], byte[]> record : records) {
            if (record.key() == null) {
                flush();
                throw new CorruptEntryException("journal record " + record.topic() + "-" + record.partition() + "@"
                        + record.offset() + " has no key (db id): not a Pagestream journal record; nothing from it on is applied");
            }
            String dbId = new String(record.key(), StandardCharsets.UTF_8);
            if (!follows(dbId)) {
                continue;
            }
            DatabaseReplica database = replica(dbId);
            database.accept(record);
            staged.add(database);
        }
    }

    /** Applies every database's staged entries. */
    public void flush() {
        for (DatabaseReplica database : staged) {
            database.flush();
        }
        staged.clear();
    }

    /**
     * The offset to report as consumed for a partition: the next one to read, held back to where the earliest halted
     * replica on that partition stopped, so that its lag shows in Kafka tooling.
     */
    public long reportableOffset(int partition, long nextOffset) {
        long offset = nextOffset;
        for (DatabaseReplica database : replicas.values()) {
            long[] haltedAt = database.haltedAt();
            if (haltedAt != null && haltedAt[0] == partition) {
                offset = Math.min(offset, haltedAt[1]);
            }
        }
        return offset;
    }

    /**
     * Whether the database's replica has applied entries up to {@code lsn}.
     *
     * @throws PagestreamException why it halted, if it did
     */
    public boolean hasApplied(String dbId, long lsn) {
        DatabaseReplica database = replicas.get(dbId);
        ReplicaStatus status = database == null ? null : database.status();
        if (status != null && status.halted()) {
            throw status.error();
        }
        return status != null && status.position().lsn() >= lsn;
    }

    public Map<String, ReplicaStatus> status() {
        Map<String, ReplicaStatus> status = new LinkedHashMap<>();
        new TreeMap<>(replicas).forEach((dbId, database) -> status.put(dbId, database.status()));
        return status;
    }

    private DatabaseReplica replica(String dbId) {
        return replicas.computeIfAbsent(dbId,
                id -> new DatabaseReplica(id, directory.resolve(fileName(id)), busyTimeout, maxBatchPages, listener));
    }

    /** The replica's file name for a db id: the id, percent-encoding anything but letters, digits, '.', '_' and '-'. */
    public static String fileName(String dbId) {
        StringBuilder name = new StringBuilder();
        for (byte b : dbId.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xFF;
            boolean plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'
                    || (c == '.' && name.length() > 0);
            if (plain) {
                name.append((char) c);
            } else {
                name.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xF, 16)));
            }
        }
        return name.toString();
    }

    @Override
    public void close() {
        staged.clear();
        for (DatabaseReplica database : replicas.values()) {
            try {
                database.close();
            } catch (RuntimeException e) {
                log.warn("closing the replica of {} failed: {}", database.status().dbId(), e.toString());
            }
        }
        replicas.clear();
    }
}
