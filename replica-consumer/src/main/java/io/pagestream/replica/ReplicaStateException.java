package io.pagestream.replica;

import io.pagestream.schemas.PagestreamException;

/** A replica file that cannot be trusted or continued: changed outside the replica, or without its position. */
public class ReplicaStateException extends PagestreamException {
    public ReplicaStateException(String message) {
        super(message);
    }

    public ReplicaStateException(String message, Throwable cause) {
        super(message, cause);
    }
}
