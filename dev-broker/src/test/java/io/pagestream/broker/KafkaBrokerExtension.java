package io.pagestream.broker;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real in-process Kafka broker for one test class:
 * {@code @RegisterExtension static final KafkaBrokerExtension broker = new KafkaBrokerExtension();}
 * starts it before the class's {@code @BeforeAll} methods and stops it after its {@code @AfterAll} methods.
 */
public final class KafkaBrokerExtension implements BeforeAllCallback, AfterAllCallback {
    private EmbeddedKafkaBroker broker;

    @Override
    public void beforeAll(ExtensionContext context) {
        broker = EmbeddedKafkaBroker.start();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        broker.close();
        broker = null;
    }

    public String bootstrapServers() {
        return broker.bootstrapServers();
    }
}
