package io.pagestream.replica;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pagestream.broker.KafkaBrokerExtension;
import io.pagestream.vfs.PagestreamVfs;
import io.pagestream.vfs.WorkloadGenerator;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Writer VFS → real Kafka broker → replica service: a seeded random workload on three databases (several
 * writer threads, VACUUM, incremental vacuum, a page-size change) ends with every replica byte-identical to
 * its writer, each apply having verified its pre- and post-checksums; a restarted replica resumes from its
 * recorded position. Replay with {@code -Dpagestream.seed=N}.
 */
class ReplicaIT {
    @RegisterExtension
    static final KafkaBrokerExtension broker = new KafkaBrokerExtension();

    @TempDir
    Path dir;

    private record Writer(String dbId, String setup, int threads, WorkloadGenerator.Options options) {}

    @Test
    void seededWorkloadOnSeveralDatabasesEndsByteIdentical() throws Exception {
        long seed = Long.getLong("pagestream.seed", System.currentTimeMillis());
        int steps = Integer.getInteger("pagestream.workload.steps", 200);
        System.out.println("ReplicaIT seed=" + seed + " steps=" + steps + " (replay with -Dpagestream.seed=" + seed + ")");
        String topic = "replica-it";
        List<Writer> writers = List.of(
                new Writer("alpha.db", "PRAGMA journal_mode=DELETE", 2, new WorkloadGenerator.Options(true, false, 0, 0)),
                new Writer("beta.db", "PRAGMA page_size=1024; PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=TRUNCATE", 1,
                        new WorkloadGenerator.Options(true, true, steps / 2, 4096)),
                new Writer("gamma.db", "PRAGMA journal_mode=PERSIST", 1, new WorkloadGenerator.Options(true, false, 0, 0)));
        Path writerDir = Files.createDirectories(dir.resolve("writer"));
        Path replicaDir = dir.resolve("replica");
        Map<String, Long> writerLsn = new ConcurrentHashMap<>();
        Map<String, Object> replicaSettings = Map.of("bootstrap.servers", broker.bootstrapServers(), "journal.topic", topic,
                "replica.dir", replicaDir.toString(), "replica.name", "replica-it");

        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("bootstrap.servers", broker.bootstrapServers(),
                        "journal.topic", topic, "journal.topic.partitions", "2", "vfs.name", "replica-it"))
                .commitObserver((dbId, lsn, image) -> writerLsn.merge(dbId, lsn, Math::max))
                .install()) {
            // The replica starts first and follows while the writers run, then is restarted half-way.
            Replica replica = Replica.start(replicaSettings);
            ExecutorService pool = Executors.newCachedThreadPool();
            List<Future<?>> running = new ArrayList<>();
            List<Connection> connections = new ArrayList<>();
            for (Writer writer : writers) {
                String url = vfs.jdbcUrl(writerDir.resolve(writer.dbId()));
                Connection first = DriverManager.getConnection(url);
                connections.add(first);
                try (Statement s = first.createStatement()) {
                    for (String pragma : writer.setup().split(";")) {
                        s.execute(pragma.trim());
                    }
                }
                WorkloadGenerator.createSharedSchema(first);
                for (int thread = 0; thread < writer.threads(); thread++) {
                    Connection connection = thread == 0 ? first : DriverManager.getConnection(url);
                    if (thread > 0) {
                        connections.add(connection);
                    }
                    long threadSeed = seed * 31 + writer.dbId().hashCode() * 7L + thread;
                    String prefix = writer.dbId().replaceAll("[^a-z]", "") + thread;
                    running.add(pool.submit(() -> {
                        WorkloadGenerator generator = new WorkloadGenerator(threadSeed, connection, prefix, writer.options());
                        generator.setUp();
                        for (int i = 0; i < steps; i++) {
                            generator.step();
                        }
                        return null;
                    }));
                }
            }
            await().atMost(Duration.ofMinutes(2)).until(() -> writerLsn.values().stream().anyMatch(lsn -> lsn > steps / 2));
            replica.close();
            replica = Replica.start(replicaSettings);
            for (Future<?> future : running) {
                future.get();
            }
            pool.shutdown();
            for (Connection connection : connections) {
                connection.close();
            }
            assertThat(vfs.flush(Duration.ofSeconds(120))).isTrue();
            Replica restarted = replica;
            await().atMost(Duration.ofMinutes(2)).untilAsserted(() -> {
                for (Writer writer : writers) {
                    ReplicaStatus status = restarted.status().get(writer.dbId());
                    assertThat(status).as("replica of %s", writer.dbId()).isNotNull();
                    assertThat(status.error()).isNull();
                    assertThat(status.position().lsn()).isEqualTo(writerLsn.get(writer.dbId()));
                }
            });
            restarted.close();
        }
        for (Writer writer : writers) {
            Path replicaFile = replicaDir.resolve(writer.dbId());
            assertThat(Files.readAllBytes(replicaFile)).as("seed %d: replica of %s", seed, writer.dbId())
                    .isEqualTo(Files.readAllBytes(writerDir.resolve(writer.dbId())));
            try (Connection check = DriverManager.getConnection("jdbc:sqlite:file:" + replicaFile + "?mode=ro");
                    Statement s = check.createStatement();
                    ResultSet rs = s.executeQuery("PRAGMA integrity_check")) {
                assertThat(rs.getString(1)).isEqualTo("ok");
            }
        }
    }

    @Test
    void aReplicaWrittenOutsideTheReplicaHaltsThatDatabase() throws Exception {
        String topic = "replica-it-outside";
        Path writerFile = Files.createDirectories(dir.resolve("writer")).resolve("outside.db");
        Path replicaDir = dir.resolve("replica");
        Map<String, Long> writerLsn = new ConcurrentHashMap<>();
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("bootstrap.servers", broker.bootstrapServers(),
                        "journal.topic", topic, "vfs.name", "replica-it-outside"))
                .commitObserver((dbId, lsn, image) -> writerLsn.merge(dbId, lsn, Math::max))
                .install();
                Connection writer = DriverManager.getConnection(vfs.jdbcUrl(writerFile));
                Replica replica = Replica.start(Map.of("bootstrap.servers", broker.bootstrapServers(), "journal.topic", topic,
                        "replica.dir", replicaDir.toString()))) {
            try (Statement s = writer.createStatement()) {
                s.execute("create table t(id integer primary key, v text)");
                s.execute("insert into t(v) values ('one')");
            }
            assertThat(vfs.flush(Duration.ofSeconds(30))).isTrue();
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> replica.status().get("outside.db") != null
                            && replica.status().get("outside.db").position().lsn() == writerLsn.get("outside.db"));
            long appliedLsn = writerLsn.get("outside.db");
            try (Connection intruder = DriverManager.getConnection("jdbc:sqlite:file:" + replicaDir.resolve("outside.db"));
                    Statement s = intruder.createStatement()) {
                s.execute("PRAGMA busy_timeout=10000");
                s.execute("insert into t(v) values ('written on the replica')");
            }
            try (Statement s = writer.createStatement()) {
                s.execute("insert into t(v) values ('two')");
            }
            assertThat(vfs.flush(Duration.ofSeconds(30))).isTrue();
            await().atMost(Duration.ofSeconds(30)).until(() -> replica.status().get("outside.db").halted());
            ReplicaStatus status = replica.status().get("outside.db");
            assertThat(status.error()).isInstanceOf(ReplicaStateException.class)
                    .hasMessageContaining("outside.db").hasMessageContaining("written outside the replica");
            assertThat(status.position().lsn()).isEqualTo(appliedLsn);
            // The halted database holds the group's committed offset at the record it did not apply: lag shows it.
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
                TopicPartition partition = new TopicPartition(topic, 0);
                await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(admin
                        .listConsumerGroupOffsets(replica.groupId()).partitionsToOffsetAndMetadata().get().get(partition).offset())
                        .isEqualTo(status.position().offset() + 1));
            }
        }
    }

    @Test
    void theReplicasConsumerGroupShowsItsProgressToKafkaTooling() throws Exception {
        String topic = "replica-it-group";
        Path writerFile = Files.createDirectories(dir.resolve("writer")).resolve("grouped.db");
        Map<String, Long> writerLsn = new ConcurrentHashMap<>();
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("bootstrap.servers", broker.bootstrapServers(),
                        "journal.topic", topic, "vfs.name", "replica-it-group"))
                .commitObserver((dbId, lsn, image) -> writerLsn.merge(dbId, lsn, Math::max))
                .install();
                Connection writer = DriverManager.getConnection(vfs.jdbcUrl(writerFile));
                Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
            try (Statement s = writer.createStatement()) {
                s.execute("create table t(id integer primary key, v text)");
                for (int i = 0; i < 50; i++) {
                    s.execute("insert into t(v) values ('row " + i + "')");
                }
            }
            assertThat(vfs.flush(Duration.ofSeconds(30))).isTrue();
            TopicPartition partition = new TopicPartition(topic, 0);
            long end = admin.listOffsets(Map.of(partition, OffsetSpec.latest())).partitionResult(partition).get().offset();
            try (Replica replica = Replica.start(Map.of("bootstrap.servers", broker.bootstrapServers(), "journal.topic", topic,
                    "replica.dir", dir.resolve("replicas").toString(), "replica.name", "east-1"))) {
                assertThat(replica.groupId()).isEqualTo("pagestream-replica-east-1");
                await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                    Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets("pagestream-replica-east-1")
                            .partitionsToOffsetAndMetadata().get();
                    assertThat(committed.get(partition)).isNotNull();
                    assertThat(committed.get(partition).offset()).as("committed offset = end offset: lag 0").isEqualTo(end);
                });
                assertThat(replica.status().get("grouped.db").position().lsn()).isEqualTo(writerLsn.get("grouped.db"));
            }
        }
    }
}
