package io.pagestream.replica.internals;

import io.pagestream.schemas.FragmentAssembler;
import io.pagestream.schemas.JournalCodec;
import io.pagestream.schemas.PagestreamException;
import io.pagestream.schemas.avro.JournalEntry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One database's entries in its journal partition as they are in Kafka now: LSN, base flag, commit time,
 * post-checksum and record offsets, without their pages. What a restore can reach, and where it is. A record that
 * cannot be decoded is logged and left out here; a restore that has to replay it fails there, naming it.
 */
public final class JournalIndex {
    private static final Logger log = LoggerFactory.getLogger(JournalIndex.class);

    /** One entry; a fragmented entry spans {@code firstOffset..lastOffset}. */
    public record Entry(long lsn, boolean base, long commitTimeMillis, long postChecksum, long firstOffset,
            long lastOffset) {}

    private final TopicPartition partition;
    private final long endOffset;
    private final List<Entry> entries;

    private JournalIndex(TopicPartition partition, long endOffset, List<Entry> entries) {
        this.partition = partition;
        this.endOffset = endOffset;
        this.entries = List.copyOf(entries);
    }

    /** The journal partition holding a database's records: the producer's default partitioning of its key. */
    public static TopicPartition partitionOf(String topic, int partitionCount, String dbId) {
        return new TopicPartition(topic, Utils.toPositive(Utils.murmur2(dbId.getBytes(StandardCharsets.UTF_8))) % partitionCount);
    }

    /**
     * Reads the database's partition from its beginning to its current end.
     */
    public static JournalIndex scan(PartitionReader reader, TopicPartition partition, String dbId) throws IOException {
        byte[] key = dbId.getBytes(StandardCharsets.UTF_8);
        long end = reader.endOffset(partition);
        List<Entry> entries = new ArrayList<>();
        FragmentAssembler fragments = new FragmentAssembler();
        long[] firstOffset = {-1};
        reader.read(partition, reader.beginningOffset(partition), end, record -> {
            if (!Arrays.equals(record.key(), key) || record.value() == null) {
                return true;
            }
            String origin = PartitionReader.origin(record) + " (db " + dbId + ")";
            if (!fragments.isIncomplete()) {
                firstOffset[0] = record.offset();
            }
            Optional<JournalEntry> entry;
            try {
                entry = fragments.accept(JournalCodec.decode(record.value(), origin), origin);
            } catch (PagestreamException e) {
                log.warn("db {}: journal record {} is unreadable; restores up to entries before it still work: {}", dbId,
                        origin, e.getMessage());
                fragments.reset();
                return true;
            }
            entry.ifPresent(e -> entries.add(new Entry(e.getLsn(), e.getBase(), e.getCommitTimeMillis(), e.getPostChecksum(),
                    firstOffset[0], record.offset())));
            return true;
        });
        return new JournalIndex(partition, end, entries);
    }

    public TopicPartition partition() {
        return partition;
    }

    /** The partition's end offset when it was read. */
    public long endOffset() {
        return endOffset;
    }

    /** The entries in journal order. */
    public List<Entry> entries() {
        return entries;
    }

    public Optional<Entry> byLsn(long lsn) {
        return entries.stream().filter(entry -> entry.lsn() == lsn).findFirst();
    }
}
