package io.pagestream.schemas;

/** A transient failure: the same operation may succeed later (e.g. the broker is unreachable). */
public class RetriablePagestreamException extends PagestreamException {
    public RetriablePagestreamException(String message) {
        super(message);
    }

    public RetriablePagestreamException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public boolean isRetriable() {
        return true;
    }
}
