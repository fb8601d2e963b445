package io.pagestream.schemas;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificRecord;

/**
 * One of our record types in Avro single-object encoding ({@code C3 01}, the schema's 8-byte fingerprint, the body):
 * encodes it, and reads a value back only when it is exactly one such body of this schema.
 */
final class SingleObject<T extends SpecificRecord> {
    private final String name;
    private final long fingerprint;
    private final BinaryMessageEncoder<T> encoder;
    private final SpecificDatumReader<T> reader;

    SingleObject(Schema schema) {
        this.name = schema.getName();
        this.fingerprint = SchemaNormalization.parsingFingerprint64(schema);
        this.encoder = new BinaryMessageEncoder<>(JournalAvroModel.INSTANCE, schema);
        this.reader = new SpecificDatumReader<>(schema, schema, JournalAvroModel.INSTANCE);
    }

    long fingerprint() {
        return fingerprint;
    }

    byte[] encode(T record) {
        try {
            ByteBuffer buffer = encoder.encode(record);
            return Arrays.copyOfRange(buffer.array(), buffer.arrayOffset() + buffer.position(),
                    buffer.arrayOffset() + buffer.limit());
        } catch (IOException e) {
            throw new PagestreamException("cannot encode a " + name, e);
        }
    }

    /** The value's schema fingerprint, after checking its length and magic bytes. */
    static long fingerprintOf(byte[] value, String origin, String what) {
        if (value == null || value.length < JournalContract.SINGLE_OBJECT_HEADER_LENGTH) {
            throw new CorruptEntryException(origin + ": record value is " + (value == null ? "null" : value.length + " bytes")
                    + ", too short for a " + what);
        }
        if (value[0] != JournalContract.MAGIC_0 || value[1] != JournalContract.MAGIC_1) {
            throw new CorruptEntryException(origin + ": wrong magic " + String.format("%02x %02x", value[0], value[1])
                    + " (expected c3 01, Avro single-object encoding): not a Pagestream " + what);
        }
        return ByteBuffer.wrap(value, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    /** Decodes a value whose header was checked: the body must end exactly where the value does. */
    T decodeBody(byte[] value, String origin) {
        int header = JournalContract.SINGLE_OBJECT_HEADER_LENGTH;
        try {
            BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(value, header, value.length - header, null);
            T body = reader.read(null, decoder);
            if (!decoder.isEnd()) {
                throw new CorruptEntryException(origin + ": " + decoder.inputStream().available()
                        + " bytes after the record's Avro body (truncated or padded record)");
            }
            return body;
        } catch (PagestreamException e) {
            throw e;
        } catch (Exception | StackOverflowError | OutOfMemoryError e) {
            throw new CorruptEntryException(origin + ": " + name + " body does not decode: " + e, e);
        }
    }

    /** Checks the header, then decodes; a value of another schema is refused naming both fingerprints. */
    T decode(byte[] value, String origin) {
        long actual = fingerprintOf(value, origin, name);
        if (actual != fingerprint) {
            throw new CorruptEntryException(origin + ": foreign schema (fingerprint " + JournalContract.hex(actual)
                    + "); expected " + name + " " + JournalContract.hex(fingerprint));
        }
        return decodeBody(value, origin);
    }
}
