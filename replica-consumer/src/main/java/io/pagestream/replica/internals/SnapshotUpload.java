package io.pagestream.replica.internals;

import io.pagestream.replica.ReplicaPosition;
import io.pagestream.schemas.ChecksumMismatchException;
import io.pagestream.schemas.JournalContract;
import io.pagestream.schemas.PageChecksum;
import io.pagestream.schemas.PagestreamException;
import io.pagestream.schemas.SnapshotCodec;
import io.pagestream.schemas.SnapshotContract;
import io.pagestream.schemas.avro.RestorePoint;
import io.pagestream.schemas.avro.SnapshotChunk;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * Publishes one snapshot: a frozen copy of a database file at a known position, sent as chunks a bounded number of
 * bytes per call (so a large database spreads over many calls and never sits in memory), then described by the restore
 * point that lists its chunks. Deletes the copy when closed.
 */
public final class SnapshotUpload implements AutoCloseable {
    private final Producer<byte[], byte[]> producer;
    private final String topic;
    private final int partition;
    private final String dbId;
    private final String snapshotId = UUID.randomUUID().toString();
    private final Path copy;
    private final FileChannel file;
    private final ReplicaPosition position;
    private final int pagesPerChunk;
    private final int chunkCount;
    private final List<Future<RecordMetadata>> sent = new ArrayList<>();
    /** Chunks before this index are acknowledged (in send order; later ones may be too). */
    private int acknowledged;
    private long nextPgno = 1;
    private long checksum = JournalContract.EMPTY_CHECKSUM;

    /**
     * @param copy a file holding the database exactly as of {@code position}, owned (and deleted) by this upload
     * @param chunkBytes page bytes per chunk at most (at least one page per chunk)
     */
    public SnapshotUpload(Producer<byte[], byte[]> producer, String topic, int partition, String dbId, Path copy,
            ReplicaPosition position, int chunkBytes) throws IOException {
        this.producer = producer;
        this.topic = topic;
        this.partition = partition;
        this.dbId = dbId;
        this.copy = copy;
        this.position = position;
        this.file = FileChannel.open(copy);
        long expected = position.pageCount() * position.pageSize();
        if (file.size() != expected) {
            file.close();
            throw new PagestreamException("snapshot of db " + dbId + " at LSN " + position.lsn() + ": " + copy + " holds "
                    + file.size() + " bytes, not " + position.pageCount() + " pages of " + position.pageSize());
        }
        this.pagesPerChunk = position.pageSize() == 0 ? 1 : Math.max(1, chunkBytes / position.pageSize());
        this.chunkCount = (int) Math.max(1, (position.pageCount() + pagesPerChunk - 1) / pagesPerChunk);
    }

    public String snapshotId() {
        return snapshotId;
    }

    public long totalBytes() {
        return position.pageCount() * position.pageSize();
    }

    public long bytesSent() {
        return (nextPgno - 1) * position.pageSize();
    }

    public boolean allSent() {
        return sent.size() == chunkCount;
    }

    /** Page bytes of the chunks sent that Kafka has not acknowledged yet. */
    public long unacknowledgedBytes() {
        while (acknowledged < sent.size() && sent.get(acknowledged).isDone()) {
            acknowledged++;
        }
        return (long) (sent.size() - acknowledged) * pagesPerChunk * position.pageSize();
    }

    /** Sends chunks until about {@code maxBytes} were sent or none is left; true when every chunk is sent. */
    public boolean sendSome(long maxBytes) throws IOException {
        long budget = maxBytes;
        while (!allSent() && budget > 0) {
            long pages = Math.min(pagesPerChunk, position.pageCount() - nextPgno + 1);
            int pageSize = position.pageSize();
            byte[] bytes = new byte[(int) (pages * pageSize)];
            readFully(bytes, (nextPgno - 1) * pageSize);
            long chunkChecksum = pages == 0 ? JournalContract.EMPTY_CHECKSUM : PageChecksum.ofPages(nextPgno, bytes, (int) pages, pageSize);
            int index = sent.size();
            SnapshotChunk chunk = new SnapshotChunk(dbId, snapshotId, position.lsn(), index, chunkCount, pageSize, nextPgno,
                    ByteBuffer.wrap(bytes), chunkChecksum);
            sent.add(producer.send(new ProducerRecord<>(topic, partition, SnapshotContract.chunkKey(dbId, snapshotId, index),
                    SnapshotCodec.encodeChunk(chunk))));
            checksum ^= chunkChecksum;
            nextPgno += pages;
            budget -= Math.max(1, bytes.length);
        }
        return allSent();
    }

    /**
     * Once every chunk is sent: waits until Kafka acknowledged each of them and returns the restore point naming them.
     *
     * @throws ChecksumMismatchException if the copy's pages do not add up to the position's checksum (it was not the
     *     database at that position)
     */
    public RestorePoint complete(Duration timeout, long createdMillis) throws InterruptedException, TimeoutException {
        if (!allSent()) {
            throw new IllegalStateException("snapshot " + snapshotId + " of db " + dbId + " has chunks left to send");
        }
        if (checksum != position.checksum()) {
            throw new ChecksumMismatchException("snapshot " + snapshotId + " of db " + dbId + " at LSN " + position.lsn()
                    + ": the copied pages do not match the position's checksum", position.checksum(), checksum);
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        long first = Long.MAX_VALUE;
        long last = -1;
        for (Future<RecordMetadata> chunk : sent) {
            RecordMetadata metadata;
            try {
                metadata = chunk.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (ExecutionException e) {
                throw new PagestreamException("snapshot " + snapshotId + " of db " + dbId + ": a chunk was not written to "
                        + topic + ": " + e.getCause(), e.getCause());
            }
            first = Math.min(first, metadata.offset());
            last = Math.max(last, metadata.offset());
        }
        return new RestorePoint(snapshotId, position.lsn(), position.commitTimeMillis(), position.pageSize(),
                position.pageCount(), position.checksum(), chunkCount, partition, first, last, position.partition(),
                position.offset(), createdMillis);
    }

    private void readFully(byte[] into, long at) throws IOException {
        ByteBuffer buffer = ByteBuffer.wrap(into);
        while (buffer.hasRemaining()) {
            if (file.read(buffer, at + buffer.position()) < 0) {
                throw new IOException(copy + " ended at byte " + (at + buffer.position()) + " while taking snapshot " + snapshotId);
            }
        }
    }

    @Override
    public void close() {
        try {
            file.close();
            Files.deleteIfExists(copy);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
