package io.pagestream.broker;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A program in a JVM of its own, started as an application would start it ({@code --enable-native-access} and nothing
 * else), on this test's class path, with its output (stdout and stderr) collected line by line.
 */
public final class ChildJvm {
    private final Process process;
    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final Thread reader;

    private ChildJvm(Process process) {
        this.process = process;
        this.reader = Thread.ofPlatform().daemon().start(this::collect);
    }

    /** Runs {@code main} with {@code args}. */
    public static ChildJvm start(Class<?> main, String... args) throws IOException {
        return start(List.of(), main, args);
    }

    /** Runs {@code main} with {@code args} in a JVM given {@code jvmOptions} too (e.g. a smaller heap). */
    public static ChildJvm start(List<String> jvmOptions, Class<?> main, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED"));
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
        command.addAll(List.of(args));
        return new ChildJvm(new ProcessBuilder(command).redirectErrorStream(true).start());
    }

    /** Its output so far. */
    public List<String> lines() {
        return lines;
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Writes a line to its standard input. */
    public void send(String line) throws IOException {
        Writer in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        in.write(line + "\n");
        in.flush();
    }

    /** Waits for it to exit; its exit code. */
    public int exitCode(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("still running after " + timeout + "\n" + describe());
        }
        reader.join(Duration.ofSeconds(10));
        return process.exitValue();
    }

    /** SIGTERM, as an operator stops a service; its exit code. */
    public int stop(Duration timeout) throws InterruptedException {
        process.destroy();
        return exitCode(timeout);
    }

    /** SIGKILL: it gets no chance to clean up. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        exitCode(Duration.ofSeconds(30));
    }

    /** Its output, for assertion messages. */
    public String describe() {
        return "output of the child JVM:\n" + String.join("\n", lines);
    }

    private void collect() {
        try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = out.readLine(); line != null; line = out.readLine()) {
                lines.add(line);
            }
        } catch (IOException e) {
            lines.add("(output ended: " + e + ")");
        }
    }
}
