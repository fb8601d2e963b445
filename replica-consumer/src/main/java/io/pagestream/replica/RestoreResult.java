package io.pagestream.replica;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * A finished restore: the file now holds the database right after entry {@code lsn}.
 *
 * @param snapshotId the snapshot it started from; empty when it started from a base entry in the journal
 * @param fallbacks why newer starting points were passed over (a corrupt or missing chunk), newest first
 */
public record RestoreResult(String dbId, Path output, long lsn, Instant commitTime, long checksum,
        Optional<String> snapshotId, long entriesApplied, long bytes, List<String> fallbacks) {

    public RestoreResult {
        fallbacks = List.copyOf(fallbacks);
    }
}
