package io.pagestream.replica;

import io.pagestream.replica.internals.PartitionReader;
import io.pagestream.replica.internals.ReplicaEngine;
import io.pagestream.replica.internals.SnapshotBootstrap;
import io.pagestream.replica.internals.StartOffsets;
import io.pagestream.schemas.PagestreamConfigException;
import io.pagestream.schemas.PagestreamException;
import io.pagestream.schemas.RetriablePagestreamException;
import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A replica service: follows the journal topic and keeps one live, byte-identical SQLite replica per
 * database in a directory. Runs on a thread of its own; embed it in an application with
 * {@code Replica.start(settings)} and read the replica files with sqlite-jdbc. The replica files and their
 * recorded positions are the source of truth: on restart each replica resumes from its own position; the
 * consumer group's committed offsets only report progress (lag) to Kafka tooling.
 */
public final class Replica implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Replica.class);
    private static final Duration POLL = Duration.ofMillis(100);
    /** Commits failing for this long are worth a warning; shorter streaks (no group coordinator yet) are routine. */
    private static final Duration COMMIT_FAILURES_WARN_AFTER = Duration.ofSeconds(30);

    private final ReplicaConfig config;
    private final ReplicaEngine engine;
    private final ProgressSignal progress;
    private final Consumer<byte[], byte[]> consumer;
    private final Thread thread;
    private final CountDownLatch started = new CountDownLatch(1);
    private volatile boolean running = true;
    private volatile PagestreamException failure;
    /** Offsets applied but not yet committed to the consumer group; touched only on the replica's thread. */
    private final Map<TopicPartition, OffsetAndMetadata> unreported = new HashMap<>();
    private boolean commitInFlight;
    /** System.nanoTime() of the first failure of the current run of failed commits; 0 after a commit succeeded. */
    private long commitsFailingSince;
    private long nextCommitWarning;

    private Replica(ReplicaConfig config, ReplicaListener listener) {
        this.config = config;
        this.progress = new ProgressSignal(listener);
        this.engine = new ReplicaEngine(config.directory(), config.databases(), progress, config.busyTimeout(),
                config.batchMaxPages());
        this.consumer = createConsumer(config);
        this.thread = new Thread(this::run, "pagestream-replica-" + config.name());
    }

    /** Starts a replica service and waits until it follows the journal (its start offsets are chosen). */
    public static Replica start(Map<String, ?> settings) {
        return start(settings, ReplicaListener.NONE);
    }

    public static Replica start(Map<String, ?> settings, ReplicaListener listener) {
        Replica replica = new Replica(ReplicaConfig.of(settings), listener);
        replica.thread.start();
        try {
            if (!replica.started.await(replica.config.startupTimeout().toMillis() + 5_000, TimeUnit.MILLISECONDS)) {
                replica.close();
                throw new RetriablePagestreamException("replica " + replica.config.name() + " did not start within "
                        + replica.config.startupTimeout().toMillis() + " ms");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            replica.close();
            throw new PagestreamException("interrupted while starting replica " + replica.config.name(), e);
        }
        if (replica.failure != null) {
            replica.close();
            throw replica.failure;
        }
        return replica;
    }

    private static Consumer<byte[], byte[]> createConsumer(ReplicaConfig config) {
        return createConsumer(config, 100, ReplicaConfig.groupId(config.name()));
    }

    /**
     * A group-less consumer for the start-up's reads of the catalog and snapshots, one range after another: a short
     * fetch wait, so that a fetch parked at the end of one range does not hold back the next.
     */
    private static Consumer<byte[], byte[]> createStartupConsumer(ReplicaConfig config) {
        return createConsumer(config, 5, null);
    }

    private static Consumer<byte[], byte[]> createConsumer(ReplicaConfig config, int fetchMaxWaitMs, String groupId) {
        Map<String, Object> settings = new HashMap<>();
        settings.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.getList(ReplicaConfig.BOOTSTRAP_SERVERS_CONFIG));
        if (groupId != null) {
            settings.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        }
        settings.put(ConsumerConfig.CLIENT_ID_CONFIG, "pagestream-replica-" + config.name() + (groupId == null ? "-startup" : ""));
        settings.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
        settings.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 8 << 20);
        // A fetch parked at the broker waiting for data delays the first fetch after a seek (start-up) by this much.
        settings.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, fetchMaxWaitMs);
        // Looking for the catalog must not create it where the broker creates topics on first use.
        settings.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        settings.putAll(config.consumerOverrides());
        if (groupId == null) {
            settings.remove(ConsumerConfig.GROUP_ID_CONFIG);
            settings.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
        }
        // Not overridable: the replica chooses its own positions, and never reads an aborted transaction.
        settings.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        settings.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        try {
            return new KafkaConsumer<>(settings, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        } catch (KafkaException e) {
            throw new PagestreamConfigException("invalid consumer settings: " + e.getMessage()
                    + (e.getCause() == null ? "" : " (" + e.getCause().getMessage() + ")"));
        }
    }

    private void run() {
        try {
            // A new replica starts from its database's newest snapshot when the compactor took one: it then reads only
            // the journal after it.
            Map<String, StartOffsets.NewReplica> leftBehind;
            try (Consumer<byte[], byte[]> startup = createStartupConsumer(config)) {
                PartitionReader reader = new PartitionReader(startup, config.startupTimeout());
                SnapshotBootstrap.install(reader, config.topic(), config.directory(), engine::follows);
                // A replica the journal's retention left behind starts over from a newer snapshot, or halts saying why.
                leftBehind = SnapshotBootstrap.replaceTrimmed(reader, config.topic(), config.directory(), engine::follows);
            }
            Map<String, ReplicaPosition> existing = new HashMap<>(engine.openExisting());
            existing.keySet().removeAll(leftBehind.keySet());
            engine.startNewReplicas(leftBehind);
            List<TopicPartition> partitions = partitions();
            consumer.assign(partitions);
            boolean discover = config.databases().isEmpty() || !config.databases().stream().allMatch(engine::hasReplica);
            StartOffsets.Start start = StartOffsets.compute(consumer, partitions, existing,
                    dbId -> engine.follows(dbId) && !engine.hasReplica(dbId), discover, config.startupTimeout());
            engine.startNewReplicas(start.newReplicas());
            start.offsets().forEach(consumer::seek);
            log.info("replica {} (group {}) follows {} from offsets {}: {} existing replica(s)", config.name(),
                    ReplicaConfig.groupId(config.name()), config.topic(), start.offsets(), existing.size());
            started.countDown();
            while (running) {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(POLL);
                if (!records.isEmpty()) {
                    engine.process(records);
                    for (TopicPartition partition : records.partitions()) {
                        unreported.put(partition, new OffsetAndMetadata(
                                engine.reportableOffset(partition.partition(), consumer.position(partition))));
                    }
                }
                reportProgress();
            }
        } catch (WakeupException e) {
            // close() was called
        } catch (PagestreamException e) {
            failure = e;
            log.error("replica {} stopped: {}", config.name(), e.getMessage());
        } catch (RuntimeException | IOException e) {
            failure = new PagestreamException("replica " + config.name() + " stopped: " + e, e);
            log.error("replica {} stopped", config.name(), e);
        } finally {
            started.countDown();
            progress.signal();
            try {
                consumer.close(Duration.ofSeconds(5));
            } catch (RuntimeException e) {
                log.warn("replica {}: closing the consumer failed: {}", config.name(), e.toString());
            }
            engine.close();
        }
    }

    /**
     * Commits the consumer group's offsets (progress reporting only) when they moved; a failed commit — the group
     * coordinator is not known yet right after start — is retried on the next loop, and warned about only when
     * commits keep failing.
     */
    private void reportProgress() {
        if (unreported.isEmpty() || commitInFlight) {
            return;
        }
        Map<TopicPartition, OffsetAndMetadata> committing = new HashMap<>(unreported);
        commitInFlight = true;
        consumer.commitAsync(committing, (offsets, error) -> {
            commitInFlight = false;
            if (error == null) {
                committing.forEach(unreported::remove);
                commitsFailingSince = 0;
                return;
            }
            long now = System.nanoTime();
            if (commitsFailingSince == 0) {
                commitsFailingSince = now;
                nextCommitWarning = now + COMMIT_FAILURES_WARN_AFTER.toNanos();
            }
            if (now - nextCommitWarning >= 0) {
                nextCommitWarning = now + COMMIT_FAILURES_WARN_AFTER.toNanos();
                log.warn("replica {}: committing consumer-group offsets has failed for {} s (progress reporting only; retried): {}",
                        config.name(), (now - commitsFailingSince) / 1_000_000_000, error.toString());
            } else {
                log.debug("replica {}: committing consumer-group offsets will be retried: {}", config.name(), error.toString());
            }
        });
    }

    private List<TopicPartition> partitions() {
        long deadline = System.nanoTime() + config.startupTimeout().toNanos();
        while (true) {
            List<PartitionInfo> infos = consumer.partitionsFor(config.topic(), config.startupTimeout());
            if (infos != null && !infos.isEmpty()) {
                return infos.stream().map(info -> new TopicPartition(info.topic(), info.partition())).toList();
            }
            if (System.nanoTime() > deadline) {
                throw new RetriablePagestreamException("journal topic " + config.topic() + " does not exist (waited "
                        + config.startupTimeout().toMillis() + " ms)");
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new PagestreamException("interrupted while waiting for topic " + config.topic(), e);
            }
        }
    }

    /** Every followed database's replica, by db id. */
    public Map<String, ReplicaStatus> status() {
        return engine.status();
    }

    /**
     * Waits until the database's replica has applied at least {@code lsn} (true) or the timeout passes (false).
     *
     * @throws PagestreamException at once when the database is halted or the service stopped
     */
    public boolean await(String dbId, long lsn, Duration timeout) throws InterruptedException {
        return progress.await(() -> {
            if (failure != null) {
                throw failure;
            }
            return engine.hasApplied(dbId, lsn);
        }, timeout);
    }

    /** Why the service stopped, or null while it runs. */
    public PagestreamException failure() {
        return failure;
    }

    public String groupId() {
        return ReplicaConfig.groupId(config.name());
    }

    /** Stops following the journal and closes the replica files; applies already made stay. */
    @Override
    public void close() {
        running = false;
        consumer.wakeup();
        try {
            thread.join(30_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
