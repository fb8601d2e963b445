package io.pagestream.cli;

import io.pagestream.broker.EmbeddedKafkaBroker;
import io.pagestream.vfs.PagestreamVfs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.Random;

/** What the benchmark commands share: the broker they start, waiting for Kafka, row payloads, the JSON line. */
final class Benchmarks {
    private Benchmarks() {}

    /**
     * Starts the in-process broker with its log in {@code logDir}, or else in a new directory in /dev/shm, so its writes
     * do not share the databases' disk and fsyncs (as on a real deployment, where Kafka runs elsewhere).
     */
    static EmbeddedKafkaBroker startBroker(Path logDir) throws IOException {
        Path shm = Path.of("/dev/shm");
        Path dir = logDir != null ? logDir
                : Files.isDirectory(shm) ? Files.createTempDirectory(shm, "pagestream-bench-kafka-") : null;
        EmbeddedKafkaBroker.Options options = EmbeddedKafkaBroker.Options.defaults();
        return EmbeddedKafkaBroker.start(dir == null ? options : options.withDataDir(dir));
    }

    /** Waits for Kafka to acknowledge everything committed; a timeout would make the figures meaningless. */
    static void flush(PagestreamVfs vfs) throws InterruptedException {
        if (!vfs.flush(Duration.ofMinutes(5))) {
            throw new IllegalStateException("Kafka did not acknowledge the benchmark's entries within 5 minutes");
        }
    }

    static String letters(Random random, int length) {
        char[] chars = new char[length];
        for (int i = 0; i < length; i++) {
            chars[i] = (char) ('a' + random.nextInt(26));
        }
        return new String(chars);
    }

    static double round(double value) {
        return Math.round(value * 1000) / 1000.0;
    }

    /** One JSON object on one line: strings quoted (they hold no quotes or backslashes), numbers and booleans as they are. */
    static String jsonLine(Map<String, Object> values) {
        StringBuilder line = new StringBuilder("{");
        values.forEach((key, value) -> line.append(line.length() > 1 ? ", " : "").append('"').append(key).append("\": ")
                .append(value instanceof String text ? '"' + text + '"' : value));
        return line.append('}').toString();
    }

    static void deleteRecursively(Path root) throws IOException {
        if (Files.notExists(root)) {
            return; // the broker deletes a data directory it created itself
        }
        try (var paths = Files.walk(root)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }
}
