package io.pagestream.compactor.internals;

import io.pagestream.compactor.CompactorListener;
import io.pagestream.compactor.CompactorStatus;
import io.pagestream.replica.ReplicaStatus;
import io.pagestream.replica.internals.ReplicaEngine;
import io.pagestream.schemas.avro.RestorePoint;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/** What the stream threads report, for the application's threads: each database's position, halt and newest snapshot. */
public final class StatusBoard {
    private final Set<ReplicaEngine> engines = ConcurrentHashMap.newKeySet();
    private final Map<String, RestorePoint> newest = new ConcurrentHashMap<>();
    private final CompactorListener listener;

    public StatusBoard(CompactorListener listener) {
        this.listener = listener;
    }

    void add(ReplicaEngine engine) {
        engines.add(engine);
    }

    void remove(ReplicaEngine engine) {
        engines.remove(engine);
    }

    void restorePointListed(String dbId, RestorePoint point) {
        newest.put(dbId, point);
    }

    void snapshotTaken(String dbId, RestorePoint point) {
        restorePointListed(dbId, point);
        listener.snapshotTaken(dbId, point);
    }

    /** Every database of the partitions this instance handles, by db id. */
    public Map<String, CompactorStatus> status() {
        Map<String, CompactorStatus> status = new TreeMap<>();
        for (ReplicaEngine engine : engines) {
            for (ReplicaStatus replica : engine.status().values()) {
                status.put(replica.dbId(), new CompactorStatus(replica.dbId(), replica.position().lsn(), replica.error(),
                        newest.get(replica.dbId())));
            }
        }
        return status;
    }
}
