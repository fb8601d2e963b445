package io.pagestream.replica;

import io.pagestream.schemas.PagestreamException;
import java.nio.file.Path;

/**
 * One database's replica as of the last apply.
 *
 * @param appliedEntries entries applied since this replica process started
 * @param duplicatesSkipped entries skipped because the replica already had their LSN
 * @param error why the replica halted; null while it follows the journal
 */
public record ReplicaStatus(String dbId, Path file, ReplicaPosition position, long appliedEntries, long duplicatesSkipped,
        PagestreamException error) {

    public boolean halted() {
        return error != null;
    }
}
