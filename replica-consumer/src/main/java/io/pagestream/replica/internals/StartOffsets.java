package io.pagestream.replica.internals;

import io.pagestream.replica.ReplicaPosition;
import io.pagestream.schemas.ChecksumMismatchException;
import io.pagestream.schemas.CorruptEntryException;
import io.pagestream.schemas.DecodedRecord;
import io.pagestream.schemas.FragmentAssembler;
import io.pagestream.schemas.JournalApplier;
import io.pagestream.schemas.JournalCodec;
import io.pagestream.schemas.JournalContract;
import io.pagestream.schemas.PageChecksum;
import io.pagestream.schemas.PageDiff;
import io.pagestream.schemas.PagestreamException;
import io.pagestream.schemas.avro.JournalEntry;
import io.pagestream.schemas.avro.PageDelta;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a replica service starts reading each partition: right after the recorded position of every replica
 * it already has, and at the newest verified base entry of every database it does not have yet. Finding base
 * entries reads the partitions once: a record whose headers say "base entry" (pre-checksum 0) is decoded, and
 * counts only if its body is a base entry that agrees with its headers.
 */
public final class StartOffsets {
    private static final Logger log = LoggerFactory.getLogger(StartOffsets.class);
    private static final String EMPTY_CHECKSUM = JournalContract.hex(JournalContract.EMPTY_CHECKSUM);

    private StartOffsets() {}

    /**
     * Where to read each partition from, and where each new database's replica starts.
     *
     * @param newReplicas per database without a replica: its first record to read, or why it cannot start
     */
    public record Start(Map<TopicPartition, Long> offsets, Map<String, NewReplica> newReplicas) {}

    /**
     * A new replica's first record: its base entry (the first fragment of a fragmented one); {@code unusable} says
     * why none of the database's records can start a replica, null when one can.
     */
    public record NewReplica(int partition, long offset, PagestreamException unusable) {}

    /**
     * @param existing positions of the replicas already present
     * @param wantsBase databases whose newest base entry to look for
     * @param scanForBases false skips the scan (every database followed has a replica)
     */
    public static Start compute(Consumer<byte[], byte[]> consumer, Collection<TopicPartition> partitions,
            Map<String, ReplicaPosition> existing, Predicate<String> wantsBase, boolean scanForBases, Duration timeout) {
        Map<TopicPartition, Long> ends = consumer.endOffsets(partitions, timeout);
        Map<TopicPartition, Long> start = new HashMap<>();
        for (ReplicaPosition position : existing.values()) {
            for (TopicPartition partition : partitions) {
                if (partition.partition() == position.partition()) {
                    start.merge(partition, position.offset() + 1, Math::min);
                }
            }
        }
        Map<String, NewReplica> newReplicas = scanForBases ? newReplicas(consumer, partitions, ends, wantsBase) : Map.of();
        newReplicas.forEach((dbId, replica) -> {
            if (replica.unusable() == null) {
                start.merge(topicPartition(partitions, replica.partition()), replica.offset(), Math::min);
            }
        });
        for (TopicPartition partition : partitions) {
            start.putIfAbsent(partition, ends.get(partition));
        }
        return new Start(start, newReplicas);
    }

    private static TopicPartition topicPartition(Collection<TopicPartition> partitions, int partition) {
        return partitions.stream().filter(p -> p.partition() == partition).findFirst().orElseThrow();
    }

    /** Reads every partition from its beginning to its end, following each wanted database's records. */
    private static Map<String, NewReplica> newReplicas(Consumer<byte[], byte[]> consumer, Collection<TopicPartition> partitions,
            Map<TopicPartition, Long> ends, Predicate<String> wanted) {
        consumer.seekToBeginning(partitions);
        Map<String, BaseSearch> searches = new TreeMap<>();
        long scanned = 0;
        while (partitions.stream().anyMatch(p -> consumer.position(p) < ends.get(p))) {
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                scanned++;
                if (record.key() == null) {
                    continue; // the engine stops the service when it reads a record without a key
                }
                String dbId = new String(record.key(), StandardCharsets.UTF_8);
                if (wanted.test(dbId)) {
                    searches.computeIfAbsent(dbId, BaseSearch::new).read(record);
                }
            }
        }
        Map<String, NewReplica> newReplicas = new TreeMap<>();
        searches.forEach((dbId, search) -> newReplicas.put(dbId, search.result()));
        log.info("scanned {} journal records: new replicas start at {}", scanned, newReplicas);
        return newReplicas;
    }

    /** One database's records during the scan: its newest verified base entry and the candidates that failed. */
    private static final class BaseSearch {
        private final String dbId;
        private int partition = -1;
        private long firstOffset = -1;
        private long lastOffset = -1;
        /** The records of the fragmented entry being read; null between entries. */
        private List<ConsumerRecord<byte[], byte[]>> fragments;
        private NewReplica newest;
        private long newestLsn = Long.MIN_VALUE;
        private final List<String> rejected = new ArrayList<>();

        BaseSearch(String dbId) {
            this.dbId = dbId;
        }

        void read(ConsumerRecord<byte[], byte[]> record) {
            if (partition < 0) {
                partition = record.partition();
                firstOffset = record.offset();
            }
            lastOffset = record.offset();
            String fragment = header(record, JournalContract.HEADER_FRAGMENT);
            if (fragment != null) {
                if (fragment.startsWith("0/")) {
                    fragments = new ArrayList<>();
                }
                if (fragments != null) {
                    fragments.add(record);
                }
                if (!isLastFragment(fragment)) {
                    return;
                }
            }
            List<ConsumerRecord<byte[], byte[]>> entryRecords = fragment == null || fragments == null ? List.of(record) : fragments;
            fragments = null;
            // Newest by LSN, first copy of it: a base entry re-delivered later is a duplicate, not a newer start.
            if (!EMPTY_CHECKSUM.equals(header(record, JournalContract.HEADER_PRE_CHECKSUM)) || lsn(record) <= newestLsn) {
                return;
            }
            try {
                JournalEntry entry = verifiedBase(entryRecords);
                if (entry.getLsn() > newestLsn) {
                    newest = new NewReplica(record.partition(), entryRecords.getFirst().offset(), null);
                    newestLsn = entry.getLsn();
                }
            } catch (PagestreamException e) {
                rejected.add(e.getMessage());
            }
        }

        private JournalEntry verifiedBase(List<ConsumerRecord<byte[], byte[]>> records) {
            FragmentAssembler assembler = new FragmentAssembler();
            Optional<JournalEntry> complete = Optional.empty();
            ConsumerRecord<byte[], byte[]> last = records.getLast();
            for (ConsumerRecord<byte[], byte[]> record : records) {
                String origin = "replica of " + dbId + " at " + origin(record);
                DecodedRecord decoded = JournalCodec.decode(record.value(), origin);
                HeaderAgreement.check(record, decoded, origin);
                complete = assembler.accept(decoded, origin);
            }
            String origin = "replica of " + dbId + " at " + origin(last);
            JournalEntry entry = complete.orElseThrow(() -> new CorruptEntryException(origin + ": the entry's fragments are incomplete"));
            HeaderAgreement.checkChecksums(last, entry, origin);
            if (!entry.getDbId().equals(dbId)) {
                throw new CorruptEntryException(origin + ": record keyed " + dbId + " holds an entry of db " + entry.getDbId());
            }
            if (!entry.getBase()) {
                throw new CorruptEntryException(origin + ": headers say a base entry, the body is entry LSN " + entry.getLsn()
                        + ", not a base entry");
            }
            verifyPages(entry, origin);
            return entry;
        }

        /** A base entry carries every page whole, so its post-checksum can be verified without applying it. */
        private static void verifyPages(JournalEntry entry, String origin) {
            String where = origin + " " + entry.getDbId() + "@" + entry.getLsn();
            long checksum = JournalContract.EMPTY_CHECKSUM;
            if (entry.getPageCount() > 0) {
                JournalApplier.requireEveryPage(entry, where);
                int pageSize = entry.getPageSize();
                for (PageDelta delta : entry.getDeltas()) {
                    checksum ^= PageChecksum.of(delta.getPgno(), PageDiff.decode(delta, new byte[pageSize], pageSize, where));
                }
            }
            if (checksum != entry.getPostChecksum() || (entry.getPageCount() == 0 && !entry.getDeltas().isEmpty())) {
                throw new ChecksumMismatchException(where + ": the base entry's pages do not match its post-checksum",
                        entry.getPostChecksum(), checksum);
            }
        }

        NewReplica result() {
            if (newest != null) {
                return newest;
            }
            if (fragments != null) {
                // A fragmented entry still being written when the scan ended: the engine verifies it is a base entry.
                return new NewReplica(partition, fragments.getFirst().offset(), null);
            }
            String where = "partition " + partition + ", offsets " + firstOffset + ".." + lastOffset;
            String why = rejected.isEmpty() ? "none of its records (" + where + ") is a base entry"
                    : "no usable base entry among its records (" + where + "); tried: " + String.join("; ", rejected);
            return new NewReplica(partition, firstOffset, new PagestreamException("replica of " + dbId + " cannot start: " + why));
        }

        private static boolean isLastFragment(String fragment) {
            int slash = fragment.indexOf('/');
            try {
                return Integer.parseInt(fragment.substring(0, slash)) + 1 == Integer.parseInt(fragment.substring(slash + 1));
            } catch (RuntimeException e) {
                return true; // malformed: treated as a whole entry, and rejected for its headers if it claims to be a base
            }
        }
    }

    /** The LSN header; a missing or malformed one is checked against the body, so any value lets it through. */
    private static long lsn(ConsumerRecord<?, ?> record) {
        try {
            return Long.parseLong(header(record, JournalContract.HEADER_LSN));
        } catch (NumberFormatException e) {
            return Long.MAX_VALUE;
        }
    }

    private static String origin(ConsumerRecord<?, ?> record) {
        return record.topic() + "-" + record.partition() + "@" + record.offset();
    }

    private static String header(ConsumerRecord<?, ?> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null ? null : new String(header.value(), StandardCharsets.US_ASCII);
    }
}
