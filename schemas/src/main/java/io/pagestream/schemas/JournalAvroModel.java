package io.pagestream.schemas;

import io.pagestream.schemas.avro.CatalogEntry;
import io.pagestream.schemas.avro.DeltaEncoding;
import io.pagestream.schemas.avro.JournalEntry;
import io.pagestream.schemas.avro.JournalFragment;
import io.pagestream.schemas.avro.PageDelta;
import io.pagestream.schemas.avro.RestorePoint;
import io.pagestream.schemas.avro.SnapshotChunk;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificData;

/**
 * Avro's specific data model with our generated classes named in code. Avro's default model loads a class by
 * name only from packages an application trusts through a JVM system property; this one never looks a class up by
 * name, so reading our own records needs no setting from the application.
 */
final class JournalAvroModel extends SpecificData {
    static final JournalAvroModel INSTANCE = new JournalAvroModel();

    private static final Map<String, Class<?>> CLASSES = Stream.of(
                    JournalEntry.class, JournalFragment.class, PageDelta.class, DeltaEncoding.class,
                    SnapshotChunk.class, RestorePoint.class, CatalogEntry.class)
            .collect(java.util.stream.Collectors.toUnmodifiableMap(Class::getName, type -> type));

    private JournalAvroModel() {}

    @Override
    @SuppressWarnings("rawtypes")
    public Class getClass(Schema schema) {
        Class<?> ours = CLASSES.get(schema.getFullName());
        return ours != null ? ours : super.getClass(schema);
    }
}
