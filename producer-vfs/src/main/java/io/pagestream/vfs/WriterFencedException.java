package io.pagestream.vfs;

import io.pagestream.schemas.PagestreamException;

/**
 * Another process claimed the database id (its Kafka transactional id): this writer may publish nothing more for
 * it, and its later commits fail. Fatal for that database until the process is restarted as its writer again.
 */
public class WriterFencedException extends PagestreamException {
    public WriterFencedException(String dbId, Throwable cause) {
        super("fenced by another writer of db " + dbId, cause);
    }
}
