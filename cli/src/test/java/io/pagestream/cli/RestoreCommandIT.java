package io.pagestream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.pagestream.broker.KafkaBrokerExtension;
import io.pagestream.replica.ReplicaPosition;
import io.pagestream.replica.internals.SnapshotUpload;
import io.pagestream.schemas.SnapshotCodec;
import io.pagestream.schemas.SnapshotContract;
import io.pagestream.schemas.avro.CatalogEntry;
import io.pagestream.schemas.avro.JournalEntry;
import io.pagestream.schemas.avro.RestorePoint;
import io.pagestream.vfs.KafkaJournal;
import io.pagestream.vfs.PagestreamVfs;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code pagestream restore} against a real in-process broker: a VFS writer's journal and one snapshot of it. */
class RestoreCommandIT {
    private static final String TOPIC = "restore-cli";
    private static final String DB_ID = "notes.db";

    @RegisterExtension
    static final KafkaBrokerExtension broker = new KafkaBrokerExtension();

    @TempDir
    static Path dir;

    private static final Map<Long, String> shaByLsn = new ConcurrentHashMap<>();
    private static final Map<Long, byte[]> imageByLsn = new ConcurrentHashMap<>();
    private static List<JournalEntry> entries;
    private static List<Long> offsets;
    private static RestorePoint snapshot;

    record Run(int exitCode, String out, String err) {}

    @BeforeAll
    static void writeJournalAndOneSnapshot() throws Exception {
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("bootstrap.servers", broker.bootstrapServers(),
                        "journal.topic", TOPIC, "vfs.name", "restore-cli"))
                .commitObserver((dbId, lsn, image) -> {
                    byte[] bytes = image.readAll();
                    imageByLsn.put(lsn, bytes);
                    shaByLsn.put(lsn, sha256(bytes));
                })
                .install();
                Connection connection = DriverManager.getConnection(vfs.jdbcUrl(Files.createDirectories(dir.resolve("writer")).resolve(DB_ID)))) {
            try (Statement s = connection.createStatement()) {
                s.execute("create table notes(id integer primary key, body text)");
                for (int i = 0; i < 30; i++) {
                    s.execute("insert into notes(body) values ('" + "note ".repeat(40 + i * 20) + i + "')");
                    if (i % 10 == 9) {
                        s.execute("delete from notes where id % 3 = 0");
                    }
                }
            }
            assertThat(vfs.flush(Duration.ofSeconds(60))).isTrue();
        }
        readJournal();
        int at = entries.size() / 2;
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()));
                KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
                        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()), new ByteArraySerializer(),
                        new ByteArraySerializer())) {
            admin.createTopics(List.of(new NewTopic(SnapshotContract.snapshotsTopic(TOPIC), 1, (short) 1),
                    new NewTopic(SnapshotContract.catalogTopic(TOPIC), 1, (short) 1))).all().get();
            JournalEntry entry = entries.get(at);
            Path copy = Files.write(dir.resolve("copy"), imageByLsn.get(entry.getLsn()));
            try (SnapshotUpload upload = new SnapshotUpload(producer, SnapshotContract.snapshotsTopic(TOPIC), 0, DB_ID, copy,
                    new ReplicaPosition(entry.getLsn(), entry.getPostChecksum(), entry.getPageSize(), entry.getPageCount(), 0,
                            offsets.get(at), entry.getCommitTimeMillis()), 4096)) {
                upload.sendSome(Long.MAX_VALUE);
                snapshot = upload.complete(Duration.ofSeconds(30), System.currentTimeMillis());
            }
            producer.send(new ProducerRecord<>(SnapshotContract.catalogTopic(TOPIC), DB_ID.getBytes(StandardCharsets.UTF_8),
                    SnapshotCodec.encodeCatalog(new CatalogEntry(DB_ID, List.of(snapshot), 0L)))).get();
        }
    }

    @Test
    void listShowsTheSnapshotAndTheWindow() {
        Run run = restore("--db", DB_ID, "--list");

        assertThat(run.exitCode()).as("stderr: %s", run.err()).isZero();
        assertThat(run.out().lines().toList()).hasSize(3);
        assertThat(run.out()).startsWith("db " + DB_ID + " can be restored to LSN 1 (" + time(entries.getFirst()) + ") to LSN "
                + entries.getLast().getLsn() + " (" + time(entries.getLast()) + ")");
        assertThat(run.out().lines().toList().get(2)).contains(snapshot.getSnapshotId(), " " + snapshot.getLsn() + " ",
                time(snapshot.getCommitTimeMillis()));
    }

    @Test
    void dryRunPrintsThePlanAndWritesNothing() {
        Path output = dir.resolve("dry-run.db");
        long lsn = snapshot.getLsn() + 3;

        Run run = restore("--db", DB_ID, "--to-lsn", Long.toString(lsn), "--output", output.toString(), "--dry-run");

        assertThat(run.exitCode()).as("stderr: %s", run.err()).isZero();
        assertThat(run.out()).contains("restore db " + DB_ID + " to LSN " + lsn, "from snapshot " + snapshot.getSnapshotId(),
                "then " + (offsets.get(entries.indexOf(entryAt(lsn))) - snapshot.getJournalOffset()) + " journal records");
        assertThat(output).doesNotExist();
    }

    @Test
    void restoresToAnLsnAndToATime() throws Exception {
        for (long lsn : List.of(2L, snapshot.getLsn(), snapshot.getLsn() + 2, entries.getLast().getLsn())) {
            Path output = dir.resolve("at-" + lsn + ".db");
            Run run = restore("--db", DB_ID, "--to-lsn", Long.toString(lsn), "--output", output.toString());
            assertThat(run.exitCode()).as("stderr: %s", run.err()).isZero();
            assertThat(run.out()).startsWith("restored db " + DB_ID + " to LSN " + lsn + " ");
            assertThat(sha256(Files.readAllBytes(output))).isEqualTo(shaByLsn.get(lsn));
        }
        JournalEntry picked = entries.get(entries.size() / 3);
        long expected = entries.stream().filter(e -> e.getCommitTimeMillis() <= picked.getCommitTimeMillis())
                .mapToLong(JournalEntry::getLsn).max().orElseThrow();
        Path output = dir.resolve("at-time.db");
        Run run = restore("--db", DB_ID, "--to-time", time(picked), "--output", output.toString());
        assertThat(run.exitCode()).as("stderr: %s", run.err()).isZero();
        assertThat(run.out()).startsWith("restored db " + DB_ID + " to LSN " + expected + " ");
        assertThat(sha256(Files.readAllBytes(output))).isEqualTo(shaByLsn.get(expected));
    }

    @Test
    void aTargetOutsideTheWindowIsAOneLineErrorNamingTheWindow() {
        long beyond = entries.getLast().getLsn() + 1;
        Path output = dir.resolve("beyond.db");

        Run run = restore("--db", DB_ID, "--to-lsn", Long.toString(beyond), "--output", output.toString());

        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.out()).isEmpty();
        assertThat(run.err().lines().toList()).singleElement().asString().isEqualTo("pagestream restore: db " + DB_ID
                + ": LSN " + beyond + " is outside the restore window, LSN 1 (" + time(entries.getFirst()) + ") to LSN "
                + entries.getLast().getLsn() + " (" + time(entries.getLast()) + ") (journal offsets 0:" + offsets.getFirst()
                + " to 0:" + offsets.getLast() + ")");
        assertThat(output).doesNotExist();
    }

    @Test
    void twoTargetsAreRefused() {
        Run run = restore("--db", DB_ID, "--to-lsn", "2", "--to-offset", "0:5", "--output", dir.resolve("x").toString());

        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.err().strip()).isEqualTo("pagestream restore: give at most one of --to-lsn, --to-time and --to-offset");
    }

    private static Run restore(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine command = new CommandLine(new PagestreamCommand());
        command.setOut(new PrintWriter(out, true));
        command.setErr(new PrintWriter(err, true));
        List<String> arguments = new ArrayList<>(List.of("restore", "--bootstrap-server", broker.bootstrapServers(),
                "--topic", TOPIC));
        arguments.addAll(List.of(args));
        return new Run(command.execute(arguments.toArray(String[]::new)), out.toString(), err.toString());
    }

    private static JournalEntry entryAt(long lsn) {
        return entries.stream().filter(e -> e.getLsn() == lsn).findFirst().orElseThrow();
    }

    private static String time(JournalEntry entry) {
        return time(entry.getCommitTimeMillis());
    }

    private static String time(long millis) {
        return Instant.ofEpochMilli(millis).toString();
    }

    /** The journal's entries and the offsets of their last records (one partition, one database). */
    private static void readJournal() {
        List<KafkaJournal.Entry> journal = KafkaJournal.entries(broker.bootstrapServers(), TOPIC).get(DB_ID);
        entries = journal.stream().map(KafkaJournal.Entry::entry).toList();
        offsets = journal.stream().map(KafkaJournal.Entry::offset).toList();
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
