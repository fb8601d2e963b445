package io.pagestream.vfs.internals;

import io.pagestream.vfs.PagestreamConfig;

/**
 * How a database's commits relate to Kafka (see {@link PagestreamConfig}): the commit mode, and the outbox bound with
 * what a commit does when it is reached.
 *
 * @param sync COMMIT returns only once Kafka acknowledged the entry (else once it is in the outbox)
 */
public record CommitSettings(boolean sync, long syncTimeoutMs, long outboxMaxBytes, PagestreamConfig.OutboxFullPolicy policy,
        long outboxFullTimeoutMs) {

    public static CommitSettings of(PagestreamConfig config) {
        return new CommitSettings(config.commitMode() == PagestreamConfig.CommitMode.SYNC, config.commitSyncTimeoutMs(),
                config.outboxMaxBytes(), config.outboxFullPolicy(), config.outboxFullTimeoutMs());
    }

    CommitSettings withSync(boolean syncMode) {
        return new CommitSettings(syncMode, syncTimeoutMs, outboxMaxBytes, policy, outboxFullTimeoutMs);
    }
}
