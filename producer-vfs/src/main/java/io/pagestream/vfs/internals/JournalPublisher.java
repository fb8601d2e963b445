package io.pagestream.vfs.internals;

import io.pagestream.schemas.JournalCodec;
import io.pagestream.schemas.JournalRecord;
import io.pagestream.schemas.avro.JournalEntry;
import io.pagestream.vfs.JournalEndHiddenException;
import io.pagestream.vfs.JournalPosition;
import io.pagestream.vfs.JournalSink;
import io.pagestream.vfs.WriterFencedException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes committed entries (built and staged in the outbox on the committing thread) off the commit path: one
 * thread sends each database's entries to the sink in commit order, several at a time; each acknowledgement
 * records the database's position in its state file and releases the entries from the outbox. A batch the sink
 * cannot take is retried, after asking the sink where the database's journal ends, so nothing is published twice
 * or skipped; a database fenced by another writer publishes nothing more.
 */
public final class JournalPublisher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(JournalPublisher.class);

    /**
     * Busy publishing polls every few milliseconds (rarely enough not to compete with the writer for the CPU);
     * after a quiet spell it sleeps until a commit wakes it. A waiting synchronous commit wakes it at once.
     */
    private static final long POLL_NANOS = 5_000_000;
    private static final long QUIET_BEFORE_SLEEP_NANOS = 50_000_000;
    /** Records of one database sent in one sink call (one Kafka transaction). */
    private static final long BATCH_BYTES = 4L << 20;
    private static final long FIRST_RETRY_NANOS = 200_000_000;
    private static final long LONGEST_RETRY_NANOS = 5_000_000_000L;

    private final JournalSink sink;
    /** Shortest time between two batches of one database (publish.interval.ms), unless a COMMIT or a flush waits. */
    private final long intervalNanos;
    private final Duration closeTimeout;
    /** Callers of {@link #flush} waiting: everything goes at once. */
    private final AtomicInteger flushing = new AtomicInteger();
    private final ConcurrentLinkedQueue<CommittedTransaction> queue = new ConcurrentLinkedQueue<>();
    /** Publisher thread only: each database's entries not yet acknowledged, in LSN order. */
    private final Map<TrackedDatabase, Backlog> backlogs = new LinkedHashMap<>();
    private volatile boolean sleeping;
    private volatile boolean stopping;
    private final Thread thread;
    private final Object progress = new Object();
    private final LongAdder enqueued = new LongAdder();
    private long completed;
    private long failed;

    /** A database's unacknowledged entries and its retry state. */
    private static final class Backlog {
        final ArrayDeque<CommittedTransaction> entries = new ArrayDeque<>();
        long retryAt;
        long retryDelay;
        /** When the last batch was sent: an entry after a quiet spell goes at once. */
        long lastSentAt;
        /** A synchronous COMMIT is waiting: send without waiting for the interval. */
        boolean urgent;
        /** After a failure: ask the sink where the journal ends before sending again. */
        boolean reclaim;
        boolean fenced;

        Backlog(long lastSentAt, boolean reclaim) {
            this.lastSentAt = lastSentAt;
            this.reclaim = reclaim;
        }
    }

    public JournalPublisher(JournalSink sink, String name, long intervalMs, Duration closeTimeout) {
        this.sink = sink;
        this.intervalNanos = intervalMs * 1_000_000;
        this.closeTimeout = closeTimeout;
        this.thread = Thread.ofPlatform().name(name + "-publisher").daemon(true).start(this::run);
    }

    /**
     * Called on the committing thread: no lock shared with the publisher, and a wake-up only after a quiet spell —
     * or at once for a synchronous COMMIT, which waits for the acknowledgement.
     */
    void enqueue(CommittedTransaction tx) {
        enqueued.increment();
        queue.add(tx);
        if (sleeping || tx.sync() != null) {
            LockSupport.unpark(thread);
        }
    }

    /**
     * Waits until every transaction committed so far is acknowledged (or failed) and its position recorded.
     *
     * @return false on timeout
     */
    public boolean flush(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        flushing.incrementAndGet();
        LockSupport.unpark(thread);
        try {
            synchronized (progress) {
                long target = enqueued.sum();
                while (completed < target) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return false;
                    }
                    TimeUnit.NANOSECONDS.timedWait(progress, left);
                }
            }
            return true;
        } finally {
            flushing.decrementAndGet();
        }
    }

    /** A committed transaction's entry never reached the publisher (see {@link TrackedDatabase#entryLost}). */
    void entryLost() {
        synchronized (progress) {
            failed++;
        }
    }

    /** Makes this process the database's only writer (see {@link JournalSink#claim}); called before any of its entries. */
    void claim(String dbId) {
        sink.claim(dbId);
    }

    /** The newest entry of a database in the journal (see {@link JournalSink#lastPosition}). */
    Optional<JournalPosition> lastPosition(String dbId) {
        return sink.lastPosition(dbId);
    }

    /** Entries that could not be published since start. */
    public long failedCount() {
        synchronized (progress) {
            return failed;
        }
    }

    private void run() {
        long idleSince = System.nanoTime();
        while (true) {
            for (CommittedTransaction tx = queue.poll(); tx != null; tx = queue.poll()) {
                // A database that went on without reading where its journal ends (Kafka was unreachable) reads it first:
                // Kafka may already hold entries its outbox carries.
                Backlog backlog = backlogs.computeIfAbsent(tx.db(),
                        db -> new Backlog(System.nanoTime() - intervalNanos, db.journalEndUnread()));
                if (backlog.fenced) {
                    if (tx.sync() != null) {
                        tx.sync().dropped(new WriterFencedException(tx.db().dbId, null));
                    }
                    done(1, true);
                } else {
                    backlog.entries.add(tx);
                    backlog.urgent |= tx.sync() != null;
                }
            }
            boolean sent = false;
            boolean hurry = stopping || flushing.get() > 0;
            long now = System.nanoTime();
            for (Map.Entry<TrackedDatabase, Backlog> entry : backlogs.entrySet()) {
                Backlog backlog = entry.getValue();
                if (!backlog.entries.isEmpty() && now - backlog.retryAt >= 0
                        && (backlog.urgent || hurry || now - backlog.lastSentAt >= intervalNanos)) {
                    // A batch cut at BATCH_BYTES (entries left, no failure) is followed at once: a backlog drains
                    // at Kafka's pace, not at one batch per interval.
                    if (publish(entry.getKey(), backlog) && backlog.entries.isEmpty()) {
                        backlog.lastSentAt = System.nanoTime();
                    }
                    backlog.urgent = backlog.entries.stream().anyMatch(tx -> tx.sync() != null);
                    sent = true;
                }
            }
            if (sent) {
                idleSince = System.nanoTime();
                continue;
            }
            if (stopping && queue.isEmpty()) {
                return;
            }
            // Entries waiting (for their interval, or to be retried): wake when the first is due.
            long wait = Long.MAX_VALUE;
            for (Backlog backlog : backlogs.values()) {
                if (!backlog.entries.isEmpty()) {
                    wait = Math.min(wait, Math.max(backlog.retryAt, backlog.lastSentAt + intervalNanos) - now);
                }
            }
            if (wait != Long.MAX_VALUE || System.nanoTime() - idleSince < QUIET_BEFORE_SLEEP_NANOS) {
                LockSupport.parkNanos(Math.max(1, Math.min(wait, POLL_NANOS)));
            } else {
                sleeping = true;
                if (queue.isEmpty() && !stopping) {
                    LockSupport.park();
                }
                sleeping = false;
            }
        }
    }

    /**
     * Sends the head of a database's backlog as one batch; on failure schedules a retry.
     *
     * @return whether the sink took a batch
     */
    private boolean publish(TrackedDatabase db, Backlog backlog) {
        try {
            if (backlog.reclaim) {
                // Claiming again would fence a writer that took over: look first, claim only if the journal is still ours.
                Optional<JournalPosition> before = endBeforeClaiming(db.dbId);
                if (before != null && !stillOurs(db, backlog, before)) {
                    return false;
                }
                sink.claim(db.dbId);
                Optional<JournalPosition> end = sink.lastPosition(db.dbId); // our own unfinished batch is now settled
                if (!stillOurs(db, backlog, end)) {
                    return false;
                }
                long published = end.map(JournalPosition::lsn).orElse(0L);
                List<CommittedTransaction> landed = new ArrayList<>();
                while (!backlog.entries.isEmpty() && backlog.entries.peekFirst().entry().getLsn() <= published) {
                    landed.add(backlog.entries.removeFirst()); // it did reach Kafka before the failure
                }
                acknowledge(db, landed);
                backlog.reclaim = false;
                if (backlog.entries.isEmpty()) {
                    return false;
                }
            }
            // A synchronous COMMIT that gave up withdrew its entry (always the newest): it must not be sent now.
            while (!backlog.entries.isEmpty() && backlog.entries.peekLast().sync() != null
                    && backlog.entries.peekLast().sync().withdrawn()) {
                backlog.entries.removeLast().sync().dropped(new IllegalStateException("withdrawn"));
                done(1, false);
            }
            if (backlog.entries.isEmpty()) {
                return false;
            }
            List<CommittedTransaction> batch = new ArrayList<>();
            long bytes = 0;
            for (CommittedTransaction tx : backlog.entries) {
                if (!batch.isEmpty() && bytes + tx.payload().length() > BATCH_BYTES) {
                    break;
                }
                batch.add(tx);
                bytes += tx.payload().length();
            }
            // An entry larger than a batch goes alone, its records read from the outbox as the sink takes them.
            List<JournalRecord> records = batch.size() == 1 ? batch.getFirst().payload().records(batch.getFirst().entry(),
                    sink.maxRecordBytes()) : new ArrayList<>();
            if (batch.size() > 1) {
                batch.forEach(tx -> records.addAll(tx.payload().records(tx.entry(), sink.maxRecordBytes())));
            }
            sink.send(records).join();
            for (int i = 0; i < batch.size(); i++) {
                backlog.entries.removeFirst();
            }
            acknowledge(db, batch);
            backlog.retryDelay = 0;
            return true;
        } catch (Throwable e) {
            Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
            backlog.retryDelay = Math.min(LONGEST_RETRY_NANOS, Math.max(FIRST_RETRY_NANOS, backlog.retryDelay * 2));
            backlog.retryAt = System.nanoTime() + backlog.retryDelay;
            backlog.reclaim = true;
            log.error("pagestream: publishing db {} from LSN {} failed ({} entries waiting in its outbox); retrying in {} ms",
                    db.dbId, backlog.entries.peekFirst().entry().getLsn(), backlog.entries.size(),
                    backlog.retryDelay / 1_000_000, cause);
            return false;
        }
    }

    /**
     * The journal's end before claiming the database again, or null when this writer's own transaction, left open when
     * its send failed, hides it: claiming aborts that, and the end is read again after. Hidden by anyone else's open
     * transaction, the end stays unknown and the batch is retried (claiming blind could fence a writer that took over).
     */
    private Optional<JournalPosition> endBeforeClaiming(String dbId) {
        try {
            return sink.lastPosition(dbId);
        } catch (JournalEndHiddenException e) {
            if (!e.ownTransaction()) {
                throw e;
            }
            log.debug("pagestream: {}; claiming db {} again first", e.getMessage(), dbId);
            return null;
        }
    }

    /**
     * Whether the journal's end, read back after a failure, is one of this writer's: the position just before the
     * backlog, or one of the backlog's entries that reached Kafka before the failure was seen. If not, another writer
     * took the database over, and this one is fenced.
     */
    private boolean stillOurs(TrackedDatabase db, Backlog backlog, Optional<JournalPosition> end) {
        JournalEntry first = backlog.entries.peekFirst().entry();
        long lsn = end.map(JournalPosition::lsn).orElse(0L);
        boolean ours = false;
        if (lsn == first.getLsn() - 1) {
            ours = first.getBase() || end.map(p -> p.postChecksum() == first.getPreChecksum()).orElse(lsn == 0);
        } else {
            for (CommittedTransaction tx : backlog.entries) {
                if (tx.entry().getLsn() == lsn) {
                    ours = tx.entry().getPostChecksum() == end.get().postChecksum();
                }
            }
        }
        if (!ours) {
            fence(db, backlog, new WriterFencedException(db.dbId, new IllegalStateException("the journal now ends at "
                    + end.map(p -> "LSN " + p.lsn()).orElse("nothing") + ", which this writer's entries do not continue")));
        }
        return ours;
    }

    /**
     * Kafka holds {@code batch} (consecutive entries of {@code db}): waiting synchronous COMMITs go on first, since
     * recording the position may wait on the file system; then the newest position is recorded once for the batch.
     */
    private void acknowledge(TrackedDatabase db, List<CommittedTransaction> batch) {
        if (batch.isEmpty()) {
            return;
        }
        for (CommittedTransaction tx : batch) {
            if (tx.sync() != null) {
                tx.sync().published();
            }
        }
        JournalEntry newest = batch.getLast().entry();
        try {
            db.acknowledged(new WriterStateFile.State(db.dbId, newest.getLsn(), newest.getPostChecksum(), newest.getPageSize(),
                    newest.getPageCount()));
        } catch (RuntimeException e) {
            log.error("pagestream: recording the position of db {} LSN {} failed", db.dbId, newest.getLsn(), e);
        } finally {
            done(batch.size(), false);
        }
    }

    /** Another writer took the database over: nothing of this process's may reach its journal any more. */
    private void fence(TrackedDatabase db, Backlog backlog, WriterFencedException error) {
        log.error("pagestream: {}; its {} unpublished entries stay in the outbox and are never published", error.getMessage(),
                backlog.entries.size());
        db.fenced(error);
        backlog.fenced = true;
        while (!backlog.entries.isEmpty()) {
            CommittedTransaction tx = backlog.entries.removeFirst();
            if (tx.sync() != null) {
                tx.sync().dropped(error);
            }
            done(1, true);
        }
    }

    private void done(int entries, boolean failure) {
        synchronized (progress) {
            completed += entries;
            if (failure) {
                failed += entries;
            }
            progress.notifyAll();
        }
    }

    /**
     * Publishes what is queued (for up to the close timeout), then stops at the first failed attempt or when nothing is
     * left; what is left stays in the outboxes.
     */
    @Override
    public void close() {
        try {
            if (!flush(closeTimeout)) {
                log.error("pagestream: closing with entries still unpublished after {}; they stay in the outbox and are"
                        + " published at the next start", closeTimeout);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        stopping = true;
        LockSupport.unpark(thread);
        try {
            // An attempt in flight finishes first (within the Kafka clients' own timeouts): once close returns nothing
            // may publish, or touch an outbox or state file, that a successor now owns.
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
