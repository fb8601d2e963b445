package io.pagestream.vfs;

import io.pagestream.schemas.FragmentAssembler;
import io.pagestream.schemas.JournalApplier;
import io.pagestream.schemas.JournalCodec;
import io.pagestream.schemas.JournalContract;
import io.pagestream.schemas.JournalRecord;
import io.pagestream.schemas.PositionMismatchException;
import io.pagestream.schemas.avro.JournalEntry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiConsumer;

/**
 * Test replica: applies journal records in order to one file per db id with {@link JournalApplier},
 * enforcing the LSN chain (next = last + 1; a base entry may follow a gap).
 */
final class JournalReplay {
    private final Path directory;
    private final Map<String, Replica> replicas = new LinkedHashMap<>();

    static final class Replica {
        final Path file;
        final FragmentAssembler assembler = new FragmentAssembler();
        final List<JournalEntry> entries = new ArrayList<>();
        long lastLsn;
        long checksum = JournalContract.EMPTY_CHECKSUM;

        Replica(Path file) {
            this.file = file;
        }
    }

    JournalReplay(Path directory) {
        this.directory = directory;
    }

    /** Applies every record; {@code afterApply} sees each applied entry with its replica file. */
    void applyAll(List<JournalRecord> records, BiConsumer<JournalEntry, Path> afterApply) {
        int index = 0;
        for (JournalRecord record : records) {
            apply(record.key(), record.value(), "record#" + index++, afterApply);
        }
    }

    void apply(String key, byte[] value, String origin, BiConsumer<JournalEntry, Path> afterApply) {
        Replica replica = replicas.computeIfAbsent(key, id -> new Replica(directory.resolve(safeName(id) + ".replica")));
        Optional<JournalEntry> complete = replica.assembler.accept(JournalCodec.decode(value, origin), origin);
        if (complete.isEmpty()) {
            return;
        }
        JournalEntry entry = complete.get();
        if (!entry.getDbId().equals(key)) {
            throw new IllegalStateException(origin + ": record key " + key + " holds entry of " + entry.getDbId());
        }
        if (entry.getLsn() != replica.lastLsn + 1 && !(entry.getBase() && entry.getLsn() > replica.lastLsn)) {
            throw new PositionMismatchException(origin + " db " + key, replica.lastLsn + 1, entry.getLsn());
        }
        try (FileChannel file = FileChannel.open(replica.file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            replica.checksum = JournalApplier.apply(entry, file, replica.checksum);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        replica.lastLsn = entry.getLsn();
        replica.entries.add(entry);
        afterApply.accept(entry, replica.file);
    }

    Replica replica(String dbId) {
        return replicas.get(dbId);
    }

    Map<String, Replica> replicas() {
        return replicas;
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String sha256(Path file) {
        try {
            return sha256(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String safeName(String dbId) {
        return dbId.replaceAll("[^A-Za-z0-9._-]", "_");
    }
}
