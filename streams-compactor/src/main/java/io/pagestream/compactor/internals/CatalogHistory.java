package io.pagestream.compactor.internals;

import io.pagestream.schemas.PagestreamException;
import io.pagestream.schemas.avro.CatalogEntry;
import io.pagestream.schemas.avro.RestorePoint;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** A database's catalog entry over time: restore points appended newest last, and dropped once past retention. */
public final class CatalogHistory {
    private final Duration retention;

    /** @param retention restore points created longer ago than this are dropped (the newest is always kept) */
    public CatalogHistory(Duration retention) {
        this.retention = retention;
    }

    /** A catalog entry without its expired restore points, and those points (oldest first). */
    public record Expiry(CatalogEntry kept, List<RestorePoint> expired) {}

    /**
     * @param current the database's catalog entry so far, or null when it has none
     * @throws PagestreamException when the point is not after the newest one listed (the catalog is in LSN order)
     */
    public CatalogEntry append(String dbId, CatalogEntry current, RestorePoint point) {
        List<RestorePoint> points = new ArrayList<>();
        long trimmedBelow = 0;
        if (current != null) {
            trimmedBelow = current.getJournalTrimmedBelow();
            List<RestorePoint> listed = current.getRestorePoints();
            if (!listed.isEmpty() && listed.getLast().getLsn() >= point.getLsn()) {
                throw new PagestreamException("catalog of db " + dbId + ": snapshot " + point.getSnapshotId() + " at LSN "
                        + point.getLsn() + " is not after the newest restore point, LSN " + listed.getLast().getLsn());
            }
            points.addAll(listed);
        }
        points.add(point);
        return new CatalogEntry(dbId, points, trimmedBelow);
    }

    /** The entry without the restore points created before {@code nowMillis - retention}, if any; the newest stays. */
    public Optional<Expiry> expire(CatalogEntry entry, long nowMillis) {
        List<RestorePoint> listed = entry.getRestorePoints();
        long oldestKept = nowMillis - retention.toMillis();
        List<RestorePoint> kept = new ArrayList<>();
        List<RestorePoint> expired = new ArrayList<>();
        for (int i = 0; i < listed.size(); i++) {
            RestorePoint point = listed.get(i);
            (point.getCreatedMillis() >= oldestKept || i == listed.size() - 1 ? kept : expired).add(point);
        }
        return expired.isEmpty() ? Optional.empty()
                : Optional.of(new Expiry(new CatalogEntry(entry.getDbId(), kept, entry.getJournalTrimmedBelow()), expired));
    }
}
