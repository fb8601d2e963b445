package io.pagestream.replica;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pagestream.broker.ChildJvm;
import io.pagestream.broker.KafkaBrokerExtension;
import io.pagestream.schemas.SnapshotContract;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
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
 * A database several times larger than the heap gets a base entry: a writer in a JVM with a small heap opens a file
 * created outside the VFS and commits; a replica service in another JVM with that heap applies the entry byte-identical
 * (spooled, a page at a time); a restore (in this JVM: its journal index still reassembles entries) rebuilds it from the
 * journal, applying the entry from a spool too. Sizes: {@code -Dpagestream.large.db.mib} (default 320) and
 * {@code -Dpagestream.large.heap.mib} (default 80); e.g. 1024 and 256 for a 1 GiB database.
 */
class LargeDatabaseIT {
    private static final String TOPIC = "large-database";
    private static final String DB_ID = "large.db";
    private static final int DB_MIB = Integer.getInteger("pagestream.large.db.mib", 320);
    private static final int HEAP_MIB = Integer.getInteger("pagestream.large.heap.mib", 80);

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

        ChildJvm writer = ChildJvm.start(List.of("-Xmx" + HEAP_MIB + "m"), LargeDatabaseWriter.class,
                broker.bootstrapServers(), TOPIC, db.toString());
        awaitLine(writer, "ready true");
        // The replica follows the journal before the base entry comes (a replica started after it would find it in its
        // start-up scan, which holds a base entry's records in memory).
        ChildJvm reader = ChildJvm.start(List.of("-Xmx" + HEAP_MIB + "m"), LargeDatabaseReplica.class,
                broker.bootstrapServers(), TOPIC, dir.resolve("replica").toString(), DB_ID);
        awaitLine(reader, "following");
        long following = System.nanoTime();
        writer.send("commit");
        assertThat(writer.exitCode(Duration.ofMinutes(5))).as(writer.describe()).isZero();
        assertThat(writer.lines()).as(writer.describe()).contains("flushed true failed 0");
        long written = System.nanoTime();
        String expected = LargeDatabaseReplica.sha256(db);

        assertThat(reader.exitCode(Duration.ofMinutes(5))).as(reader.describe()).isZero();
        assertThat(reader.lines()).as(reader.describe()).contains("replica " + expected);
        long replicated = System.nanoTime();

        Path restored = dir.resolve("restored.db");
        try (Restore restore = Restore.open(Map.of("bootstrap.servers", broker.bootstrapServers(), "journal.topic", TOPIC))) {
            assertThat(restore.restore(DB_ID, RestoreTarget.latest(), restored, false, progress -> {}).lsn()).isEqualTo(1);
        }
        assertThat(LargeDatabaseReplica.sha256(restored)).isEqualTo(expected);
        long read = System.nanoTime();
        System.out.printf("{\"bench\":\"large_database\",\"db_mib\":%d,\"heap_mib\":%d,\"create_s\":%.1f,"
                        + "\"writer_s\":%.1f,\"replica_done_after_writer_s\":%.1f,\"restore_s\":%.1f}%n", DB_MIB, HEAP_MIB,
                (created - started) / 1e9, (written - following) / 1e9, (replicated - written) / 1e9, (read - replicated) / 1e9);
        writer.lines().stream().filter(line -> line.startsWith("{")).forEach(System.out::println);
        reader.lines().stream().filter(line -> line.startsWith("{")).forEach(System.out::println);
    }

    private static void awaitLine(ChildJvm child, String line) {
        await().atMost(Duration.ofSeconds(120)).failFast(child.describe(), () -> !child.isAlive() && !child.lines().contains(line))
                .until(() -> child.lines().contains(line));
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
}
