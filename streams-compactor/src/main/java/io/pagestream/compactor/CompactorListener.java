package io.pagestream.compactor;

import io.pagestream.schemas.avro.RestorePoint;

/** Told what the compactor does; called on a stream thread, so keep it quick. */
public interface CompactorListener {
    /** Every chunk of the snapshot is in Kafka and its restore point goes to the catalog with the task's next commit. */
    default void snapshotTaken(String dbId, RestorePoint point) {}

    CompactorListener NONE = new CompactorListener() {};
}
