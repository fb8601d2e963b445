package io.pagestream.vfs;

import static org.assertj.core.api.Assertions.assertThat;

import io.pagestream.schemas.DecodedRecord;
import io.pagestream.schemas.JournalApplier;
import io.pagestream.schemas.JournalCodec;
import io.pagestream.schemas.JournalRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SmokeTest {
    @TempDir
    Path dir;

    @Test
    void smoke() throws Exception {
        InMemoryJournalSink sink = new InMemoryJournalSink(1_000_000);
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("vfs.name", "smoke")).sink(sink).install()) {
            Path db = dir.resolve("a.db");
            try (Connection c = DriverManager.getConnection(vfs.jdbcUrl(db)); Statement s = c.createStatement()) {
                s.execute("create table t(x)");
                for (int i = 0; i < 10; i++) {
                    s.execute("insert into t values (" + i + ")");
                }
            }
            assertThat(vfs.flush(Duration.ofSeconds(5))).isTrue();
            Path replica = dir.resolve("r.db");
            for (JournalRecord r : sink.records()) {
                var e = ((DecodedRecord.Whole) JournalCodec.decode(r.value(), "mem")).entry();
                System.out.println(e.getLsn() + " base=" + e.getBase() + " deltas=" + e.getDeltas().size() + " size=" + r.serializedSize());
                JournalApplier.apply(e, replica);
            }
            assertThat(Files.readAllBytes(replica)).isEqualTo(Files.readAllBytes(db));
        }
    }
}
