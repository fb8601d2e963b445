package io.pagestream.compactor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.pagestream.broker.KafkaBrokerExtension;
import io.pagestream.replica.Restore;
import io.pagestream.replica.RestorePointSummary;
import io.pagestream.replica.RestoreResult;
import io.pagestream.replica.RestoreTarget;
import io.pagestream.replica.RestoreWindow;
import io.pagestream.replica.internals.JournalIndex;
import io.pagestream.schemas.PagestreamException;
import io.pagestream.vfs.KafkaJournal;
import io.pagestream.vfs.PagestreamVfs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Time travel over a seeded history: two databases grow, shrink (auto-vacuum), are vacuumed and change page size while
 * the compactor snapshots them; then every N-th LSN, every snapshot's LSN and its neighbours, seeded commit times and
 * seeded journal offsets restore, through the restore library, exactly the writer's file at the entry they mean
 * (sha256), from snapshots and across their boundaries; again once a shorter retention expired the first half's
 * snapshots and the compactor trimmed the journal below the oldest kept one. Replay with {@code -Dpagestream.seed=N}.
 */
class HistoryIT {
    @RegisterExtension
    static final KafkaBrokerExtension broker = new KafkaBrokerExtension();

    private static final String TOPIC = "history-it";
    private static final List<String> DATABASES = List.of("left.db", "right.db");
    private static final Duration PATIENCE = Duration.ofMinutes(3);
    private static final int PHASES = 4;
    private static final int TRANSACTIONS_PER_PHASE = 40;
    /** Restores to every N-th LSN: about this many per database, besides snapshots, times and offsets. */
    private static final int LSN_SAMPLES = 20;

    @TempDir
    Path dir;

    private final Map<String, Map<Long, String>> images = new ConcurrentHashMap<>();
    private int fromSnapshots;

    @Test
    void everyPointOfTheHistoryRestoresTheWritersFileBeforeAndAfterTrimming() throws Exception {
        long seed = Long.getLong("pagestream.seed", System.currentTimeMillis());
        System.out.println("HistoryIT seed=" + seed + " (replay with -Dpagestream.seed=" + seed + ")");
        Random random = new Random(seed);
        Map<String, Object> settings = Map.of("bootstrap.servers", broker.bootstrapServers(), "journal.topic", TOPIC);
        Map<String, Object> compactorSettings = new HashMap<>(settings);
        compactorSettings.put("state.dir", dir.resolve("compactor").toString());
        compactorSettings.put("snapshot.journal.ratio", "0.3");
        compactorSettings.put("snapshot.check.interval.ms", "100");
        compactorSettings.put("snapshot.interval.ms", "1000");
        compactorSettings.put("snapshot.chunk.bytes", "8192");

        Map<String, List<KafkaJournal.Entry>> journal;
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("bootstrap.servers", broker.bootstrapServers(),
                        "journal.topic", TOPIC, "journal.topic.partitions", "2", "vfs.name", TOPIC,
                        "record.max.bytes", String.valueOf(16 * 1024)))
                .commitObserver((dbId, lsn, image) -> images.computeIfAbsent(dbId, id -> new ConcurrentHashMap<>())
                        .put(lsn, SeededWriters.sha256(image.readAll())))
                .install()) {
            Map<String, Connection> connections = new LinkedHashMap<>();
            for (String dbId : DATABASES) {
                Connection connection = DriverManager.getConnection(vfs.jdbcUrl(Files.createDirectories(dir.resolve("writer"))
                        .resolve(dbId)));
                exec(connection, "PRAGMA auto_vacuum=FULL");
                exec(connection, "CREATE TABLE items(id INTEGER PRIMARY KEY, data BLOB)");
                connections.put(dbId, connection);
            }
            Instant halfway = null;
            try (Compactor compactor = Compactor.start(compactorSettings)) {
                for (int phase = 0; phase < PHASES; phase++) {
                    for (int i = 0; i < TRANSACTIONS_PER_PHASE; i++) {
                        transaction(connections.get(DATABASES.get(random.nextInt(DATABASES.size()))), phase, random);
                    }
                    if (phase == PHASES / 2) {
                        for (Connection connection : connections.values()) {
                            // A page-size change: VACUUM rewrites the whole file at the new size.
                            exec(connection, "PRAGMA page_size=" + (random.nextBoolean() ? 8192 : 1024));
                            exec(connection, "VACUUM");
                        }
                    }
                    assertThat(vfs.flush(PATIENCE)).isTrue();
                    awaitSnapshotOfEveryDatabase(compactor);
                    if (phase == PHASES / 2 - 1) {
                        halfway = Instant.now();
                    }
                }
            }

            journal = KafkaJournal.entries(broker.bootstrapServers(), TOPIC);
            try (Restore restore = Restore.open(settings)) {
                for (String dbId : DATABASES) {
                    RestoreWindow window = verifyHistory(restore, dbId, journal.get(dbId), PHASES, random, seed);
                    assertThat(window.firstLsn()).as("%s: the remaining journal reaches back to its base entry", dbId)
                            .isEqualTo(1);
                }
            }

            // A retention that drops at least the first half's restore points: the compactor expires them and trims
            // the journal below the oldest kept one, while the history goes on for another phase.
            compactorSettings.put("retention.ms", String.valueOf(Duration.between(halfway, Instant.now()).toMillis()));
            compactorSettings.put("retention.check.interval.ms", "200");
            try (Compactor compactor = Compactor.start(compactorSettings)) {
                for (int i = 0; i < TRANSACTIONS_PER_PHASE; i++) {
                    transaction(connections.get(DATABASES.get(i % DATABASES.size())), 1, random);
                }
                assertThat(vfs.flush(PATIENCE)).isTrue();
                awaitSnapshotOfEveryDatabase(compactor);
                await().atMost(PATIENCE).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
                    for (String dbId : DATABASES) {
                        assertThat(journalBeginning(dbId)).as("%s: journal trimmed", dbId).isPositive();
                    }
                });
                // History after the trim point: restores replay it from the kept snapshots.
                for (int i = 0; i < TRANSACTIONS_PER_PHASE; i++) {
                    transaction(connections.get(DATABASES.get(random.nextInt(DATABASES.size()))), 1, random);
                }
                assertThat(vfs.flush(PATIENCE)).isTrue();
            }
            for (Connection connection : connections.values()) {
                connection.close();
            }
            assertThat(vfs.flush(PATIENCE)).isTrue();
        }

        // After trimming: the window starts at the oldest kept snapshot, and everything in it still restores exactly.
        // Offsets stay valid after trimming: entries read before it, and those written since.
        Map<String, List<KafkaJournal.Entry>> remaining = KafkaJournal.entries(broker.bootstrapServers(), TOPIC);
        try (Restore restore = Restore.open(settings)) {
            for (String dbId : DATABASES) {
                List<KafkaJournal.Entry> entries = new ArrayList<>(journal.get(dbId));
                long readBefore = entries.getLast().entry().getLsn();
                remaining.getOrDefault(dbId, List.of()).stream().filter(e -> e.entry().getLsn() > readBefore)
                        .forEach(entries::add);
                RestoreWindow window = verifyHistory(restore, dbId, entries, 1, random, seed);
                assertThat(window.firstLsn()).as("%s: the window starts at the oldest kept snapshot", dbId)
                        .isEqualTo(window.restorePoints().getFirst().lsn()).isGreaterThan(1);
                long before = window.firstLsn() - 1;
                assertThatThrownBy(() -> restore.restore(dbId, RestoreTarget.lsn(before), dir.resolve("gone.db"), true,
                        p -> { })).isInstanceOf(PagestreamException.class).hasMessageContaining("outside the restore window");
            }
        }
    }

    /** The first offset still in the database's journal partition. */
    private static long journalBeginning(String dbId) {
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                broker.bootstrapServers()), new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition partition = JournalIndex.partitionOf(TOPIC, consumer.partitionsFor(TOPIC).size(), dbId);
            return consumer.beginningOffsets(List.of(partition)).get(partition);
        }
    }

    /** One seeded transaction: growth, shrink, rewrites, or a VACUUM. */
    private static void transaction(Connection connection, int phase, Random random) throws SQLException {
        int kind = random.nextInt(10);
        if (kind < 5 || phase == 0) {
            connection.setAutoCommit(false);
            try (PreparedStatement insert = connection.prepareStatement("INSERT INTO items(data) VALUES (?)")) {
                for (int row = 1 + random.nextInt(8); row > 0; row--) {
                    byte[] data = new byte[random.nextInt(6) == 0 ? 30_000 : 100 + random.nextInt(3000)];
                    random.nextBytes(data);
                    insert.setBytes(1, data);
                    insert.executeUpdate();
                }
            }
            connection.commit();
            connection.setAutoCommit(true);
        } else if (kind < 7) {
            exec(connection, "DELETE FROM items WHERE id IN (SELECT id FROM items ORDER BY random() LIMIT "
                    + (1 + random.nextInt(12)) + ")");
        } else if (kind < 9) {
            exec(connection, "UPDATE items SET data = randomblob(length(data)) WHERE id IN (SELECT id FROM items ORDER BY random()"
                    + " LIMIT 3)");
        } else {
            exec(connection, "VACUUM");
        }
    }

    private void awaitSnapshotOfEveryDatabase(Compactor compactor) {
        Map<String, Long> lsns = new HashMap<>();
        images.forEach((dbId, byLsn) -> lsns.put(dbId, byLsn.keySet().stream().mapToLong(Long::longValue).max().orElse(0)));
        await().atMost(PATIENCE).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
            for (String dbId : DATABASES) {
                CompactorStatus status = compactor.status().get(dbId);
                assertThat(status).as(dbId).isNotNull();
                assertThat(status.error()).as(dbId).isNull();
                assertThat(status.newestRestorePoint()).as("snapshot of %s", dbId).isNotNull();
                assertThat(status.newestRestorePoint().getLsn()).as("snapshot of %s", dbId).isEqualTo(lsns.get(dbId));
            }
        });
    }

    /** Restores the database to many points of its window and checks each against the writer's file; returns the window. */
    private RestoreWindow verifyHistory(Restore restore, String dbId, List<KafkaJournal.Entry> entries, int minSnapshots,
            Random random, long seed) throws Exception {
        RestoreWindow window = restore.list(dbId);
        long lastLsn = images.get(dbId).keySet().stream().mapToLong(Long::longValue).max().orElseThrow();
        assertThat(window.lastLsn()).as("%s: the window reaches the last entry", dbId).isEqualTo(lastLsn);
        assertThat(window.restorePoints()).as("%s: snapshots taken during the history", dbId).hasSizeGreaterThanOrEqualTo(minSnapshots);

        TreeSet<Long> lsns = new TreeSet<>();
        long step = Math.max(1, (lastLsn - window.firstLsn()) / LSN_SAMPLES);
        for (long lsn = window.firstLsn(); lsn <= lastLsn; lsn += step) {
            lsns.add(lsn);
        }
        lsns.add(lastLsn);
        for (RestorePointSummary point : window.restorePoints()) {
            for (long lsn = point.lsn() - 1; lsn <= point.lsn() + 1; lsn++) {
                if (window.contains(lsn)) {
                    lsns.add(lsn);
                }
            }
        }
        Path output = dir.resolve("restored-" + dbId);
        fromSnapshots = 0;
        List<String> wrong = new ArrayList<>();
        for (long lsn : lsns) {
            check(restore, dbId, RestoreTarget.lsn(lsn), lsn, output, wrong);
        }
        List<KafkaJournal.Entry> reachable = entries.stream().filter(e -> window.contains(e.entry().getLsn())).toList();
        for (int i = 0; i < 6 && !reachable.isEmpty(); i++) {
            KafkaJournal.Entry picked = reachable.get(random.nextInt(reachable.size()));
            Instant time = Instant.ofEpochMilli(picked.entry().getCommitTimeMillis());
            // The last transaction committed at or before the time: later ones in the same millisecond count too.
            long expected = reachable.stream().filter(e -> e.entry().getCommitTimeMillis() <= time.toEpochMilli())
                    .mapToLong(e -> e.entry().getLsn()).max().orElseThrow();
            check(restore, dbId, RestoreTarget.time(time), expected, output, wrong);
            KafkaJournal.Entry atOffset = reachable.get(random.nextInt(reachable.size()));
            check(restore, dbId, RestoreTarget.offset(atOffset.partition(), atOffset.offset()), atOffset.entry().getLsn(), output,
                    wrong);
        }
        assertThat(wrong).as("seed %d: %s restores that differ from the writer's file", seed, dbId).isEmpty();
        System.out.println("HistoryIT: " + dbId + ": " + lsns.size() + " LSNs, 6 times and 6 offsets restored across "
                + window.restorePoints().size() + " snapshots (" + fromSnapshots + " restores started from one), LSNs "
                + window.firstLsn() + ".." + lastLsn);
        assertThat(fromSnapshots).as("restores that started from a snapshot").isGreaterThan(lsns.size() / 2);
        assertThatThrownBy(() -> restore.restore(dbId, RestoreTarget.lsn(lastLsn + 1), output, true, p -> { }))
                .isInstanceOf(PagestreamException.class).hasMessageContaining("outside the restore window");
        return window;
    }

    private void check(Restore restore, String dbId, RestoreTarget target, long expectedLsn, Path output, List<String> wrong)
            throws Exception {
        RestoreResult result = restore.restore(dbId, target, output, true, p -> { });
        if (result.snapshotId().isPresent()) {
            fromSnapshots++;
        }
        String sha = SeededWriters.sha256(Files.readAllBytes(output));
        if (result.lsn() != expectedLsn || !sha.equals(images.get(dbId).get(expectedLsn))) {
            wrong.add(target + ": restored LSN " + result.lsn() + " (expected " + expectedLsn + ")"
                    + (sha.equals(images.get(dbId).get(result.lsn())) ? "" : ", not the writer's file at it"));
        }
    }

    private static void exec(Connection connection, String sql) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            statement.execute(sql);
        }
    }
}
