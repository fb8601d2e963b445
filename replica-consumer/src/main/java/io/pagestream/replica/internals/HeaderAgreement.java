package io.pagestream.replica.internals;

import io.pagestream.schemas.CorruptEntryException;
import io.pagestream.schemas.DecodedRecord;
import io.pagestream.schemas.JournalContract;
import io.pagestream.schemas.avro.JournalEntry;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

/**
 * A record's headers must say what its body says: start positions are chosen from headers, so a header that
 * disagrees with the decoded body makes the record corrupt.
 */
final class HeaderAgreement {
    private HeaderAgreement() {}

    /** Db id, LSN and fragment headers against the decoded value; a whole entry's checksums too. */
    static void check(ConsumerRecord<byte[], byte[]> record, DecodedRecord decoded, String origin) {
        expect(record, JournalContract.HEADER_DB_ID, JournalContract.headerDbId(decoded.dbId()), origin);
        expect(record, JournalContract.HEADER_LSN, Long.toString(decoded.lsn()), origin);
        switch (decoded) {
            case DecodedRecord.Whole whole -> {
                expect(record, JournalContract.HEADER_FRAGMENT, null, origin);
                checkChecksums(record, whole.entry(), origin);
            }
            case DecodedRecord.Fragment part -> expect(record, JournalContract.HEADER_FRAGMENT,
                    part.fragment().getIndex() + "/" + part.fragment().getCount(), origin);
        }
    }

    /** The checksum headers a whole entry's record, or its last fragment, carries. */
    static void checkChecksums(ConsumerRecord<byte[], byte[]> record, JournalEntry entry, String origin) {
        expect(record, JournalContract.HEADER_PRE_CHECKSUM, JournalContract.hex(entry.getPreChecksum()), origin);
        expect(record, JournalContract.HEADER_POST_CHECKSUM, JournalContract.hex(entry.getPostChecksum()), origin);
    }

    private static void expect(ConsumerRecord<byte[], byte[]> record, String name, String expected, String origin) {
        Header header = record.headers().lastHeader(name);
        String actual = header == null ? null : new String(header.value(), StandardCharsets.US_ASCII);
        if (expected == null ? actual != null : !expected.equals(actual)) {
            throw new CorruptEntryException(origin + ": header " + name + " is " + (actual == null ? "missing" : "'" + actual + "'")
                    + " but the record's body says " + (expected == null ? "no such header" : "'" + expected + "'"));
        }
    }
}
