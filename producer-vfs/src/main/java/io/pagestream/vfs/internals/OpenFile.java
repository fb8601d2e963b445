package io.pagestream.vfs.internals;

import java.lang.foreign.MemorySegment;

/** A main-database sqlite3_file opened through the Pagestream VFS. */
final class OpenFile {
    final MemorySegment file;
    final RealMethods real;
    final TrackedDatabase db;
    /** The file descriptor SQLite reads and writes the database through, or -1 when not known. */
    final int descriptor;
    /** Lock level SQLite holds through this file (NONE 0 … EXCLUSIVE 4). */
    int lockLevel;
    /** Flags of SQLite's last xSync of this file; 0 while it never synced it (synchronous=OFF). */
    int lastSyncFlags;
    /** The file was synced on SQLite's behalf and not written since: SQLite's own xSync has nothing left to do. */
    boolean syncedAhead;

    OpenFile(MemorySegment file, RealMethods real, TrackedDatabase db, int descriptor) {
        this.file = file;
        this.descriptor = descriptor;
        this.real = real;
        this.db = db;
    }

    long address() {
        return file.address();
    }

    byte[] read(long offset, int length) throws Throwable {
        return real.readBytes(file, offset, length);
    }

    void write(long offset, byte[] bytes) throws Throwable {
        real.writeBytes(file, offset, bytes);
    }

    long size() throws Throwable {
        return real.fileSize(file);
    }
}
