package io.pagestream.schemas;

/** The fragments of a large entry did not arrive complete and in order. */
public class MissingFragmentException extends PagestreamException {
    public MissingFragmentException(String message) {
        super(message);
    }
}
