package io.pagestream.compactor;

import io.pagestream.compactor.internals.CompactorTopics;
import io.pagestream.compactor.internals.CompactorTopology;
import io.pagestream.compactor.internals.JournalTrimmer;
import io.pagestream.compactor.internals.StatusBoard;
import io.pagestream.schemas.PagestreamConfigException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The compactor: a Kafka Streams application (exactly-once) that applies the journal to replica files of its own,
 * verifying every entry as a replica does, and regularly snapshots each database into the snapshots topic, listing
 * every complete snapshot as a restore point in the catalog topic. Instances sharing an application id split the
 * journal's partitions. Embed it with {@code Compactor.start(settings)}.
 */
public final class Compactor implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Compactor.class);
    private static final Duration ADMIN_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(60);

    private final CompactorConfig config;
    private final StatusBoard board;
    private final Producer<byte[], byte[]> snapshotProducer;
    private final Admin trimmerAdmin;
    private final JournalTrimmer trimmer;
    private final KafkaStreams streams;
    private volatile Throwable failure;

    private Compactor(CompactorConfig config, CompactorListener listener, Producer<byte[], byte[]> snapshotProducer,
            int snapshotPartitions) {
        this.config = config;
        this.board = new StatusBoard(listener);
        this.snapshotProducer = snapshotProducer;
        this.trimmerAdmin = Admin.create(adminProperties(config));
        List<String> groups = new ArrayList<>();
        groups.add(config.applicationId()); // never past what the compactor itself committed
        groups.addAll(config.protectedGroups());
        this.trimmer = new JournalTrimmer(trimmerAdmin, config.journalTopic(), groups, ADMIN_TIMEOUT);
        try {
            this.streams = new KafkaStreams(CompactorTopology.build(config, board, snapshotProducer, snapshotPartitions,
                    journalConsumerSettings(config), trimmer),
                    streamsProperties(config));
        } catch (KafkaException e) {
            trimmer.close();
            trimmerAdmin.close();
            snapshotProducer.close();
            throw new PagestreamConfigException("invalid Kafka Streams settings: " + e.getMessage());
        }
        streams.setUncaughtExceptionHandler(e -> {
            failure = e;
            log.error("compactor {} stopped: {}", config.applicationId(), e.toString(), e);
            return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
    }

    /** Creates the snapshots and catalog topics if missing and starts the compactor's stream threads. */
    public static Compactor start(Map<String, ?> settings) {
        return start(settings, CompactorListener.NONE);
    }

    public static Compactor start(Map<String, ?> settings, CompactorListener listener) {
        CompactorConfig config = CompactorConfig.of(settings);
        prepareStateDir(config);
        Producer<byte[], byte[]> snapshotProducer = createProducer(config);
        int snapshotPartitions;
        try (Admin admin = Admin.create(adminProperties(config))) {
            snapshotPartitions = CompactorTopics.ensure(admin, config.journalTopic(), config.chunkBytes(), ADMIN_TIMEOUT);
        } catch (RuntimeException e) {
            snapshotProducer.close();
            throw e;
        }
        Compactor compactor = new Compactor(config, listener, snapshotProducer, snapshotPartitions);
        compactor.streams.start();
        log.info("compactor {} follows {} with state in {}", config.applicationId(), config.journalTopic(), config.stateDir());
        return compactor;
    }

    /** Every database of the journal partitions this instance handles, by db id. */
    public Map<String, CompactorStatus> status() {
        return board.status();
    }

    /** Why the compactor stopped, or null while it runs. */
    public Throwable failure() {
        return failure;
    }

    /** Kafka Streams' state of this instance (RUNNING once it follows the journal). */
    public KafkaStreams.State state() {
        return streams.state();
    }

    /**
     * Stops the stream threads (committing their work), the journal trimmer and the snapshot producer; a snapshot under
     * way is abandoned.
     */
    @Override
    public void close() {
        streams.close(CLOSE_TIMEOUT);
        trimmer.close();
        trimmerAdmin.close(CLOSE_TIMEOUT);
        snapshotProducer.close(CLOSE_TIMEOUT);
    }

    private static void prepareStateDir(CompactorConfig config) {
        Path copies = CompactorTopology.copiesDir(config);
        try {
            Files.createDirectories(CompactorTopology.replicasDir(config));
            Files.createDirectories(copies);
            // Copies of snapshots a stopped or killed compactor left unfinished: nothing uses them any more.
            try (DirectoryStream<Path> leftovers = Files.newDirectoryStream(copies)) {
                for (Path leftover : leftovers) {
                    Files.delete(leftover);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the compactor's state directory " + config.stateDir(), e);
        }
    }

    private static Map<String, Object> adminProperties(CompactorConfig config) {
        Map<String, Object> properties = new HashMap<>(config.producerOverrides());
        properties.keySet().retainAll(AdminClientConfig.configNames());
        properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.getList(CompactorConfig.BOOTSTRAP_SERVERS_CONFIG));
        return properties;
    }

    /** The settings Streams' consumers get, for the plain consumer a resumed task may read the journal with. */
    private static Map<String, Object> journalConsumerSettings(CompactorConfig config) {
        Map<String, Object> settings = new HashMap<>(config.streamsOverrides());
        settings.keySet().retainAll(ConsumerConfig.configNames());
        settings.putAll(config.originalsWithPrefix(CompactorConfig.STREAMS_PREFIX + StreamsConfig.CONSUMER_PREFIX));
        settings.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.getList(CompactorConfig.BOOTSTRAP_SERVERS_CONFIG));
        settings.put(ConsumerConfig.CLIENT_ID_CONFIG, config.applicationId() + "-journal-reader");
        settings.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        settings.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        settings.remove(ConsumerConfig.GROUP_ID_CONFIG);
        return settings;
    }

    private static Producer<byte[], byte[]> createProducer(CompactorConfig config) {
        Map<String, Object> properties = new HashMap<>();
        properties.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.getList(CompactorConfig.BOOTSTRAP_SERVERS_CONFIG));
        properties.put(ProducerConfig.CLIENT_ID_CONFIG, config.applicationId() + "-snapshots");
        properties.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        // Room for the unacknowledged chunks a snapshot keeps in flight and as much again: a send never waits.
        properties.put(ProducerConfig.BUFFER_MEMORY_CONFIG, Math.max(32L << 20, 2 * config.bytesPerPunctuation()
                + 2L * config.chunkBytes()));
        properties.putAll(config.producerOverrides());
        // Not overridable: a chunk is written once and only acknowledged when every replica has it.
        properties.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        properties.put(ProducerConfig.ACKS_CONFIG, "all");
        int maxRequestSize = Integer.parseInt(String.valueOf(properties.getOrDefault(ProducerConfig.MAX_REQUEST_SIZE_CONFIG,
                ProducerConfig.configDef().defaultValues().get(ProducerConfig.MAX_REQUEST_SIZE_CONFIG))));
        if (config.chunkBytes() + CompactorTopics.CHUNK_OVERHEAD_BYTES > maxRequestSize) {
            throw new PagestreamConfigException("invalid compactor configuration: " + CompactorConfig.SNAPSHOT_CHUNK_BYTES_CONFIG
                    + "=" + config.chunkBytes() + " does not fit the snapshot producer's max.request.size (" + maxRequestSize
                    + " bytes, " + CompactorTopics.CHUNK_OVERHEAD_BYTES + " of them kept for record overhead): raise "
                    + CompactorConfig.PRODUCER_PREFIX + ProducerConfig.MAX_REQUEST_SIZE_CONFIG);
        }
        try {
            return new KafkaProducer<>(properties, new ByteArraySerializer(), new ByteArraySerializer());
        } catch (KafkaException e) {
            throw new PagestreamConfigException("invalid snapshot producer settings: " + e.getMessage()
                    + (e.getCause() == null ? "" : " (" + e.getCause().getMessage() + ")"));
        }
    }

    private static Properties streamsProperties(CompactorConfig config) {
        Properties properties = new Properties();
        properties.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, String.join(",", config.getList(CompactorConfig.BOOTSTRAP_SERVERS_CONFIG)));
        // Each commit applies the staged entries (an fsync) and commits a Kafka transaction: a second apart, not Streams'
        // exactly-once default of 100 ms, keeps that cost small against the journal's rate. Overridable.
        properties.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 1000);
        properties.put(StreamsConfig.BUFFERED_RECORDS_PER_PARTITION_CONFIG, 20_000);
        properties.put(StreamsConfig.mainConsumerPrefix(ConsumerConfig.MAX_POLL_RECORDS_CONFIG), 20_000);
        properties.put(StreamsConfig.mainConsumerPrefix(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG), 16 << 20);
        properties.putAll(config.streamsOverrides());
        // Not overridable: the compactor's guarantees rest on them.
        properties.put(StreamsConfig.APPLICATION_ID_CONFIG, config.applicationId());
        properties.put(StreamsConfig.STATE_DIR_CONFIG, CompactorTopology.streamsDir(config).toString());
        properties.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        properties.put(StreamsConfig.consumerPrefix(ConsumerConfig.ISOLATION_LEVEL_CONFIG), "read_committed");
        return properties;
    }
}
