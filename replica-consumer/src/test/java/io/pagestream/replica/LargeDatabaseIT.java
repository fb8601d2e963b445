package io.pagestream.replica;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pagestream.broker.ChildJvm;
import io.pagestream.broker.KafkaBrokerExtension;
import io.pagestream.schemas.SnapshotContract;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A database several times larger than the writer's heap gets a base entry: a writer in a JVM with a small heap opens a
 * file created outside the VFS and commits, a replica applies the entry byte-identical, and a restore rebuilds it from
 * the journal. Sizes: {@code -Dpagestream.large.db.mib} (default 320) and {@code -Dpagestream.large.writer.heap.mib}
 * (default 80); e.g. 1024 and 256 for a 1 GiB database.
 */
class LargeDatabaseIT {
    private static final String TOPIC = "large-database";
    private static final String DB_ID = "large.db";
    private static final int DB_MIB = Integer.getInteger("pagestream.large.db.mib", 320);
    private static final int WRITER_HEAP_MIB = Integer.getInteger("pagestream.large.writer.heap.mib", 80);

    @RegisterExtension
    static final KafkaBrokerExtension broker = new KafkaBrokerExtension();

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void aDatabaseLargerThanTheWritersHeapGetsABaseEntryThatReplicasAndRestoresApplyIdentically() throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
            Map<String, String> compact = Map.of("cleanup.policy", "compact");
            admin.createTopics(List.of(
                    new NewTopic(SnapshotContract.snapshotsTopic(TOPIC), 1, (short) 1).configs(compact),
                    new NewTopic(SnapshotContract.catalogTopic(TOPIC), 1, (short) 1).configs(compact))).all().get();
        }
        Path db = Files.createDirectories(dir.resolve("writer")).resolve(DB_ID);
        long started = System.nanoTime();
        createOutsideTheVfs(db, DB_MIB);
        long created = System.nanoTime();

        ChildJvm writer = ChildJvm.start(List.of("-Xmx" + WRITER_HEAP_MIB + "m"), LargeDatabaseWriter.class,
                broker.bootstrapServers(), TOPIC, db.toString());
        assertThat(writer.exitCode(Duration.ofMinutes(5))).as(writer.describe()).isZero();
        assertThat(writer.lines()).as(writer.describe()).contains("flushed true failed 0");
        long written = System.nanoTime();
        String expected = sha256(db);

        try (Replica replica = Replica.start(Map.of("bootstrap.servers", broker.bootstrapServers(), "journal.topic", TOPIC,
                "replica.dir", dir.resolve("replica").toString(), "replica.name", "large"))) {
            await().atMost(Duration.ofMinutes(3)).until(() -> {
                ReplicaStatus status = replica.status().get(DB_ID);
                assertThat(status == null ? null : status.error()).isNull();
                return status != null && status.position().lsn() == 1;
            });
            assertThat(sha256(replica.status().get(DB_ID).file())).isEqualTo(expected);
        }
        long replicated = System.nanoTime();

        Path restored = dir.resolve("restored.db");
        try (Restore restore = Restore.open(Map.of("bootstrap.servers", broker.bootstrapServers(), "journal.topic", TOPIC))) {
            RestoreResult result = restore.restore(DB_ID, RestoreTarget.latest(), restored, false, progress -> {});
            assertThat(result.lsn()).isEqualTo(1);
        }
        assertThat(sha256(restored)).isEqualTo(expected);
        long restoreDone = System.nanoTime();
        System.out.printf("{\"bench\":\"large_database\",\"db_mib\":%d,\"writer_heap_mib\":%d,\"create_s\":%.1f,"
                        + "\"writer_s\":%.1f,\"replica_s\":%.1f,\"restore_s\":%.1f}%n", DB_MIB, WRITER_HEAP_MIB,
                (created - started) / 1e9, (written - created) / 1e9, (replicated - written) / 1e9,
                (restoreDone - replicated) / 1e9);
        writer.lines().stream().filter(line -> line.startsWith("{")).forEach(System.out::println);
    }

    /** Random blobs (so nothing compresses) written straight through SQLite, without the VFS or a journal. */
    private static void createOutsideTheVfs(Path db, int mib) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db);
                Statement s = c.createStatement()) {
            s.execute("PRAGMA journal_mode=OFF");
            s.execute("PRAGMA synchronous=OFF");
            s.execute("create table marker(id integer primary key, note text)");
            s.execute("create table filler(id integer primary key, data blob)");
            s.execute("with recursive n(i) as (select 1 union all select i + 1 from n where i < " + mib + ")"
                    + " insert into filler(data) select randomblob(1040000) from n");
        }
    }

    private static String sha256(Path file) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        byte[] buffer = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            for (int read = in.read(buffer); read > 0; read = in.read(buffer)) {
                digest.update(buffer, 0, read);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
