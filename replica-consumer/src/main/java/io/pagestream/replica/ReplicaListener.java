package io.pagestream.replica;

import io.pagestream.schemas.PagestreamException;

/** Told what a replica does; called on the replica's thread, so keep it quick. */
public interface ReplicaListener {
    /** Entries up to {@code position} are applied and visible to readers. */
    default void applied(String dbId, ReplicaPosition position, int entries) {}

    /** The database's replica stopped at its current position; the other databases go on. */
    default void halted(String dbId, PagestreamException error) {}

    ReplicaListener NONE = new ReplicaListener() {};
}
