package io.pagestream.replica.internals;

import io.pagestream.replica.RestorePointSummary;
import io.pagestream.replica.RestoreTarget;
import io.pagestream.replica.RestoreWindow;
import io.pagestream.schemas.CorruptEntryException;
import io.pagestream.schemas.PagestreamException;
import io.pagestream.schemas.avro.RestorePoint;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * What one database can be restored from: its restore points and its entries in the journal. Works out the restore
 * window, which entry a target means, and where a restore to it can start.
 */
public final class RestoreSources {
    /** The entry a restore ends at: its post-checksum and the offset of its (last) journal record. */
    public record Target(long lsn, long commitTimeMillis, long checksum, long lastOffset) {}

    /** Where a restore starts: a snapshot, or a base entry in the journal (then {@code point} is null). */
    public record Start(RestorePoint point, JournalIndex.Entry base) {
        public long lsn() {
            return point != null ? point.getLsn() : base.lsn();
        }
    }

    private final String dbId;
    private final JournalIndex journal;
    private final List<RestorePoint> restorePoints;

    public RestoreSources(String dbId, JournalIndex journal, List<RestorePoint> restorePoints) {
        this.dbId = dbId;
        this.journal = journal;
        this.restorePoints = List.copyOf(restorePoints);
    }

    public JournalIndex journal() {
        return journal;
    }

    /** The database's restore points, oldest first. */
    public List<RestorePoint> restorePoints() {
        return restorePoints;
    }

    /**
     * @throws PagestreamException when the database has neither a restore point nor a base entry in the journal
     */
    public RestoreWindow window() {
        List<Target> reachable = reachable();
        if (reachable.isEmpty()) {
            throw new PagestreamException("db " + dbId + " cannot be restored: it has no restore point and no base entry in "
                    + journal.partition() + " (" + journal.entries().size() + " entries of it there)");
        }
        Target first = reachable.getFirst();
        Target last = reachable.getLast();
        return new RestoreWindow(dbId, restorePoints.stream().map(RestoreSources::summary).toList(), first.lsn(),
                Instant.ofEpochMilli(first.commitTimeMillis()), last.lsn(), Instant.ofEpochMilli(last.commitTimeMillis()));
    }

    /**
     * The entry a target means.
     *
     * @throws CorruptEntryException naming the record when an unreadable record of the database lies between the
     *     newest start at or before the target and the target (the end of the journal for the latest)
     * @throws PagestreamException naming the window when the target is outside it
     */
    public Target resolve(RestoreTarget target) {
        RestoreWindow window = window();
        List<Target> reachable = reachable();
        Optional<Target> found = find(target, window, reachable);
        if (found.isPresent()) {
            long after = startOffsetBefore(found.get());
            long upTo = target instanceof RestoreTarget.Latest ? Long.MAX_VALUE : found.get().lastOffset();
            Optional<JournalIndex.Unreadable> unreadable = journal.unreadable().stream()
                    .filter(u -> u.offset() > after && u.offset() <= upTo).findFirst();
            if (unreadable.isPresent()) {
                throw new CorruptEntryException("db " + dbId + ": cannot restore to " + target + ": journal record "
                        + unreadable.get().origin() + " is unreadable: " + unreadable.get().reason());
            }
            return found.get();
        }
        String unreadable = journal.unreadable().stream().map(u -> "; journal record " + u.origin() + " is unreadable: "
                + u.reason()).collect(Collectors.joining());
        throw new PagestreamException("db " + dbId + ": " + target + " is outside the restore window, " + window
                + describeOffsets(reachable) + unreadable);
    }

    /** The offset of the last record before the journal a restore to {@code target} reads: -1 when it reads all. */
    private long startOffsetBefore(Target target) {
        long afterPoint = restorePoints.stream().filter(p -> p.getLsn() <= target.lsn())
                .mapToLong(RestorePoint::getJournalOffset).max().orElse(-1);
        long afterBase = journal.entries().stream().filter(e -> e.base() && e.lsn() <= target.lsn())
                .mapToLong(e -> e.firstOffset() - 1).max().orElse(-1);
        return Math.max(afterPoint, afterBase);
    }

    private Optional<Target> find(RestoreTarget target, RestoreWindow window, List<Target> reachable) {
        Optional<Target> found = switch (target) {
            case RestoreTarget.Latest latest -> Optional.of(reachable.getLast());
            case RestoreTarget.AtLsn at -> reachable.stream().filter(t -> t.lsn() == at.lsn()).findFirst();
            case RestoreTarget.AtTime at -> at.time().isAfter(window.lastTime()) ? Optional.empty()
                    : reachable.stream().filter(t -> t.commitTimeMillis() <= at.time().toEpochMilli()).reduce((a, b) -> b);
            case RestoreTarget.AtOffset at -> at.partition() != journal.partition().partition()
                    || at.offset() >= journal.endOffset() ? Optional.empty()
                    : reachable.stream().filter(t -> t.lastOffset() <= at.offset()).reduce((a, b) -> b);
        };
        return found;
    }

    /**
     * Where a restore to {@code target} can start, best first: restore points newest first, then a base entry (of the
     * journal read: when it did not start at the partition's beginning, an older base entry may exist before it).
     */
    public List<Start> starts(Target target) {
        List<Start> starts = new ArrayList<>();
        restorePoints.reversed().stream().filter(p -> p.getLsn() <= target.lsn())
                .forEach(p -> starts.add(new Start(p, null)));
        baseStart(target).ifPresent(starts::add);
        return starts;
    }

    /** The newest base entry at or before the target in the journal read. */
    public Optional<Start> baseStart(Target target) {
        return journal.entries().stream().filter(e -> e.base() && e.lsn() <= target.lsn()).reduce((a, b) -> b)
                .map(base -> new Start(null, base));
    }

    public static RestorePointSummary summary(RestorePoint point) {
        return new RestorePointSummary(point.getSnapshotId(), point.getLsn(), Instant.ofEpochMilli(point.getCommitTimeMillis()),
                point.getChunkCount(), point.getPageCount() * point.getPageSize());
    }

    /** Every LSN a restore can reach, ascending: restore points and the journal's entries from the first start on. */
    private List<Target> reachable() {
        Optional<Long> firstStart = Stream.concat(restorePoints.stream().map(RestorePoint::getLsn),
                journal.entries().stream().filter(JournalIndex.Entry::base).map(JournalIndex.Entry::lsn)).min(Long::compare);
        if (firstStart.isEmpty()) {
            return List.of();
        }
        List<Target> targets = new ArrayList<>();
        restorePoints.forEach(p -> targets.add(new Target(p.getLsn(), p.getCommitTimeMillis(), p.getChecksum(),
                p.getJournalOffset())));
        Set<Long> snapshotLsns = restorePoints.stream().map(RestorePoint::getLsn).collect(Collectors.toSet());
        journal.entries().stream().filter(e -> e.lsn() >= firstStart.get() && !snapshotLsns.contains(e.lsn()))
                .forEach(e -> targets.add(new Target(e.lsn(), e.commitTimeMillis(), e.postChecksum(), e.lastOffset())));
        targets.sort(Comparator.comparingLong(Target::lsn));
        return targets;
    }

    private String describeOffsets(List<Target> reachable) {
        return " (journal offsets " + journal.partition().partition() + ":" + reachable.getFirst().lastOffset() + " to "
                + journal.partition().partition() + ":" + reachable.getLast().lastOffset() + ")";
    }
}
