package io.pagestream.vfs;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/** Damages a writer's outbox the way a broken decoder would see it: a record that reads back whole but does not decode. */
final class OutboxDamage {
    /** magic, length, LSN, CRC32C of the payload (see Outbox). */
    private static final int RECORD_HEADER = 20;

    private OutboxDamage() {}

    static Path outboxOf(Path db) {
        return db.resolveSibling(db.getFileName() + "-pagestream-outbox");
    }

    static Path onlySegment(Path db) throws Exception {
        try (var files = Files.list(outboxOf(db))) {
            return files.filter(f -> f.toString().endsWith(".entries")).reduce((a, b) -> {
                throw new AssertionError("more than one segment");
            }).orElseThrow();
        }
    }

    /** The segment with the first payload byte of {@code lsn}'s record changed and its CRC fixed. */
    static byte[] withPayloadByteFlipped(byte[] segment, long lsn) {
        byte[] changed = segment.clone();
        ByteBuffer bytes = ByteBuffer.wrap(changed);
        for (int at = 0; at + RECORD_HEADER <= changed.length && bytes.getInt(at) != 0; at += RECORD_HEADER + bytes.getInt(at + 4)) {
            if (bytes.getLong(at + 8) == lsn) {
                int length = bytes.getInt(at + 4);
                changed[at + RECORD_HEADER] ^= (byte) 0xFF;
                CRC32C crc = new CRC32C();
                crc.update(changed, at + RECORD_HEADER, length);
                bytes.putInt(at + 16, (int) crc.getValue());
                return changed;
            }
        }
        throw new AssertionError("no record of LSN " + lsn);
    }
}
