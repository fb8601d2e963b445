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
import java.util.function.Predicate;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.Utils;

/**
 * One database's entries in a range of its journal partition as they are in Kafka now: LSN, base flag, commit time,
 * post-checksum and record offsets, without their pages. What a restore can reach, and where it is. A record that
 * cannot be decoded is kept as unreadable, so that a restore whose journal range includes it fails naming it.
 */
public final class JournalIndex {
    /** One entry; a fragmented entry spans {@code firstOffset..lastOffset}. */
    public record Entry(long lsn, boolean base, long commitTimeMillis, long postChecksum, long firstOffset,
            long lastOffset) {}

    /** A record of the database that could not be decoded (or whose fragments did not make an entry), and why. */
    public record Unreadable(long offset, String origin, String reason) {}

    private final TopicPartition partition;
    private final long fromOffset;
    private final boolean fromBeginning;
    private final long endOffset;
    private final List<Entry> entries;
    private final List<Unreadable> unreadable;

    private JournalIndex(TopicPartition partition, long fromOffset, boolean fromBeginning, long endOffset,
            List<Entry> entries, List<Unreadable> unreadable) {
        this.partition = partition;
        this.fromOffset = fromOffset;
        this.fromBeginning = fromBeginning;
        this.endOffset = endOffset;
        this.entries = List.copyOf(entries);
        this.unreadable = List.copyOf(unreadable);
    }

    /** The journal partition holding a database's records: the producer's default partitioning of its key. */
    public static TopicPartition partitionOf(String topic, int partitionCount, String dbId) {
        return new TopicPartition(topic, Utils.toPositive(Utils.murmur2(dbId.getBytes(StandardCharsets.UTF_8))) % partitionCount);
    }

    /** Reads the database's partition from its beginning to its current end. */
    public static JournalIndex scan(PartitionReader reader, TopicPartition partition, String dbId) throws IOException {
        long beginning = reader.beginningOffset(partition);
        long end = reader.endOffset(partition);
        return read(reader, partition, dbId, beginning, true, end, end, entry -> false);
    }

    /**
     * Reads the database's partition from {@code fromOffset} (the first record of one of its entries) up to
     * {@code toExclusive} or its current end, whichever comes first, and stops early after the first entry that
     * {@code stopAfter} accepts.
     */
    public static JournalIndex scan(PartitionReader reader, TopicPartition partition, String dbId, long fromOffset,
            long toExclusive, Predicate<Entry> stopAfter) throws IOException {
        long beginning = reader.beginningOffset(partition);
        long end = reader.endOffset(partition);
        long from = Math.max(fromOffset, beginning);
        return read(reader, partition, dbId, from, from == beginning, end, Math.min(end, toExclusive), stopAfter);
    }

    private static JournalIndex read(PartitionReader reader, TopicPartition partition, String dbId, long from,
            boolean fromBeginning, long end, long toExclusive, Predicate<Entry> stopAfter) throws IOException {
        byte[] key = dbId.getBytes(StandardCharsets.UTF_8);
        List<Entry> entries = new ArrayList<>();
        List<Unreadable> unreadable = new ArrayList<>();
        FragmentAssembler fragments = FragmentAssembler.fieldsOnly();
        long[] firstOffset = {-1};
        reader.read(partition, from, toExclusive, record -> {
            if (!Arrays.equals(record.key(), key) || record.value() == null) {
                return true;
            }
            String origin = PartitionReader.origin(record) + " (db " + dbId + ")";
            if (!fragments.isIncomplete()) {
                firstOffset[0] = record.offset();
            }
            Optional<JournalEntry> decoded;
            try {
                decoded = fragments.accept(JournalCodec.decode(record.value(), origin), origin);
            } catch (PagestreamException e) {
                unreadable.add(new Unreadable(record.offset(), origin, e.getMessage()));
                fragments.reset();
                return true;
            }
            if (decoded.isEmpty()) {
                return true;
            }
            JournalEntry e = decoded.get();
            Entry entry = new Entry(e.getLsn(), e.getBase(), e.getCommitTimeMillis(), e.getPostChecksum(), firstOffset[0],
                    record.offset());
            entries.add(entry);
            return !stopAfter.test(entry);
        });
        return new JournalIndex(partition, from, fromBeginning, end, entries, unreadable);
    }

    public TopicPartition partition() {
        return partition;
    }

    /** The first offset read. */
    public long fromOffset() {
        return fromOffset;
    }

    /** Whether the read started at the partition's beginning: no entry of the database is older than these. */
    public boolean fromBeginning() {
        return fromBeginning;
    }

    /** The partition's end offset when it was read. */
    public long endOffset() {
        return endOffset;
    }

    /** The entries in journal order. */
    public List<Entry> entries() {
        return entries;
    }

    /** The database's records that could not be read, in journal order. */
    public List<Unreadable> unreadable() {
        return unreadable;
    }

    public Optional<Entry> byLsn(long lsn) {
        return entries.stream().filter(entry -> entry.lsn() == lsn).findFirst();
    }
}
