package io.pagestream.cli;

import io.pagestream.replica.ReplicaConfig;
import io.pagestream.replica.Restore;
import io.pagestream.replica.RestorePlan;
import io.pagestream.replica.RestorePointSummary;
import io.pagestream.replica.RestoreProgress;
import io.pagestream.replica.RestoreResult;
import io.pagestream.replica.RestoreTarget;
import io.pagestream.replica.RestoreWindow;
import io.pagestream.schemas.PagestreamConfigException;
import io.pagestream.schemas.PagestreamException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.KafkaException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pagestream restore}: writes a database as it was at an LSN, a time or a journal offset (default: its newest
 * entry), from its newest restore point at or before it and the journal after that. Reads Kafka only.
 */
@Command(name = "restore", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Restores a database as it was at a point in time (time travel), byte-identical to the writer's"
                + " file then: from the newest snapshot at or before the target, then the journal up to it.",
                "The file is built beside --output and renamed into place only once verified; on failure nothing is"
                        + " written."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:Restored (or listed, or planned).", "1:Failed; stderr says why in one line."})
final class RestoreCommand implements Callable<Integer> {
    @Option(names = "--db", required = true, paramLabel = "DB_ID", description = "Database id (the journal's record key).")
    String dbId;

    @Option(names = "--output", paramLabel = "FILE", description = "Where to write the restored database.")
    Path output;

    @Option(names = "--to-lsn", paramLabel = "N", description = "Restore to the database right after LSN N.")
    Long toLsn;

    @Option(names = "--to-time", paramLabel = "ISO-8601",
            description = "Restore to the last transaction committed at or before this time, e.g. 2024-05-01T12:34:56Z.")
    String toTime;

    @Option(names = "--to-offset", paramLabel = "PARTITION:OFFSET",
            description = "Restore to the last entry whose journal record is at or before this offset.")
    String toOffset;

    @Option(names = "--list", description = "List the database's restore points and restore window; restore nothing.")
    boolean list;

    @Option(names = "--dry-run", description = "Print how the restore would go; write nothing.")
    boolean dryRun;

    @Option(names = "--force", description = "Replace --output if it exists.")
    boolean force;

    @Mixin
    ClientOptions client;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try {
            RestoreTarget target = target();
            if (!list && !dryRun && output == null) {
                throw new PagestreamConfigException("--output FILE is required to restore (or use --list or --dry-run)");
            }
            try (Restore restore = Restore.open(settings())) {
                if (list) {
                    printWindow(out, restore.list(dbId));
                } else if (dryRun) {
                    RestorePlan plan = restore.plan(dbId, target);
                    out.println(plan);
                } else {
                    ProgressBar bar = new ProgressBar(err, System.console() != null);
                    RestoreResult result = restore.restore(dbId, target, output, force, bar);
                    bar.finish();
                    result.fallbacks().forEach(fallback -> err.println("pagestream restore: warning: " + fallback));
                    out.println("restored db " + dbId + " to LSN " + result.lsn() + " (committed " + result.commitTime()
                            + ") into " + result.output() + ": " + result.bytes() + " bytes, from "
                            + result.snapshotId().map(id -> "snapshot " + id).orElse("the journal's base entry") + " and "
                            + result.entriesApplied() + " journal entries");
                }
            }
            out.flush();
            return 0;
        } catch (PagestreamException | KafkaException | UncheckedIOException e) {
            out.flush();
            err.println("pagestream restore: " + e.getMessage().lines().findFirst().orElse(e.toString()));
            err.flush();
            return 1;
        }
    }

    private RestoreTarget target() {
        long given = Stream.of(toLsn, toTime, toOffset).filter(option -> option != null).count();
        if (given > 1) {
            throw new PagestreamConfigException("give at most one of --to-lsn, --to-time and --to-offset");
        }
        if (toLsn != null) {
            return RestoreTarget.lsn(toLsn);
        }
        if (toTime != null) {
            return RestoreTarget.time(parseTime(toTime));
        }
        return toOffset != null ? RestoreTarget.parseOffset(toOffset) : RestoreTarget.latest();
    }

    private static Instant parseTime(String text) {
        try {
            return OffsetDateTime.parse(text).toInstant();
        } catch (DateTimeParseException e) {
            throw new PagestreamConfigException("--to-time '" + text
                    + "' is not an ISO-8601 time with a zone offset, such as 2024-05-01T12:34:56Z");
        }
    }

    /** Restore settings: the --config file's consumer settings pass through under consumer. */
    private Map<String, Object> settings() {
        Map<String, Object> settings = new LinkedHashMap<>();
        client.clientProperties().forEach((key, value) -> {
            if (key.equals(ReplicaConfig.BOOTSTRAP_SERVERS_CONFIG)) {
                settings.put(key, value);
            } else if (ConsumerConfig.configNames().contains(key)) {
                settings.put(ReplicaConfig.CONSUMER_PREFIX + key, value);
            }
        });
        settings.put(ReplicaConfig.JOURNAL_TOPIC_CONFIG, client.topic());
        return settings;
    }

    private void printWindow(PrintWriter out, RestoreWindow window) {
        out.println("db " + dbId + " can be restored to " + window);
        if (window.restorePoints().isEmpty()) {
            out.println("no restore points: restores start from a base entry in the journal");
            return;
        }
        String format = "%-36s  %8s  %-24s  %6s  %12s%n";
        out.printf(format, "SNAPSHOT", "LSN", "COMMIT TIME (UTC)", "CHUNKS", "BYTES");
        for (RestorePointSummary point : window.restorePoints()) {
            out.printf(format, point.snapshotId(), point.lsn(), point.commitTime(), point.chunkCount(), point.bytes());
        }
    }

    /** A one-line progress bar on a terminal (bytes, pages, rate, ETA), redrawn at most ten times a second. */
    static final class ProgressBar implements Consumer<RestoreProgress> {
        private static final long REDRAW_NANOS = 100_000_000L;
        private final PrintWriter err;
        private final boolean terminal;
        private RestoreProgress.Stage stage;
        private long stageStart;
        private long lastDraw;

        ProgressBar(PrintWriter err, boolean terminal) {
            this.err = err;
            this.terminal = terminal;
        }

        @Override
        public void accept(RestoreProgress progress) {
            if (!terminal) {
                return;
            }
            long now = System.nanoTime();
            if (progress.stage() != stage) {
                stage = progress.stage();
                stageStart = now;
            } else if (now - lastDraw < REDRAW_NANOS && progress.done() < progress.total()) {
                return;
            }
            lastDraw = now;
            double seconds = Math.max(1e-3, (now - stageStart) / 1e9);
            double rate = progress.done() / seconds;
            String eta = rate <= 0 ? "?" : Math.round((progress.total() - progress.done()) / rate) + " s";
            String unit = progress.stage() == RestoreProgress.Stage.REPLAY ? " records" : "";
            String amount = progress.stage() == RestoreProgress.Stage.REPLAY
                    ? progress.done() + "/" + progress.total() + unit
                    : mebibytes(progress.done()) + "/" + mebibytes(progress.total());
            String rateText = progress.stage() == RestoreProgress.Stage.REPLAY
                    ? String.format(Locale.ROOT, "%.0f records/s", rate) : mebibytes((long) rate) + "/s";
            err.print(String.format(Locale.ROOT, "\r%-8s %3d%%  %s  %s, %d pages  %s  ETA %s   ",
                    progress.stage().name().toLowerCase(Locale.ROOT),
                    progress.total() == 0 ? 100 : progress.done() * 100 / progress.total(), amount,
                    mebibytes(progress.bytes()), progress.pages(), rateText, eta));
            err.flush();
        }

        void finish() {
            if (terminal && stage != null) {
                err.println();
            }
        }

        private static String mebibytes(long bytes) {
            return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
        }
    }
}
