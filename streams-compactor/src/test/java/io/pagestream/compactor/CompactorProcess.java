package io.pagestream.compactor;

import io.pagestream.schemas.avro.RestorePoint;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * A compactor in a JVM of its own, for {@link CompactorCrashIT} to kill: prints "started", then a line
 * "snapshot <db> <lsn>" per snapshot taken, and runs until killed. Arguments: bootstrap servers, journal topic, state
 * directory.
 */
public final class CompactorProcess {
    private CompactorProcess() {}

    public static void main(String[] args) throws InterruptedException {
        // Stream thread states, rebalances and task assignment: what a run that never snapshots was waiting for.
        for (String logger : new String[] {"org.apache.kafka.streams.processor.internals.StreamThread",
                "org.apache.kafka.streams.processor.internals.TaskManager", "io.pagestream"}) {
            ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(logger)).setLevel(ch.qos.logback.classic.Level.INFO);
        }
        Compactor.start(settings(args[0], args[1], Path.of(args[2])), new CompactorListener() {
            @Override
            public void snapshotTaken(String dbId, RestorePoint point) {
                System.out.println("snapshot " + dbId + " " + point.getLsn());
            }
        });
        System.out.println("started");
        new CountDownLatch(1).await();
    }

    /** Small chunks sent one per check, so that a snapshot spans many checks and a kill lands in one. */
    static Map<String, Object> settings(String bootstrapServers, String topic, Path stateDir) {
        Map<String, Object> settings = new HashMap<>();
        settings.put("bootstrap.servers", bootstrapServers);
        settings.put("journal.topic", topic);
        settings.put("application.id", "compactor-crash-it");
        settings.put("state.dir", stateDir.toString());
        settings.put("snapshot.journal.ratio", "0.2");
        // The databases grow from run to run: each run still gets a snapshot soon, whatever the journal since.
        settings.put("snapshot.interval.ms", "3000");
        settings.put("snapshot.check.interval.ms", "50");
        settings.put("snapshot.chunk.bytes", "4096");
        settings.put("snapshot.bytes.per.punctuation", "4096");
        // A killed instance's group membership ends soon, so that the next one gets the partitions without a long wait.
        settings.put("streams.session.timeout.ms", "6000");
        settings.put("streams.heartbeat.interval.ms", "1000");
        return settings;
    }
}
