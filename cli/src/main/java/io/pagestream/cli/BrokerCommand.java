package io.pagestream.cli;

import io.pagestream.broker.EmbeddedKafkaBroker;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pagestream broker}: a single-node Kafka (KRaft, broker and controller in one) inside this JVM, for
 * development and demos. Runs until the process is interrupted (Ctrl-C, SIGTERM) or the calling thread is.
 */
@Command(name = "broker", mixinStandardHelpOptions = true,
        description = {"Runs a single-node Kafka broker in this process for development, until Ctrl-C or SIGTERM.",
                "Listens on 127.0.0.1 only. Topics are created explicitly (the writer creates the journal topic)."})
final class BrokerCommand implements Callable<Integer> {
    static final int DEFAULT_PORT = 9092;
    /** The file Kafka locks in each of its data directories while it runs. */
    private static final String KAFKA_LOCK_FILE = ".lock";
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(60);

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "" + DEFAULT_PORT,
            description = "Client port (default: ${DEFAULT-VALUE}; 0 picks a free port).")
    int port;

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "Kafka's data directory; what is in it survives restarts on the same directory. Default: a new"
                    + " temporary directory, deleted when the broker stops.")
    Path dataDir;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (port < 0 || port > 65535) {
            err.println("pagestream broker: --port must be between 0 and 65535, not " + port);
            err.flush();
            return 1;
        }
        String unusable = portInUse() ? "cannot listen on port " + port + ": it is already in use (choose another with --port)"
                : dataDirInUse() ? "data directory " + dataDir + " is in use by another running broker" : null;
        if (unusable != null) {
            err.println("pagestream broker: " + unusable);
            err.flush();
            return 1;
        }
        EmbeddedKafkaBroker broker;
        try {
            EmbeddedKafkaBroker.Options options = EmbeddedKafkaBroker.Options.defaults().withPort(port);
            broker = EmbeddedKafkaBroker.start(dataDir == null ? options : options.withDataDir(dataDir));
        } catch (RuntimeException e) {
            err.println("pagestream broker: " + startFailure(e));
            err.flush();
            return 1;
        }
        CountDownLatch signalled = new CountDownLatch(1);
        Thread shutdownHook = new Thread(() -> {
            signalled.countDown();
            stop(broker, out, err);
        }, "pagestream-broker-shutdown");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        out.println("Kafka broker ready at localhost:" + broker.port() + " (data: " + broker.dataDir() + ")");
        out.flush();
        try {
            signalled.await();
        } catch (InterruptedException e) {
            stopUnlessShuttingDown(broker, shutdownHook, out, err);
            Thread.currentThread().interrupt();
        }
        return 0;
    }

    /**
     * Closes the broker, waiting at most {@link #STOP_TIMEOUT}: a broker that hangs on the way down must not keep the
     * process alive once the user asked it to stop (Kafka recovers its logs on the next start).
     */
    private static void stop(EmbeddedKafkaBroker broker, PrintWriter out, PrintWriter err) {
        Thread closer = Thread.ofPlatform().daemon().name("pagestream-broker-close").start(broker::close);
        try {
            if (closer.join(STOP_TIMEOUT)) {
                out.println("Kafka broker stopped");
                out.flush();
                return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        err.println("pagestream broker: Kafka did not stop within " + STOP_TIMEOUT.toSeconds() + " s; exiting anyway");
        err.flush();
    }

    /**
     * Checked before starting Kafka, which would otherwise log pages of stack traces before failing; Kafka's own
     * bind failure is still reported in one line should another process take the port in between.
     */
    private boolean portInUse() {
        if (port == 0) {
            return false;
        }
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port));
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    /**
     * Whether another broker holds Kafka's lock on the data directory: a second broker on the same directory does not
     * stop at the lock but halts the JVM on reading the first one's metadata log as it is being written.
     */
    private boolean dataDirInUse() {
        Path lockFile = dataDir == null ? null : dataDir.resolve(KAFKA_LOCK_FILE);
        if (lockFile == null || !Files.isRegularFile(lockFile)) {
            return false;
        }
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.WRITE); FileLock lock = channel.tryLock()) {
            return lock == null;
        } catch (OverlappingFileLockException e) {
            return true;
        } catch (IOException e) {
            return false; // Kafka will report what is wrong with the directory
        }
    }

    /** When the thread was interrupted rather than the JVM signalled, stops the broker here instead of at JVM exit. */
    private static void stopUnlessShuttingDown(EmbeddedKafkaBroker broker, Thread shutdownHook, PrintWriter out,
            PrintWriter err) {
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException shutdownInProgress) {
            return; // the hook is stopping the broker
        }
        stop(broker, out, err);
    }

    /** One line saying why the broker did not start, without Kafka's stack trace. */
    private String startFailure(RuntimeException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof BindException) {
                return "cannot listen on port " + port + ": it is already in use (choose another with --port)";
            }
        }
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String reason = root == e ? String.valueOf(e.getMessage()) : e.getMessage() + ": " + root.getMessage();
        return "cannot start Kafka: " + reason;
    }
}
