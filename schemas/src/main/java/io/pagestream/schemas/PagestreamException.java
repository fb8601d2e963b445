package io.pagestream.schemas;

/**
 * Root of every error Pagestream raises. Unchecked so that callers decide where to handle it;
 * {@link #isRetriable()} tells whether trying the same operation again can succeed.
 */
public class PagestreamException extends RuntimeException {
    public PagestreamException(String message) {
        super(message);
    }

    public PagestreamException(String message, Throwable cause) {
        super(message, cause);
    }

    /** False unless the failure is transient (broker unreachable, timeout). */
    public boolean isRetriable() {
        return false;
    }
}
