package io.pagestream.vfs;

import io.pagestream.schemas.JournalContract;
import io.pagestream.schemas.JournalRecord;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Optional;

/** Reads a journal position from record headers: entries and final fragments carry LSN and post-checksum. */
final class JournalPositions {
    private JournalPositions() {}

    static Optional<JournalPosition> of(JournalRecord record) {
        String lsn = null;
        String post = null;
        for (JournalRecord.Header header : record.headers()) {
            if (header.name().equals(JournalContract.HEADER_LSN)) {
                lsn = new String(header.value(), StandardCharsets.US_ASCII);
            } else if (header.name().equals(JournalContract.HEADER_POST_CHECKSUM)) {
                post = new String(header.value(), StandardCharsets.US_ASCII);
            }
        }
        return of(lsn, post);
    }

    static Optional<JournalPosition> of(String lsn, String postChecksum) {
        if (lsn == null || postChecksum == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(new JournalPosition(Long.parseLong(lsn), HexFormat.fromHexDigitsToLong(postChecksum)));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
