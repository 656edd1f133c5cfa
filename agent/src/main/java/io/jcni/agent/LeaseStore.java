package io.jcni.agent;

import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ip.MacAddress;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

/**
 * Where the cluster's network configuration and the nodes' subnet leases live: etcd, through
 * {@link EtcdLeaseStore}, or the Kubernetes API server's Node objects, through
 * {@link KubeLeaseStore}. Every call may block on the network; none is made from a netlink or
 * namespace thread. Every failure to reach the store is a {@link StoreUnavailableException}: the
 * caller keeps the node as it is and retries.
 */
public interface LeaseStore extends AutoCloseable {

    /** How the agent's log names the store ({@code etcd}, {@code the API server}). */
    default String name() {
        return "etcd";
    }

    /**
     * The VTEP MAC this node (at {@code publicIp}) published before, for a restarted agent whose
     * VXLAN device is gone (a reboot): every peer's FDB entry points at it. Null when the store
     * keeps none.
     */
    default MacAddress previousVtepMac(IpAddress publicIp) {
        return null;
    }

    /**
     * The node is programmed and its hand-off written; called after each such pass, so cheap when
     * nothing is to be done. Kubernetes marks the Node's network available here. Must not throw.
     */
    default void programmed(NetworkConfig config, Lease own) {}

    /** The configuration; {@link NetworkConfig.InvalidConfigException} naming the key when it is missing or bad. */
    NetworkConfig config() throws NetworkConfig.InvalidConfigException;

    /** Writes the configuration (for {@code jcni cluster init}). */
    void putConfig(NetworkConfig config);

    /** Every lease, and the store revision they were read at (watch from {@code revision + 1}). */
    Snapshot leases();

    /**
     * Takes a subnet for the node at {@code publicIp}, atomically (racing agents never share one), in
     * this order: the lease this node already holds (same public IP, still inside the network),
     * else {@code preferred} (the node's previous subnet) when free, else a free subnet picked at
     * random. The lease expires after {@code ttl} unless {@link #renew renewed}.
     *
     * @param vtepMac the VXLAN device's MAC to publish (null for host-gw); an existing lease of this
     *                node keeps its subnet but gets this MAC
     * @throws NetworkExhaustedException when no subnet is free
     */
    Lease acquire(NetworkConfig config, IpAddress publicIp, MacAddress vtepMac, IpPrefix preferred, Duration ttl);

    /**
     * Extends {@code lease} by its TTL; returns the seconds left. {@link LeaseLostException} when
     * the lease or its key is gone (expired or deleted): acquire again.
     */
    long renew(Lease lease);

    /** Seconds until {@code lease} expires, -1 when it has no expiry, 0 when it is gone. */
    long ttlLeft(Lease lease);

    /** Deletes the lease and its key (for {@code jcni cluster leave}); a lease already gone is fine. */
    void release(Lease lease);

    /**
     * Watches every change under the subnets prefix from {@code fromRevision}. Events arrive in
     * order on a store thread; {@code onError} is called once when the watch breaks (store lost,
     * revision compacted), after which no more events come: take a new {@link #leases} snapshot and
     * watch again.
     */
    AutoCloseable watch(long fromRevision, Consumer<LeaseEvent> events, Consumer<Throwable> onError);

    @Override
    void close();

    /** All leases at one store revision. */
    record Snapshot(List<Lease> leases, long revision) {}

    /**
     * One change: a lease put (created, renewed with new data) or deleted (released or expired).
     * {@code lease} is null for a delete; for a put whose value is not a lease, {@code invalid}
     * says why and {@code lease} is null.
     */
    record LeaseEvent(Kind kind, IpPrefix subnet, Lease lease, long revision, String invalid) {
        public enum Kind {
            PUT,
            DELETE
        }
    }

    /** The store could not be reached or did not answer in time. */
    final class StoreUnavailableException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public StoreUnavailableException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** Every leasable subnet is held by another node. */
    final class NetworkExhaustedException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public NetworkExhaustedException(String message) {
            super(message);
        }
    }

    /**
     * The store holds no subnet this node may use, for now: Kubernetes has not given its Node a
     * podCIDR yet, or gave it one outside the network. The message says which and what would
     * solve it; the agent changes nothing on the node and asks again.
     */
    final class NoUsableSubnetException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public NoUsableSubnetException(String message) {
            super(message);
        }
    }

    /** The lease being renewed has expired or was deleted. */
    final class LeaseLostException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public LeaseLostException(String message) {
            super(message);
        }
    }
}
