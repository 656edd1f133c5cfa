package io.jcni.runtime;

import io.jcni.cni.CniError;
import java.util.List;

/**
 * What {@link CniRuntime#gc} did: the stale cached attachments it deleted and every error met on
 * the way (GC continues past errors, as libcni). {@link #ok()} when there were none.
 */
public record GcReport(List<CachedAttachment> deleted, List<CniError> errors) {
    public GcReport {
        deleted = List.copyOf(deleted);
        errors = List.copyOf(errors);
    }

    public boolean ok() {
        return errors.isEmpty();
    }
}
