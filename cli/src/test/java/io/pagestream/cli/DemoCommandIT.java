package io.pagestream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code pagestream demo}, shortened: broker, writer, replica, reader and compactor in one process end with identical
 * files and a restore that shows the shop as the reader saw it half-way.
 */
class DemoCommandIT {
    @TempDir
    Path dir;

    @Test
    void demoEndsWithAByteIdenticalReplicaAndARestoreOfTheHalfWayPoint() {
        PrintStream original = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int exitCode;
        try {
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            exitCode = new CommandLine(new PagestreamCommand())
                    .execute("demo", "--transactions", "400", "--seed", "7", "--dir", dir.toString());
        } finally {
            System.setOut(original);
        }
        String output = captured.toString(StandardCharsets.UTF_8);
        assertThat(exitCode).as(output).isZero();
        assertThat(output).contains("IDENTICAL").contains("integrity_check ok").contains("lag 0 entries")
                .contains("TIME TRAVEL: the restore shows the shop exactly as the reader saw it half-way");
    }
}
