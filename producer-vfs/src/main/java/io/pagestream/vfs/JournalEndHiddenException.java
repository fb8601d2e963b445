package io.pagestream.vfs;

import io.pagestream.schemas.RetriablePagestreamException;

/**
 * Where a database's journal ends cannot be read yet: a Kafka transaction still open in its partition hides the
 * committed records that follow it (see {@link JournalSink#lastPosition}). Retriable: the transaction finishes, or the
 * broker aborts it after {@code transaction.timeout.ms}.
 */
public class JournalEndHiddenException extends RetriablePagestreamException {
    private final boolean ownTransaction;

    public JournalEndHiddenException(String message, boolean ownTransaction) {
        super(message);
        this.ownTransaction = ownTransaction;
    }

    /** Whether the database's own transactional id holds an open transaction there (claiming the database aborts it). */
    public boolean ownTransaction() {
        return ownTransaction;
    }
}
