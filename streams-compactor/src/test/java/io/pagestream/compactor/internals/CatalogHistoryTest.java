package io.pagestream.compactor.internals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pagestream.schemas.PagestreamException;
import io.pagestream.schemas.avro.CatalogEntry;
import io.pagestream.schemas.avro.RestorePoint;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class CatalogHistoryTest {
    private static final long DAY = Duration.ofDays(1).toMillis();
    private static final long NOW = 100 * DAY;
    private final CatalogHistory history = new CatalogHistory(Duration.ofDays(7));

    private static RestorePoint point(long lsn, long createdMillis) {
        return new RestorePoint("s" + lsn, lsn, 0L, 4096, 10L, 0L, 1, 0, lsn, lsn, 0, lsn, createdMillis);
    }

    @Test
    void theFirstRestorePointStartsTheList() {
        CatalogEntry entry = history.append("a.db", null, point(3, NOW));
        assertThat(entry.getDbId()).isEqualTo("a.db");
        assertThat(entry.getRestorePoints()).extracting(RestorePoint::getLsn).containsExactly(3L);
        assertThat(entry.getJournalTrimmedBelow()).isZero();
    }

    @Test
    void aRestorePointIsAppendedNewestLastAndExpiredOnesAreDropped() {
        CatalogEntry current = new CatalogEntry("a.db", List.of(point(1, NOW - 9 * DAY), point(5, NOW - 7 * DAY - 1),
                point(8, NOW - 7 * DAY), point(12, NOW - DAY)), 42L);
        CatalogEntry appended = history.append("a.db", current, point(20, NOW));
        CatalogHistory.Expiry expiry = history.expire(appended, NOW).orElseThrow();
        assertThat(expiry.kept().getRestorePoints()).extracting(RestorePoint::getLsn).containsExactly(8L, 12L, 20L);
        assertThat(expiry.expired()).extracting(RestorePoint::getLsn).containsExactly(1L, 5L);
        assertThat(expiry.kept().getJournalTrimmedBelow()).isEqualTo(42L);
    }

    @Test
    void nothingExpiresWithinRetention() {
        CatalogEntry current = new CatalogEntry("a.db", List.of(point(8, NOW - 7 * DAY), point(12, NOW - DAY)), 0L);
        assertThat(history.expire(current, NOW)).isEmpty();
    }

    @Test
    void theNewestIsKeptWhateverTheRetention() {
        CatalogEntry entry = new CatalogEntry("a.db", List.of(point(1, NOW - 2 * DAY), point(2, NOW - DAY)), 0L);
        CatalogHistory.Expiry expiry = new CatalogHistory(Duration.ZERO).expire(entry, NOW).orElseThrow();
        assertThat(expiry.kept().getRestorePoints()).extracting(RestorePoint::getLsn).containsExactly(2L);
        assertThat(new CatalogHistory(Duration.ZERO).expire(expiry.kept(), NOW)).isEmpty();
    }

    @Test
    void aRestorePointNotAfterTheNewestIsRefused() {
        CatalogEntry current = new CatalogEntry("a.db", List.of(point(5, NOW)), 0L);
        assertThatThrownBy(() -> history.append("a.db", current, point(5, NOW)))
                .isInstanceOf(PagestreamException.class).hasMessageContaining("a.db").hasMessageContaining("LSN 5");
    }
}
