package io.pagestream.vfs;

import io.pagestream.schemas.DecodedRecord;
import io.pagestream.schemas.FragmentAssembler;
import io.pagestream.schemas.JournalCodec;
import io.pagestream.schemas.JournalRecord;
import io.pagestream.schemas.avro.JournalEntry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/** Reads a whole journal topic from the beginning, for tests. */
public final class KafkaJournal {
    record Record(String key, byte[] value, Map<String, String> headers, int partition, long offset, int serializedSize) {
        String origin() {
            return "p" + partition + "@" + offset;
        }
    }

    /** A journal entry and where its (last) record is. */
    public record Entry(JournalEntry entry, int partition, long offset) {}

    private KafkaJournal() {}

    /** Every entry of the topic, per db id in journal order, read as a replica reads it (fragments put back together). */
    public static Map<String, List<Entry>> entries(String bootstrapServers, String topic) {
        Map<String, List<Entry>> entries = new java.util.TreeMap<>();
        Map<String, FragmentAssembler> fragments = new java.util.HashMap<>();
        for (Record record : readAll(bootstrapServers, topic)) {
            DecodedRecord decoded = JournalCodec.decode(record.value(), topic + "-" + record.origin());
            fragments.computeIfAbsent(decoded.dbId(), id -> new FragmentAssembler())
                    .accept(decoded, record.origin())
                    .ifPresent(entry -> entries.computeIfAbsent(entry.getDbId(), id -> new ArrayList<>())
                            .add(new Entry(entry, record.partition(), record.offset())));
        }
        return entries;
    }

    /** The journal read as {@link #readAll} does and applied to a new replica in {@code dir}, each entry verified. */
    static JournalReplay.Replica replay(String bootstrapServers, String topic, Path dir, String dbId) throws IOException {
        List<JournalRecord> records = readAll(bootstrapServers, topic).stream()
                .map(r -> new JournalRecord(r.key(), r.value(), List.of())).toList();
        JournalReplay replay = new JournalReplay(Files.createDirectories(dir));
        replay.applyAll(records, (entry, file) -> { });
        return replay.replica(dbId);
    }

    static List<Record> readAll(String bootstrapServers, String topic) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        // As every Pagestream consumer: records of aborted transactions (a killed or fenced writer's) are not the journal.
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 8 * 1024 * 1024);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(info -> new TopicPartition(topic, info.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            List<Record> records = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("timed out reading " + topic);
                }
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    Map<String, String> headers = new java.util.LinkedHashMap<>();
                    int size = r.key().length + r.value().length;
                    for (var header : r.headers()) {
                        headers.put(header.key(), new String(header.value(), StandardCharsets.US_ASCII));
                        size += header.key().getBytes(StandardCharsets.UTF_8).length + header.value().length;
                    }
                    records.add(new Record(new String(r.key(), StandardCharsets.UTF_8), r.value(), headers, r.partition(),
                            r.offset(), size));
                }
            }
            return records;
        }
    }
}
