package io.pagestream.schemas;

/** A journal record that cannot be decoded or violates the contract: wrong magic, foreign schema, bad delta. */
public class CorruptEntryException extends PagestreamException {
    public CorruptEntryException(String message) {
        super(message);
    }

    public CorruptEntryException(String message, Throwable cause) {
        super(message, cause);
    }
}
