package io.pagestream.cli;

import io.pagestream.schemas.JournalContract;
import io.pagestream.schemas.PagestreamConfigException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

/**
 * The Kafka connection options every command that talks to a journal topic shares; add it to a command with
 * {@code @Mixin ClientOptions client;}.
 *
 * <p>Where the bootstrap servers come from, first match wins:
 * <ol>
 *   <li>{@code --bootstrap-server} given on the command line;</li>
 *   <li>{@code bootstrap.servers} in the {@code --config} file;</li>
 *   <li>the environment variable {@value #BOOTSTRAP_SERVER_ENV};</li>
 *   <li>{@value #DEFAULT_BOOTSTRAP_SERVER}.</li>
 * </ol>
 * The file is for everything else a Kafka client may need (TLS, SASL, timeouts), in the format of Kafka's own
 * {@code --command-config} files.
 */
public final class ClientOptions {
    public static final String BOOTSTRAP_SERVER_ENV = "PAGESTREAM_BOOTSTRAP_SERVER";
    public static final String CLIENT_CONFIG_ENV = "PAGESTREAM_CLIENT_CONFIG";
    public static final String TOPIC_ENV = "PAGESTREAM_TOPIC";
    public static final String DEFAULT_BOOTSTRAP_SERVER = "localhost:9092";

    private static final String BOOTSTRAP_SERVER_OPTION = "--bootstrap-server";
    private static final String BOOTSTRAP_SERVERS_PROPERTY = "bootstrap.servers";

    @Spec(Spec.Target.MIXEE)
    private CommandSpec command;

    @Option(names = BOOTSTRAP_SERVER_OPTION, paramLabel = "HOST:PORT[,...]",
            defaultValue = "${env:" + BOOTSTRAP_SERVER_ENV + ":-" + DEFAULT_BOOTSTRAP_SERVER + "}",
            description = "Kafka brokers to connect to. Given here, it overrides bootstrap.servers of --config;"
                    + " otherwise --config's bootstrap.servers is used, else $" + BOOTSTRAP_SERVER_ENV + ","
                    + " else " + DEFAULT_BOOTSTRAP_SERVER + " (now: ${DEFAULT-VALUE}).")
    private String bootstrapServer;

    @Option(names = "--config", paramLabel = "<client.properties>",
            defaultValue = "${env:" + CLIENT_CONFIG_ENV + "}",
            description = "Kafka client settings file (Java properties: TLS, SASL, timeouts...), as for Kafka's own"
                    + " tools. Default: $" + CLIENT_CONFIG_ENV + " if set, else none.")
    private Path configFile;

    @Option(names = "--topic", paramLabel = "TOPIC",
            defaultValue = "${env:" + TOPIC_ENV + ":-" + JournalContract.DEFAULT_TOPIC + "}",
            description = "Journal topic (default: ${DEFAULT-VALUE}; $" + TOPIC_ENV + " when set, else "
                    + JournalContract.DEFAULT_TOPIC + ").")
    private String topic;

    /** The journal topic. */
    public String topic() {
        return topic;
    }

    /** The {@code --config} file, or null when there is none. */
    public Path configFile() {
        return configFile;
    }

    /**
     * Settings for a Kafka client (consumer, producer or admin): the {@code --config} file's properties with
     * {@code bootstrap.servers} resolved as described in the class comment. Returns a new mutable map each time.
     *
     * @throws PagestreamConfigException when the {@code --config} file cannot be read
     */
    public Map<String, Object> clientProperties() {
        Map<String, Object> properties = new LinkedHashMap<>();
        if (configFile != null) {
            load(configFile).forEach((key, value) -> properties.put(key.toString(), value));
        }
        if (bootstrapServerGivenOnCommandLine() || isBlank(properties.get(BOOTSTRAP_SERVERS_PROPERTY))) {
            properties.put(BOOTSTRAP_SERVERS_PROPERTY, bootstrapServer);
        }
        return properties;
    }

    private boolean bootstrapServerGivenOnCommandLine() {
        ParseResult parsed = command == null ? null : command.commandLine().getParseResult();
        return parsed != null && parsed.hasMatchedOption(BOOTSTRAP_SERVER_OPTION);
    }

    private static Properties load(Path file) {
        Properties properties = new Properties();
        try (InputStream in = Files.newInputStream(file)) {
            properties.load(in);
        } catch (NoSuchFileException e) {
            throw new PagestreamConfigException("client config file " + file + " does not exist");
        } catch (AccessDeniedException e) {
            throw new PagestreamConfigException("client config file " + file + " is not readable (permission denied)");
        } catch (IOException | IllegalArgumentException e) {
            throw new PagestreamConfigException("cannot read client config file " + file + ": " + e.getMessage());
        }
        return properties;
    }

    private static boolean isBlank(Object value) {
        return value == null || value.toString().isBlank();
    }
}
