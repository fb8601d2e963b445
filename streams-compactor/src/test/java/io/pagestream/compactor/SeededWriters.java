package io.pagestream.compactor;

import static org.assertj.core.api.Assertions.assertThat;

import io.pagestream.vfs.PagestreamVfs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Databases written through the VFS with a seeded workload (inserts of random blobs, some large enough to be
 * fragmented, some deletes), remembering the
 * writer's file at every commit (sha256 by LSN) to check snapshots against.
 */
final class SeededWriters implements AutoCloseable {
    private static final Duration FLUSH_TIMEOUT = Duration.ofMinutes(2);
    /** The smallest the VFS allows: the workload's large blobs make entries split into fragments. */
    private static final int RECORD_MAX_BYTES = 16 * 1024;

    private final Random random;
    private final PagestreamVfs vfs;
    private final List<String> dbIds;
    private final Map<String, Connection> connections = new LinkedHashMap<>();
    private final Map<String, Map<Long, String>> images = new ConcurrentHashMap<>();
    private final Map<String, Long> lsn = new ConcurrentHashMap<>();

    /** Installs the VFS on a 2-partition journal topic and creates each database's table (its first, base entry). */
    SeededWriters(String bootstrapServers, String topic, Path dir, List<String> dbIds, long seed) throws Exception {
        this.random = new Random(seed);
        this.dbIds = List.copyOf(dbIds);
        this.vfs = PagestreamVfs.builder(Map.of("bootstrap.servers", bootstrapServers, "journal.topic", topic,
                        "journal.topic.partitions", "2", "vfs.name", topic,
                        "record.max.bytes", String.valueOf(RECORD_MAX_BYTES)))
                .commitObserver((dbId, committed, image) -> {
                    images.computeIfAbsent(dbId, id -> new ConcurrentHashMap<>()).put(committed, sha256(image.readAll()));
                    lsn.merge(dbId, committed, Math::max);
                })
                .install();
        Path writerDir = Files.createDirectories(dir);
        for (String dbId : dbIds) {
            Connection connection = DriverManager.getConnection(vfs.jdbcUrl(writerDir.resolve(dbId)));
            try (Statement s = connection.createStatement()) {
                s.execute("CREATE TABLE items(id INTEGER PRIMARY KEY, data BLOB)");
            }
            connections.put(dbId, connection);
        }
        flush();
    }

    /** Commits {@code count} seeded transactions spread over the databases, and waits until Kafka has them. */
    void write(int count) throws SQLException, InterruptedException {
        for (int i = 0; i < count; i++) {
            Connection connection = connections.get(dbIds.get(random.nextInt(dbIds.size())));
            if (random.nextInt(5) == 0) {
                try (Statement s = connection.createStatement()) {
                    s.execute("DELETE FROM items WHERE id IN (SELECT id FROM items ORDER BY random() LIMIT 2)");
                }
            } else {
                try (PreparedStatement insert = connection.prepareStatement("INSERT INTO items(data) VALUES (?)")) {
                    byte[] data = new byte[random.nextInt(8) == 0 ? 40_000 : 200 + random.nextInt(6000)];
                    random.nextBytes(data);
                    insert.setBytes(1, data);
                    insert.executeUpdate();
                }
            }
        }
        flush();
    }

    private void flush() throws InterruptedException {
        assertThat(vfs.flush(FLUSH_TIMEOUT)).as("journal flushed").isTrue();
    }

    /** The writer's newest LSN of a database. */
    long lsn(String dbId) {
        return lsn.get(dbId);
    }

    /** sha256 of the writer's file at an LSN. */
    String image(String dbId, long at) {
        return images.get(dbId).get(at);
    }

    /** A seeded number in [0, bound). */
    int nextInt(int bound) {
        return random.nextInt(bound);
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() throws SQLException {
        List<SQLException> failures = new ArrayList<>();
        for (Connection connection : connections.values()) {
            try {
                connection.close();
            } catch (SQLException e) {
                failures.add(e);
            }
        }
        vfs.close();
        if (!failures.isEmpty()) {
            throw failures.getFirst();
        }
    }
}
