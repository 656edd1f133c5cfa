package io.jcni.agent;

/** {@link LeaseStore} on etcd v3 through jetcd. (Being written.) */
public abstract class EtcdLeaseStore implements LeaseStore {
}
