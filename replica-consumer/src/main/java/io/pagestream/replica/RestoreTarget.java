package io.pagestream.replica;

import io.pagestream.schemas.PagestreamConfigException;
import java.time.Instant;

/** The point a restore brings a database back to. */
public sealed interface RestoreTarget {

    /** The newest entry in the journal. */
    record Latest() implements RestoreTarget {
        @Override
        public String toString() {
            return "the latest LSN";
        }
    }

    /** The database right after the entry with this LSN. */
    record AtLsn(long lsn) implements RestoreTarget {
        @Override
        public String toString() {
            return "LSN " + lsn;
        }
    }

    /** The database after the last transaction committed at or before this time (the writer's clock). */
    record AtTime(Instant time) implements RestoreTarget {
        @Override
        public String toString() {
            return "time " + time;
        }
    }

    /** The database after the last entry whose (last) record is at or before this journal offset. */
    record AtOffset(int partition, long offset) implements RestoreTarget {
        @Override
        public String toString() {
            return "journal offset " + partition + ":" + offset;
        }
    }

    static RestoreTarget latest() {
        return new Latest();
    }

    static RestoreTarget lsn(long lsn) {
        return new AtLsn(lsn);
    }

    static RestoreTarget time(Instant time) {
        return new AtTime(time);
    }

    static RestoreTarget offset(int partition, long offset) {
        return new AtOffset(partition, offset);
    }

    /** Parses {@code PARTITION:OFFSET}. */
    static RestoreTarget parseOffset(String partitionColonOffset) {
        String[] parts = partitionColonOffset.split(":", -1);
        try {
            if (parts.length == 2) {
                int partition = Integer.parseInt(parts[0].trim());
                long offset = Long.parseLong(parts[1].trim());
                if (partition >= 0 && offset >= 0) {
                    return new AtOffset(partition, offset);
                }
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new PagestreamConfigException("journal offset '" + partitionColonOffset
                + "' is not PARTITION:OFFSET (two non-negative numbers)");
    }
}
