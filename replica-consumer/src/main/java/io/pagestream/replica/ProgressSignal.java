package io.pagestream.replica;

import io.pagestream.schemas.PagestreamException;
import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Tells the application's listener what the replica does, and wakes the threads waiting in {@link Replica#await}. */
final class ProgressSignal implements ReplicaListener {
    private final ReplicaListener listener;

    ProgressSignal(ReplicaListener listener) {
        this.listener = listener;
    }

    @Override
    public void applied(String dbId, ReplicaPosition position, int entries) {
        listener.applied(dbId, position, entries);
        signal();
    }

    @Override
    public void halted(String dbId, PagestreamException error) {
        listener.halted(dbId, error);
        signal();
    }

    /** Something a waiter checks changed (an apply, a halt, the service stopping). */
    synchronized void signal() {
        notifyAll();
    }

    /**
     * Waits until {@code reached} is true (checked at once and after each signal) or the timeout passes.
     *
     * @return whether it was reached
     */
    synchronized boolean await(BooleanSupplier reached, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!reached.getAsBoolean()) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            wait(left / 1_000_000, (int) (left % 1_000_000));
        }
        return true;
    }
}
