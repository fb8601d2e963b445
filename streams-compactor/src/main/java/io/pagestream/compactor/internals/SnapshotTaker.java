package io.pagestream.compactor.internals;

import io.pagestream.replica.ReplicaStatus;
import io.pagestream.replica.internals.ReplicaEngine;
import io.pagestream.replica.internals.SnapshotUpload;
import io.pagestream.schemas.PagestreamException;
import io.pagestream.schemas.avro.RestorePoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.Producer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A stream task's snapshot under way, one at a time: a copy of the database's replica file sent as chunks, a bounded
 * number of bytes per step, until Kafka acknowledged every chunk. Never waits for Kafka: a step finds the
 * acknowledgements there or looks again at the next step.
 */
final class SnapshotTaker implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SnapshotTaker.class);

    private final Producer<byte[], byte[]> producer;
    private final String topic;
    private final int partitions;
    private final Path copies;
    private final int chunkBytes;
    private final long bytesPerStep;
    private SnapshotUpload upload;
    private String dbId;
    private long lsn;

    SnapshotTaker(Producer<byte[], byte[]> producer, String topic, int partitions, Path copies, int chunkBytes,
            long bytesPerStep) {
        this.producer = producer;
        this.topic = topic;
        this.partitions = partitions;
        this.copies = copies;
        this.chunkBytes = chunkBytes;
        this.bytesPerStep = bytesPerStep;
    }

    /** A snapshot whose every chunk Kafka acknowledged. */
    record Taken(String dbId, RestorePoint point) {}

    boolean busy() {
        return upload != null;
    }

    /** Starts a snapshot of a database whose replica file no apply changes until this returns; sends a first step. */
    void start(ReplicaStatus replica) {
        dbId = replica.dbId();
        lsn = replica.position().lsn();
        Path copy = copies.resolve(ReplicaEngine.fileName(dbId) + "." + System.nanoTime() + ".copy");
        try {
            Files.copy(replica.file(), copy, StandardCopyOption.REPLACE_EXISTING);
            upload = new SnapshotUpload(producer, topic, ChunkPartitioner.partition(dbId, partitions), dbId, copy,
                    replica.position(), chunkBytes);
        } catch (IOException | RuntimeException e) {
            deleteQuietly(copy);
            log.error("snapshot of db {} at LSN {} not started: {}", dbId, lsn, e.toString());
            return;
        }
        log.debug("snapshot {} of db {} at LSN {} started: {} bytes", upload.snapshotId(), dbId, lsn, upload.totalBytes());
        step(System.currentTimeMillis());
    }

    /** Sends the next chunks, or once all are sent, returns the restore point when Kafka acknowledged them all. */
    Optional<Taken> step(long nowMillis) {
        if (upload == null) {
            return Optional.empty();
        }
        try {
            if (!upload.allSent()) {
                // Tops up what Kafka has not acknowledged yet to the step's bytes: the producer's buffer never fills,
                // so a send never blocks the stream thread.
                long budget = bytesPerStep - upload.unacknowledgedBytes();
                if (budget > 0) {
                    upload.sendSome(budget);
                }
                return Optional.empty();
            }
            RestorePoint point = upload.complete(Duration.ZERO, nowMillis);
            abandon();
            return Optional.of(new Taken(dbId, point));
        } catch (TimeoutException e) {
            return Optional.empty(); // acknowledgements still on their way
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail(e.toString());
        } catch (IOException | RuntimeException e) {
            fail(e instanceof PagestreamException ? e.getMessage() : e.toString());
        }
        return Optional.empty();
    }

    private void fail(String reason) {
        // Chunks already in the topic stay there unlisted: no restore point ever names them.
        log.error("snapshot {} of db {} at LSN {} abandoned: {}", upload.snapshotId(), dbId, lsn, reason);
        abandon();
    }

    private void abandon() {
        SnapshotUpload closing = upload;
        upload = null;
        closing.close();
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            log.warn("cannot delete snapshot copy {}: {}", file, e.toString());
        }
    }

    @Override
    public void close() {
        if (upload != null) {
            log.info("snapshot {} of db {} at LSN {} abandoned: the task is closing", upload.snapshotId(), dbId, lsn);
            abandon();
        }
    }
}
