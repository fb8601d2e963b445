package io.pagestream.cli;

import io.pagestream.schemas.CorruptEntryException;
import io.pagestream.schemas.DecodedRecord;
import io.pagestream.schemas.FragmentAssembler;
import io.pagestream.schemas.JournalCodec;
import io.pagestream.schemas.JournalContract;
import io.pagestream.schemas.MissingFragmentException;
import io.pagestream.schemas.PagestreamConfigException;
import io.pagestream.schemas.PagestreamException;
import io.pagestream.schemas.avro.JournalEntry;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code pagestream inspect}: lists one database's journal entries as they are in Kafka, without applying them.
 *
 * <p>Reads every partition of the journal topic from the beginning up to the end offsets taken at start, as a
 * read_committed consumer without a group (nothing is committed to Kafka). Records whose key is the database id are
 * decoded and fragments reassembled; each entry is one row, a fragmented one at the offset of its last fragment.
 * A record that cannot be decoded is listed as a row saying why, and the listing goes on.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Lists a database's journal entries in Kafka: LSN, position, commit time, base flag, size,"
                + " pages changed, bytes and checksums, then a summary line.",
                "Reads the journal topic from the beginning to its current end; nothing is written to Kafka."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:Listed (possibly no entries).",
                "1:Could not read the journal (topic missing, Kafka unreachable, unreadable --config).",
                "2:Listed, but some records could not be decoded; their rows say why. (Also: invalid options.)"})
final class InspectCommand implements Callable<Integer> {
    private static final DateTimeFormatter COMMIT_TIME =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'", Locale.ROOT).withZone(ZoneOffset.UTC);
    private static final String TABLE_FORMAT = "%8s  %-14s  %-24s  %-4s  %9s  %10s  %7s  %5s  %11s  %-16s  %s%n";
    private static final String ERROR_FORMAT = "%8s  %-14s  UNREADABLE: %s%n";
    private static final Duration POLL_INTERVAL = Duration.ofMillis(200);
    private static final int DEFAULT_API_TIMEOUT_MS = 30_000;
    private static final int TOPICS_NAMED_IN_ERROR = 10;
    /** LSNs start at 1. */
    private static final long NO_LSN = 0;

    @Option(names = "--db", required = true, paramLabel = "DB_ID",
            description = "Database id: the journal's record key (by default the database's file name).")
    String dbId;

    @Option(names = "--from-lsn", paramLabel = "LSN", defaultValue = "1",
            description = "List entries from this LSN on (default: ${DEFAULT-VALUE}).")
    long fromLsn;

    @Option(names = "--limit", paramLabel = "N",
            description = "Stop after listing N entries (default: all). Unreadable records met on the way are listed"
                    + " too and do not count.")
    Integer limit;

    @Option(names = "--json",
            description = "Print one JSON object per line instead of the table: \"type\" is \"entry\", \"unreadable\""
                    + " or, last, \"summary\".")
    boolean json;

    @Mixin
    ClientOptions client;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        if (limit != null && limit < 1) {
            throw new ParameterException(spec.commandLine(), "--limit must be at least 1, not " + limit);
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try {
            Listing listing = read(new Listing(out));
            out.flush();
            return listing.unreadable == 0 ? 0 : 2;
        } catch (PagestreamException | KafkaException e) {
            out.flush();
            err.println("pagestream inspect: " + oneLine(e));
            err.flush();
            return 1;
        }
    }

    /** Reads the topic into the listing, which prints as it goes. */
    private Listing read(Listing listing) {
        String topic = client.topic();
        Map<String, Object> settings = consumerSettings();
        Object servers = settings.get(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG);
        long timeoutMs = timeoutMs(settings);
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(settings, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = partitions(consumer, topic, servers, timeoutMs);
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            long lastProgress = System.nanoTime();
            long lastPositions = -1;
            while (!listing.isComplete()) {
                List<TopicPartition> remaining = partitions.stream().filter(p -> consumer.position(p) < end.get(p)).toList();
                if (remaining.isEmpty()) {
                    break;
                }
                consumer.pause(partitions.stream().filter(p -> !remaining.contains(p)).toList());
                long positions = remaining.stream().mapToLong(consumer::position).sum();
                if (positions != lastPositions) {
                    lastPositions = positions;
                    lastProgress = System.nanoTime();
                } else if (System.nanoTime() - lastProgress > Duration.ofMillis(timeoutMs).toNanos()) {
                    throw new PagestreamException("reading topic '" + topic + "' at " + servers + " made no progress for "
                            + timeoutMs / 1000 + " s; is the broker still running?");
                }
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(POLL_INTERVAL)) {
                    if (record.offset() < end.get(new TopicPartition(record.topic(), record.partition()))) {
                        listing.accept(record);
                        if (listing.isComplete()) {
                            break;
                        }
                    }
                }
            }
        } catch (TimeoutException e) {
            throw new PagestreamException("no answer from Kafka at " + servers + " within " + timeoutMs / 1000
                    + " s (" + e.getMessage() + "); check --bootstrap-server and --config");
        }
        listing.finish();
        return listing;
    }

    /**
     * The {@code --config} settings a consumer understands (the file may hold producer or admin settings too), made
     * into a group-less, read_committed consumer that never commits offsets.
     */
    private Map<String, Object> consumerSettings() {
        Map<String, Object> settings = new HashMap<>();
        client.clientProperties().forEach((name, value) -> {
            if (ConsumerConfig.configNames().contains(name)) {
                settings.put(name, value);
            }
        });
        settings.remove(ConsumerConfig.GROUP_ID_CONFIG);
        settings.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
        settings.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        settings.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        settings.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "pagestream-inspect");
        settings.putIfAbsent(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Integer.toString(DEFAULT_API_TIMEOUT_MS));
        return settings;
    }

    /** How long to wait for Kafka: the consumer's default.api.timeout.ms. */
    private static long timeoutMs(Map<String, Object> settings) {
        Object value = settings.get(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG);
        try {
            long timeoutMs = Long.parseLong(value.toString().trim());
            if (timeoutMs > 0) {
                return timeoutMs;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new PagestreamConfigException(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG + "=" + value
                + " in the client config is not a positive number of milliseconds");
    }

    private static List<TopicPartition> partitions(KafkaConsumer<byte[], byte[]> consumer, String topic, Object servers,
            long timeoutMs) {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofMillis(timeoutMs));
        if (infos == null || infos.isEmpty()) {
            List<String> topics = consumer.listTopics(Duration.ofMillis(timeoutMs)).keySet().stream()
                    .filter(name -> !name.startsWith("__")).sorted().toList();
            String existing = topics.isEmpty() ? "there are no topics"
                    : "topics there: " + topics.stream().limit(TOPICS_NAMED_IN_ERROR).collect(Collectors.joining(", "))
                            + (topics.size() > TOPICS_NAMED_IN_ERROR ? ", ..." : "");
            throw new PagestreamException("journal topic '" + topic + "' does not exist at " + servers + " (" + existing
                    + "); choose one with --topic, or publish to it first");
        }
        return infos.stream().map(info -> new TopicPartition(topic, info.partition())).toList();
    }

    /** The exception's message, and its innermost cause's when that says something more. */
    private static String oneLine(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = String.valueOf(e.getMessage());
        return root == e || root.getMessage() == null || message.contains(root.getMessage())
                ? message : message + ": " + root.getMessage();
    }

    /** Turns the database's records into rows as they arrive, and counts what the summary line reports. */
    private final class Listing {
        private final PrintWriter out;
        private final FragmentAssembler assembler = new FragmentAssembler();
        private boolean headerPrinted;
        /** Records, value bytes, LSN and last partition/offset of the fragmented entry being assembled. */
        private int pendingRecords;
        private long pendingBytes;
        private long pendingLsn;
        private String pendingPosition;
        /** LSN of a fragmented entry reported unreadable, whose remaining fragments are skipped. */
        private long abandonedLsn = NO_LSN;
        private long recordsRead;
        private int entries;
        private int unreadable;
        private int bases;
        private long bytes;
        private long firstLsn;
        private long lastLsn;
        private String chainBreak;

        Listing(PrintWriter out) {
            this.out = out;
        }

        boolean isComplete() {
            return limit != null && entries >= limit;
        }

        void accept(ConsumerRecord<byte[], byte[]> record) {
            recordsRead++;
            if (record.key() == null || !dbId.equals(new String(record.key(), StandardCharsets.UTF_8))) {
                return;
            }
            String origin = record.topic() + "-" + record.partition() + "@" + record.offset();
            DecodedRecord decoded;
            try {
                decoded = JournalCodec.decode(record.value(), origin);
                if (!decoded.dbId().equals(dbId)) {
                    throw new CorruptEntryException(origin + ": record key is '" + dbId + "' but the record holds "
                            + decoded.dbId() + "@" + decoded.lsn());
                }
            } catch (CorruptEntryException e) {
                Long lsn = headerLsn(record);
                if (lsn == null || lsn >= fromLsn) {
                    unreadable(record, lsn, e.getMessage());
                }
                return;
            }
            assemble(decoded, record, origin);
        }

        /**
         * Feeds one decoded record to the assembler. A record that breaks off an incomplete fragmented entry is
         * fed again to a fresh assembler: the broken entry is reported, the record itself may well be fine. The
         * remaining fragments of an entry reported broken are skipped without a row each.
         */
        private void assemble(DecodedRecord decoded, ConsumerRecord<byte[], byte[]> record, String origin) {
            if (decoded instanceof DecodedRecord.Fragment part && part.lsn() == abandonedLsn
                    && part.fragment().getIndex() > 0) {
                return;
            }
            abandonedLsn = NO_LSN;
            boolean continuing = assembler.isIncomplete();
            if (!continuing) {
                pendingRecords = 0;
                pendingBytes = 0;
                pendingLsn = decoded.lsn();
            }
            pendingRecords++;
            pendingBytes += record.value().length;
            pendingPosition = record.partition() + "/" + record.offset();
            Optional<JournalEntry> entry;
            try {
                entry = assembler.accept(decoded, origin);
            } catch (MissingFragmentException | CorruptEntryException e) {
                assembler.reset();
                abandonedLsn = pendingLsn;
                if (pendingLsn >= fromLsn) {
                    unreadable(record, pendingLsn, e.getMessage());
                }
                if (continuing && e instanceof MissingFragmentException) {
                    assemble(decoded, record, origin);
                }
                return;
            }
            if (entry.isPresent() && entry.get().getLsn() >= fromLsn) {
                boolean fragmented = decoded instanceof DecodedRecord.Fragment;
                entry(entry.get(), record, fragmented ? pendingRecords : 0, pendingBytes);
            }
        }

        private void entry(JournalEntry entry, ConsumerRecord<byte[], byte[]> record, int fragments, long encodedBytes) {
            long lsn = entry.getLsn();
            if (entries == 0) {
                firstLsn = lsn;
            } else if (chainBreak == null && lsn != lastLsn + 1) {
                chainBreak = "LSN " + lsn + " follows " + lastLsn;
            }
            lastLsn = lsn;
            entries++;
            bases += entry.getBase() ? 1 : 0;
            bytes += encodedBytes;
            String commitTime = COMMIT_TIME.format(Instant.ofEpochMilli(entry.getCommitTimeMillis()));
            String pre = JournalContract.hex(entry.getPreChecksum());
            String post = JournalContract.hex(entry.getPostChecksum());
            if (json) {
                out.println(new JsonLine().field("type", "entry").field("db", dbId).field("lsn", lsn)
                        .field("partition", record.partition()).field("offset", record.offset())
                        .field("commitTime", commitTime).field("commitTimeMillis", entry.getCommitTimeMillis())
                        .field("base", entry.getBase()).field("pageSize", entry.getPageSize())
                        .field("pageCount", entry.getPageCount()).field("deltas", entry.getDeltas().size())
                        .field("fragments", fragments).field("bytes", encodedBytes)
                        .field("preChecksum", pre).field("postChecksum", post));
                return;
            }
            printHeader();
            out.printf(TABLE_FORMAT, lsn, record.partition() + "/" + record.offset(), commitTime, entry.getBase() ? "yes" : "no",
                    entry.getPageSize(), entry.getPageCount(), entry.getDeltas().size(), fragments == 0 ? "-" : fragments,
                    encodedBytes, pre, post);
        }

        private void unreadable(ConsumerRecord<byte[], byte[]> record, Long lsn, String reason) {
            unreadable++;
            if (json) {
                JsonLine line = new JsonLine().field("type", "unreadable").field("db", dbId);
                if (lsn != null) {
                    line.field("lsn", lsn);
                }
                out.println(line.field("partition", record.partition()).field("offset", record.offset())
                        .field("error", reason));
                return;
            }
            printHeader();
            out.printf(ERROR_FORMAT, lsn == null ? "?" : lsn, record.partition() + "/" + record.offset(), reason);
        }

        private void printHeader() {
            if (!headerPrinted) {
                headerPrinted = true;
                out.printf(TABLE_FORMAT, "LSN", "PARTITION/OFF", "COMMIT TIME (UTC)", "BASE", "PAGE SIZE", "PAGES",
                        "DELTAS", "FRAGS", "BYTES", "PRE CHECKSUM", "POST CHECKSUM");
            }
        }

        /** Prints the summary line. */
        void finish() {
            boolean incompleteAtEnd = assembler.isIncomplete() && !isComplete();
            if (json) {
                JsonLine line = new JsonLine().field("type", "summary").field("db", dbId).field("topic", client.topic())
                        .field("entries", entries);
                if (entries > 0) {
                    line.field("firstLsn", firstLsn).field("lastLsn", lastLsn);
                }
                line.field("bases", bases).field("bytes", bytes).field("contiguous", chainBreak == null);
                if (chainBreak != null) {
                    line.field("chainBreak", chainBreak);
                }
                out.println(line.field("unreadable", unreadable).field("incompleteAtEnd", incompleteAtEnd)
                        .field("recordsRead", recordsRead));
                return;
            }
            StringBuilder summary = new StringBuilder();
            if (entries == 0) {
                summary.append("no entries for database '").append(dbId).append("'")
                        .append(fromLsn > 1 ? " from LSN " + fromLsn : "")
                        .append(" in topic '").append(client.topic()).append("' (").append(recordsRead)
                        .append(recordsRead == 1 ? " record read)" : " records read)");
            } else {
                summary.append(entries).append(entries == 1 ? " entry" : " entries")
                        .append(", LSN ").append(firstLsn).append("..").append(lastLsn)
                        .append(", ").append(bases).append(bases == 1 ? " base" : " bases")
                        .append(", ").append(bytes).append(" bytes, LSN chain ")
                        .append(chainBreak == null ? "contiguous" : "NOT contiguous (" + chainBreak + ")");
            }
            if (unreadable > 0) {
                summary.append(", ").append(unreadable).append(unreadable == 1 ? " unreadable record" : " unreadable records");
            }
            if (incompleteAtEnd) {
                summary.append(", LSN ").append(pendingLsn).append(" incomplete at the end (").append(pendingRecords)
                        .append(pendingRecords == 1 ? " fragment" : " fragments").append(" so far, up to ").append(pendingPosition)
                        .append("; still being published?)");
            }
            out.println(summary);
        }

        private static Long headerLsn(ConsumerRecord<byte[], byte[]> record) {
            Header header = record.headers().lastHeader(JournalContract.HEADER_LSN);
            if (header == null || header.value() == null) {
                return null;
            }
            try {
                return Long.parseLong(new String(header.value(), StandardCharsets.US_ASCII));
            } catch (NumberFormatException e) {
                return null;
            }
        }
    }

    /** One JSON object on one line, written by hand: string, number and boolean fields only. */
    private static final class JsonLine {
        private final StringBuilder json = new StringBuilder("{");

        JsonLine field(String name, String value) {
            name(name);
            quote(value);
            return this;
        }

        JsonLine field(String name, long value) {
            name(name);
            json.append(value);
            return this;
        }

        JsonLine field(String name, boolean value) {
            name(name);
            json.append(value);
            return this;
        }

        private void name(String name) {
            if (json.length() > 1) {
                json.append(',');
            }
            quote(name);
            json.append(':');
        }

        private void quote(String value) {
            json.append('"');
            for (int i = 0; i < value.length(); i++) {
                char c = value.charAt(i);
                switch (c) {
                    case '"' -> json.append("\\\"");
                    case '\\' -> json.append("\\\\");
                    case '\n' -> json.append("\\n");
                    case '\r' -> json.append("\\r");
                    case '\t' -> json.append("\\t");
                    default -> {
                        if (c < 0x20 || c == 0x2028 || c == 0x2029) {
                            json.append(String.format("\\u%04x", (int) c));
                        } else {
                            json.append(c);
                        }
                    }
                }
            }
            json.append('"');
        }

        @Override
        public String toString() {
            return json + "}";
        }
    }
}
