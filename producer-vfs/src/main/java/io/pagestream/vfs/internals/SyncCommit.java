package io.pagestream.vfs.internals;

import java.util.concurrent.CompletableFuture;

/**
 * A synchronous COMMIT waiting for Kafka. When it gives up it withdraws the entry; {@link #landed} then tells
 * whether the entry reached the journal after all (it was already on its way), which the database's next commit
 * must know before it can continue the chain.
 */
final class SyncCommit {
    /** Completes when Kafka acknowledged the entry; exceptionally when this writer was fenced. */
    final CompletableFuture<Void> acknowledged = new CompletableFuture<>();
    /** Completes with whether the entry is in the journal, once the publisher knows for sure. */
    final CompletableFuture<Boolean> landed = new CompletableFuture<>();
    private volatile boolean withdrawn;

    void withdraw() {
        withdrawn = true;
    }

    boolean withdrawn() {
        return withdrawn;
    }

    /** Called by the publisher: the entry is in the journal. */
    void published() {
        acknowledged.complete(null);
        landed.complete(true);
    }

    /** Called by the publisher: the entry never reached the journal and never will. */
    void dropped(Throwable reason) {
        acknowledged.completeExceptionally(reason);
        landed.complete(false);
    }
}
