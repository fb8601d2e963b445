package io.pagestream.schemas;

/** A database checksum differs from the one an entry promises; nothing was written. */
public class ChecksumMismatchException extends PagestreamException {
    private final long expected;
    private final long actual;

    public ChecksumMismatchException(String what, long expected, long actual) {
        super(what + ": expected checksum " + JournalContract.hex(expected) + ", actual " + JournalContract.hex(actual));
        this.expected = expected;
        this.actual = actual;
    }

    public long expected() {
        return expected;
    }

    public long actual() {
        return actual;
    }
}
