package io.pagestream.cli;

import io.pagestream.compactor.Compactor;
import io.pagestream.compactor.CompactorConfig;
import io.pagestream.compactor.CompactorListener;
import io.pagestream.compactor.CompactorStatus;
import io.pagestream.schemas.PagestreamException;
import io.pagestream.schemas.avro.RestorePoint;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code pagestream compact}: the compactor, until interrupted. */
@Command(name = "compact", mixinStandardHelpOptions = true,
        description = {"Snapshots every journaled database regularly into <topic>.snapshots and lists the restore points in"
                + " <topic>.catalog, until interrupted (Ctrl-C / SIGTERM). A Kafka Streams application (exactly-once):"
                + " instances with the same --application-id split the journal's partitions.",
                "Every journal entry is verified as a replica verifies it, on replica files kept under --dir; a"
                + " database whose journal does not verify halts (its snapshots stop) while the others go on."})
final class CompactCommand implements Callable<Integer> {
    @Mixin
    ClientOptions client;

    @Option(names = "--dir", required = true, description = "State directory: the compactor's replica files and Kafka Streams state.")
    Path dir;

    @Option(names = "--application-id", description = "Kafka Streams application id (default: pagestream-compactor).")
    String applicationId;

    @Option(names = {"-s", "--setting"}, paramLabel = "KEY=VALUE",
            description = "Compactor setting (e.g. snapshot.journal.ratio=0.25, retention.ms=86400000), Kafka Streams setting"
                    + " under streams., snapshot producer setting under producer.")
    Map<String, String> extraSettings = new LinkedHashMap<>();

    @Option(names = "--status-interval", defaultValue = "PT10S",
            description = "How often to look for databases that halted (ISO-8601 duration; default ${DEFAULT-VALUE}).")
    Duration statusInterval;

    private final PrintStream out = System.out;

    @Override
    public Integer call() throws InterruptedException {
        Map<String, Object> settings = settings(client, dir, applicationId);
        settings.putAll(extraSettings);
        CountDownLatch stop = new CountDownLatch(1);
        Compactor compactor;
        try {
            compactor = Compactor.start(settings, new CompactorListener() {
                @Override
                public void snapshotTaken(String dbId, RestorePoint point) {
                    out.printf("%s: snapshot at LSN %d (%d pages of %d bytes, %d chunks in partition %d at offsets %d..%d),"
                                    + " journal continues after offset %d of partition %d; written at %s%n", dbId, point.getLsn(),
                            point.getPageCount(), point.getPageSize(), point.getChunkCount(), point.getSnapshotPartition(),
                            point.getFirstChunkOffset(), point.getLastChunkOffset(), point.getJournalOffset(),
                            point.getJournalPartition(), Instant.ofEpochMilli(point.getCommitTimeMillis()));
                }
            });
        } catch (PagestreamException e) {
            System.err.println("pagestream compact: " + e.getMessage());
            return 1;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            compactor.close();
            stop.countDown();
        }, "pagestream-compact-shutdown"));
        out.printf("compacting %s into %s and %s with state in %s (Ctrl-C to stop)%n", client.topic(),
                client.topic() + ".snapshots", client.topic() + ".catalog", dir.toAbsolutePath());
        Set<String> reportedHalts = new HashSet<>();
        while (!stop.await(statusInterval.toMillis(), TimeUnit.MILLISECONDS)) {
            for (CompactorStatus status : compactor.status().values()) {
                if (status.halted() && reportedHalts.add(status.dbId())) {
                    out.printf("%s: HALTED at LSN %d: %s%n", status.dbId(), status.appliedLsn(), status.error().getMessage());
                }
            }
            if (compactor.failure() != null) {
                System.err.println("pagestream compact: stopped: " + compactor.failure());
                compactor.close();
                return 1;
            }
        }
        return 0;
    }

    /** Compactor settings from the common client options: the client file's settings go to Streams and the producer. */
    static Map<String, Object> settings(ClientOptions client, Path dir, String applicationId) {
        Map<String, Object> settings = new LinkedHashMap<>();
        client.clientProperties().forEach((key, value) -> {
            if (key.equals(CompactorConfig.BOOTSTRAP_SERVERS_CONFIG)) {
                settings.put(key, value);
            } else {
                settings.put(CompactorConfig.STREAMS_PREFIX + key, value);
                settings.put(CompactorConfig.PRODUCER_PREFIX + key, value);
            }
        });
        settings.put(CompactorConfig.JOURNAL_TOPIC_CONFIG, client.topic());
        settings.put(CompactorConfig.STATE_DIR_CONFIG, dir.toAbsolutePath().toString());
        if (applicationId != null) {
            settings.put(CompactorConfig.APPLICATION_ID_CONFIG, applicationId);
        }
        return settings;
    }
}
