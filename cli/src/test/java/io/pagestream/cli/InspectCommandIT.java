package io.pagestream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.pagestream.broker.KafkaBrokerExtension;
import io.pagestream.schemas.JournalCodec;
import io.pagestream.schemas.JournalContract;
import io.pagestream.schemas.JournalRecord;
import io.pagestream.schemas.PageDiff;
import io.pagestream.schemas.avro.JournalEntry;
import io.pagestream.schemas.avro.PageDelta;
import io.pagestream.vfs.PagestreamVfs;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code pagestream inspect} against a real in-process broker holding real journal records. */
class InspectCommandIT {
    private static final int PAGE_SIZE = 4096;
    /** Small enough that a 40-page entry is split into several fragments. */
    private static final int MAX_RECORD_BYTES = 32 * 1024;
    private static final Instant COMMIT_TIME = Instant.parse("2024-05-01T12:34:56.789Z");

    @RegisterExtension
    static final KafkaBrokerExtension broker = new KafkaBrokerExtension();
    private static KafkaProducer<byte[], byte[]> producer;

    @BeforeAll
    static void startProducer() {
        producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                ProducerConfig.ACKS_CONFIG, "all"), new ByteArraySerializer(), new ByteArraySerializer());
    }

    @AfterAll
    static void stopProducer() {
        producer.close();
    }

    /** What one command run printed and returned. */
    record Run(int exitCode, String out, String err) {
        List<String> lines() {
            return out.lines().toList();
        }
    }

    /** The records of one published entry, as Kafka stored them. */
    record Published(JournalEntry entry, List<RecordMetadata> records, long valueBytes) {
        RecordMetadata last() {
            return records.getLast();
        }
    }

    @Test
    void listsEntriesWithFragmentedOneAsOneRowAndReportsACorruptRecord() throws Exception {
        String topic = createTopic("listing", 3);
        Published base = publish(topic, entry("app.db", 1, true, 0L, 11L, 2, pages(2, 1)));
        publish(topic, entry("other.db", 1, true, 0L, 99L, 1, pages(1, 2)));
        Published update = publish(topic, entry("app.db", 2, false, 11L, 22L, 2, pages(1, 3)));
        Published large = publish(topic, entry("app.db", 3, false, 22L, 33L, 40, pages(40, 4)));
        RecordMetadata corrupt = send(topic, "app.db", "not a journal record".getBytes(StandardCharsets.UTF_8), "4");
        Published after = publish(topic, entry("app.db", 4, false, 33L, 44L, 40, pages(1, 5)));
        assertThat(large.records()).as("the large entry is fragmented").hasSizeGreaterThan(2);

        Run run = inspect("--bootstrap-server", broker.bootstrapServers(), "--topic", topic, "--db", "app.db");

        assertThat(run.exitCode()).as("exit code with a corrupt record; stderr: %s", run.err()).isEqualTo(2);
        List<String> lines = run.lines();
        assertThat(lines).hasSize(7);
        assertThat(lines.getFirst()).contains("LSN", "PARTITION/OFF", "COMMIT TIME (UTC)", "BASE", "PAGE SIZE", "PAGES",
                "DELTAS", "FRAGS", "BYTES", "PRE CHECKSUM", "POST CHECKSUM");
        assertThat(columns(lines.get(1))).containsExactly("1", position(base.last()), "2024-05-01T12:34:56.789Z", "yes",
                "4096", "2", "2", "-", Long.toString(base.valueBytes()), JournalContract.hex(0), JournalContract.hex(11));
        assertThat(columns(lines.get(2))).containsExactly("2", position(update.last()), "2024-05-01T12:34:56.789Z", "no",
                "4096", "2", "1", "-", Long.toString(update.valueBytes()), JournalContract.hex(11), JournalContract.hex(22));
        assertThat(columns(lines.get(3))).containsExactly("3", position(large.last()), "2024-05-01T12:34:56.789Z", "no",
                "4096", "40", "40", Integer.toString(large.records().size()), Long.toString(large.valueBytes()),
                JournalContract.hex(22), JournalContract.hex(33));
        assertThat(lines.get(4)).startsWith("       4  " + position(corrupt) + " ")
                .contains("UNREADABLE: " + topic + "-" + corrupt.partition() + "@" + corrupt.offset())
                .contains("not a Pagestream journal record");
        assertThat(columns(lines.get(5))).startsWith("4", position(after.last()));
        assertThat(lines.get(6)).isEqualTo("4 entries, LSN 1..4, 1 base, "
                + (base.valueBytes() + update.valueBytes() + large.valueBytes() + after.valueBytes())
                + " bytes, LSN chain contiguous, 1 unreadable record");
        assertThat(run.err()).isEmpty();
    }

    @Test
    void jsonListsOneObjectPerLineFromAnLsnUpToALimit() throws Exception {
        String topic = createTopic("json", 1);
        publish(topic, entry("app.db", 1, true, 0L, 11L, 2, pages(2, 1)));
        Published second = publish(topic, entry("app.db", 2, false, 11L, 22L, 40, pages(40, 2)));
        Published third = publish(topic, entry("app.db", 3, false, 22L, 33L, 40, pages(1, 3)));
        send(topic, "app.db", new byte[] {1, 2, 3}, null);

        Run limited = inspect("--bootstrap-server", broker.bootstrapServers(), "--topic", topic, "--db", "app.db",
                "--from-lsn", "2", "--limit", "2", "--json");

        assertThat(limited.exitCode()).as("stderr: %s", limited.err()).isZero();
        assertThat(limited.lines()).containsExactly(
                "{\"type\":\"entry\",\"db\":\"app.db\",\"lsn\":2,\"partition\":0,\"offset\":" + second.last().offset()
                        + ",\"commitTime\":\"2024-05-01T12:34:56.789Z\",\"commitTimeMillis\":" + COMMIT_TIME.toEpochMilli()
                        + ",\"base\":false,\"pageSize\":4096,\"pageCount\":40,\"deltas\":40,\"fragments\":"
                        + second.records().size() + ",\"bytes\":" + second.valueBytes()
                        + ",\"preChecksum\":\"000000000000000b\",\"postChecksum\":\"0000000000000016\"}",
                "{\"type\":\"entry\",\"db\":\"app.db\",\"lsn\":3,\"partition\":0,\"offset\":" + third.last().offset()
                        + ",\"commitTime\":\"2024-05-01T12:34:56.789Z\",\"commitTimeMillis\":" + COMMIT_TIME.toEpochMilli()
                        + ",\"base\":false,\"pageSize\":4096,\"pageCount\":40,\"deltas\":1,\"fragments\":0,\"bytes\":"
                        + third.valueBytes() + ",\"preChecksum\":\"0000000000000016\",\"postChecksum\":\"0000000000000021\"}",
                "{\"type\":\"summary\",\"db\":\"app.db\",\"topic\":\"" + topic + "\",\"entries\":2,\"firstLsn\":2,\"lastLsn\":3,"
                        + "\"bases\":0,\"bytes\":" + (second.valueBytes() + third.valueBytes()) + ",\"contiguous\":true,"
                        + "\"unreadable\":0,\"incompleteAtEnd\":false,\"recordsRead\":" + (1 + second.records().size() + 1)
                        + "}");

        Run all = inspect("--bootstrap-server", broker.bootstrapServers(), "--topic", topic, "--db", "app.db", "--json");

        assertThat(all.exitCode()).isEqualTo(2);
        assertThat(all.lines()).hasSize(5);
        assertThat(all.lines().get(3)).startsWith("{\"type\":\"unreadable\",\"db\":\"app.db\",\"partition\":0,\"offset\":")
                .contains("\"error\":\"" + topic + "-0@").contains("too short for a journal record");
        assertThat(all.lines().get(4)).contains("\"entries\":3", "\"bases\":1", "\"unreadable\":1");
    }

    @Test
    void brokenFragmentChainIsOneRowAndTheEntriesAfterItAreStillListed() throws Exception {
        String topic = createTopic("broken", 1);
        publish(topic, entry("app.db", 1, true, 0L, 11L, 2, pages(2, 1)));
        List<JournalRecord> fragments = JournalCodec.toRecords(entry("app.db", 2, false, 11L, 22L, 40, pages(40, 2)),
                MAX_RECORD_BYTES);
        List<RecordMetadata> sent = new ArrayList<>();
        for (JournalRecord fragment : fragments) {
            if (fragment != fragments.get(1)) {
                sent.add(send(topic, fragment));
            }
        }
        publish(topic, entry("app.db", 3, false, 22L, 33L, 40, pages(1, 3)));
        List<JournalRecord> unfinished = JournalCodec.toRecords(entry("app.db", 4, false, 33L, 44L, 40, pages(40, 4)),
                MAX_RECORD_BYTES);
        send(topic, unfinished.get(0));
        send(topic, unfinished.get(1));

        Run run = inspect("--bootstrap-server", broker.bootstrapServers(), "--topic", topic, "--db", "app.db");

        assertThat(run.exitCode()).isEqualTo(2);
        List<String> lines = run.lines();
        assertThat(lines).hasSize(5);
        assertThat(columns(lines.get(1))).startsWith("1");
        assertThat(lines.get(2)).startsWith("       2  " + position(sent.get(1)) + " ")
                .contains("missing fragment 1/" + fragments.size());
        assertThat(columns(lines.get(3))).startsWith("3");
        assertThat(lines.get(4)).startsWith("2 entries, LSN 1..3, 1 base, ")
                .endsWith(", LSN chain NOT contiguous (LSN 3 follows 1), 1 unreadable record, LSN 4 incomplete at the end"
                        + " (2 fragments so far, up to 0/" + (fragments.size() + 2) + "; still being published?)");
    }

    @Test
    void listsWhatTheVfsPublishedForARealDatabase(@TempDir Path dir) throws Exception {
        String topic = "vfs-" + System.nanoTime();
        Map<String, Object> settings = Map.of("bootstrap.servers", broker.bootstrapServers(), "journal.topic", topic,
                "vfs.name", "inspect-it");
        try (PagestreamVfs vfs = PagestreamVfs.install(settings);
                Connection connection = DriverManager.getConnection(vfs.jdbcUrl(dir.resolve("real.db")))) {
            try (Statement statement = connection.createStatement()) {
                statement.execute("PRAGMA journal_mode=DELETE");
                statement.execute("create table t(id integer primary key, payload text)");
                for (int i = 0; i < 3; i++) {
                    statement.execute("insert into t(payload) values ('row " + i + "')");
                }
            }
            assertThat(vfs.flush(Duration.ofSeconds(30))).as("published within 30 s").isTrue();
            assertThat(vfs.failedEntries()).isZero();
        }

        Run run = inspect("--bootstrap-server", broker.bootstrapServers(), "--topic", topic, "--db", "real.db");

        assertThat(run.exitCode()).as("stderr: %s", run.err()).isZero();
        List<String> rows = run.lines().subList(1, run.lines().size() - 1);
        assertThat(rows).hasSizeGreaterThanOrEqualTo(4);
        assertThat(columns(rows.getFirst())).element(0).isEqualTo("1");
        assertThat(columns(rows.getFirst())).element(3).isEqualTo("yes");
        assertThat(rows.subList(1, rows.size())).allSatisfy(row -> assertThat(columns(row)).element(3).isEqualTo("no"));
        assertThat(run.lines().getLast()).startsWith(rows.size() + " entries, LSN 1.." + rows.size() + ", 1 base, ")
                .endsWith(" bytes, LSN chain contiguous");
    }

    @Test
    void missingTopicIsAOneLineError() {
        Run run = inspect("--bootstrap-server", broker.bootstrapServers(), "--topic", "no-such-topic", "--db", "app.db");

        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.out()).isEmpty();
        assertThat(run.err().lines().toList()).singleElement().asString()
                .startsWith("pagestream inspect: journal topic 'no-such-topic' does not exist at " + broker.bootstrapServers());
    }

    @Test
    void databaseWithoutEntriesIsSaidSo() throws Exception {
        String topic = createTopic("others", 1);
        publish(topic, entry("other.db", 1, true, 0L, 11L, 2, pages(2, 1)));

        Run run = inspect("--bootstrap-server", broker.bootstrapServers(), "--topic", topic, "--db", "app.db");

        assertThat(run.exitCode()).isZero();
        assertThat(run.lines()).containsExactly("no entries for database 'app.db' in topic '" + topic + "' (1 record read)");
    }

    private static Run inspect(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine command = new CommandLine(new PagestreamCommand());
        command.setOut(new PrintWriter(out, true));
        command.setErr(new PrintWriter(err, true));
        String[] arguments = new String[args.length + 1];
        arguments[0] = "inspect";
        System.arraycopy(args, 0, arguments, 1, args.length);
        int exitCode = command.execute(arguments);
        return new Run(exitCode, out.toString(), err.toString());
    }

    /** A table row split into its columns. */
    private static List<String> columns(String row) {
        return List.of(row.trim().split("\\s+"));
    }

    private static String position(RecordMetadata record) {
        return record.partition() + "/" + record.offset();
    }

    private static JournalEntry entry(String dbId, long lsn, boolean base, long pre, long post, int pageCount,
            List<PageDelta> deltas) {
        return JournalEntry.newBuilder().setDbId(dbId).setLsn(lsn).setBase(base).setPreChecksum(pre).setPostChecksum(post)
                .setPageSize(PAGE_SIZE).setPageCount(pageCount).setCommitTimeMillis(COMMIT_TIME.toEpochMilli())
                .setDeltas(deltas).build();
    }

    /** Whole-page deltas of random (incompressible) pages 1..count. */
    private static List<PageDelta> pages(int count, long seed) {
        Random random = new Random(seed);
        List<PageDelta> deltas = new ArrayList<>(count);
        for (int pgno = 1; pgno <= count; pgno++) {
            byte[] page = new byte[PAGE_SIZE];
            random.nextBytes(page);
            deltas.add(PageDiff.fullPage(pgno, page));
        }
        return deltas;
    }

    private static String createTopic(String prefix, int partitions) throws ExecutionException, InterruptedException {
        String topic = prefix + "-" + System.nanoTime();
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(topic, Optional.of(partitions), Optional.empty()))).all().get();
        }
        return topic;
    }

    private static Published publish(String topic, JournalEntry entry) throws Exception {
        List<RecordMetadata> sent = new ArrayList<>();
        long valueBytes = 0;
        for (JournalRecord record : JournalCodec.toRecords(entry, MAX_RECORD_BYTES)) {
            sent.add(send(topic, record));
            valueBytes += record.value().length;
        }
        return new Published(entry, sent, valueBytes);
    }

    private static RecordMetadata send(String topic, JournalRecord record) throws Exception {
        ProducerRecord<byte[], byte[]> producerRecord = new ProducerRecord<>(topic, record.keyBytes(), record.value());
        record.headers().forEach(header -> producerRecord.headers().add(new RecordHeader(header.name(), header.value())));
        return send(producerRecord);
    }

    /** A record with the database's key that is not a journal record; {@code lsn} goes into the LSN header if given. */
    private static RecordMetadata send(String topic, String key, byte[] value, String lsn) throws Exception {
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value);
        if (lsn != null) {
            record.headers().add(new RecordHeader(JournalContract.HEADER_LSN, lsn.getBytes(StandardCharsets.US_ASCII)));
        }
        return send(record);
    }

    /** Sends one record and waits for it, so records land in the order sent. */
    private static RecordMetadata send(ProducerRecord<byte[], byte[]> record) throws Exception {
        return producer.send(record).get();
    }
}
