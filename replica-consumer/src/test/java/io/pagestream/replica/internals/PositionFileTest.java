package io.pagestream.replica.internals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pagestream.replica.ReplicaPosition;
import io.pagestream.schemas.PagestreamException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The recorded position of a replica: two CRC-protected slots written alternately, so a torn or corrupt
 * newest slot falls back to the previous record; locked while open, so one replica keeps a file at a time.
 */
class PositionFileTest {
    private static final int SLOT_SIZE = 512;
    private static final String DB_ID = "orders/eu.db";
    /** Slots alternate by sequence number: the third record goes into slot 1, at the end of the file. */
    private static final int THIRD_RECORD_SLOT = 1;

    @TempDir
    Path dir;

    private static ReplicaPosition position(long lsn) {
        return new ReplicaPosition(lsn, 0x1234_5678_9abc_def0L ^ lsn, 4096, 10 + lsn, 2, 1000 + lsn, 1_700_000_000_000L + lsn);
    }

    @Test
    void recordsRoundTripAndTheNewestWins() {
        Path replica = dir.resolve("replica.db");
        assertThat(PositionFile.exists(replica)).isFalse();
        try (PositionFile file = PositionFile.open(replica)) {
            assertThat(file.read()).as("a new position file holds no record").isNull();
            file.write(DB_ID, ReplicaPosition.EMPTY, position(1));
            assertThat(file.read()).isEqualTo(new PositionFile.Recorded(DB_ID, ReplicaPosition.EMPTY, position(1)));
            file.write(DB_ID, position(1), position(2));
            file.write(DB_ID, position(2), position(3));
            assertThat(file.read()).isEqualTo(new PositionFile.Recorded(DB_ID, position(2), position(3)));
            assertThat(PositionFile.peek(replica)).as("peek while open").isEqualTo(file.read());
        }
        assertThat(PositionFile.exists(replica)).isTrue();
        try (PositionFile reopened = PositionFile.open(replica)) {
            assertThat(reopened.read()).isEqualTo(new PositionFile.Recorded(DB_ID, position(2), position(3)));
            reopened.write(DB_ID, position(3), position(4));
        }
        assertThat(PositionFile.peek(replica)).isEqualTo(new PositionFile.Recorded(DB_ID, position(3), position(4)));
    }

    @Test
    void aCorruptNewestSlotFallsBackToTheOtherSlot() throws IOException {
        Path replica = dir.resolve("replica.db");
        writeThreeRecords(replica);
        flipByte(replica, THIRD_RECORD_SLOT * SLOT_SIZE + 330);
        assertThat(PositionFile.peek(replica)).as("record in the intact slot")
                .isEqualTo(new PositionFile.Recorded(DB_ID, position(1), position(2)));

        try (PositionFile file = PositionFile.open(replica)) {
            assertThat(file.read()).isEqualTo(new PositionFile.Recorded(DB_ID, position(1), position(2)));
            file.write(DB_ID, position(2), position(5));
        }
        assertThat(PositionFile.peek(replica)).as("a record written after the fallback is the newest")
                .isEqualTo(new PositionFile.Recorded(DB_ID, position(2), position(5)));

        flipByte(replica, 20);
        flipByte(replica, SLOT_SIZE + 20);
        assertThat(PositionFile.peek(replica)).as("no intact slot").isNull();
    }

    @Test
    void aTornWriteOfTheNewestSlotFallsBackToTheOtherSlot() throws IOException {
        Path replica = dir.resolve("replica.db");
        writeThreeRecords(replica);
        try (FileChannel channel = FileChannel.open(PositionFile.pathFor(replica), StandardOpenOption.WRITE)) {
            channel.truncate(THIRD_RECORD_SLOT * SLOT_SIZE + 200);
        }
        assertThat(PositionFile.peek(replica)).isEqualTo(new PositionFile.Recorded(DB_ID, position(1), position(2)));
    }

    @Test
    void aSecondOpenInTheSameProcessIsRefused() {
        Path replica = dir.resolve("replica.db");
        try (PositionFile first = PositionFile.open(replica)) {
            first.write(DB_ID, ReplicaPosition.EMPTY, position(1));
            assertThatThrownBy(() -> PositionFile.open(replica)).isInstanceOf(PagestreamException.class)
                    .hasMessageContaining(replica.toString())
                    .hasMessageContaining("already kept by another replica in this process");
            assertThat(first.read()).as("the first stays usable").isNotNull();
            first.write(DB_ID, position(1), position(2));
        }
        try (PositionFile again = PositionFile.open(replica)) {
            assertThat(again.read()).isEqualTo(new PositionFile.Recorded(DB_ID, position(1), position(2)));
        }
    }

    /** Writes records leading to positions 1, 2, 3. */
    private static void writeThreeRecords(Path replica) throws IOException {
        try (PositionFile file = PositionFile.open(replica)) {
            file.read();
            file.write(DB_ID, ReplicaPosition.EMPTY, position(1));
            file.write(DB_ID, position(1), position(2));
            file.write(DB_ID, position(2), position(3));
        }
        assertThat(Files.size(PositionFile.pathFor(replica))).isEqualTo(2L * SLOT_SIZE);
        assertThat(PositionFile.peek(replica)).isEqualTo(new PositionFile.Recorded(DB_ID, position(2), position(3)));
    }

    private static void flipByte(Path replica, long at) throws IOException {
        try (FileChannel channel = FileChannel.open(PositionFile.pathFor(replica), StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            ByteBuffer one = ByteBuffer.allocate(1);
            channel.read(one, at);
            one.put(0, (byte) (one.get(0) ^ 0x10)).rewind();
            channel.write(one, at);
        }
    }

    /** A power cut can undo the last apply's unsynced journal truncation: the position before it must still be known. */
    @Test
    void thePositionBeforeTheNewestRecordIsKept() {
        Path replica = dir.resolve("earlier.db");
        try (PositionFile file = PositionFile.open(replica)) {
            assertThat(file.earlier()).isNull();
            file.write(DB_ID, ReplicaPosition.EMPTY, position(1));
            assertThat(file.earlier()).isNull();
            file.write(DB_ID, position(1), position(2));
            assertThat(file.earlier()).isEqualTo(ReplicaPosition.EMPTY);
            file.write(DB_ID, position(2), position(3));
            assertThat(file.earlier()).isEqualTo(position(1));
        }
    }
}
