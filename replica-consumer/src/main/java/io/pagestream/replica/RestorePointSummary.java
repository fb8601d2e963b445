package io.pagestream.replica;

import java.time.Instant;

/** One snapshot a restore can start from: its id, the LSN it holds, that entry's commit time, its chunks and size. */
public record RestorePointSummary(String snapshotId, long lsn, Instant commitTime, int chunkCount, long bytes) {}
