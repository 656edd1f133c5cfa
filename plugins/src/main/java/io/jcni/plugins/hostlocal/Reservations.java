package io.jcni.plugins.hostlocal;

import io.jcni.cni.CniError;
import io.jcni.cni.ConfigObject;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.sys.Fd;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A read-only view of one network's host-local store, for a plugin that keeps its own state in
 * step with the reservations (the bridge's NAT elements): the store's lock, the same flock(2)
 * host-local takes, so that state and the reservations change under one lock, and each
 * reservation's owner.
 *
 * <p>flock(2) locks belong to an open file: while this lock is held, calling host-local (which
 * opens and locks the file again) would wait forever. Callers take it only around their own
 * reads and changes.
 */
public final class Reservations {
    /** The attachment a reservation belongs to. */
    public record Owner(String containerId, String ifname) {}

    private final Store store;

    private Reservations(Store store) {
        this.store = store;
    }

    /** The store of {@code network}, wherever the {@code ipam} section's dataDir puts it. */
    public static Reservations of(ConfigObject ipam, String network) throws CniError {
        return new Reservations(new Store(IpamConfig.dataDir(ipam) + "/" + network));
    }

    /** The store's lock, taken; null when the store does not exist (nothing was ever reserved). */
    public Fd lock() {
        return store.exists() ? store.lock() : null;
    }

    /** The addresses reserved by (containerId, ifname), from the owner index. The caller holds {@link #lock}. */
    public List<IpAddress> addressesOf(String containerId, String ifname) {
        return store.findByOwner(containerId, ifname);
    }

    /**
     * Every reservation and its owner; reservations in the legacy format (a container ID alone,
     * no ifname) are left out, as their owner cannot be told. The caller holds {@link #lock}.
     */
    public Map<IpAddress, Owner> owners() {
        Map<IpAddress, Owner> out = new HashMap<>();
        for (String name : store.names()) {
            IpAddress a = Store.addressOf(name);
            String content = a == null ? null : store.read(name);
            int sep = content == null ? -1 : content.indexOf("\r\n");
            if (sep > 0) {
                out.put(
                        a,
                        new Owner(
                                content.substring(0, sep),
                                content.substring(sep + 2).trim()));
            }
        }
        return out;
    }
}
