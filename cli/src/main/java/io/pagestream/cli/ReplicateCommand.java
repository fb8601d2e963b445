package io.pagestream.cli;

import io.pagestream.replica.Replica;
import io.pagestream.replica.ReplicaConfig;
import io.pagestream.replica.ReplicaListener;
import io.pagestream.replica.ReplicaStatus;
import io.pagestream.schemas.PagestreamException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code pagestream replicate}: the replica service, until interrupted. */
@Command(name = "replicate", mixinStandardHelpOptions = true,
        description = {"Keeps live, byte-identical SQLite replicas of journaled databases in a directory, one file per db"
                + " id, until interrupted (Ctrl-C / SIGTERM). Applications read the replica files with SQLite"
                + " (busy_timeout set, PRAGMA query_only=1) while they are kept up to date.",
                "Consumer group: pagestream-replica-<name>; `kafka-consumer-groups --describe --group` shows its lag."})
final class ReplicateCommand implements Callable<Integer> {
    @Mixin
    ClientOptions client;

    @Option(names = "--dir", required = true, description = "Directory of the replica files.")
    Path dir;

    @Option(names = "--db", paramLabel = "ID", split = ",",
            description = "Database id to replicate (repeatable or comma-separated); default: every database in the journal.")
    List<String> databases = new ArrayList<>();

    @Option(names = "--name", description = "Replica name (consumer group pagestream-replica-<name>); default: the"
            + " directory's name.")
    String name;

    @Option(names = {"-s", "--setting"}, paramLabel = "KEY=VALUE",
            description = "Replica setting (e.g. replica.busy.timeout.ms=30000) or consumer setting under consumer.")
    Map<String, String> extraSettings = new LinkedHashMap<>();

    @Option(names = "--status-interval", defaultValue = "PT10S",
            description = "How often to print each database's position when it changed (ISO-8601 duration; default ${DEFAULT-VALUE}).")
    Duration statusInterval;

    private final PrintStream out = System.out;

    @Override
    public Integer call() throws InterruptedException {
        Map<String, Object> settings = settings(client, dir, databases, name);
        settings.putAll(extraSettings);
        CountDownLatch stop = new CountDownLatch(1);
        Replica replica;
        try {
            replica = Replica.start(settings, new ReplicaListener() {
                @Override
                public void halted(String dbId, PagestreamException error) {
                    out.printf("%s: HALTED: %s%n", dbId, error.getMessage());
                }
            });
        } catch (PagestreamException e) {
            System.err.println("pagestream replicate: " + e.getMessage());
            return 1;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            replica.close();
            stop.countDown();
        }, "pagestream-replicate-shutdown"));
        out.printf("replicating %s from %s into %s as group %s (Ctrl-C to stop)%n",
                databases.isEmpty() ? "every database" : String.join(", ", databases), client.topic(), dir.toAbsolutePath(),
                replica.groupId());
        for (ReplicaStatus status : replica.status().values()) {
            out.printf("%s: resumed at %s%s%n", status.dbId(), status.position(), status.halted() ? " (halted)" : "");
        }
        Map<String, Long> reported = new LinkedHashMap<>();
        while (!stop.await(statusInterval.toMillis(), TimeUnit.MILLISECONDS)) {
            for (ReplicaStatus status : replica.status().values()) {
                if (!status.halted() && !Long.valueOf(status.position().lsn()).equals(reported.put(status.dbId(), status.position().lsn()))) {
                    out.printf("%s: %s, %d entries applied since start%n", status.dbId(), status.position(),
                            status.appliedEntries());
                }
            }
            if (replica.failure() != null) {
                System.err.println("pagestream replicate: " + replica.failure().getMessage());
                return 1;
            }
        }
        return replica.failure() == null ? 0 : 1;
    }

    /** Replica settings from the common client options: the client file's settings pass through as consumer settings. */
    static Map<String, Object> settings(ClientOptions client, Path dir, List<String> databases, String name) {
        Map<String, Object> settings = new LinkedHashMap<>();
        client.clientProperties().forEach((key, value) -> {
            if (key.equals(ReplicaConfig.BOOTSTRAP_SERVERS_CONFIG)) {
                settings.put(key, value);
            } else {
                settings.put(ReplicaConfig.CONSUMER_PREFIX + key, value);
            }
        });
        settings.put(ReplicaConfig.JOURNAL_TOPIC_CONFIG, client.topic());
        settings.put(ReplicaConfig.REPLICA_DIR_CONFIG, dir.toAbsolutePath().toString());
        settings.put(ReplicaConfig.REPLICA_DBS_CONFIG, String.join(",", databases));
        if (name != null) {
            settings.put(ReplicaConfig.REPLICA_NAME_CONFIG, name);
        }
        return settings;
    }
}
