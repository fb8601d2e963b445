package io.pagestream.vfs;

/**
 * Where a writer database stands (see {@link PagestreamVfs#position}).
 *
 * @param committedLsn the newest transaction committed locally: in the outbox, or already in Kafka
 * @param acknowledgedLsn the newest transaction Kafka acknowledged and whose position is recorded
 */
public record WriterPosition(long committedLsn, long acknowledgedLsn) {}
