package io.pagestream.replica.internals;

import io.pagestream.replica.RestoreProgress;
import io.pagestream.schemas.ChecksumMismatchException;
import io.pagestream.schemas.FragmentAssembler;
import io.pagestream.schemas.JournalApplier;
import io.pagestream.schemas.JournalCodec;
import io.pagestream.schemas.PositionMismatchException;
import io.pagestream.schemas.avro.JournalEntry;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;
import java.util.function.Consumer;
import org.apache.kafka.common.TopicPartition;

/**
 * Applies one database's journal entries to a file, from a journal offset up to a target LSN, each verified by
 * {@link JournalApplier} against the previous entry's post-checksum.
 */
public final class JournalReplay {
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
        long total = lastOffset - fromOffset + 1;
        long[] state = {afterLsn, checksum, 0, 0, 0}; // lsn, checksum, entries, bytes, pages
        reader.read(partition, fromOffset, lastOffset + 1, record -> {
            if (!Arrays.equals(record.key(), key) || record.value() == null) {
                return true;
            }
            String origin = PartitionReader.origin(record) + " (db " + dbId + ")";
            Optional<JournalEntry> decoded = fragments.accept(JournalCodec.decode(record.value(), origin), origin);
            if (decoded.isEmpty() || decoded.get().getLsn() <= afterLsn) {
                return true;
            }
            JournalEntry entry = decoded.get();
            // A later base entry replaces the database, whatever came before it.
            if (!entry.getBase() && entry.getLsn() != state[0] + 1) {
                throw new PositionMismatchException("db " + dbId + ": journal record " + origin
                        + " does not continue the restored database (a gap in the journal)", state[0] + 1, entry.getLsn());
            }
            try {
                state[1] = JournalApplier.apply(entry, file, state[1]);
            } catch (ChecksumMismatchException e) {
                throw new ChecksumMismatchException("db " + dbId + ": entry LSN " + entry.getLsn() + " at " + origin
                        + " does not apply to the restored database", e.expected(), e.actual());
            }
            state[0] = entry.getLsn();
            state[2]++;
            state[3] += record.value().length;
            state[4] += entry.getDeltas().size();
            progress.accept(new RestoreProgress(RestoreProgress.Stage.REPLAY, record.offset() - fromOffset + 1, total,
                    state[3], state[4]));
            return entry.getLsn() < targetLsn;
        });
        if (state[0] != targetLsn) {
            throw new PositionMismatchException("db " + dbId + ": the journal in " + partition + " up to offset "
                    + lastOffset + " ends before the target", targetLsn, state[0]);
        }
        return new Outcome(state[0], state[1], state[2]);
    }
}
