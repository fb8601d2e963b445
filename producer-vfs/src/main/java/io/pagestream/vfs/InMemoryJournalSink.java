package io.pagestream.vfs;

import io.pagestream.schemas.JournalRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/** A {@link JournalSink} that keeps records in memory, acknowledging each at once. For tests; one instance may serve several installations in turn, like a topic outliving its writers. */
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
    public void claim(String dbId) {}

    @Override
    public synchronized Optional<JournalPosition> lastPosition(String dbId) {
        for (int i = records.size() - 1; i >= 0; i--) {
            Optional<JournalPosition> position = JournalPositions.of(records.get(i));
            if (records.get(i).key().equals(dbId) && position.isPresent()) {
                return position;
            }
        }
        return Optional.empty();
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
