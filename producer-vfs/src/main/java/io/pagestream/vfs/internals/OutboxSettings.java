package io.pagestream.vfs.internals;

import io.pagestream.vfs.PagestreamConfig;

/** The outbox bound and what a commit does when it is reached (see {@link PagestreamConfig}). */
public record OutboxSettings(long maxBytes, PagestreamConfig.OutboxFullPolicy policy, long fullTimeoutMs) {

    public static OutboxSettings of(PagestreamConfig config) {
        return new OutboxSettings(config.outboxMaxBytes(), config.outboxFullPolicy(), config.outboxFullTimeoutMs());
    }
}
