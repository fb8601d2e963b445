package io.pagestream.replica.internals;

import io.pagestream.replica.ReplicaListener;
import io.pagestream.replica.ReplicaPosition;
import io.pagestream.replica.ReplicaStatus;
import io.pagestream.schemas.CorruptEntryException;
import io.pagestream.schemas.DecodedRecord;
import io.pagestream.schemas.FragmentAssembler;
import io.pagestream.schemas.FragmentSpool;
import io.pagestream.schemas.JournalCodec;
import io.pagestream.schemas.MissingFragmentException;
import io.pagestream.schemas.PagestreamException;
import io.pagestream.schemas.PositionMismatchException;
import io.pagestream.schemas.avro.JournalEntry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows one database's entries in record order: reassembles fragments, skips what the replica already has,
 * halts on a gap or anything that does not verify, and stages consecutive entries into one atomic apply. A new
 * replica starts at a base entry: the records before the one the start-up scan chose are skipped unread; from
 * there on every record must decode and agree with its headers, and the first entry must be a base entry.
 */
final class DatabaseReplica implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DatabaseReplica.class);

    private final String dbId;
    private final Path path;
    private final Duration busyTimeout;
    private final int maxBatchPages;
    private final ReplicaListener listener;
    /** Beside the replica file: the fragments of an entry too large to reassemble in memory, while they arrive. */
    private static final String SPOOL_SUFFIX = "-pagestream-entry";

    private final FragmentAssembler fragments = new FragmentAssembler();
    /** The entry being spooled, if one is. */
    private FragmentSpool spool;
    private ReplicaFile file;
    private StagedBatch batch;
    private PagestreamException error;
    private long applied;
    private long duplicates;
    private volatile ReplicaStatus status;
    /** The record being handled, for where a halt happened. */
    private ConsumerRecord<byte[], byte[]> current;
    /** Partition and offset of the first record a halted replica did not apply; null while it follows the journal. */
    private volatile long[] haltedAt;
    /** Partition and offset of the base entry a new replica starts at; -1 when not chosen by a start-up scan. */
    private int startPartition = -1;
    private long startOffset = -1;

    DatabaseReplica(String dbId, Path path, Duration busyTimeout, int maxBatchPages, ReplicaListener listener) {
        this.dbId = dbId;
        this.path = path;
        this.busyTimeout = busyTimeout;
        this.maxBatchPages = maxBatchPages;
        this.listener = listener;
        publishStatus();
    }

    /** Opens the replica file now (an existing replica, resumed from its recorded position). */
    void open() {
        try {
            file = ReplicaFile.open(path, dbId, busyTimeout);
            log.info("replica of {} at {}: {}", dbId, path, file.position());
        } catch (PagestreamException e) {
            halt(e);
        } catch (RuntimeException e) {
            halt(new PagestreamException("replica of " + dbId + ": cannot open " + path + ": " + e, e));
        }
        publishStatus();
    }

    /** A new replica's base entry is at this record (the first fragment of a fragmented one). */
    void startAt(int partition, long offset) {
        startPartition = partition;
        startOffset = offset;
    }

    /** A new replica that cannot start: halted before reading anything, holding its partition's offset there. */
    void haltAtStart(PagestreamException e, int partition, long offset) {
        halt(e);
        haltedAt = new long[] {partition, offset};
    }

    boolean isStarted() {
        return file != null;
    }

    ReplicaStatus status() {
        return status;
    }

    /** The position entries are staged up to (beyond the file's until the batch is applied). */
    private ReplicaPosition stagedPosition() {
        return batch != null && !batch.isEmpty() ? batch.position() : file.position();
    }

    void accept(ConsumerRecord<byte[], byte[]> record) {
        if (error != null) {
            return;
        }
        current = record;
        String origin = record.topic() + "-" + record.partition() + "@" + record.offset();
        if (file != null) {
            ReplicaPosition staged = stagedPosition();
            if (record.partition() == staged.partition() && record.offset() <= staged.offset()) {
                return;
            }
        } else if (record.partition() == startPartition && record.offset() < startOffset) {
            return; // before the base entry chosen at start-up: history this replica does not need
        }
        try {
            // The codec's errors name only the origin: name the database the record's key says it belongs to.
            String where = "replica of " + dbId + " at " + origin;
            DecodedRecord decoded = JournalCodec.decode(record.value(), where);
            if (!decoded.dbId().equals(dbId)) {
                throw new CorruptEntryException(origin + ": record keyed " + dbId + " holds an entry of db " + decoded.dbId());
            }
            HeaderAgreement.check(record, decoded, where);
            if (spool != null || FragmentSpool.worthSpooling(decoded, JournalReplay.SPOOL_ABOVE_BYTES)) {
                acceptSpooled(decoded, record, origin, where);
                return;
            }
            Optional<JournalEntry> complete = fragments.accept(decoded, origin);
            if (complete.isPresent()) {
                if (decoded instanceof DecodedRecord.Fragment) {
                    HeaderAgreement.checkChecksums(record, complete.get(), where);
                }
                accept(complete.get(), record.partition(), record.offset(), origin);
            }
        } catch (PagestreamException e) {
            haltAfterApplyingStaged(e);
        } catch (RuntimeException e) {
            haltAfterApplyingStaged(new PagestreamException("replica of " + dbId + " at " + origin + ": " + e, e));
        }
    }

    /**
     * A fragment of an entry too large to reassemble in memory: spooled next to the replica file; once complete, what
     * is staged is applied, then the entry on its own, from the spool.
     */
    private void acceptSpooled(DecodedRecord decoded, ConsumerRecord<byte[], byte[]> record, String origin, String where) {
        if (!(decoded instanceof DecodedRecord.Fragment part)) {
            throw new MissingFragmentException(origin + " " + spool.describe() + ": the rest of its fragments is missing"
                    + " (entry " + decoded.dbId() + "@" + decoded.lsn() + " arrived instead)");
        }
        if (spool == null) {
            try {
                Files.createDirectories(path.toAbsolutePath().getParent());
            } catch (IOException e) {
                throw new UncheckedIOException(where + ": cannot create the directory of " + path, e);
            }
            spool = FragmentSpool.start(part.fragment(), Path.of(path + SPOOL_SUFFIX), origin);
            return;
        }
        if (!spool.accept(part.fragment(), origin)) {
            return;
        }
        try {
            JournalEntry fields = spool.fields();
            HeaderAgreement.checkChecksums(record, fields, where);
            if (!startOrContinue(fields, origin)) {
                return;
            }
            flush();
            if (error != null) {
                return;
            }
            long started = System.nanoTime();
            file.commitWhole(spool, record.partition(), record.offset(), origin);
            log.debug("replica of {}: applied LSN {} ({} pages, every page, from {}) in {} ms", dbId, fields.getLsn(),
                    fields.getPageCount(), SPOOL_SUFFIX, (System.nanoTime() - started) / 1_000_000);
            applied++;
            publishStatus();
            listener.applied(dbId, file.position(), 1);
        } finally {
            closeSpool();
        }
    }

    private void closeSpool() {
        if (spool != null) {
            spool.close();
            spool = null;
        }
    }

    /** The entries staged before the failing one are good: apply them, then halt (unless applying them failed). */
    private void haltAfterApplyingStaged(PagestreamException e) {
        flush();
        if (error == null) {
            halt(e);
        }
    }

    private void accept(JournalEntry entry, int partition, long offset, String origin) {
        if (!startOrContinue(entry, origin)) {
            return;
        }
        if (batch == null) {
            batch = file.newBatch();
        }
        batch.add(entry, partition, offset);
        if (batch.stagedPages() >= maxBatchPages) {
            flush();
        }
    }

    /**
     * Whether the entry is the next one to apply: a new replica opens its file at a base entry; an entry it has already
     * is skipped (false).
     *
     * @throws PositionMismatchException when it does not follow the staged position
     */
    private boolean startOrContinue(JournalEntry entry, String origin) {
        if (file == null) {
            if (!entry.getBase()) {
                throw new PagestreamException("replica of " + dbId + " at " + origin + ": entry LSN " + entry.getLsn()
                        + " is not a base entry, and a new replica starts at one");
            }
            open();
            if (file == null) {
                return false;
            }
        }
        long last = stagedPosition().lsn();
        if (entry.getLsn() <= last) {
            duplicates++;
            log.debug("replica of {}: skipping {} LSN {}, already applied (at LSN {})", dbId, origin, entry.getLsn(), last);
            return false;
        }
        if (!entry.getBase() && entry.getLsn() != last + 1) {
            throw new PositionMismatchException("replica of " + dbId + " at " + origin + ": LSN out of order (a gap or a reordering)", last + 1,
                    entry.getLsn());
        }
        return true;
    }

    /** Applies the staged entries, atomically. */
    void flush() {
        if (batch == null || batch.isEmpty() || error != null) {
            batch = null;
            if (error == null && file != null) {
                publishStatus(); // duplicates skipped
            }
            return;
        }
        StagedBatch applying = batch;
        batch = null;
        try {
            long started = System.nanoTime();
            file.commit(applying);
            log.debug("replica of {}: applied {} entries ({} pages) up to LSN {} in {} µs", dbId, applying.entries(),
                    applying.stagedPages(), applying.position().lsn(), (System.nanoTime() - started) / 1000);
            applied += applying.entries();
            publishStatus();
            listener.applied(dbId, file.position(), applying.entries());
        } catch (PagestreamException e) {
            halt(e);
        } catch (RuntimeException e) {
            halt(new PagestreamException("replica of " + dbId + ": apply failed: " + e, e));
        }
    }

    /**
     * Where a halted replica stopped: {partition, offset of the first record it did not apply}, so that its consumer
     * group's committed offset stays there and Kafka tooling shows the lag growing; null while it follows the journal.
     */
    long[] haltedAt() {
        return haltedAt;
    }

    private void halt(PagestreamException e) {
        error = e;
        batch = null;
        closeSpool();
        ReplicaPosition position = file == null ? ReplicaPosition.EMPTY : file.position();
        if (position.partition() >= 0) {
            haltedAt = new long[] {position.partition(), position.offset() + 1};
        } else if (current != null) {
            haltedAt = new long[] {current.partition(), current.offset()};
        }
        log.error("replica of {} halted at {}: {}", dbId, file == null ? "start" : file.position(), e.getMessage());
        publishStatus();
        listener.halted(dbId, e);
    }

    private void publishStatus() {
        status = new ReplicaStatus(dbId, path, file == null ? ReplicaPosition.EMPTY : file.position(), applied, duplicates, error);
    }

    @Override
    public void close() {
        closeSpool();
        if (file != null) {
            file.close();
        }
    }
}
