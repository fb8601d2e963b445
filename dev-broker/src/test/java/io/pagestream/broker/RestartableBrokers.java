package io.pagestream.broker;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Brokers a test stops and starts again on the same data directory and port:
 * {@code @RegisterExtension final RestartableBrokers brokers = new RestartableBrokers();}. Every broker a test started
 * is stopped after it, even when it fails, before its {@code @TempDir} data directory is deleted.
 */
public final class RestartableBrokers implements AfterEachCallback {
    private final List<EmbeddedKafkaBroker> started = new ArrayList<>();

    /** A broker keeping its data in {@code dataDir}, on {@code port} (0: a free one). */
    public EmbeddedKafkaBroker start(Path dataDir, int port) {
        EmbeddedKafkaBroker.Options options = EmbeddedKafkaBroker.Options.defaults().withDataDir(dataDir);
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(port == 0 ? options : options.withPort(port));
        started.add(broker);
        return broker;
    }

    @Override
    public void afterEach(ExtensionContext context) {
        started.forEach(EmbeddedKafkaBroker::close);
        started.clear();
    }
}
