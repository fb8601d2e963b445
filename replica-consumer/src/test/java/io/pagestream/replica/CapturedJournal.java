package io.pagestream.replica;

import static org.assertj.core.api.Assertions.assertThat;

import io.pagestream.schemas.FragmentAssembler;
import io.pagestream.schemas.JournalCodec;
import io.pagestream.schemas.JournalRecord;
import io.pagestream.schemas.avro.JournalEntry;
import io.pagestream.vfs.InMemoryJournalSink;
import io.pagestream.vfs.PagestreamVfs;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;

/**
 * Genuine journal records for tests: databases written with sqlite-jdbc through the Pagestream VFS into an
 * in-memory sink, with the SHA-256 of the writer's file at every LSN. The hashes come from the VFS's commit
 * observer, so the writer's file is never opened by Java while SQLite holds locks on it.
 */
public final class CapturedJournal implements AutoCloseable {
    private static final AtomicInteger INSTALLATIONS = new AtomicInteger();

    private final Path directory;
    private final InMemoryJournalSink sink;
    private final PagestreamVfs vfs;
    private final Map<String, String> writerHashes = new ConcurrentHashMap<>();

    /**
     * @param directory where the writer's database files go
     * @param maxRecordBytes entries encoding larger than this are fragmented
     */
    public CapturedJournal(Path directory, int maxRecordBytes) {
        this.directory = directory;
        try {
            Files.createDirectories(directory);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        this.sink = new InMemoryJournalSink(maxRecordBytes);
        this.vfs = PagestreamVfs.builder(Map.of("vfs.name", "captured" + INSTALLATIONS.incrementAndGet()))
                .sink(sink)
                .commitObserver((dbId, lsn, image) -> writerHashes.put(dbId + "@" + lsn, sha256(image.readAll())))
                .install();
    }

    /** The writer's database file of {@code dbId}. */
    public Path writerFile(String dbId) {
        return directory.resolve(dbId);
    }

    /** A writer connection: every committed transaction becomes one journal entry. */
    public Connection connect(String dbId) throws SQLException {
        Connection connection = DriverManager.getConnection(vfs.jdbcUrl(writerFile(dbId)));
        // Durability of the writer's file is not under test; its commits are what the journal captures.
        exec(connection, "PRAGMA busy_timeout=10000", "PRAGMA synchronous=OFF");
        return connection;
    }

    /** Runs each statement on its own (autocommit: each writing statement is one transaction, one entry). */
    /** LSN 1 (a base entry) to 4 of {@code dbId}, one record each: a table created, then three rows inserted. */
    public static List<JournalRecord> fourEntries(Path directory, String dbId) throws SQLException {
        try (CapturedJournal journal = new CapturedJournal(directory, 1 << 20)) {
            try (Connection c = journal.connect(dbId)) {
                exec(c, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)", "INSERT INTO t(v) VALUES ('a')",
                        "INSERT INTO t(v) VALUES ('b')", "INSERT INTO t(v) VALUES ('c')");
            }
            return journal.recordsByEntry(dbId).stream().map(List::getFirst).toList();
        }
    }

    public static void exec(Connection connection, String... sqls) throws SQLException {
        for (String sql : sqls) {
            try (Statement statement = connection.createStatement()) {
                statement.execute(sql);
            }
        }
    }

    /** Every record published so far, in order, once the VFS has handed them all to the sink. */
    public List<JournalRecord> records() {
        try {
            assertThat(vfs.flush(Duration.ofSeconds(30))).as("journal flushed").isTrue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        assertThat(vfs.failedEntries()).as("entries the VFS failed to publish").isZero();
        return sink.records();
    }

    public List<JournalRecord> records(String dbId) {
        return records().stream().filter(record -> record.key().equals(dbId)).toList();
    }

    /** The records of {@code dbId} grouped by entry: one list per LSN, holding its record or its fragments. */
    public List<List<JournalRecord>> recordsByEntry(String dbId) {
        List<List<JournalRecord>> grouped = new ArrayList<>();
        FragmentAssembler assembler = new FragmentAssembler();
        List<JournalRecord> current = new ArrayList<>();
        for (JournalRecord record : records(dbId)) {
            current.add(record);
            if (assembler.accept(JournalCodec.decode(record.value(), dbId), dbId).isPresent()) {
                grouped.add(current);
                current = new ArrayList<>();
            }
        }
        assertThat(current).as("records of an incomplete entry of %s", dbId).isEmpty();
        return grouped;
    }

    /** The entries the records carry, fragments reassembled. */
    public static List<JournalEntry> entries(List<JournalRecord> records) {
        List<JournalEntry> entries = new ArrayList<>();
        Map<String, FragmentAssembler> assemblers = new HashMap<>();
        for (JournalRecord record : records) {
            FragmentAssembler assembler = assemblers.computeIfAbsent(record.key(), key -> new FragmentAssembler());
            Optional<JournalEntry> entry = assembler.accept(JournalCodec.decode(record.value(), record.key()), record.key());
            entry.ifPresent(entries::add);
        }
        return entries;
    }

    /** SHA-256 of the writer's file right after it committed {@code lsn}. */
    public String writerHash(String dbId, long lsn) {
        String hash = writerHashes.get(dbId + "@" + lsn);
        assertThat(hash).as("writer state of %s at LSN %d", dbId, lsn).isNotNull();
        return hash;
    }

    /** A consumer record as the replica's Kafka consumer would hand it over, headers included. */
    public static ConsumerRecord<byte[], byte[]> consumerRecord(String topic, int partition, long offset, JournalRecord record) {
        RecordHeaders headers = new RecordHeaders();
        record.headers().forEach(header -> headers.add(header.name(), header.value()));
        byte[] key = record.keyBytes();
        return new ConsumerRecord<>(topic, partition, offset, 0L, TimestampType.CREATE_TIME, key.length,
                record.value().length, key, record.value(), headers, Optional.empty());
    }

    /** The record with header {@code name} set to {@code value} (a header saying something its body does not). */
    public static JournalRecord withHeader(JournalRecord record, String name, String value) {
        List<JournalRecord.Header> headers = new ArrayList<>(record.headers().stream()
                .filter(header -> !header.name().equals(name)).toList());
        headers.add(JournalRecord.Header.ascii(name, value));
        return new JournalRecord(record.key(), record.value(), List.copyOf(headers));
    }

    /**
     * The record with {@code count} bytes changed at seeded places in the second half of its value, where an entry
     * carrying a few pages has its pages (a changed commit time, say, would be no damage any check can see).
     */
    public static JournalRecord damaged(JournalRecord record, SplittableRandom random, int count) {
        byte[] value = record.value().clone();
        for (int i = 0; i < count; i++) {
            int at = value.length / 2 + random.nextInt(value.length - value.length / 2);
            value[at] ^= (byte) (1 + random.nextInt(255));
        }
        return new JournalRecord(record.key(), value, record.headers());
    }

    public static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** SHA-256 of a file; only for files no SQLite connection of this process has open. */
    public static String sha256(Path file) {
        try {
            return sha256(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        vfs.close();
    }
}
