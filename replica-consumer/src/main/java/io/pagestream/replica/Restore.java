package io.pagestream.replica;

import io.pagestream.replica.internals.CatalogReader;
import io.pagestream.replica.internals.JournalIndex;
import io.pagestream.replica.internals.PartitionReader;
import io.pagestream.replica.internals.RestoreExecution;
import io.pagestream.replica.internals.RestoreSources;
import io.pagestream.schemas.CorruptEntryException;
import io.pagestream.schemas.PagestreamConfigException;
import io.pagestream.schemas.PagestreamException;
import io.pagestream.schemas.RetriablePagestreamException;
import io.pagestream.schemas.avro.RestorePoint;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Point-in-time restore: writes a database as it was right after any entry still reachable through its restore
 * points (snapshots) and journal, byte-identical to the writer's file then. Reads Kafka only; never writes to it.
 * Open it with the settings of {@link RestoreConfig}; one instance serves one thread.
 */
public final class Restore implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Restore.class);

    private final RestoreConfig config;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final PartitionReader reader;

    private Restore(RestoreConfig config) {
        this.config = config;
        try {
            Map<String, Object> settings = new HashMap<>(config.consumerSettings());
            if (!config.originalsWithPrefix(ReplicaConfig.CONSUMER_PREFIX).containsKey(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG)) {
                // A restore reads one range after another: a fetch left parked at the end of the last range (the catalog's,
                // read to its end) holds back the first fetch of the next for this long.
                settings.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 5);
            }
            this.consumer = new KafkaConsumer<>(settings, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        } catch (KafkaException e) {
            throw new PagestreamConfigException("invalid consumer settings: " + e.getMessage()
                    + (e.getCause() == null ? "" : " (" + e.getCause().getMessage() + ")"));
        }
        this.reader = new PartitionReader(consumer, config.readTimeout());
    }

    public static Restore open(Map<String, ?> settings) {
        return new Restore(RestoreConfig.of(settings));
    }

    /** The restore window of a database: its restore points and the first and last LSN a restore can reach. */
    public RestoreWindow list(String dbId) {
        return wholeSources(dbId).window();
    }

    /** How a restore to {@code target} would go, without writing anything. */
    public RestorePlan plan(String dbId, RestoreTarget target) {
        Resolved found = resolve(dbId, target);
        RestoreSources sources = found.sources();
        RestoreSources.Target resolved = found.target();
        RestoreSources.Start start = sources.starts(resolved).getFirst();
        Instant commitTime = Instant.ofEpochMilli(resolved.commitTimeMillis());
        if (start.point() != null) {
            return new RestorePlan(dbId, target, resolved.lsn(), commitTime, Optional.of(RestoreSources.summary(start.point())),
                    start.point().getJournalPartition(), start.point().getJournalOffset() + 1,
                    Math.max(0, resolved.lastOffset() - start.point().getJournalOffset()));
        }
        return new RestorePlan(dbId, target, resolved.lsn(), commitTime, Optional.empty(),
                sources.journal().partition().partition(), start.base().firstOffset(),
                resolved.lastOffset() - start.base().firstOffset() + 1);
    }

    /**
     * Writes the database at {@code target} to {@code output}, atomically: through a temporary file beside it, renamed
     * into place once its checksum matches the target entry's and SQLite's integrity check passes.
     *
     * @param force replace an existing output (otherwise it is refused)
     * @param progress called now and then on this thread
     * @throws PagestreamException naming the db, snapshot and chunk or journal record, and why, when no usable snapshot
     *     or journal leads to the target, or the target is outside the restore window (the message names the window)
     */
    public RestoreResult restore(String dbId, RestoreTarget target, Path output, boolean force,
            Consumer<RestoreProgress> progress) {
        Resolved found = resolve(dbId, target);
        try {
            RestoreResult result = new RestoreExecution(reader, config.topic(), dbId, progress)
                    .run(found.sources(), found.target(), output, force);
            log.info("restored db {} to LSN {} ({}) into {} from {}, {} journal entries applied", dbId, result.lsn(),
                    result.commitTime(), result.output(), result.snapshotId().map(id -> "snapshot " + id)
                            .orElse("a base entry"), result.entriesApplied());
            return result;
        } catch (IOException | UncheckedIOException e) {
            throw new PagestreamException("db " + dbId + ": cannot write the restore to " + output + ": " + e, e);
        } catch (KafkaException e) {
            throw kafkaFailure(dbId, e);
        }
    }

    /** What the target means, and the sources to restore it from. */
    private record Resolved(RestoreSources sources, RestoreSources.Target target) {}

    /**
     * Resolves the target reading only the journal after the newest restore point at or before it (from the partition's
     * beginning when none is), up to the target; the whole partition only when the target is not in that range: then
     * it is outside the window, and the error names the whole window.
     */
    private Resolved resolve(String dbId, RestoreTarget target) {
        try {
            TopicPartition partition = journalPartition(dbId);
            List<RestorePoint> points = CatalogReader.restorePoints(reader, config.topic(), dbId);
            Optional<RestorePoint> from = newestBefore(points, partition, target);
            long fromOffset = from.map(point -> point.getJournalOffset() + 1).orElse(0L);
            JournalIndex range = switch (target) {
                case RestoreTarget.Latest latest -> JournalIndex.scan(reader, partition, dbId, fromOffset, Long.MAX_VALUE,
                        entry -> false);
                case RestoreTarget.AtLsn at -> JournalIndex.scan(reader, partition, dbId, fromOffset,
                        from.isPresent() && at.lsn() == from.get().getLsn() ? fromOffset : Long.MAX_VALUE,
                        entry -> entry.lsn() >= at.lsn());
                case RestoreTarget.AtTime at -> JournalIndex.scan(reader, partition, dbId, fromOffset, Long.MAX_VALUE,
                        entry -> entry.commitTimeMillis() > at.time().toEpochMilli());
                case RestoreTarget.AtOffset at -> JournalIndex.scan(reader, partition, dbId, fromOffset, at.offset() + 1,
                        entry -> false);
            };
            RestoreSources bounded = new RestoreSources(dbId, range, points);
            try {
                return new Resolved(bounded, bounded.resolve(target));
            } catch (CorruptEntryException e) {
                throw e;
            } catch (PagestreamException e) {
                log.debug("db {}: {} is not in the journal read from offset {}; reading the whole journal", dbId, target,
                        range.fromOffset());
            }
            RestoreSources whole = new RestoreSources(dbId, JournalIndex.scan(reader, partition, dbId), points);
            return new Resolved(whole, whole.resolve(target));
        } catch (IOException e) {
            throw new PagestreamException("db " + dbId + ": " + e, e);
        } catch (KafkaException e) {
            throw kafkaFailure(dbId, e);
        }
    }

    /** The newest restore point a restore to the target can start from, judged by the catalog alone. */
    private static Optional<RestorePoint> newestBefore(List<RestorePoint> points, TopicPartition partition,
            RestoreTarget target) {
        return points.reversed().stream().filter(p -> p.getJournalPartition() == partition.partition()).filter(p -> switch (target) {
            case RestoreTarget.Latest latest -> true;
            case RestoreTarget.AtLsn at -> p.getLsn() <= at.lsn();
            case RestoreTarget.AtTime at -> p.getCommitTimeMillis() <= at.time().toEpochMilli();
            case RestoreTarget.AtOffset at -> at.partition() == partition.partition() && p.getJournalOffset() <= at.offset();
        }).findFirst();
    }

    private RestoreSources wholeSources(String dbId) {
        try {
            TopicPartition partition = journalPartition(dbId);
            JournalIndex journal = JournalIndex.scan(reader, partition, dbId);
            List<RestorePoint> points = CatalogReader.restorePoints(reader, config.topic(), dbId);
            return new RestoreSources(dbId, journal, points);
        } catch (IOException e) {
            throw new PagestreamException("db " + dbId + ": " + e, e);
        } catch (KafkaException e) {
            throw kafkaFailure(dbId, e);
        }
    }

    private TopicPartition journalPartition(String dbId) {
        String topic = config.topic();
        int partitions = reader.partitionCount(topic);
        if (partitions == 0) {
            throw new PagestreamException("journal topic '" + topic + "' does not exist");
        }
        return JournalIndex.partitionOf(topic, partitions, dbId);
    }

    private RetriablePagestreamException kafkaFailure(String dbId, KafkaException e) {
        return new RetriablePagestreamException("db " + dbId + ": reading topic '" + config.topic()
                + "' (or its .catalog/.snapshots) failed: " + e.getMessage(), e);
    }

    @Override
    public void close() {
        consumer.close();
    }
}
