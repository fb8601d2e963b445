package io.pagestream.vfs.internals;

import io.pagestream.schemas.JournalCodec;
import io.pagestream.schemas.JournalRecord;
import io.pagestream.schemas.avro.JournalEntry;
import io.pagestream.vfs.JournalPosition;
import io.pagestream.vfs.JournalSink;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes committed entries (built and staged in the outbox on the committing thread) off the commit path: one
 * thread sends them to the sink in commit order; each acknowledgement records the database's position in its
 * state file and releases the entry from the outbox.
 */
public final class JournalPublisher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(JournalPublisher.class);

    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(30);

    private final JournalSink sink;
    /**
     * Busy publishing polls every few milliseconds (well inside the producer's 20 ms linger, and rarely enough not
     * to compete with the writer for the CPU); after a quiet spell it sleeps until a commit wakes it.
     */
    private static final long POLL_NANOS = 5_000_000;
    private static final long QUIET_BEFORE_SLEEP_NANOS = 50_000_000;

    private final ConcurrentLinkedQueue<CommittedTransaction> queue = new ConcurrentLinkedQueue<>();
    private volatile boolean sleeping;
    private volatile boolean stopping;
    private final Thread thread;
    private final Object progress = new Object();
    private final LongAdder enqueued = new LongAdder();
    private long completed;
    private long failed;

    public JournalPublisher(JournalSink sink, String name) {
        this.sink = sink;
        this.thread = Thread.ofPlatform().name(name + "-publisher").daemon(true).start(this::run);
    }

    /** Called on the committing thread: no lock shared with the publisher, and a wake-up only after a quiet spell. */
    void enqueue(CommittedTransaction tx) {
        enqueued.increment();
        queue.add(tx);
        if (sleeping) {
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
    }

    /** A committed transaction could not even be captured (e.g. out of memory): counted as a failed entry. */
    void captureFailed() {
        synchronized (progress) {
            failed++;
        }
    }

    /** The newest entry of a database already in the journal (see {@link JournalSink#lastPosition}). */
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
            CommittedTransaction tx = queue.poll();
            if (tx == null) {
                if (stopping) {
                    return;
                }
                if (System.nanoTime() - idleSince < QUIET_BEFORE_SLEEP_NANOS) {
                    LockSupport.parkNanos(POLL_NANOS);
                } else {
                    sleeping = true;
                    if (queue.isEmpty() && !stopping) {
                        LockSupport.park();
                    }
                    sleeping = false;
                }
                continue;
            }
            try {
                publish(tx);
            } catch (Throwable e) {
                fail(tx, e);
            }
            idleSince = System.nanoTime();
        }
    }

    private void publish(CommittedTransaction tx) {
        TrackedDatabase db = tx.db();
        JournalEntry entry = tx.entry();
        List<JournalRecord> records = JournalCodec.toRecords(entry, tx.payload(), sink.maxRecordBytes());
        WriterStateFile.State position = new WriterStateFile.State(db.dbId, entry.getLsn(), entry.getPostChecksum(),
                entry.getPageSize(), entry.getPageCount(), false);
        sink.send(records).whenComplete((ignored, error) -> {
            if (error != null) {
                fail(tx, error);
                return;
            }
            try {
                db.acknowledged(position, entry.getBase());
            } catch (RuntimeException e) {
                log.error("pagestream: recording the position of db {} LSN {} failed", db.dbId, entry.getLsn(), e);
            } finally {
                done(false);
            }
        });
    }

    private void fail(CommittedTransaction tx, Throwable error) {
        try {
            log.error("pagestream: publishing db {} LSN {} failed; the next commit of this db publishes a base entry so"
                    + " replicas can resume after the gap", tx.db().dbId, tx.entry().getLsn(), error);
            tx.db().publishFailed();
        } catch (RuntimeException | Error e) {
            tx.db().requireBase();
        } finally {
            done(true);
        }
    }

    private void done(boolean failure) {
        synchronized (progress) {
            completed++;
            if (failure) {
                failed++;
            }
            progress.notifyAll();
        }
    }

    /** Publishes what is queued, then stops. */
    @Override
    public void close() {
        stopping = true;
        LockSupport.unpark(thread);
        try {
            thread.join(CLOSE_TIMEOUT.toMillis());
            if (thread.isAlive() || !flush(CLOSE_TIMEOUT)) {
                log.error("pagestream: closing with entries still unpublished after {}; they are logged as failed by the"
                        + " sink when it closes", CLOSE_TIMEOUT);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
