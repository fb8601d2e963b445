package io.pagestream.vfs;

import io.pagestream.schemas.JournalContract;
import io.pagestream.schemas.JournalRecord;
import io.pagestream.schemas.RetriablePagestreamException;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiFunction;
import java.util.function.LongPredicate;

/** An in-memory journal whose acknowledgement of each entry (by LSN) the test decides. */
final class FlakySink implements JournalSink {
    final InMemoryJournalSink journal = new InMemoryJournalSink(1 << 20);
    volatile LongPredicate failing = lsn -> false;
    /** Kafka away: nothing can be sent, claimed or read. */
    volatile boolean unreachable;
    /** Replaces the whole send when set: (lsn, records) -> acknowledgement. */
    volatile BiFunction<Long, List<JournalRecord>, CompletableFuture<Void>> sender;

    /** Kafka takes the entry {@code lsn}, then goes away before acknowledging it (and stays away). */
    void takeThenGoAway(long lsn) {
        sender = (sent, records) -> {
            if (sent == lsn) {
                journal.send(records);
                unreachable = true;
                return CompletableFuture.failedFuture(new IllegalStateException("connection lost"));
            }
            return journal.send(records);
        };
    }

    @Override
    public CompletableFuture<Void> send(List<JournalRecord> records) {
        long lsn = Long.parseLong(VfsTestSupport.header(records.getFirst(), JournalContract.HEADER_LSN));
        if (sender != null) {
            return sender.apply(lsn, records);
        }
        if (unreachable || failing.test(lsn)) {
            return CompletableFuture.failedFuture(new IllegalStateException("broker gone"));
        }
        return journal.send(records);
    }

    @Override
    public void claim(String dbId) {
        if (unreachable) {
            throw new RetriablePagestreamException("cannot claim db " + dbId + ": broker gone", null);
        }
        journal.claim(dbId);
    }

    @Override
    public Optional<JournalPosition> lastPosition(String dbId) {
        if (unreachable) {
            throw new RetriablePagestreamException("cannot read the end of db " + dbId + ": broker gone", null);
        }
        return journal.lastPosition(dbId);
    }

    @Override
    public int maxRecordBytes() {
        return journal.maxRecordBytes();
    }

    @Override
    public void close() {}
}
