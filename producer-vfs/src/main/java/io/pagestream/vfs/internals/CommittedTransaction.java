package io.pagestream.vfs.internals;

import io.pagestream.schemas.avro.JournalEntry;

/**
 * A committed transaction's entry, staged in the outbox and handed to the publisher.
 *
 * @param entry the entry; a whole-database entry's holds its fields only (its pages are in {@code payload})
 * @param payload the entry encoded ({@code JournalCodec.encodeEntry}), as the outbox holds it
 * @param sync the COMMIT waiting for Kafka's acknowledgement; null in async mode
 */
record CommittedTransaction(TrackedDatabase db, JournalEntry entry, EntryPayload payload, SyncCommit sync) {

    enum Kind {
        DIFF,
        BASE,
        /** Every page, because the page size changed: verified against the previous checksum. */
        REWRITE
    }
}
