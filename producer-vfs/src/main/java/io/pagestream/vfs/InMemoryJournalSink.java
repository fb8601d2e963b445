package io.pagestream.vfs;

import io.pagestream.schemas.JournalRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** A {@link JournalSink} that keeps records in memory, acknowledging each at once. For tests. */
public final class InMemoryJournalSink implements JournalSink {
    private final List<JournalRecord> records = new ArrayList<>();
    private final int maxRecordBytes;

    public InMemoryJournalSink(int maxRecordBytes) {
        this.maxRecordBytes = maxRecordBytes;
    }

    @Override
    public synchronized CompletableFuture<Void> send(List<JournalRecord> batch) {
        records.addAll(batch);
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public int maxRecordBytes() {
        return maxRecordBytes;
    }

    /** Every record sent so far, in order. */
    public synchronized List<JournalRecord> records() {
        return List.copyOf(records);
    }

    @Override
    public void close() {}
}
