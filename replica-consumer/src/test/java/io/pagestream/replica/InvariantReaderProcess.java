package io.pagestream.replica;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Child process of {@link ReadersIT}: an {@link InvariantReader} in another JVM, so the replica's lock has to
 * exclude another process (POSIX locks), not just connections in its own. Reads until its standard input
 * ends, printing one line per violation ({@code violation ...}), a progress line about once a second
 * ({@code progress checks=...}), and a final {@code summary checks=...} line; exits 1 if it saw a violation.
 *
 * <p>Arguments: the replica file, the reader's seed.
 */
public final class InvariantReaderProcess {
    private static final long PROGRESS_EVERY_NANOS = Duration.ofSeconds(1).toNanos();

    public static void main(String[] args) throws Exception {
        Path replica = Path.of(args[0]);
        long seed = Long.parseLong(args[1]);
        InvariantReader reader = new InvariantReader("child process", replica, seed, violation -> print("violation " + violation));
        Thread reading = Thread.ofPlatform().name("invariant-reader").start(reader);
        // The parent closes our standard input to stop us (and so does its death).
        Thread.ofPlatform().daemon().name("stdin-watch").start(() -> {
            drain(System.in);
            reader.stop();
        });
        print("started");
        long nextProgress = System.nanoTime() + PROGRESS_EVERY_NANOS;
        while (!reading.join(Duration.ofMillis(100))) {
            if (System.nanoTime() >= nextProgress) {
                print("progress " + reader.summary());
                nextProgress += PROGRESS_EVERY_NANOS;
            }
        }
        print("summary " + reader.summary());
        System.exit(reader.violationCount() == 0 ? 0 : 1);
    }

    private static void drain(InputStream in) {
        try {
            while (in.read() >= 0) {
                // nothing is sent; only the end matters
            }
        } catch (IOException e) {
            // a broken pipe means the parent is gone: stop as well
        }
    }

    private static synchronized void print(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
