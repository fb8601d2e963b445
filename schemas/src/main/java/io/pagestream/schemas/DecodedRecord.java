package io.pagestream.schemas;

import io.pagestream.schemas.avro.JournalEntry;
import io.pagestream.schemas.avro.JournalFragment;

/** A decoded record value: a whole entry or one fragment of a large one. */
public sealed interface DecodedRecord {
    String dbId();

    long lsn();

    record Whole(JournalEntry entry) implements DecodedRecord {
        public String dbId() {
            return entry.getDbId();
        }

        public long lsn() {
            return entry.getLsn();
        }
    }

    record Fragment(JournalFragment fragment) implements DecodedRecord {
        public String dbId() {
            return fragment.getDbId();
        }

        public long lsn() {
            return fragment.getLsn();
        }
    }
}
