package io.pagestream.vfs;

import io.pagestream.schemas.RetriablePagestreamException;

/**
 * Where a database's journal ends cannot be read yet: a Kafka transaction still open in its partition hides the
 * committed records that follow it (see {@link JournalSink#lastPosition}). Retriable: the transaction finishes, or the
 * broker aborts it after {@code transaction.timeout.ms}.
 */
public class JournalEndHiddenException extends RetriablePagestreamException {
    public JournalEndHiddenException(String message) {
        super(message);
    }
}
