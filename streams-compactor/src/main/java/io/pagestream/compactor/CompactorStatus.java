package io.pagestream.compactor;

import io.pagestream.schemas.PagestreamException;
import io.pagestream.schemas.avro.RestorePoint;

/**
 * One database as the compactor sees it.
 *
 * @param appliedLsn the LSN the compactor's replica of the database is at
 * @param error why the database halted in the compactor (naming db, offset and reason); null while it follows the journal
 * @param newestRestorePoint its newest restore point in the catalog, or null when it has none yet
 */
public record CompactorStatus(String dbId, long appliedLsn, PagestreamException error, RestorePoint newestRestorePoint) {

    public boolean halted() {
        return error != null;
    }
}
