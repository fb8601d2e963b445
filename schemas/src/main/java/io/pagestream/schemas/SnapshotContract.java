package io.pagestream.schemas;

import java.nio.charset.StandardCharsets;

/**
 * The snapshot contract: how a database's complete page set at one LSN is kept in Kafka, and how its restore points
 * are listed.
 *
 * <h2>Snapshots topic</h2>
 * {@code <journal topic>}{@link #SNAPSHOTS_SUFFIX}, {@code cleanup.policy=compact}. A snapshot is {@code count}
 * {@code SnapshotChunk} records (schemas/src/main/avro), all in one partition, each holding whole consecutive page
 * images and the XOR of their page checksums ({@link JournalContract#CHECKSUM_DEFINITION}); the XOR over its chunks is
 * the database checksum, equal to the post-checksum of the journal entry at the snapshot's LSN. Record key:
 * {@link #chunkKey}; an expired snapshot's chunks are deleted by tombstones under the same keys. Chunks of an attempt
 * that never completed may stay in the topic; nothing points at them.
 *
 * <h2>Catalog topic</h2>
 * {@code <journal topic>}{@link #CATALOG_SUFFIX}, one partition, {@code cleanup.policy=compact}. Key: the db id
 * (UTF-8); value: a {@code CatalogEntry} listing every restore point of the database, oldest first. A restore point
 * names the partition and offset range of its chunks and the journal record its snapshot was taken after; it is
 * written only once every chunk it names is in Kafka, so a restore point is always complete.
 */
public final class SnapshotContract {
    private SnapshotContract() {}

    public static final String SNAPSHOTS_SUFFIX = ".snapshots";
    public static final String CATALOG_SUFFIX = ".catalog";

    public static String snapshotsTopic(String journalTopic) {
        return journalTopic + SNAPSHOTS_SUFFIX;
    }

    public static String catalogTopic(String journalTopic) {
        return journalTopic + CATALOG_SUFFIX;
    }

    /** Key of a chunk record: {@code <db id>/<snapshot id>/<index>}, UTF-8. */
    public static byte[] chunkKey(String dbId, String snapshotId, int index) {
        return (dbId + "/" + snapshotId + "/" + index).getBytes(StandardCharsets.UTF_8);
    }
}
