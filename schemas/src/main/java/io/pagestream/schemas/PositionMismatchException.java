package io.pagestream.schemas;

/** An entry that is not the next one in its database's LSN chain (a gap or a reorder). */
public class PositionMismatchException extends PagestreamException {
    private final long expectedLsn;
    private final long actualLsn;

    public PositionMismatchException(String what, long expectedLsn, long actualLsn) {
        super(what + ": expected LSN " + expectedLsn + ", got " + actualLsn);
        this.expectedLsn = expectedLsn;
        this.actualLsn = actualLsn;
    }

    public long expectedLsn() {
        return expectedLsn;
    }

    public long actualLsn() {
        return actualLsn;
    }
}
