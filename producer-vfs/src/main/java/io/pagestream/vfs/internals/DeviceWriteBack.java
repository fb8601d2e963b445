package io.pagestream.vfs.internals;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Linux {@code sync_file_range(2)}: writes a file range to the device and waits for it, without flushing the
 * device's cache. The outbox uses it to make an entry durable with the database's own fsync: once the entry's
 * blocks (preallocated, so no metadata changes) have reached the device, the cache flush that fsync issues covers
 * them too, which saves a second flush per commit.
 */
final class DeviceWriteBack {
    private static final Logger log = LoggerFactory.getLogger(DeviceWriteBack.class);
    private static final int WAIT_BEFORE = 1;
    private static final int WRITE = 2;
    private static final int WAIT_AFTER = 4;
    private static final int O_RDONLY_CLOEXEC = 0x80000;
    /** {@code int h} in SQLite's unixFile, after three pointers (pMethod, pVfs, pInode). */
    private static final long UNIX_FILE_DESCRIPTOR = 24;
    private static final Set<String> IN_PLACE_FILE_SYSTEMS = Set.of("ext4", "xfs");

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option ERRNO_CAPTURE = Linker.Option.captureCallState("errno");
    private static final MethodHandle SYNC_FILE_RANGE = downcall("sync_file_range",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT), ERRNO_CAPTURE);
    // open(2) is variadic; the mode argument is read only with O_CREAT, which is not used.
    private static final MethodHandle OPEN = downcall("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT),
            ERRNO_CAPTURE, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle CLOSE = downcall("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));

    private DeviceWriteBack() {}

    static boolean available() {
        return SYNC_FILE_RANGE != null && OPEN != null && CLOSE != null;
    }

    /**
     * Whether a device cache flush issued for files in {@code b} makes blocks written back for a preallocated file in
     * {@code a} durable: one device, and a file system that overwrites allocated blocks in place (ext4, xfs). A
     * copy-on-write or log-structured one (btrfs, zfs, f2fs…) writes an overwrite elsewhere, which needs that
     * file's own metadata committed.
     */
    static boolean flushCovers(Path a, Path b) {
        try {
            return Files.getAttribute(a, "unix:dev").equals(Files.getAttribute(b, "unix:dev"))
                    && IN_PLACE_FILE_SYSTEMS.contains(Files.getFileStore(a).type());
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return false;
        }
    }

    /** A read-only descriptor of {@code path} (write-back works on any descriptor of the file). */
    static int open(Path path) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int fd = (int) OPEN.invokeExact(state, arena.allocateFrom(path.toString()), O_RDONLY_CLOEXEC);
            if (fd < 0) {
                throw new IOException("open(" + path + ") failed, errno " + (int) ERRNO.get(state, 0L));
            }
            return fd;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IOException(e);
        }
    }

    static void close(int fd) {
        try {
            int rc = (int) CLOSE.invokeExact(fd);
            if (rc != 0) {
                log.warn("pagestream: close({}) failed", fd);
            }
        } catch (Throwable e) {
            log.warn("pagestream: close({}) failed", fd, e);
        }
    }

    /** Writes {@code [offset, offset + length)} to the device and waits until the device has it (not flushed). */
    static void writeAndWait(int fd, long offset, long length) throws IOException {
        call(fd, offset, length, WAIT_BEFORE | WRITE | WAIT_AFTER);
    }

    /** Starts writing the whole file's dirty pages to the device, without waiting. */
    static void start(int fd) throws IOException {
        call(fd, 0, 0, WRITE);
    }

    /**
     * The descriptor SQLite's unix VFS holds for {@code path}, read from its unixFile; empty when what is there is
     * not a descriptor of that file (another layout), so nothing ever acts on a wrong one.
     */
    static Optional<Integer> sqliteDescriptor(MemorySegment unixFile, Path path) {
        try {
            int fd = unixFile.reinterpret(UNIX_FILE_DESCRIPTOR + 4).get(JAVA_INT, UNIX_FILE_DESCRIPTOR);
            if (fd >= 0 && Files.isSameFile(Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)), path)) {
                return Optional.of(fd);
            }
        } catch (IOException | RuntimeException e) {
            log.debug("pagestream: no descriptor of {} found in its unixFile", path, e);
        }
        return Optional.empty();
    }

    private static void call(int fd, long offset, long length, int flags) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int rc = (int) SYNC_FILE_RANGE.invokeExact(state, fd, offset, length, flags);
            if (rc != 0) {
                throw new IOException("sync_file_range failed, errno " + (int) ERRNO.get(state, 0L));
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IOException(e);
        }
    }

    private static MethodHandle downcall(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        return LINKER.defaultLookup().find(name).map(symbol -> LINKER.downcallHandle(symbol, descriptor, options)).orElse(null);
    }
}
