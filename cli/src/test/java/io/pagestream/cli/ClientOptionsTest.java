package io.pagestream.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.pagestream.schemas.JournalContract;
import io.pagestream.schemas.PagestreamConfigException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** Where {@link ClientOptions} takes the Kafka settings from: command line, --config file, environment, defaults. */
class ClientOptionsTest {
    @TempDir
    Path dir;

    /** A subcommand using the mixin, as {@code inspect} does, that keeps what it resolved. */
    @Command(name = "client")
    static final class ClientCommand implements Runnable {
        @Mixin
        ClientOptions client;

        Map<String, Object> properties;

        @Override
        public void run() {
            properties = client.clientProperties();
        }
    }

    @Command(name = "parent")
    static final class ParentCommand {}

    /** Prints what the options resolve to, one {@code key=value} per line, for runs with a chosen environment. */
    public static void main(String[] args) {
        ClientCommand command = new ClientCommand();
        new CommandLine(command).parseArgs(args);
        System.out.println("topic=" + command.client.topic());
        System.out.println("config=" + command.client.configFile());
        command.client.clientProperties().forEach((key, value) -> System.out.println(key + "=" + value));
    }

    @Test
    void defaultsWithoutEnvironment() {
        assumeThat(System.getenv(ClientOptions.BOOTSTRAP_SERVER_ENV)).isNull();
        assumeThat(System.getenv(ClientOptions.TOPIC_ENV)).isNull();
        assumeThat(System.getenv(ClientOptions.CLIENT_CONFIG_ENV)).isNull();

        ClientCommand command = run();

        assertThat(command.properties).containsExactly(Map.entry("bootstrap.servers", "localhost:9092"));
        assertThat(command.client.topic()).isEqualTo(JournalContract.DEFAULT_TOPIC).isEqualTo("pagestream.journal");
        assertThat(command.client.configFile()).isNull();
    }

    @Test
    void optionsGivenOnTheCommandLine() {
        ClientCommand command = run("--bootstrap-server", "kafka1:9093,kafka2:9093", "--topic", "journal");

        assertThat(command.properties).containsExactly(Map.entry("bootstrap.servers", "kafka1:9093,kafka2:9093"));
        assertThat(command.client.topic()).isEqualTo("journal");
    }

    @Test
    void configFileSettingsAreKeptAndItsBootstrapServersWinOverTheDefault() throws IOException {
        assumeThat(System.getenv(ClientOptions.BOOTSTRAP_SERVER_ENV)).isNull();
        Path config = write("client.properties", """
                # TLS to the cluster
                bootstrap.servers=secure1:9094
                security.protocol=SSL
                ssl.truststore.location=/etc/kafka/truststore.jks
                """);

        ClientCommand command = run("--config", config.toString());

        assertThat(command.client.configFile()).isEqualTo(config);
        assertThat(command.properties).containsOnly(Map.entry("bootstrap.servers", "secure1:9094"),
                Map.entry("security.protocol", "SSL"), Map.entry("ssl.truststore.location", "/etc/kafka/truststore.jks"));
    }

    @Test
    void bootstrapServerOnTheCommandLineWinsOverTheConfigFile() throws IOException {
        Path config = write("client.properties", "bootstrap.servers=secure1:9094\nsecurity.protocol=SSL\n");

        ClientCommand command = run("--config", config.toString(), "--bootstrap-server", "other:9094");

        assertThat(command.properties).containsOnly(Map.entry("bootstrap.servers", "other:9094"),
                Map.entry("security.protocol", "SSL"));
    }

    @Test
    void configFileWithoutBootstrapServersTakesTheOption() throws IOException {
        assumeThat(System.getenv(ClientOptions.BOOTSTRAP_SERVER_ENV)).isNull();
        Path config = write("client.properties", "security.protocol=SASL_SSL\nbootstrap.servers=  \n");

        assertThat(run("--config", config.toString()).properties).containsOnly(
                Map.entry("bootstrap.servers", "localhost:9092"), Map.entry("security.protocol", "SASL_SSL"));
    }

    @Test
    void eachCallReturnsAFreshMap() {
        ClientCommand command = run();
        command.client.clientProperties().put("client.id", "changed");

        assertThat(command.client.clientProperties()).doesNotContainKey("client.id");
    }

    @Test
    void missingConfigFileIsAClearError() {
        ClientCommand command = new ClientCommand();
        String missing = dir.resolve("nope.properties").toString();
        new CommandLine(command).parseArgs("--config", missing);

        assertThatThrownBy(command.client::clientProperties)
                .isInstanceOf(PagestreamConfigException.class)
                .hasMessage("client config file " + missing + " does not exist");
    }

    @Test
    void directoryAsConfigFileIsAClearError() {
        ClientCommand command = new ClientCommand();
        new CommandLine(command).parseArgs("--config", dir.toString());

        assertThatThrownBy(command.client::clientProperties)
                .isInstanceOf(PagestreamConfigException.class)
                .hasMessageStartingWith("cannot read client config file " + dir + ": ");
    }

    @Test
    void environmentIsTheDefaultBelowTheConfigFileAndTheCommandLine() throws Exception {
        Path config = write("env.properties", "security.protocol=SSL\n");
        Path configWithServers = write("servers.properties", "bootstrap.servers=from-file:9092\n");
        Map<String, String> environment = Map.of(ClientOptions.BOOTSTRAP_SERVER_ENV, "from-env:9092",
                ClientOptions.TOPIC_ENV, "env.journal", ClientOptions.CLIENT_CONFIG_ENV, config.toString());

        assertThat(runWithEnvironment(environment)).containsExactly("topic=env.journal", "config=" + config,
                "security.protocol=SSL", "bootstrap.servers=from-env:9092");
        assertThat(runWithEnvironment(environment, "--config", configWithServers.toString()))
                .contains("bootstrap.servers=from-file:9092");
        assertThat(runWithEnvironment(environment, "--bootstrap-server", "from-option:9092", "--topic", "option.journal"))
                .contains("bootstrap.servers=from-option:9092", "topic=option.journal");
    }

    private static ClientCommand run(String... args) {
        ClientCommand command = new ClientCommand();
        CommandLine commandLine = new CommandLine(new ParentCommand()).addSubcommand(new CommandLine(command));
        String[] arguments = new String[args.length + 1];
        arguments[0] = "client";
        System.arraycopy(args, 0, arguments, 1, args.length);
        assertThat(commandLine.execute(arguments)).isZero();
        return command;
    }

    /** Runs {@link #main} in a new JVM with the Pagestream variables replaced by {@code environment}. */
    private static List<String> runWithEnvironment(Map<String, String> environment, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(), "-cp",
                System.getProperty("java.class.path"), ClientOptionsTest.class.getName()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT);
        builder.environment().keySet().removeIf(name -> name.startsWith("PAGESTREAM_"));
        builder.environment().putAll(environment);
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as("exit code; output: %s", output).isZero();
        return output.lines().toList();
    }

    private Path write(String name, String content) throws IOException {
        return Files.writeString(dir.resolve(name), content);
    }
}
