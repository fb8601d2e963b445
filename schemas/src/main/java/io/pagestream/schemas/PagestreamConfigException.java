package io.pagestream.schemas;

/** Configuration that is invalid or would lose data (e.g. a journal topic with time-based retention). */
public class PagestreamConfigException extends PagestreamException {
    public PagestreamConfigException(String message) {
        super(message);
    }
}
