package io.pagestream.replica;

import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;

/**
 * Run by {@link LargeDatabaseIT} in a JVM with a small heap: a replica service, started before the large database's
 * base entry is published (it prints {@code following} once it follows the journal), follows it until it holds LSN 1.
 * Arguments: bootstrap servers, topic, replica directory, db id. Prints {@code replica <sha256>} and the time it took
 * with the heap's peak use.
 */
public final class LargeDatabaseReplica {
    private LargeDatabaseReplica() {}

    public static void main(String[] args) throws Exception {
        String dbId = args[3];
        long started = System.nanoTime();
        Path replicaFile;
        try (Replica replica = Replica.start(Map.of("bootstrap.servers", args[0], "journal.topic", args[1],
                "replica.dir", args[2], "replica.name", "large"))) {
            while (replica.status().get("small.db") == null || replica.status().get("small.db").position().lsn() < 1) {
                Thread.sleep(50);
            }
            System.out.println("following");
            started = System.nanoTime();
            long deadline = System.nanoTime() + 240_000_000_000L;
            while (true) {
                ReplicaStatus status = replica.status().get(dbId);
                if (status != null && status.error() != null) {
                    throw status.error();
                }
                if (status != null && status.position().lsn() >= 1) {
                    replicaFile = status.file();
                    break;
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the replica did not reach LSN 1: " + status);
                }
                Thread.sleep(100);
            }
        }
        System.out.println("replica " + sha256(replicaFile));
        long replicated = System.nanoTime();
        long peak = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                peak += pool.getPeakUsage().getUsed();
            }
        }
        System.out.printf("{\"replica_heap_max_mib\":%d,\"replica_heap_pool_peaks_mib\":%d,\"replica_s\":%.1f}%n",
                Runtime.getRuntime().maxMemory() >> 20, peak >> 20, (replicated - started) / 1e9);
    }

    static String sha256(Path file) throws Exception {
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
