package io.pagestream.replica;

import static org.awaitility.Awaitility.await;

import io.pagestream.schemas.PagestreamException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * Child process of {@link ReplicaCrashIT}: runs a replica service with the settings given as {@code key=value}
 * arguments until it is killed, printing one line per event on standard output:
 * {@code started}, {@code applied <dbId> <lsn> <entries>}, {@code halted <dbId> <message>} and {@code failed <message>}
 * (the service stopped on its own; the process then exits with status 1).
 */
public final class ReplicaProcess {
    public static final String STARTED = "started";
    public static final String APPLIED = "applied";
    public static final String HALTED = "halted";
    public static final String FAILED = "failed";

    private ReplicaProcess() {}

    public static void main(String[] args) {
        Map<String, String> settings = new HashMap<>();
        for (String arg : args) {
            int equals = arg.indexOf('=');
            settings.put(arg.substring(0, equals), arg.substring(equals + 1));
        }
        Replica replica = Replica.start(settings, new ReplicaListener() {
            @Override
            public void applied(String dbId, ReplicaPosition position, int entries) {
                System.out.println(APPLIED + " " + dbId + " " + position.lsn() + " " + entries);
            }

            @Override
            public void halted(String dbId, PagestreamException error) {
                System.out.println(HALTED + " " + dbId + " " + error.getMessage());
            }
        });
        System.out.println(STARTED);
        await().forever().pollInterval(Duration.ofMillis(100)).until(() -> replica.failure() != null);
        System.out.println(FAILED + " " + replica.failure().getMessage());
        System.exit(1);
    }
}
