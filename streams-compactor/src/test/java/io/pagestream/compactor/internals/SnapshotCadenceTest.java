package io.pagestream.compactor.internals;

import static org.assertj.core.api.Assertions.assertThat;

import io.pagestream.schemas.avro.RestorePoint;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class SnapshotCadenceTest {
    private static final long NOW = 1_000_000_000L;
    private final SnapshotCadence cadence = new SnapshotCadence(0.5, Duration.ofHours(1));

    private static RestorePoint point(long lsn, long createdMillis) {
        return new RestorePoint("s" + lsn, lsn, 0L, 4096, 10L, 0L, 1, 0, 0L, 0L, 0, 0L, createdMillis);
    }

    @Test
    void aDatabaseWithoutRestorePointIsDueOnceItHasAnEntry() {
        assertThat(cadence.isDue(1, 4096, 0, null, NOW)).isTrue();
        assertThat(cadence.isDue(0, 0, 0, null, NOW)).isFalse();
    }

    @Test
    void nothingIsDueWhenTheDatabaseDidNotChangeSinceItsNewestSnapshot() {
        assertThat(cadence.isDue(7, 40_960, 1_000_000, point(7, 0), NOW)).isFalse();
    }

    @Test
    void dueWhenTheJournalSinceTheNewestSnapshotExceedsTheRatioOfTheDatabaseSize() {
        RestorePoint recent = point(7, NOW - 1_000);
        assertThat(cadence.isDue(9, 40_960, 20_480, recent, NOW)).isFalse();
        assertThat(cadence.isDue(9, 40_960, 20_481, recent, NOW)).isTrue();
    }

    @Test
    void dueWhenTheNewestSnapshotIsOlderThanTheIntervalAndTheDatabaseChanged() {
        assertThat(cadence.isDue(8, 40_960, 1, point(7, NOW - Duration.ofHours(1).toMillis() + 1), NOW)).isFalse();
        assertThat(cadence.isDue(8, 40_960, 1, point(7, NOW - Duration.ofHours(1).toMillis()), NOW)).isTrue();
    }
}
