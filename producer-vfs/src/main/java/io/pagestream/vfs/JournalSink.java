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
     * Publishes the records of consecutive entries of one database, in order, after every record sent before — all
     * of them or none (Kafka: one transaction). The records of an entry too large to hold in memory (a base entry of a
     * large database) are read from the outbox as the list is read, each time it is read: a sink that takes them one
     * by one, keeping none, holds about one at a time.
     *
     * @return completes when every record is acknowledged, exceptionally when they cannot be
     */
    CompletableFuture<Void> send(List<JournalRecord> records);

    /**
     * Makes this writer the database's only one: a writer that claimed it before can publish nothing more (Kafka: its
     * transactional id is fenced), and anything this writer left unfinished is dropped (an open transaction aborted).
     */
    void claim(String dbId);

    /**
     * The newest entry of {@code dbId} in the journal, read back from the journal itself (committed records only), so
     * the LSN chain never reuses a number.
     *
     * @throws io.pagestream.schemas.RetriablePagestreamException when it cannot be known now: the journal is
     *     unreachable, or ({@link JournalEndHiddenException}) a Kafka transaction still open hides what follows it
     */
    Optional<JournalPosition> lastPosition(String dbId);

    /** The largest record value this sink accepts; larger entries are fragmented to fit. */
    int maxRecordBytes();

    /** Waits for outstanding sends, then releases resources. */
    @Override
    void close();
}
