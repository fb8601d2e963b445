package io.pagestream.replica.internals;

import io.pagestream.replica.RestoreProgress;
import io.pagestream.schemas.ChecksumMismatchException;
import io.pagestream.schemas.DecodedRecord;
import io.pagestream.schemas.FragmentAssembler;
import io.pagestream.schemas.FragmentSpool;
import io.pagestream.schemas.JournalApplier;
import io.pagestream.schemas.JournalCodec;
import io.pagestream.schemas.MissingFragmentException;
import io.pagestream.schemas.PositionMismatchException;
import io.pagestream.schemas.avro.JournalEntry;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.Optional;
import java.util.function.Consumer;
import org.apache.kafka.common.TopicPartition;

/**
 * Applies one database's journal entries to a file, from a journal offset up to a target LSN, each verified by
 * {@link JournalApplier} against the previous entry's post-checksum. An entry too large to reassemble in memory (a base
 * entry of a database larger than the heap) is spooled to a temporary file as its fragments arrive and applied from it.
 */
public final class JournalReplay {
    /** Entries larger than this are spooled to a temporary file and applied from there, a page at a time. */
    static final long SPOOL_ABOVE_BYTES = Math.min(64L << 20, Runtime.getRuntime().maxMemory() / 16);

    private final PartitionReader reader;
    private final String dbId;
    private final Consumer<RestoreProgress> progress;

    /** Where the replay ended. */
    public record Outcome(long lsn, long checksum, long entriesApplied) {}

    public JournalReplay(PartitionReader reader, String dbId, Consumer<RestoreProgress> progress) {
        this.reader = reader;
        this.dbId = dbId;
        this.progress = progress;
    }

    /**
     * Reads {@code partition} from {@code fromOffset} to {@code lastOffset} and applies every entry of the database
     * after LSN {@code afterLsn} up to {@code targetLsn}.
     *
     * @param checksum the file's checksum (the database after {@code afterLsn})
     * @throws PositionMismatchException naming the record when an entry is not the next LSN, or the target never comes
     * @throws ChecksumMismatchException naming the record when an entry does not apply to the file
     */
    public Outcome replay(FileChannel file, TopicPartition partition, long fromOffset, long lastOffset, long afterLsn,
            long checksum, long targetLsn) throws IOException {
        byte[] key = dbId.getBytes(StandardCharsets.UTF_8);
        FragmentAssembler fragments = new FragmentAssembler();
        Applied applied = new Applied(afterLsn, checksum);
        long total = lastOffset - fromOffset + 1;
        try {
            reader.read(partition, fromOffset, lastOffset + 1, record -> {
                if (!Arrays.equals(record.key(), key) || record.value() == null) {
                    return true;
                }
                String origin = PartitionReader.origin(record) + " (db " + dbId + ")";
                DecodedRecord decoded = JournalCodec.decode(record.value(), origin);
                JournalEntry entry;
                if (applied.spool != null || FragmentSpool.worthSpooling(decoded, SPOOL_ABOVE_BYTES)) {
                    if (!spooled(applied, decoded, origin)) {
                        return true;
                    }
                    entry = applied.spool.fields();
                } else {
                    Optional<JournalEntry> assembled = fragments.accept(decoded, origin);
                    if (assembled.isEmpty()) {
                        return true;
                    }
                    entry = assembled.get();
                }
                long pages = applied.spool != null ? entry.getPageCount() : entry.getDeltas().size();
                try {
                    if (entry.getLsn() <= afterLsn) {
                        return true;
                    }
                    // A later base entry replaces the database, whatever came before it.
                    if (!entry.getBase() && entry.getLsn() != applied.lsn + 1) {
                        throw new PositionMismatchException("db " + dbId + ": journal record " + origin
                                + " does not continue the restored database (a gap in the journal)", applied.lsn + 1,
                                entry.getLsn());
                    }
                    try {
                        applied.checksum = applied.spool != null
                                ? JournalApplier.applyWhole(applied.spool, file, applied.checksum, origin)
                                : JournalApplier.apply(entry, file, applied.checksum);
                    } catch (ChecksumMismatchException e) {
                        throw new ChecksumMismatchException("db " + dbId + ": entry LSN " + entry.getLsn() + " at " + origin
                                + " does not apply to the restored database", e.expected(), e.actual());
                    }
                } finally {
                    applied.closeSpool();
                }
                applied.lsn = entry.getLsn();
                applied.entries++;
                applied.bytes += record.value().length;
                applied.pages += pages;
                progress.accept(new RestoreProgress(RestoreProgress.Stage.REPLAY, record.offset() - fromOffset + 1, total,
                        applied.bytes, applied.pages));
                return entry.getLsn() < targetLsn;
            });
        } finally {
            applied.closeSpool();
        }
        if (applied.lsn != targetLsn) {
            throw new PositionMismatchException("db " + dbId + ": the journal in " + partition + " up to offset "
                    + lastOffset + " ends before the target", targetLsn, applied.lsn);
        }
        return new Outcome(applied.lsn, applied.checksum, applied.entries);
    }

    /**
     * Adds a record to the entry being spooled, starting it at a first fragment.
     *
     * @return whether the spooled entry is complete
     */
    private static boolean spooled(Applied applied, DecodedRecord decoded, String origin) throws IOException {
        if (!(decoded instanceof DecodedRecord.Fragment part)) {
            throw new MissingFragmentException(origin + " " + applied.spool.describe() + ": the rest of its fragments is"
                    + " missing (entry " + decoded.dbId() + "@" + decoded.lsn() + " arrived instead)");
        }
        if (applied.spool == null) {
            applied.spool = FragmentSpool.start(part.fragment(), Files.createTempFile("pagestream-restore-", ".entry"), origin);
            return false;
        }
        return applied.spool.accept(part.fragment(), origin);
    }

    /** What the replay has applied so far. */
    private static final class Applied {
        long lsn;
        long checksum;
        long entries;
        long bytes;
        long pages;
        /** The fragments of an entry too large to reassemble in memory, received so far. */
        FragmentSpool spool;

        void closeSpool() {
            if (spool != null) {
                spool.close();
                spool = null;
            }
        }

        Applied(long lsn, long checksum) {
            this.lsn = lsn;
            this.checksum = checksum;
        }
    }
}
