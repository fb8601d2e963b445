package io.pagestream.broker;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.MetadataVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A single-node Kafka (combined KRaft broker and controller) running inside the current JVM.
 *
 * <p>Exists so tests and benchmarks get a real broker — with real
 * transactions, fencing and durability — in a couple of seconds, without Docker or a Kafka
 * installation. Defaults are sized for one node (every internal topic has replication factor 1,
 * otherwise transactional producers stall until they time out) and for a small heap.
 *
 * <p>When a data directory is supplied it is formatted only once, so stopping and starting again on
 * the same directory keeps all topics and records; that is what makes broker-outage tests possible.
 * The directory belongs to Kafka: anything else put in it may prevent the broker from starting.
 *
 * <p>Usage: {@code try (var broker = EmbeddedKafkaBroker.start()) { ... broker.bootstrapServers() ... }}
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafkaBroker.class);

    private static final String HOST = "127.0.0.1";
    private static final int NODE_ID = 1;
    private static final String CONTROLLER_LISTENER = "CONTROLLER";
    private static final String META_PROPERTIES = "meta.properties";
    /** Ports we probe ourselves can be taken by someone else before Kafka binds them; retry then. */
    private static final int MAX_BIND_ATTEMPTS = 3;
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(30);

    /**
     * How to start the broker. Immutable; derive variants with the {@code with*} methods.
     *
     * @param port             client (PLAINTEXT) port; {@code 0} picks a free one
     * @param dataDir          Kafka's log directory; {@code null} uses a temporary directory that
     *                         {@link #close()} deletes
     * @param brokerProperties extra broker configuration, applied last so it overrides the defaults
     */
    public record Options(int port, Path dataDir, Map<String, String> brokerProperties) {

        public Options {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port out of range: " + port);
            }
            brokerProperties = Map.copyOf(Objects.requireNonNull(brokerProperties, "brokerProperties"));
        }

        /** Free port, temporary directory, no extra properties. */
        public static Options defaults() {
            return new Options(0, null, Map.of());
        }

        public Options withPort(int port) {
            return new Options(port, dataDir, brokerProperties);
        }

        public Options withDataDir(Path dataDir) {
            return new Options(port, dataDir, brokerProperties);
        }

        public Options withBrokerProperties(Map<String, String> properties) {
            Map<String, String> merged = new LinkedHashMap<>(brokerProperties);
            merged.putAll(properties);
            return new Options(port, dataDir, merged);
        }

        public Options withBrokerProperty(String key, String value) {
            return withBrokerProperties(Map.of(key, value));
        }
    }

    private final KafkaRaftServer server;
    private final int port;
    private final int controllerPort;
    private final Path dataDir;
    private final boolean ownsDataDir;
    private final String clusterId;
    private final AtomicBoolean closed = new AtomicBoolean();

    private EmbeddedKafkaBroker(KafkaRaftServer server, int port, int controllerPort, Path dataDir,
                                boolean ownsDataDir, String clusterId) {
        this.server = server;
        this.port = port;
        this.controllerPort = controllerPort;
        this.dataDir = dataDir;
        this.ownsDataDir = ownsDataDir;
        this.clusterId = clusterId;
    }

    /** Starts a broker with {@link Options#defaults()}. */
    public static EmbeddedKafkaBroker start() {
        return start(Options.defaults());
    }

    /**
     * Starts the broker and returns once it answers client requests.
     *
     * @throws UncheckedIOException  if the data directory cannot be prepared
     * @throws IllegalStateException if Kafka fails to start or to become ready in time
     */
    public static EmbeddedKafkaBroker start(Options options) {
        Objects.requireNonNull(options, "options");
        long startNanos = System.nanoTime();
        boolean ownsDataDir = options.dataDir() == null;
        Path dataDir;
        try {
            dataDir = ownsDataDir
                    ? Files.createTempDirectory("pagestream-kafka-")
                    : Files.createDirectories(options.dataDir().toAbsolutePath());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create Kafka data directory", e);
        }

        try {
            String clusterId = ensureFormatted(dataDir);
            for (int attempt = 1; ; attempt++) {
                int port = options.port() != 0 ? options.port() : freePort(0);
                int controllerPort = freePort(port);
                KafkaConfig config = KafkaConfig.fromProps(
                        brokerProperties(port, controllerPort, dataDir, options.brokerProperties()));
                KafkaRaftServer server = new KafkaRaftServer(config, Time.SYSTEM);
                try {
                    server.startup();
                } catch (RuntimeException e) {
                    shutdownQuietly(server);
                    if (isBindFailure(e) && attempt < MAX_BIND_ATTEMPTS) {
                        LOG.warn("Port already in use starting embedded Kafka (attempt {}), retrying with new ports",
                                attempt);
                        continue;
                    }
                    throw new IllegalStateException("embedded Kafka failed to start in " + dataDir, e);
                }
                EmbeddedKafkaBroker broker =
                        new EmbeddedKafkaBroker(server, port, controllerPort, dataDir, ownsDataDir, clusterId);
                try {
                    broker.awaitReady();
                } catch (RuntimeException e) {
                    broker.close();
                    throw e;
                }
                LOG.info("Embedded Kafka ready at {} (data {}, cluster {}) in {} ms", broker.bootstrapServers(),
                        dataDir, clusterId, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
                return broker;
            }
        } catch (RuntimeException e) {
            if (ownsDataDir) {
                deleteRecursively(dataDir);
            }
            throw e;
        }
    }

    /** Client bootstrap address, {@code host:port}. */
    public String bootstrapServers() {
        return HOST + ":" + port;
    }

    /** Client (PLAINTEXT) port; pass it back in {@link Options#withPort} to restart at the same address. */
    public int port() {
        return port;
    }

    /** KRaft controller port; clients never need it. */
    public int controllerPort() {
        return controllerPort;
    }

    /** Kafka's log directory; reuse it in {@link Options#withDataDir} to restart with the same data. */
    public Path dataDir() {
        return dataDir;
    }

    public String clusterId() {
        return clusterId;
    }

    /**
     * Stops the broker and waits for it; deletes the data directory only if this broker created it.
     * Safe to call more than once.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        long startNanos = System.nanoTime();
        shutdownQuietly(server);
        if (ownsDataDir) {
            deleteRecursively(dataDir);
        }
        LOG.info("Embedded Kafka at {} stopped in {} ms", bootstrapServers(),
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
    }

    @Override
    public String toString() {
        return "EmbeddedKafkaBroker[" + bootstrapServers() + ", " + dataDir + "]";
    }

    /** Formats a fresh directory; an already formatted one is kept so its data survives restarts. */
    private static String ensureFormatted(Path dataDir) {
        Path metaProperties = dataDir.resolve(META_PROPERTIES);
        if (Files.exists(metaProperties)) {
            String clusterId = readClusterId(metaProperties);
            LOG.debug("Reusing formatted Kafka data directory {} (cluster {})", dataDir, clusterId);
            return clusterId;
        }
        String clusterId = Uuid.randomUuid().toString();
        ByteArrayOutputStream formatterOutput = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(formatterOutput, true, StandardCharsets.UTF_8)) {
            new Formatter()
                    .setPrintStream(out) // Formatter prints to System.out by default
                    .setNodeId(NODE_ID)
                    .setClusterId(clusterId)
                    .addDirectory(dataDir.toString())
                    .setMetadataLogDirectory(dataDir.toString())
                    .setControllerListenerName(CONTROLLER_LISTENER)
                    .setReleaseVersion(MetadataVersion.latestProduction())
                    .run();
        } catch (Exception e) {
            throw new IllegalStateException("cannot format Kafka data directory " + dataDir, e);
        }
        LOG.debug("Formatted {}: {}", dataDir, formatterOutput.toString(StandardCharsets.UTF_8).strip());
        return clusterId;
    }

    private static String readClusterId(Path metaProperties) {
        Properties props = new Properties();
        try (InputStream in = Files.newInputStream(metaProperties)) {
            props.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + metaProperties, e);
        }
        return props.getProperty("cluster.id");
    }

    private static Properties brokerProperties(int port, int controllerPort, Path dataDir,
                                               Map<String, String> overrides) {
        Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", Integer.toString(NODE_ID));
        p.put("controller.quorum.voters", NODE_ID + "@" + HOST + ":" + controllerPort);
        p.put("listeners", "PLAINTEXT://" + HOST + ":" + port + "," + CONTROLLER_LISTENER + "://" + HOST + ":"
                + controllerPort);
        p.put("advertised.listeners", "PLAINTEXT://" + HOST + ":" + port);
        p.put("controller.listener.names", CONTROLLER_LISTENER);
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT," + CONTROLLER_LISTENER + ":PLAINTEXT");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("log.dirs", dataDir.toString());

        // One node: every internal topic must fit on it.
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "1");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("transaction.state.log.num.partitions", "1");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("default.replication.factor", "1");
        p.put("min.insync.replicas", "1");

        // Fast and small: no rebalance grace period, explicit topics only, modest cleaner memory.
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("num.partitions", "1");
        p.put("auto.create.topics.enable", "false");
        p.put("log.cleaner.dedupe.buffer.size", "4194304");
        // A transaction's first record waits until the producer's previous transaction is complete; the broker checks
        // again after this backoff (default 20 ms, growing to 100), which back-to-back transactions keep hitting.
        p.put("add.partitions.to.txn.retry.backoff.ms", "1");
        p.put("add.partitions.to.txn.retry.backoff.max.ms", "5");

        p.putAll(overrides);
        return p;
    }

    private void awaitReady() {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "2000");
        props.put(AdminClientConfig.CLIENT_ID_CONFIG, "embedded-kafka-readiness");
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        try (Admin admin = Admin.create(props)) {
            Exception last = null;
            while (System.nanoTime() < deadline) {
                try {
                    Collection<Node> nodes = admin.describeCluster(new DescribeClusterOptions().timeoutMs(2000))
                            .nodes().get(3, TimeUnit.SECONDS);
                    if (!nodes.isEmpty()) {
                        return;
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted waiting for embedded Kafka", e);
                } catch (Exception e) {
                    last = e;
                }
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted waiting for embedded Kafka", e);
                }
            }
            throw new IllegalStateException("embedded Kafka at " + bootstrapServers() + " not ready within "
                    + READY_TIMEOUT.toSeconds() + " s", last);
        }
    }

    private static void shutdownQuietly(KafkaRaftServer server) {
        try {
            server.shutdown();
            server.awaitShutdown();
        } catch (RuntimeException e) {
            LOG.warn("Error shutting down embedded Kafka", e);
        }
    }

    private static boolean isBindFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof BindException) {
                return true;
            }
        }
        return false;
    }

    /**
     * A port free right now and other than {@code taken}: the kernel may hand out a port it just gave
     * us again once that socket is closed, and Kafka refuses two listeners on one port.
     */
    private static int freePort(int taken) {
        try {
            while (true) {
                try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
                    socket.setReuseAddress(true);
                    if (socket.getLocalPort() != taken) {
                        return socket.getLocalPort();
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot find a free port", e);
        }
    }

    private static void deleteRecursively(Path root) {
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                    Files.deleteIfExists(dir);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (NoSuchFileException e) {
            // already gone
        } catch (IOException e) {
            LOG.warn("Could not delete embedded Kafka data directory {}", root, e);
        }
    }
}
