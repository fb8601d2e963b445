package io.pagestream.schemas;

import java.nio.charset.StandardCharsets;
import java.util.List;

/** One Kafka record of the journal as produced, independent of the Kafka client. */
public record JournalRecord(String key, byte[] value, List<Header> headers) {

    public record Header(String name, byte[] value) {
        public static Header ascii(String name, String value) {
            return new Header(name, value.getBytes(StandardCharsets.US_ASCII));
        }
    }

    public byte[] keyBytes() {
        return key.getBytes(StandardCharsets.UTF_8);
    }

    /** Bytes this record puts into Kafka: key + value + header names and values. */
    public int serializedSize() {
        int size = keyBytes().length + value.length;
        for (Header header : headers) {
            size += header.name().getBytes(StandardCharsets.UTF_8).length + header.value().length;
        }
        return size;
    }
}
