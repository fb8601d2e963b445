package io.pagestream.vfs;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A transaction larger than the heap must not take the application down: capture gives up and the transaction is
 * published as a whole-database entry, which streams from the file through the outbox to the sink a slice at a time;
 * the database stays intact and the next transaction commits and publishes.
 */
class LargeTransactionIT {
    @TempDir
    Path dir;

    @Test
    void transactionLargerThanTheHeapIsPublishedAsAWholeDatabaseEntryWithoutKillingTheJvm() throws Exception {
        Path db = dir.resolve("large.db");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-Xmx64m", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), LargeTransactionWriter.class.getName(), db.toString())
                .redirectErrorStream(true).start();
        String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(child.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(child.exitValue()).as(output).isZero();
        assertThat(output).contains("large transaction committed").contains("completed failed=0 newest LSN 3 records");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("PRAGMA integrity_check")) {
                assertThat(rs.getString(1)).isEqualTo("ok");
            }
            try (ResultSet rs = s.executeQuery("select count(*) from t")) {
                assertThat(rs.getLong(1)).as("both transactions").isEqualTo(30_001);
            }
        }
    }
}
