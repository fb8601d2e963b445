package io.pagestream.vfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pagestream.schemas.JournalRecord;
import io.pagestream.schemas.PagestreamConfigException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad configuration is refused clearly; a failed publish is counted and the chain resumes with a base entry. */
class ConfigAndPublishFailureTest {
    @TempDir
    Path dir;

    @Test
    void invalidSettingsAreRefusedWithTheirName() {
        assertThatThrownBy(() -> PagestreamConfig.of(Map.of("journal.topic.partitions", "0")))
                .isInstanceOf(PagestreamConfigException.class).hasMessageContaining("journal.topic.partitions");
        assertThatThrownBy(() -> PagestreamConfig.of(Map.of("record.max.bytes", "10")))
                .isInstanceOf(PagestreamConfigException.class).hasMessageContaining("record.max.bytes");
        assertThatThrownBy(() -> new KafkaJournalSink(PagestreamConfig.of(Map.of())))
                .isInstanceOf(PagestreamConfigException.class).hasMessageContaining("bootstrap.servers");
    }

    @Test
    void producerSettingsThatBreakOrderingOrDurabilityAreRefused() {
        PagestreamConfig acksOne = PagestreamConfig.of(Map.of("bootstrap.servers", "127.0.0.1:1", "producer.acks", "1"));
        assertThatThrownBy(() -> KafkaJournalSink.producerSettings(acksOne, List.of("127.0.0.1:1")))
                .isInstanceOf(PagestreamConfigException.class).hasMessageContaining("producer.acks=1");
        PagestreamConfig noIdempotence = PagestreamConfig.of(Map.of("producer.enable.idempotence", "false"));
        assertThatThrownBy(() -> KafkaJournalSink.producerSettings(noIdempotence, List.of("127.0.0.1:1")))
                .isInstanceOf(PagestreamConfigException.class).hasMessageContaining("enable.idempotence");
    }

    @Test
    void reinstallingWithOtherSettingsIsRefused() {
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("vfs.name", "reinstall")).sink(new InMemoryJournalSink(1 << 20)).install()) {
            assertThat(PagestreamVfs.installed("reinstall")).contains(vfs);
            assertThatThrownBy(() -> PagestreamVfs.install(Map.of("vfs.name", "reinstall", "journal.topic", "other")))
                    .isInstanceOf(PagestreamConfigException.class).hasMessageContaining("already installed");
        }
    }

    @Test
    void failedPublishIsCountedAndTheNextCommitPublishesABaseEntry() throws Exception {
        AtomicBoolean failing = new AtomicBoolean();
        List<JournalRecord> published = new ArrayList<>();
        JournalSink sink = new JournalSink() {
            @Override
            public synchronized CompletableFuture<Void> send(List<JournalRecord> records) {
                if (failing.get()) {
                    return CompletableFuture.failedFuture(new IllegalStateException("broker gone"));
                }
                published.addAll(records);
                return CompletableFuture.completedFuture(null);
            }

            @Override
            public int maxRecordBytes() {
                return 1 << 20;
            }

            @Override
            public void close() {}
        };
        try (PagestreamVfs vfs = PagestreamVfs.builder(Map.of("vfs.name", "failing")).sink(sink).install();
                Connection c = DriverManager.getConnection(vfs.jdbcUrl(dir.resolve("f.db")));
                Statement s = c.createStatement()) {
            s.execute("create table t(x)");
            s.execute("insert into t values (1)");
            assertThat(vfs.flush(Duration.ofSeconds(5))).isTrue();
            failing.set(true);
            s.execute("insert into t values (2)");
            assertThat(vfs.flush(Duration.ofSeconds(5))).isTrue();
            assertThat(vfs.failedEntries()).isEqualTo(1);
            failing.set(false);
            s.execute("insert into t values (3)");
            assertThat(vfs.flush(Duration.ofSeconds(5))).isTrue();
        }
        JournalReplay replay = new JournalReplay(dir);
        replay.applyAll(published, (entry, file) -> {});
        var entries = replay.replica("f.db").entries;
        assertThat(entries.stream().map(e -> e.getLsn() + (e.getBase() ? "B" : "")).toList()).containsExactly("1B", "2", "4B");
        assertThat(java.nio.file.Files.readAllBytes(replay.replica("f.db").file))
                .isEqualTo(java.nio.file.Files.readAllBytes(dir.resolve("f.db")));
    }
}
