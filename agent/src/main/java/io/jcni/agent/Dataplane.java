package io.jcni.agent;

import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.MacAddress;
import io.jcni.netlink.route.RouteNetlink;

import java.util.Collection;
import java.util.List;

/**
 * The node's side of the cluster network, in the kernel: routes to the other nodes' subnets
 * (host-gw), or the VXLAN device with a neighbour, an FDB entry and a route per peer (vxlan), the
 * masquerade of traffic leaving the cluster network, and the pod bridge's address. It owns only
 * what it marked: routes carry the protocol {@link #ROUTE_PROTOCOL}; the VXLAN device
 * {@code jcni.<VNI>} and its neighbours and FDB entries are wholly its own; the nftables table
 * {@link #NFT_TABLE} is its own.
 *
 * <p>Every method is idempotent and converges: it compares the kernel's state with the wanted one
 * and changes only the difference, so a pass over an already-right node changes nothing (and
 * never disturbs traffic).
 */
public final class Dataplane implements AutoCloseable {
    /** Route protocol number marking the routes this agent installed ({@code ip route … proto 215}). */
    public static final int ROUTE_PROTOCOL = 215;
    /** The nftables table holding the cluster masquerade ({@code inet}). */
    public static final String NFT_TABLE = "jcni_cluster";

    /**
     * @param nl          a handle on the node's namespace (the agent's own, normally)
     * @param underlay    the interface facing the other nodes ({@code --iface})
     * @param publicIp    this node's address on it ({@code --public-ip}, else the interface's first IPv4)
     * @param bridge      the pod bridge the conflist names (its address is repaired)
     */
    public Dataplane(RouteNetlink nl, Trace trace, String underlay, IpAddress publicIp, String bridge) {
        throw new UnsupportedOperationException("not yet");
    }

    /** The VXLAN device's name for {@code vni}: {@code jcni.<VNI>}. */
    public static String vxlanDevice(int vni) {
        return "jcni." + vni;
    }

    /** MTU of the underlay interface. */
    public int underlayMtu() {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * The VTEP MAC this node should publish for {@code config}'s VNI, without changing anything:
     * the existing device's MAC, else {@code previous} (from this node's lease), else one derived
     * from the public IP and VNI (stable across restarts). Null for host-gw.
     */
    public MacAddress vtepMac(NetworkConfig config, MacAddress previous) {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * One full pass: makes the kernel match {@code config} with {@code own} as this node's lease and
     * {@code leases} as every lease (own included, which is skipped as a peer). Creates or repairs
     * the VXLAN device (with {@code own}'s VTEP MAC), programs every peer, removes what belongs to
     * subnets no longer leased, sets the masquerade when {@code ipMasq}, enables IPv4 forwarding and
     * fixes the bridge's address. Keeps going past a failing peer; returns what it changed and
     * every error.
     */
    public Report reconcile(NetworkConfig config, Lease own, Collection<Lease> leases, boolean ipMasq) {
        throw new UnsupportedOperationException("not yet");
    }

    /** What {@code jcni cluster status} shows for each peer: whether each wanted object is there. */
    public List<PeerState> inspect(NetworkConfig config, Lease own, Collection<Lease> leases) {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * Removes everything this agent made on the node (routes of {@link #ROUTE_PROTOCOL}, the
     * VXLAN device, the nftables table). Used by {@code jcni cluster leave}; missing pieces are fine.
     */
    public Report teardown() {
        throw new UnsupportedOperationException("not yet");
    }

    @Override
    public void close() {
    }

    /**
     * What a pass did: each change as the {@code ip}/{@code bridge}/{@code nft} command that makes it,
     * and each error (the pass went on past it).
     */
    public record Report(List<String> changes, List<String> errors) {
        public boolean changed() {
            return !changes.isEmpty();
        }
    }

    /**
     * One peer on this node: the wanted objects and whether each is present. {@code neighbour} and
     * {@code fdb} are null where the backend has none (host-gw, or a direct route under DirectRouting).
     */
    public record PeerState(Lease peer, String route, boolean routePresent, String neighbour, Boolean neighbourPresent,
                            String fdb, Boolean fdbPresent) {}
}
