package io.pagestream.compactor.internals;

import io.pagestream.schemas.JournalContract;
import java.nio.charset.StandardCharsets;
import java.util.OptionalLong;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The databases whose current entry is split into fragments not all seen yet, and the offset of its first fragment,
 * in a changelogged store: consistent with the task's committed offsets, so that after a crash the fragments a
 * resumed task will not be given again can be read back from the journal.
 */
final class PendingEntries {
    private final KeyValueStore<String, Long> store;

    PendingEntries(KeyValueStore<String, Long> store) {
        this.store = store;
    }

    /** Notes a journal record of the database: the first fragment of an entry starts it, the last one ends it. */
    void seen(String dbId, Headers headers, long offset) {
        Header fragment = headers.lastHeader(JournalContract.HEADER_FRAGMENT);
        if (fragment == null) {
            if (store.get(dbId) != null) {
                store.delete(dbId); // a whole entry: whatever was pending will never complete
            }
            return;
        }
        String[] indexAndCount = new String(fragment.value(), StandardCharsets.US_ASCII).split("/");
        try {
            int index = Integer.parseInt(indexAndCount[0]);
            int count = Integer.parseInt(indexAndCount[1]);
            if (index == 0 && count > 1) {
                store.put(dbId, offset);
            } else if (index == count - 1 && store.get(dbId) != null) {
                store.delete(dbId);
            }
        } catch (RuntimeException e) {
            // A malformed header: the replica engine halts the database on this record.
        }
    }

    /** The offset of the earliest first fragment of an entry still pending, if any. */
    OptionalLong earliest() {
        OptionalLong earliest = OptionalLong.empty();
        try (KeyValueIterator<String, Long> pending = store.all()) {
            while (pending.hasNext()) {
                long offset = pending.next().value;
                if (earliest.isEmpty() || offset < earliest.getAsLong()) {
                    earliest = OptionalLong.of(offset);
                }
            }
        }
        return earliest;
    }
}
