package io.pagestream.vfs;

import io.pagestream.schemas.JournalContract;
import io.pagestream.schemas.JournalRecord;
import io.pagestream.schemas.PagestreamConfigException;
import io.pagestream.schemas.RetriablePagestreamException;
import io.pagestream.vfs.internals.TopicVerifier;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Publishes journal records with one transactional, idempotent, acks=all producer per database: Kafka keeps each
 * database's records in commit order (one key, one partition) without duplicates from retries, a batch of entries
 * is one Kafka transaction (read_committed consumers see all of it or none), and the transactional id
 * {@code pagestream:<topic>:<db id>} fences any other writer of the same database.
 */
public final class KafkaJournalSink implements JournalSink {
    /**
     * How long reading a journal's end waits for transactions open below the partition's end: others finish within
     * milliseconds; one still open after this was left by a producer that died, and stays open until the broker
     * aborts it (transaction.timeout.ms).
     */
    private static final long STABLE_END_WAIT_MS = 2_000;
    private static final long STABLE_END_POLL_NANOS = 20_000_000;
    /**
     * How long a transaction may hide the end before asking whose it is: a writer's own one, left open by a failed send,
     * never finishes by waiting (claiming aborts it), while other writers' transactions mostly finish within this.
     */
    private static final long OWN_TRANSACTION_CHECK_MS = 200;
    private static final Set<TransactionState> OPEN_TRANSACTION_STATES = EnumSet.of(TransactionState.ONGOING,
            TransactionState.PREPARE_COMMIT, TransactionState.PREPARE_ABORT, TransactionState.PREPARE_EPOCH_FENCE);
    private final Map<String, Object> producerSettings;
    private final ConcurrentHashMap<String, Producer<byte[], byte[]>> producers = new ConcurrentHashMap<>();
    private final String topic;
    private final int maxRecordBytes;
    private final Map<String, Object> consumerSettings;
    /** For the partition's end including transactions still open (its high watermark). */
    private final Map<String, Object> uncommittedSettings;
    private final Map<String, Object> adminSettings;
    private final long timeoutMs;

    public KafkaJournalSink(PagestreamConfig config) {
        List<String> servers = config.getList(PagestreamConfig.BOOTSTRAP_SERVERS_CONFIG);
        if (servers.isEmpty()) {
            throw new PagestreamConfigException("bootstrap.servers is required to publish to Kafka");
        }
        this.topic = config.topic();
        this.maxRecordBytes = config.recordMaxBytes();
        Map<String, Object> settings = producerSettings(config, servers);
        this.timeoutMs = config.getLong(PagestreamConfig.STARTUP_TIMEOUT_MS_CONFIG);
        this.consumerSettings = only(settings, ConsumerConfig.configNames());
        consumerSettings.put(ConsumerConfig.CLIENT_ID_CONFIG, "pagestream-writer-position");
        consumerSettings.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        consumerSettings.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        consumerSettings.remove(ConsumerConfig.GROUP_ID_CONFIG);
        this.uncommittedSettings = new HashMap<>(consumerSettings);
        uncommittedSettings.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted");
        this.adminSettings = only(settings, AdminClientConfig.configNames());
        int apiTimeout = (int) timeoutMs; // bounded by the setting's range
        adminSettings.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, apiTimeout);
        adminSettings.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, Math.min(apiTimeout, 30_000));
        try (Admin admin = Admin.create(adminSettings)) {
            TopicVerifier.ensure(admin, topic, config.getInt(PagestreamConfig.JOURNAL_TOPIC_PARTITIONS_CONFIG),
                    config.getShort(PagestreamConfig.JOURNAL_TOPIC_REPLICATION_FACTOR_CONFIG),
                    config.getBoolean(PagestreamConfig.JOURNAL_TOPIC_CREATE_CONFIG), maxRecordBytes, timeoutMs);
        } catch (KafkaException e) {
            throw new PagestreamConfigException("invalid Kafka client settings: " + e.getMessage()
                    + (e.getCause() == null ? "" : " (" + e.getCause().getMessage() + ")"));
        }
        this.producerSettings = settings;
        // Checks the producer settings now rather than at a database's first commit (constructing one connects nowhere).
        try (Producer<byte[], byte[]> probe = new KafkaProducer<>(settings, new ByteArraySerializer(), new ByteArraySerializer())) {
            probe.metrics(); // constructed: the settings parsed
        } catch (KafkaException e) {
            throw new PagestreamConfigException("invalid producer settings: " + e.getMessage()
                    + (e.getCause() == null ? "" : " (" + e.getCause().getMessage() + ")"));
        }
    }

    /** The database's producer, its transactions initialized: that fences the previous holder of its id. */
    private Producer<byte[], byte[]> producer(String dbId) {
        return producers.computeIfAbsent(dbId, id -> {
            Map<String, Object> settings = new HashMap<>(producerSettings);
            settings.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId(id));
            settings.put(ProducerConfig.CLIENT_ID_CONFIG, settings.get(ProducerConfig.CLIENT_ID_CONFIG) + "-" + id);
            Producer<byte[], byte[]> producer = new KafkaProducer<>(settings, new ByteArraySerializer(), new ByteArraySerializer());
            try {
                producer.initTransactions();
                return producer;
            } catch (RuntimeException e) {
                producer.close(Duration.ZERO);
                throw e;
            }
        });
    }

    private String transactionalId(String dbId) {
        return "pagestream:" + topic + ":" + dbId;
    }

    /** Drops the database's producer after a failure: a new one resolves whatever transaction it left open. */
    private void discard(String dbId) {
        Producer<byte[], byte[]> producer = producers.remove(dbId);
        if (producer != null) {
            producer.close(Duration.ZERO);
        }
    }

    /** The client settings (security, timeouts…) another Kafka client understands. */
    private static Map<String, Object> only(Map<String, Object> settings, java.util.Set<String> names) {
        Map<String, Object> selected = new HashMap<>();
        settings.forEach((name, value) -> {
            if (names.contains(name)) {
                selected.put(name, value);
            }
        });
        return selected;
    }

    static Map<String, Object> producerSettings(PagestreamConfig config, List<String> servers) {
        Map<String, Object> settings = new HashMap<>(config.producerOverrides());
        settings.putIfAbsent(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, String.join(",", servers));
        settings.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "pagestream-writer");
        // Entries are small and frequent: batching them for a few milliseconds, in large batches, saves broker and
        // client CPU that the writing application would otherwise compete with.
        settings.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, "20");
        settings.putIfAbsent(ProducerConfig.BATCH_SIZE_CONFIG, "262144");
        // A transaction that starts while the broker still completes the previous one is refused with
        // CONCURRENT_TRANSACTIONS and retried after this backoff: Kafka's 100 ms stalled back-to-back synchronous
        // COMMITs (README, Writer benchmark). Retries of one request still back off exponentially to
        // retry.backoff.max.ms; the transaction coordinator's own retries wait this fixed time, hence not lower.
        // The position-reading consumer and admin client inherit it (their backoff is exponential too).
        settings.putIfAbsent(ProducerConfig.RETRY_BACKOFF_MS_CONFIG, "10");
        requireOrSet(settings, ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        if (settings.containsKey(ProducerConfig.TRANSACTIONAL_ID_CONFIG)) {
            throw new PagestreamConfigException("producer." + ProducerConfig.TRANSACTIONAL_ID_CONFIG + " is set by Pagestream"
                    + " (pagestream:<topic>:<db id>, one per database, so a second writer fences the first)");
        }
        requireOrSet(settings, ProducerConfig.ACKS_CONFIG, "all");
        Object requestSize = settings.get(ProducerConfig.MAX_REQUEST_SIZE_CONFIG);
        long maxRequest = requestSize == null ? 1048576 : Long.parseLong(requestSize.toString());
        if (maxRequest < (long) config.recordMaxBytes() + TopicVerifier.RECORD_OVERHEAD) {
            throw new PagestreamConfigException("producer.max.request.size=" + maxRequest + " is below record.max.bytes "
                    + config.recordMaxBytes() + " + " + TopicVerifier.RECORD_OVERHEAD + " bytes of framing");
        }
        return settings;
    }

    private static void requireOrSet(Map<String, Object> settings, String name, String required) {
        Object value = settings.putIfAbsent(name, required);
        if (value != null && !value.toString().equalsIgnoreCase(required)) {
            throw new PagestreamConfigException("producer." + name + "=" + value + " would break exactly-once, in-order"
                    + " publishing; Pagestream requires " + required);
        }
    }

    /** One Kafka transaction, committed before this returns (commitTransaction sends at once, whatever linger.ms says). */
    @Override
    public CompletableFuture<Void> send(List<JournalRecord> records) {
        String dbId = records.getFirst().key();
        try {
            Producer<byte[], byte[]> producer = producer(dbId);
            producer.beginTransaction();
            for (JournalRecord record : records) {
                ProducerRecord<byte[], byte[]> producerRecord = new ProducerRecord<>(topic, record.keyBytes(), record.value());
                for (JournalRecord.Header header : record.headers()) {
                    producerRecord.headers().add(new RecordHeader(header.name(), header.value()));
                }
                producer.send(producerRecord);
            }
            producer.commitTransaction();
            return CompletableFuture.completedFuture(null);
        } catch (KafkaException e) {
            discard(dbId);
            return CompletableFuture.failedFuture(new RetriablePagestreamException("publishing to '" + topic + "' for db "
                    + dbId + " failed: " + e.getMessage(), e));
        }
    }

    /**
     * A new producer for the database: initializing its transactional id fences any other writer of it and aborts a
     * transaction an earlier producer left open. (Kafka also bumps the epoch when it aborts a transaction itself,
     * as after a broker restart: a fenced-looking error is therefore retried, and the publisher decides from the
     * journal's end whether another writer really took over.)
     */
    @Override
    public void claim(String dbId) {
        discard(dbId);
        try {
            producer(dbId);
        } catch (KafkaException e) {
            throw new RetriablePagestreamException("cannot claim db " + dbId + " on '" + topic + "': " + e.getMessage(), e);
        }
    }

    /**
     * Scans the tail of the db id's partition backwards in growing windows for its newest entry (or final
     * fragment), reading only headers. Runs when a database is claimed: at its first transaction in a process and
     * after a failed publish.
     */
    @Override
    public Optional<JournalPosition> lastPosition(String dbId) {
        byte[] key = dbId.getBytes(StandardCharsets.UTF_8);
        long deadline = System.nanoTime() + timeoutMs * 1_000_000;
        try (Consumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(consumerSettings, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            int partitions = consumer.partitionsFor(topic, Duration.ofMillis(timeoutMs)).size();
            TopicPartition partition = new TopicPartition(topic, Utils.toPositive(Utils.murmur2(key)) % partitions);
            List<TopicPartition> assigned = List.of(partition);
            consumer.assign(assigned);
            long begin = consumer.beginningOffsets(assigned, Duration.ofMillis(timeoutMs)).get(partition);
            long upper = stableEnd(dbId, consumer, partition);
            for (long window = 256; upper > begin; window *= 2) {
                long lower = Math.max(begin, upper - window);
                consumer.seek(partition, lower);
                Optional<JournalPosition> newest = Optional.empty();
                while (consumer.position(partition) < upper) {
                    if (System.nanoTime() > deadline) {
                        throw new RetriablePagestreamException("reading the journal position of db " + dbId + " from '"
                                + topic + "' took longer than " + timeoutMs + " ms", null);
                    }
                    for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(100))) {
                        if (record.offset() < upper && Arrays.equals(record.key(), key)) {
                            Optional<JournalPosition> position = JournalPositions.of(header(record, JournalContract.HEADER_LSN),
                                    header(record, JournalContract.HEADER_POST_CHECKSUM));
                            newest = position.isPresent() ? position : newest;
                        }
                    }
                }
                if (newest.isPresent()) {
                    return newest;
                }
                upper = lower;
            }
            return Optional.empty();
        } catch (KafkaException e) {
            throw new RetriablePagestreamException("cannot read the journal position of db " + dbId + " from '" + topic
                    + "': " + e.getMessage(), e);
        }
    }

    /**
     * The partition's end as of now, once every transaction open below it has finished. A read_committed reader sees
     * nothing past the first offset of a transaction still open (another database's writer that died mid-transaction
     * holds it open until the broker aborts it), so this database's newer entries behind it would go unseen and an
     * older one taken for the journal's end. Transactions begun later lie past this end and do not matter: the
     * database is claimed, so nothing of its own can follow.
     *
     * @throws JournalEndHiddenException when one is still open after {@link #STABLE_END_WAIT_MS}, or after
     *     {@link #OWN_TRANSACTION_CHECK_MS} when it is the database's own
     */
    private long stableEnd(String dbId, Consumer<byte[], byte[]> committedReader, TopicPartition partition) {
        List<TopicPartition> assigned = List.of(partition);
        long end;
        try (Consumer<byte[], byte[]> uncommittedReader =
                new KafkaConsumer<>(uncommittedSettings, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            end = uncommittedReader.endOffsets(assigned, Duration.ofMillis(timeoutMs)).get(partition);
        }
        long start = System.nanoTime();
        long deadline = start + Math.min(timeoutMs, STABLE_END_WAIT_MS) * 1_000_000;
        long ownCheck = start + Math.min(timeoutMs, OWN_TRANSACTION_CHECK_MS) * 1_000_000; // never after the deadline
        boolean ownAsked = false;
        while (true) {
            long stable = committedReader.endOffsets(assigned, Duration.ofMillis(timeoutMs)).get(partition);
            if (stable >= end) {
                return end;
            }
            long now = System.nanoTime();
            boolean own = false;
            if (!ownAsked && now - ownCheck >= 0) {
                ownAsked = true;
                own = ownTransactionOpen(dbId, partition);
            }
            if (own || now > deadline) {
                throw new JournalEndHiddenException("cannot read the journal position of db " + dbId + " from '" + topic
                        + "' yet: a transaction still open at offset " + stable + " of partition " + partition.partition()
                        + " (the end is " + end + ") hides what follows it" + (own ? "; this writer's own unfinished"
                        + " transaction is open there, which claiming the database aborts" : ""), own);
            }
            LockSupport.parkNanos(STABLE_END_POLL_NANOS);
        }
    }

    /** Whether the database's own transactional id has a transaction open in {@code partition}. */
    private boolean ownTransactionOpen(String dbId, TopicPartition partition) {
        String id = transactionalId(dbId);
        try (Admin admin = Admin.create(adminSettings)) {
            TransactionDescription description = admin.describeTransactions(List.of(id)).description(id)
                    .get(timeoutMs, TimeUnit.MILLISECONDS);
            return OPEN_TRANSACTION_STATES.contains(description.state()) && description.topicPartitions().contains(partition);
        } catch (ExecutionException | TimeoutException | KafkaException e) {
            return false; // unknown: the end stays hidden, and the caller retries
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static String header(ConsumerRecord<byte[], byte[]> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null ? null : new String(header.value(), StandardCharsets.US_ASCII);
    }

    @Override
    public int maxRecordBytes() {
        return maxRecordBytes;
    }

    @Override
    public void close() {
        // Every send has committed or discarded its transaction before returning, so no producer holds records: closing
        // need not wait. (What the publisher could not send in time stays in the outbox.)
        RuntimeException failure = null;
        for (Producer<byte[], byte[]> producer : producers.values()) {
            try {
                producer.close(Duration.ZERO);
            } catch (RuntimeException e) { // e.g. interrupted: the other producers are closed all the same
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        producers.clear();
        if (failure != null) {
            throw failure;
        }
    }
}
