package io.pagestream.vfs;

import static org.assertj.core.api.Assertions.assertThat;

import io.pagestream.broker.KafkaBrokerExtension;
import io.pagestream.schemas.JournalContract;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
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
 * Writer VFS → real Kafka broker → journal replayed into replicas: a seeded random workload on three
 * databases (different journal modes, locking modes, auto-vacuum, a page-size change, several writer
 * threads) must reproduce each writer file byte for byte after every committed transaction.
 * Replay a failure with {@code -Dpagestream.seed=N}; scale with {@code -Dpagestream.workload.steps=N}.
 */
class ReplicationIT {
    @RegisterExtension
    static final KafkaBrokerExtension broker = new KafkaBrokerExtension();

    @TempDir
    Path dir;

    private record Writer(String dbId, Path file, String setup, int threads, WorkloadGenerator.Options options) {}

    @Test
    void seededWorkloadReplicatesByteForByteAtEveryLsn() throws Exception {
        long seed = Long.getLong("pagestream.seed", System.currentTimeMillis());
        int steps = Integer.getInteger("pagestream.workload.steps", 300);
        System.out.println("ReplicationIT seed=" + seed + " steps=" + steps + " (replay with -Dpagestream.seed=" + seed + ")");
        String topic = "replication-it";
        Map<String, String> writerHashes = new ConcurrentHashMap<>();
        List<Writer> writers = List.of(
                new Writer("alpha.db", dir.resolve("alpha.db"), "PRAGMA journal_mode=DELETE", 2,
                        new WorkloadGenerator.Options(true, false, 0, 0)),
                new Writer("beta.db", dir.resolve("beta.db"),
                        "PRAGMA page_size=1024; PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=TRUNCATE", 1,
                        new WorkloadGenerator.Options(true, true, steps / 2, 4096)),
                new Writer("gamma-custom", dir.resolve("gamma.db"), "PRAGMA journal_mode=PERSIST; PRAGMA locking_mode=EXCLUSIVE", 1,
                        new WorkloadGenerator.Options(true, false, 0, 0)));
        Map<String, Integer> expectedEntries = new ConcurrentHashMap<>();
        Map<String, List<String>> rolledBackMarkers = new ConcurrentHashMap<>();

        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of(
                        "bootstrap.servers", broker.bootstrapServers(),
                        "journal.topic", topic,
                        "journal.topic.partitions", "2",
                        "vfs.name", "replication-it"))
                .commitObserver((dbId, lsn, image) -> writerHashes.put(dbId + "@" + lsn, JournalReplay.sha256(image.readAll())))
                .install()) {
            ExecutorService pool = Executors.newCachedThreadPool();
            List<Future<?>> running = new ArrayList<>();
            List<Connection> connections = Collections.synchronizedList(new ArrayList<>());
            for (Writer writer : writers) {
                String url = writer.dbId().endsWith(".db") ? vfs.jdbcUrl(writer.file()) : vfs.jdbcUrl(writer.file(), writer.dbId());
                Connection first = DriverManager.getConnection(url);
                connections.add(first);
                try (Statement s = first.createStatement()) {
                    for (String pragma : writer.setup().split(";")) {
                        s.execute(pragma.trim());
                    }
                }
                // Some pragmas (auto_vacuum with journal_mode on an empty file) commit the database header: one entry.
                int setupCommits = Files.size(writer.file()) > 0 ? 1 : 0;
                WorkloadGenerator.createSharedSchema(first);
                expectedEntries.merge(writer.dbId(), 1 + setupCommits, Integer::sum);
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
                        expectedEntries.merge(writer.dbId(), 1 + generator.committed, Integer::sum);
                        rolledBackMarkers.computeIfAbsent(writer.dbId(), k -> Collections.synchronizedList(new ArrayList<>()))
                                .addAll(generator.rolledBackMarkers);
                        return null;
                    }));
                }
            }
            for (Future<?> future : running) {
                future.get();
            }
            pool.shutdown();
            for (Connection connection : connections) {
                connection.close();
            }
            assertThat(vfs.flush(Duration.ofSeconds(120))).isTrue();
            assertThat(vfs.failedEntries()).isZero();
        }

        List<KafkaJournal.Record> records = KafkaJournal.readAll(broker.bootstrapServers(), topic);
        JournalReplay replay = new JournalReplay(dir.resolve("replicas"));
        Files.createDirectories(dir.resolve("replicas"));
        Map<String, Integer> fragmentsSeen = new ConcurrentHashMap<>();
        Map<String, Integer> changeCounters = new ConcurrentHashMap<>();
        for (KafkaJournal.Record record : records) {
            assertThat(record.headers()).containsEntry(JournalContract.HEADER_DB_ID, record.key());
            if (record.headers().containsKey(JournalContract.HEADER_FRAGMENT)) {
                fragmentsSeen.merge(record.key(), 1, Integer::sum);
            }
            replay.apply(record.key(), record.value(), record.origin(), (entry, replicaFile) -> {
                String key = entry.getDbId() + "@" + entry.getLsn();
                // Headers let console tools show position and checksums without decoding the value.
                assertThat(record.headers()).containsEntry(JournalContract.HEADER_LSN, Long.toString(entry.getLsn()))
                        .containsEntry(JournalContract.HEADER_PRE_CHECKSUM, JournalContract.hex(entry.getPreChecksum()))
                        .containsEntry(JournalContract.HEADER_POST_CHECKSUM, JournalContract.hex(entry.getPostChecksum()));
                assertThat(writerHashes).as("seed %d: %s has no committed writer state", seed, key).containsKey(key);
                assertThat(JournalReplay.sha256(replicaFile)).as("seed %d: replica of %s", seed, key).isEqualTo(writerHashes.get(key));
                // Live readers of a replica notice an apply by this counter (gamma's exclusive-mode writer included).
                if (entry.getPageCount() > 0) {
                    Integer previous = changeCounters.put(entry.getDbId(), VfsTestSupport.changeCounter(replicaFile));
                    assertThat(changeCounters.get(entry.getDbId()).equals(previous)).as("seed %d: change counter moved at %s", seed, key)
                            .isFalse();
                }
            });
        }
        for (Writer writer : writers) {
            JournalReplay.Replica replica = replay.replica(writer.dbId());
            assertThat(replica.entries.size()).as("seed %d: entries of %s (one per committed transaction): %s", seed, writer.dbId(),
                            replica.entries.stream().map(e -> e.getLsn() + ":" + e.getPageSize() + "x" + e.getPageCount() + "/"
                                    + e.getDeltas().size()).toList())
                    .isEqualTo(expectedEntries.get(writer.dbId()));
            assertThat(replica.entries.getFirst().getBase()).isTrue();
            assertThat(replica.entries.stream().skip(1).noneMatch(e -> e.getBase())).isTrue();
            assertThat(Files.readAllBytes(replica.file)).as("seed %d: final %s", seed, writer.dbId())
                    .isEqualTo(Files.readAllBytes(writer.file()));
            try (Connection check = DriverManager.getConnection("jdbc:sqlite:file:" + replica.file + "?mode=ro");
                    Statement s = check.createStatement()) {
                try (ResultSet rs = s.executeQuery("PRAGMA integrity_check")) {
                    assertThat(rs.getString(1)).isEqualTo("ok");
                }
                List<String> markers = rolledBackMarkers.getOrDefault(writer.dbId(), List.of());
                assertThat(markers).as("the workload rolled back transactions").isNotEmpty();
                try (PreparedStatement find = check.prepareStatement("select count(*) from markers where token = ?")) {
                    for (String marker : markers) {
                        find.setString(1, marker);
                        try (ResultSet rs = find.executeQuery()) {
                            assertThat(rs.getInt(1)).as("rolled-back marker %s in replica", marker).isZero();
                        }
                    }
                }
            }
        }
        System.out.println("ReplicationIT seed=" + seed + ": " + records.size() + " records, entries per db "
                + expectedEntries + ", fragmented records per db " + fragmentsSeen);
    }
}
