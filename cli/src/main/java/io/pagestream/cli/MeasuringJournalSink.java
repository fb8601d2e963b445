package io.pagestream.cli;

import io.pagestream.schemas.JournalRecord;
import io.pagestream.vfs.JournalPosition;
import io.pagestream.vfs.JournalSink;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/** Counts the bytes each database puts into Kafka (key + value + headers, as produced), then delegates. */
final class MeasuringJournalSink implements JournalSink {
    private final JournalSink delegate;
    private final ConcurrentHashMap<String, LongAdder> bytes = new ConcurrentHashMap<>();

    MeasuringJournalSink(JournalSink delegate) {
        this.delegate = delegate;
    }

    @Override
    public CompletableFuture<Void> send(List<JournalRecord> records) {
        for (JournalRecord record : records) {
            bytes.computeIfAbsent(record.key(), key -> new LongAdder()).add(record.serializedSize());
        }
        return delegate.send(records);
    }

    long bytes(String dbId) {
        LongAdder adder = bytes.get(dbId);
        return adder == null ? 0 : adder.sum();
    }

    @Override
    public void claim(String dbId) {
        delegate.claim(dbId);
    }

    @Override
    public Optional<JournalPosition> lastPosition(String dbId) {
        return delegate.lastPosition(dbId);
    }

    @Override
    public int maxRecordBytes() {
        return delegate.maxRecordBytes();
    }

    @Override
    public void close() {
        delegate.close();
    }
}
