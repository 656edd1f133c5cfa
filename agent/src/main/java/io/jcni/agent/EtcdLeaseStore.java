package io.jcni.agent;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

/** {@link LeaseStore} on etcd v3 through jetcd. (Being written on its own branch.) */
public abstract class EtcdLeaseStore implements LeaseStore {
    public record Options(List<String> endpoints, String prefix, Path caFile, Path certFile, Path keyFile, Duration timeout,
                          Consumer<String> warnings) {}

    public static LeaseStore connect(Options o) {
        throw new UnsupportedOperationException();
    }
}
