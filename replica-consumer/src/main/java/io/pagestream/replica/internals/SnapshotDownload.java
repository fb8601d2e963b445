package io.pagestream.replica.internals;

import io.pagestream.replica.RestoreProgress;
import io.pagestream.schemas.ChecksumMismatchException;
import io.pagestream.schemas.CorruptEntryException;
import io.pagestream.schemas.JournalContract;
import io.pagestream.schemas.PageChecksum;
import io.pagestream.schemas.SnapshotCodec;
import io.pagestream.schemas.SnapshotContract;
import io.pagestream.schemas.avro.RestorePoint;
import io.pagestream.schemas.avro.SnapshotChunk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.BitSet;
import java.util.function.Consumer;
import org.apache.kafka.common.TopicPartition;

/**
 * Writes one restore point's chunks into a file, one chunk in memory at a time, and verifies that every chunk
 * arrived once, intact, and that together they are the database at the restore point's LSN.
 */
public final class SnapshotDownload {
    private final PartitionReader reader;
    private final String snapshotsTopic;
    private final String dbId;
    private final RestorePoint point;
    private final Consumer<RestoreProgress> progress;

    public SnapshotDownload(PartitionReader reader, String journalTopic, String dbId, RestorePoint point,
            Consumer<RestoreProgress> progress) {
        this.reader = reader;
        this.snapshotsTopic = SnapshotContract.snapshotsTopic(journalTopic);
        this.dbId = dbId;
        this.point = point;
        this.progress = progress;
    }

    /**
     * Writes the snapshot into an empty file.
     *
     * @throws CorruptEntryException naming the db, snapshot and chunk when a chunk is missing, repeated, damaged or does
     *     not belong; {@link ChecksumMismatchException} when the chunks together are not the restore point's database
     */
    public void writeTo(FileChannel file) throws IOException {
        String snapshot = "db " + dbId + ", snapshot " + point.getSnapshotId() + " (LSN " + point.getLsn() + ")";
        TopicPartition partition = new TopicPartition(snapshotsTopic, point.getSnapshotPartition());
        String keyPrefix = dbId + "/" + point.getSnapshotId() + "/";
        long totalBytes = point.getPageCount() * point.getPageSize();
        BitSet arrived = new BitSet(point.getChunkCount());
        long[] written = {0, 0}; // bytes, pages: updated inside the record handler
        long end = Math.min(point.getLastChunkOffset() + 1, reader.endOffset(partition));
        reader.read(partition, point.getFirstChunkOffset(), end, record -> {
            if (record.key() == null || !new String(record.key(), StandardCharsets.UTF_8).startsWith(keyPrefix)) {
                return true;
            }
            String origin = PartitionReader.origin(record);
            if (record.value() == null) {
                throw new CorruptEntryException(snapshot + ": chunk " + chunkIndexOf(record.key(), keyPrefix)
                        + " was deleted (tombstone at " + origin + ")");
            }
            SnapshotChunk chunk;
            try {
                chunk = SnapshotCodec.decodeChunk(record.value(), origin);
            } catch (ChecksumMismatchException e) {
                throw new ChecksumMismatchException(snapshot + ": chunk " + chunkIndexOf(record.key(), keyPrefix) + " at "
                        + origin + " is damaged", e.expected(), e.actual());
            } catch (CorruptEntryException e) {
                throw new CorruptEntryException(snapshot + ": chunk " + chunkIndexOf(record.key(), keyPrefix) + " at "
                        + origin + " is unreadable: " + e.getMessage(), e);
            }
            int index = chunk.getIndex();
            int pages = chunk.getPages().remaining() / chunk.getPageSize();
            if (!chunk.getDbId().equals(dbId) || !chunk.getSnapshotId().equals(point.getSnapshotId())
                    || chunk.getLsn() != point.getLsn() || chunk.getCount() != point.getChunkCount()
                    || chunk.getPageSize() != point.getPageSize()
                    || chunk.getFirstPgno() + pages - 1 > point.getPageCount()) {
                throw new CorruptEntryException(snapshot + ": chunk " + index + " at " + origin
                        + " does not belong to it (LSN " + chunk.getLsn() + ", " + chunk.getCount() + " chunks, pages "
                        + chunk.getFirstPgno() + ".." + (chunk.getFirstPgno() + pages - 1) + " of " + chunk.getPageSize()
                        + " bytes)");
            }
            if (arrived.get(index)) {
                throw new CorruptEntryException(snapshot + ": chunk " + index + " arrived twice (again at " + origin + ")");
            }
            arrived.set(index);
            ByteBuffer bytes = chunk.getPages().duplicate();
            long at = (chunk.getFirstPgno() - 1) * point.getPageSize();
            while (bytes.hasRemaining()) {
                file.write(bytes, at + bytes.position() - chunk.getPages().position());
            }
            written[0] += chunk.getPages().remaining();
            written[1] += pages;
            progress.accept(new RestoreProgress(RestoreProgress.Stage.DOWNLOAD, written[0], totalBytes, written[0], written[1]));
            return arrived.cardinality() < point.getChunkCount();
        });
        int missing = arrived.nextClearBit(0);
        if (missing < point.getChunkCount()) {
            throw new CorruptEntryException(snapshot + ": chunk " + missing + " of " + point.getChunkCount()
                    + " is missing from " + partition + " offsets " + point.getFirstChunkOffset() + ".."
                    + point.getLastChunkOffset());
        }
        if (file.size() != totalBytes || written[1] != point.getPageCount()) {
            throw new CorruptEntryException(snapshot + ": its chunks hold " + written[1] + " pages (" + file.size()
                    + " bytes), not " + point.getPageCount() + " pages of " + point.getPageSize() + " bytes");
        }
        // The chunks' checksums cover each chunk alone; scanning the file also catches overlapping or missing pages.
        long checksum = point.getPageCount() == 0 ? JournalContract.EMPTY_CHECKSUM
                : PageChecksum.scan(file, point.getPageSize());
        if (checksum != point.getChecksum()) {
            throw new ChecksumMismatchException(snapshot + ": its chunks together are not the database at LSN "
                    + point.getLsn(), point.getChecksum(), checksum);
        }
    }

    private static String chunkIndexOf(byte[] key, String keyPrefix) {
        return new String(key, StandardCharsets.UTF_8).substring(keyPrefix.length());
    }
}
