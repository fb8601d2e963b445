package io.pagestream.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code pagestream broker} runs in a thread here; interrupting the thread stops it as a signal would. */
class BrokerCommandIT {
    private static final Pattern READY = Pattern.compile("Kafka broker ready at localhost:(\\d+) \\(data: (.+)\\)");

    /** A running {@code pagestream broker} and what it printed so far. */
    private static final class RunningBroker {
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final AtomicInteger exitCode = new AtomicInteger(-1);
        final Thread thread;

        RunningBroker(String... args) {
            CommandLine command = new CommandLine(new PagestreamCommand());
            command.setOut(new PrintWriter(out, true));
            command.setErr(new PrintWriter(err, true));
            String[] arguments = new String[args.length + 1];
            arguments[0] = "broker";
            System.arraycopy(args, 0, arguments, 1, args.length);
            thread = Thread.ofPlatform().name("pagestream-broker-under-test").start(() -> exitCode.set(command.execute(arguments)));
        }

        /** The ready line's match, once printed. */
        Matcher awaitReady() {
            await().atMost(Duration.ofSeconds(60)).until(() -> READY.matcher(out.toString()).find() || !thread.isAlive());
            Matcher ready = READY.matcher(out.toString());
            assertThat(ready.find()).as("ready line; stdout: %s stderr: %s", out, err).isTrue();
            return ready;
        }

        int stop() throws InterruptedException {
            thread.interrupt();
            thread.join(Duration.ofSeconds(90));
            assertThat(thread.isAlive()).as("broker thread still running").isFalse();
            return exitCode.get();
        }
    }

    @Test
    void printsWhereItIsReadyAndKeepsTopicsInItsDataDirectoryAcrossRestarts(@TempDir Path dataDir) throws Exception {
        RunningBroker first = new RunningBroker("--port", "0", "--data-dir", dataDir.toString());
        Matcher ready = first.awaitReady();
        assertThat(Path.of(ready.group(2))).isEqualTo(dataDir.toAbsolutePath());
        String servers = "localhost:" + ready.group(1);
        try (Admin admin = admin(servers)) {
            admin.createTopics(List.of(new NewTopic("kept", Optional.of(1), Optional.empty()))).all().get();
        }
        assertThat(first.stop()).isZero();
        assertThat(first.out.toString()).endsWith("Kafka broker stopped" + System.lineSeparator());

        RunningBroker second = new RunningBroker("--port", "0", "--data-dir", dataDir.toString());
        String restarted = "localhost:" + second.awaitReady().group(1);
        try (Admin admin = admin(restarted)) {
            assertThat(admin.listTopics().names().get()).contains("kept");
        } finally {
            assertThat(second.stop()).isZero();
        }
        assertThat(second.err.toString()).isEmpty();
    }

    @Test
    void portInUseIsAOneLineError() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            RunningBroker broker = new RunningBroker("--port", Integer.toString(taken.getLocalPort()));
            broker.thread.join(Duration.ofSeconds(60));

            assertThat(broker.exitCode.get()).isEqualTo(1);
            assertThat(broker.out.toString()).isEmpty();
            assertThat(broker.err.toString()).isEqualTo("pagestream broker: cannot listen on port " + taken.getLocalPort()
                    + ": it is already in use (choose another with --port)" + System.lineSeparator());
        }
    }

    @Test
    void dataDirectoryOfARunningBrokerIsRefused(@TempDir Path dataDir) throws Exception {
        RunningBroker first = new RunningBroker("--port", "0", "--data-dir", dataDir.toString());
        first.awaitReady();
        try {
            RunningBroker second = new RunningBroker("--port", "0", "--data-dir", dataDir.toString());
            second.thread.join(Duration.ofSeconds(60));

            assertThat(second.exitCode.get()).isEqualTo(1);
            assertThat(second.err.toString()).isEqualTo("pagestream broker: data directory " + dataDir
                    + " is in use by another running broker" + System.lineSeparator());
        } finally {
            assertThat(first.stop()).isZero();
        }
    }

    private static Admin admin(String servers) {
        return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, servers));
    }
}
