package io.pagestream.vfs.internals;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Linux calls behind the outbox's shared device flush, and the guard on SQLite's file descriptor. */
class DeviceWriteBackTest {
    @TempDir
    Path dir;

    @Test
    void writesARangeToTheDeviceThroughADescriptorOfItsOwn() throws IOException {
        assertThat(DeviceWriteBack.available()).as("sync_file_range on Linux").isTrue();
        Path file = Files.write(dir.resolve("f"), new byte[64 << 10]);
        int fd = DeviceWriteBack.open(file);
        try {
            DeviceWriteBack.start(fd);
            DeviceWriteBack.writeAndWait(fd, 4096, 8192);
        } finally {
            DeviceWriteBack.close(fd);
        }
        assertThatThrownBy(() -> DeviceWriteBack.writeAndWait(fd, 0, 4096)).isInstanceOf(IOException.class)
                .hasMessageContaining("errno 9"); // EBADF: closed
        assertThatThrownBy(() -> DeviceWriteBack.open(dir.resolve("missing"))).isInstanceOf(IOException.class)
                .hasMessageContaining("missing");
    }

    @Test
    void oneFlushCoversPathsOnOneDeviceOfAnInPlaceFileSystemOnly() throws IOException {
        Path sub = Files.createDirectories(dir.resolve("sub"));
        boolean inPlace = java.util.Set.of("ext4", "xfs").contains(Files.getFileStore(dir).type());
        assertThat(DeviceWriteBack.flushCovers(sub, dir)).as("same directory tree, %s", Files.getFileStore(dir).type())
                .isEqualTo(inPlace);
        assertThat(DeviceWriteBack.flushCovers(dir, Path.of("/proc"))).as("another device").isFalse();
        assertThat(DeviceWriteBack.flushCovers(Path.of("/proc"), Path.of("/proc/self"))).as("procfs").isFalse();
    }

    @Test
    void aDescriptorIsTakenFromTheUnixFileOnlyWhenItIsOneOfThatFile() throws IOException {
        Path database = Files.write(dir.resolve("a.db"), new byte[4096]);
        Path other = Files.write(dir.resolve("b.db"), new byte[4096]);
        int fd = DeviceWriteBack.open(database);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment unixFile = arena.allocate(64, 8);
            unixFile.set(JAVA_INT, 24, fd);
            assertThat(DeviceWriteBack.sqliteDescriptor(unixFile, database)).contains(fd);
            assertThat(DeviceWriteBack.sqliteDescriptor(unixFile, other)).as("a descriptor of another file").isEmpty();
            unixFile.set(JAVA_INT, 24, -1);
            assertThat(DeviceWriteBack.sqliteDescriptor(unixFile, database)).isEmpty();
            unixFile.set(JAVA_INT, 24, 987_654);
            assertThat(DeviceWriteBack.sqliteDescriptor(unixFile, database)).as("no such descriptor").isEmpty();
        } finally {
            DeviceWriteBack.close(fd);
        }
    }
}
