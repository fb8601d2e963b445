package io.pagestream.compactor.internals;

import io.pagestream.schemas.PagestreamException;
import io.pagestream.schemas.avro.CatalogEntry;
import io.pagestream.schemas.avro.RestorePoint;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A database's catalog entry with one more restore point: the newest last, the expired ones dropped. */
public final class CatalogHistory {
    private final Duration retention;

    /** @param retention restore points created longer ago than this are dropped (the newest is always kept) */
    public CatalogHistory(Duration retention) {
        this.retention = retention;
    }

    /**
     * @param current the database's catalog entry so far, or null when it has none
     * @throws PagestreamException when the point is not after the newest one listed (the catalog is in LSN order)
     */
    public CatalogEntry append(String dbId, CatalogEntry current, RestorePoint point, long nowMillis) {
        List<RestorePoint> points = new ArrayList<>();
        long trimmedBelow = 0;
        if (current != null) {
            trimmedBelow = current.getJournalTrimmedBelow();
            List<RestorePoint> listed = current.getRestorePoints();
            if (!listed.isEmpty() && listed.getLast().getLsn() >= point.getLsn()) {
                throw new PagestreamException("catalog of db " + dbId + ": snapshot " + point.getSnapshotId() + " at LSN "
                        + point.getLsn() + " is not after the newest restore point, LSN " + listed.getLast().getLsn());
            }
            long oldestKept = nowMillis - retention.toMillis();
            for (RestorePoint listedPoint : listed) {
                if (listedPoint.getCreatedMillis() >= oldestKept) {
                    points.add(listedPoint);
                }
            }
        }
        points.add(point);
        return new CatalogEntry(dbId, points, trimmedBelow);
    }
}
