package io.pagestream.vfs;

import io.pagestream.schemas.JournalRecord;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Where journal records go. Implementations: {@link KafkaJournalSink} (production) and
 * {@link InMemoryJournalSink} (tests). Called from one publisher thread.
 */
public interface JournalSink extends AutoCloseable {
    /**
     * Publishes one entry's records in order, after every record sent before.
     *
     * @return completes when every record is acknowledged, exceptionally when any cannot be
     */
    CompletableFuture<Void> send(List<JournalRecord> records);

    /**
     * The newest entry of {@code dbId} already in the journal, read back from the journal itself; used when a
     * writer's recorded position is missing or does not match its file, so the LSN chain never reuses a number.
     */
    Optional<JournalPosition> lastPosition(String dbId);

    /** The largest record value this sink accepts; larger entries are fragmented to fit. */
    int maxRecordBytes();

    /** Waits for outstanding sends, then releases resources. */
    @Override
    void close();
}
