package io.jcni.agent;

import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ip.MacAddress;
import io.jcni.netlink.nft.Nftables;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.ns.Sysctl;
import io.jcni.netlink.route.Address;
import io.jcni.netlink.route.FdbEntry;
import io.jcni.netlink.route.Link;
import io.jcni.netlink.route.Links;
import io.jcni.netlink.route.Neighbour;
import io.jcni.netlink.route.Neighbours;
import io.jcni.netlink.route.Route;
import io.jcni.netlink.route.RouteBatch;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.netlink.route.Rtnl;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

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

    private static final String FORWARDING = "net.ipv4.ip_forward";
    /** Every VXLAN device of the agent is named so ({@code jcni.<VNI>}), and no other link. */
    static final String VXLAN_PREFIX = "jcni.";

    private static final MacAddress ZERO_MAC = MacAddress.of(new byte[6]);

    private final RouteNetlink nl;
    private final Trace trace;
    private final String underlay;
    private final IpAddress publicIp;
    private final String bridge;
    private final NetNs netns;
    private final Nftables nft;
    private final ClusterMasquerade masquerade;
    private final OwnDeletions ownDeletions = new OwnDeletions();
    private boolean closed;

    /**
     * Works in {@code nl}'s namespace: routes, links, neighbours and FDB through {@code nl}, and
     * nftables and sysctls in the same namespace ({@link RouteNetlink#netns()}, or the calling
     * thread's when that is null). The caller keeps {@code nl} open and closes it after this.
     *
     * @param nl          a handle on the node's namespace (the agent's own, normally)
     * @param underlay    the interface facing the other nodes ({@code --iface})
     * @param publicIp    this node's address on it ({@code --public-ip}, else the interface's first IPv4)
     * @param bridge      the pod bridge the conflist names (its address is repaired)
     */
    public Dataplane(RouteNetlink nl, Trace trace, String underlay, IpAddress publicIp, String bridge) {
        this.nl = Objects.requireNonNull(nl, "nl");
        this.trace = Objects.requireNonNull(trace, "trace");
        Links.validateName("use underlay", underlay);
        Links.validateName("use bridge", bridge);
        if (!publicIp.isV4()) {
            throw new IllegalArgumentException("the public IP must be IPv4, not " + publicIp);
        }
        this.underlay = underlay;
        this.publicIp = publicIp;
        this.bridge = bridge;
        this.netns = nl.netns();
        this.nft = netns == null ? Nftables.open(trace) : Nftables.open(netns, trace);
        this.masquerade = new ClusterMasquerade(nft);
    }

    /** The deletions this data plane's passes make, for the {@link KernelWatch} to recognise. */
    OwnDeletions ownDeletions() {
        return ownDeletions;
    }

    /** The VXLAN device's name for {@code vni}: {@code jcni.<VNI>}. */
    public static String vxlanDevice(int vni) {
        return VXLAN_PREFIX + vni;
    }

    /** MTU of the underlay interface. */
    public synchronized int underlayMtu() {
        return nl.links().get(underlay).mtu();
    }

    /**
     * The VTEP MAC this node should publish for {@code config}'s VNI, without changing anything:
     * the existing device's MAC, else {@code previous} (from this node's lease), else one derived
     * from the public IP and VNI (stable across restarts). Null for host-gw.
     */
    public synchronized MacAddress vtepMac(NetworkConfig config, MacAddress previous) {
        if (!config.backend().isVxlan()) {
            return null;
        }
        Optional<Link> device = nl.links().find(vxlanDevice(config.backend().vni()));
        if (device.isPresent()
                && "vxlan".equals(device.get().kind())
                && device.get().mac() != null
                && !ZERO_MAC.equals(device.get().mac())) {
            return device.get().mac();
        }
        if (previous != null) {
            return previous;
        }
        return VxlanDevice.derivedMac(publicIp, config.backend().vni());
    }

    /**
     * One full pass: makes the kernel match {@code config} with {@code own} as this node's lease and
     * {@code leases} as every lease (own included, which is skipped as a peer). Creates or repairs
     * the VXLAN device (with {@code own}'s VTEP MAC), programs every peer, removes what belongs to
     * subnets no longer leased, sets the masquerade when {@code ipMasq}, enables IPv4 forwarding and
     * fixes the bridge's address. Keeps going past a failing peer; returns what it changed and
     * every error.
     */
    public synchronized Report reconcile(NetworkConfig config, Lease own, Collection<Lease> leases, boolean ipMasq) {
        Objects.requireNonNull(own, "own lease");
        Pass pass = new Pass();
        pass.attempt("enable IPv4 forwarding", () -> ensureForwarding(pass));

        NetworkConfig.Backend backend = config.backend();
        String device = backend.isVxlan() ? vxlanDevice(backend.vni()) : null;
        boolean deviceReady = device == null
                || pass.attempt(
                        "VXLAN device " + device,
                        () -> VxlanDevice.ensure(
                                nl,
                                pass,
                                device,
                                backend,
                                publicIp,
                                underlay,
                                ownMac(config, own),
                                own.subnet().network().address()));

        // Before the routes: a stale bridge address may hold a kernel route to a subnet that
        // now belongs to a peer, which the peer's route must not fight with.
        pass.attempt(
                "repair the address of bridge " + bridge, () -> repairBridge(pass, config.network(), own.subnet()));

        List<String> planErrors = new ArrayList<>();
        List<IpPrefix> direct = device != null && backend.directRouting() ? connected(planErrors) : List.of();
        List<PeerPlan> plans = PeerPlan.of(config, own, leases, underlay, device, direct, planErrors);
        planErrors.forEach(pass::error);
        syncPeers(pass, plans, device, deviceReady);
        // Only now that the peers' routes point elsewhere (replaced, not removed and re-added), so
        // a change of backend or VNI does not cut the pods off for longer than a route swap.
        pass.attempt("remove VXLAN devices of another backend or VNI", () -> removeVxlanDevices(pass, device));

        if (ipMasq) {
            pass.attempt(
                    "masquerade (nft table inet " + NFT_TABLE + ")",
                    () -> masquerade.ensure(pass, config.network(), own.subnet()));
        } else {
            pass.attempt("remove the masquerade (nft table inet " + NFT_TABLE + ")", () -> masquerade.remove(pass));
        }
        return pass.report();
    }

    /**
     * Programs the peers that just joined ({@code joined}: leases new to the agent) without reading
     * the kernel, for a watch event at thousands of peers, where a full pass (three dumps of every
     * route, neighbour and FDB entry) costs tens of milliseconds and this a few netlink requests:
     * the plan is still made from all of {@code leases}, so a peer is programmed exactly as a full
     * pass would. Its route is added, not replaced, so that it never overwrites one already there.
     *
     * <p>Returns null, having perhaps done part of it, whenever the full pass is the one to run:
     * a lease that cannot be planned (any lease: the full pass reports it), DirectRouting, a joined
     * lease not planned as a peer, a route already there (ours or another's), any failing step.
     * The full pass then finishes or repairs whatever this did.
     */
    public synchronized Report addPeers(
            NetworkConfig config, Lease own, Collection<Lease> leases, Collection<Lease> joined) {
        NetworkConfig.Backend backend = config.backend();
        if (backend.directRouting()) {
            return null;
        }
        String device = backend.isVxlan() ? vxlanDevice(backend.vni()) : null;
        List<String> errors = new ArrayList<>();
        List<PeerPlan> plans = PeerPlan.of(config, own, leases, underlay, device, List.of(), errors);
        if (!errors.isEmpty()) {
            return null;
        }
        Set<IpPrefix> wanted = new HashSet<>();
        for (Lease l : joined) {
            wanted.add(l.subnet().network());
        }
        Pass pass = new Pass();
        int done = 0;
        try {
            for (PeerPlan p : plans) {
                if (!wanted.contains(p.route().destination())) {
                    continue;
                }
                if (p.overlay()) {
                    nl.neighbours().replace(p.route().device(), p.neighbour(), p.mac(), Rtnl.NUD_PERMANENT);
                    pass.changed("ip neigh replace " + p.neighbourArgs());
                    nl.neighbours()
                            .replaceFdb(
                                    p.route().device(), p.mac(), p.fdbDst(), Neighbours.SELF, Neighbours.FDB_PERMANENT);
                    pass.changed("bridge fdb replace " + p.fdbArgs());
                }
                nl.routes().add(p.route());
                pass.routeAdded("ip route add " + p.route().toIpArgs());
                done++;
            }
        } catch (RuntimeException e) {
            return null;
        }
        return done == wanted.size() ? pass.report() : null;
    }

    /** What {@code jcni cluster status} shows for each peer: whether each wanted object is there. */
    public synchronized List<PeerState> inspect(NetworkConfig config, Lease own, Collection<Lease> leases) {
        NetworkConfig.Backend backend = config.backend();
        String device = backend.isVxlan() ? vxlanDevice(backend.vni()) : null;
        List<String> ignored = new ArrayList<>();
        List<IpPrefix> direct = device != null && backend.directRouting() ? connected(ignored) : List.of();
        List<PeerPlan> plans = PeerPlan.of(config, own, leases, underlay, device, direct, ignored);
        Kernel k = Kernel.read(nl, device != null && nl.links().find(device).isPresent() ? device : null);
        List<PeerState> out = new ArrayList<>(plans.size());
        for (PeerPlan p : plans) {
            Route have = k.ours.get(p.route().destination());
            boolean route = have != null && sameRoute(have, p.route());
            if (p.overlay()) {
                out.add(new PeerState(
                        p.peer(),
                        p.route().toIpArgs(),
                        route,
                        p.neighbourArgs(),
                        k.neighbourRight(p),
                        p.fdbArgs(),
                        k.fdbRight(p)));
            } else {
                out.add(new PeerState(p.peer(), p.route().toIpArgs(), route, null, null, null, null));
            }
        }
        return out;
    }

    /**
     * Removes everything this agent made on the node (routes of {@link #ROUTE_PROTOCOL}, the
     * VXLAN device, the nftables table). Used by {@code jcni cluster leave}; missing pieces are fine.
     */
    public synchronized Report teardown() {
        Pass pass = new Pass();
        pass.attempt("remove routes of protocol " + ROUTE_PROTOCOL, () -> {
            for (Route r : nl.routes().list(Rtnl.AF_INET, Rtnl.RT_TABLE_MAIN)) {
                if (r.protocol() == ROUTE_PROTOCOL) {
                    deleteRoute(pass, r);
                }
            }
        });
        pass.attempt("remove VXLAN devices", () -> removeVxlanDevices(pass, null));
        pass.attempt("remove the masquerade (nft table inet " + NFT_TABLE + ")", () -> masquerade.remove(pass));
        return pass.report();
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            nft.close();
        }
    }

    // ---------------------------------------------------------------- steps of a pass

    private void ensureForwarding(Pass pass) {
        if (!"1".equals(Sysctl.read(netns, FORWARDING).trim())) {
            Sysctl.write(netns, FORWARDING, "1", trace);
            pass.changed("sysctl -w " + FORWARDING + "=1");
        }
    }

    private MacAddress ownMac(NetworkConfig config, Lease own) {
        return own.vtepMac() != null ? own.vtepMac() : vtepMac(config, null);
    }

    /** Deletes every VXLAN device named {@code jcni.*} except {@code keep} (null: all of them). */
    private void removeVxlanDevices(Pass pass, String keep) {
        for (Link l : nl.links().list()) {
            if ("vxlan".equals(l.kind())
                    && l.name().startsWith(VXLAN_PREFIX)
                    && !l.name().equals(keep)) {
                if (nl.links().deleteIfExists(l.name())) {
                    pass.changed("ip link del " + l.name());
                }
            }
        }
    }

    /**
     * The pod bridge, if there is one: the own gateway {@code <subnet.network+1>/<len>} on it, and no
     * other address inside the cluster network outside the own subnet (left from a previous subnet).
     */
    private void repairBridge(Pass pass, IpPrefix network, IpPrefix ownSubnet) {
        if (nl.links().find(bridge).isEmpty()) {
            return; // the bridge plugin creates it, with this address, for the first pod
        }
        IpPrefix subnet = ownSubnet.network();
        IpPrefix gateway = new IpPrefix(subnet.address().next(), subnet.length());
        List<Address> addresses = nl.addresses().list(bridge);
        boolean present = false;
        for (Address a : addresses) {
            present |= a.prefix().equals(gateway);
        }
        if (!present) {
            nl.addresses().add(bridge, gateway);
            pass.changed("ip addr add " + gateway + " brd + dev " + bridge);
        }
        for (Address a : addresses) {
            IpPrefix p = a.prefix();
            if (!p.isV4() || p.equals(gateway) || !network.contains(p.address())) {
                continue;
            }
            if (!subnet.contains(p.address()) || p.address().equals(gateway.address())) {
                try {
                    nl.addresses().delete(bridge, p);
                    pass.changed("ip addr del " + p + " dev " + bridge);
                } catch (NoSuchObjectException gone) {
                    // removed with a primary address of its subnet
                }
            }
        }
    }

    /** The underlay's connected IPv4 subnets: peers on them are reached directly under DirectRouting. */
    private List<IpPrefix> connected(List<String> errors) {
        List<IpPrefix> out = new ArrayList<>();
        try {
            for (Address a : nl.addresses().list(underlay)) {
                if (a.prefix().isV4()) {
                    out.add(a.prefix().network());
                }
            }
        } catch (RuntimeException e) {
            errors.add("DirectRouting: addresses of " + underlay + ": " + e.getMessage());
        }
        return out;
    }

    /**
     * Removes what no peer wants (routes, then FDB entries, then neighbours), then programs each
     * peer: neighbour, FDB entry, route, each only when it differs from the kernel's.
     */
    private void syncPeers(Pass pass, List<PeerPlan> plans, String device, boolean deviceReady) {
        Kernel k;
        try {
            k = Kernel.read(nl, device != null && deviceReady ? device : null);
        } catch (RuntimeException e) {
            pass.error("read routes, neighbours and FDB: " + e.getMessage());
            return;
        }
        Map<IpPrefix, PeerPlan> byDestination = new HashMap<>();
        Set<IpAddress> neighbours = new HashSet<>();
        Set<MacAddress> macs = new HashSet<>();
        for (PeerPlan p : plans) {
            byDestination.put(p.route().destination(), p);
            if (p.overlay()) {
                neighbours.add(p.neighbour());
                macs.add(p.mac());
            }
        }

        for (Route r : k.allOurs) {
            if (r.metric() != 0 || !byDestination.containsKey(r.destination())) {
                pass.attempt("remove route " + r.toIpArgs(), () -> deleteRoute(pass, r));
            }
        }
        if (k.device != null) {
            for (FdbEntry e : k.fdb) {
                if (!macs.contains(e.mac()) && e.isPermanent() && !ZERO_MAC.equals(e.mac()) && !e.isMaster()) {
                    String args = e.mac() + " dev " + k.device + (e.dst() == null ? "" : " dst " + e.dst()) + " self";
                    pass.attempt("remove fdb entry " + args, () -> {
                        ownDeletions.neighbour();
                        boolean deleted = false;
                        try {
                            deleted = nl.neighbours().deleteFdbIfExists(k.device, e.mac(), e.dst(), Neighbours.SELF);
                        } finally {
                            if (!deleted) {
                                ownDeletions.neighbourNotDeleted();
                            }
                        }
                        if (deleted) {
                            pass.changed("bridge fdb del " + args);
                        }
                    });
                }
            }
            for (Neighbour n : k.neighbours.values()) {
                if (n.isPermanent() && !neighbours.contains(n.address())) {
                    pass.attempt("remove neighbour " + n.address() + " dev " + k.device, () -> {
                        ownDeletions.neighbour();
                        boolean deleted = false;
                        try {
                            deleted = nl.neighbours().deleteIfExists(k.device, n.address());
                        } finally {
                            if (!deleted) {
                                ownDeletions.neighbourNotDeleted();
                            }
                        }
                        if (deleted) {
                            pass.changed("ip neigh del " + n.address() + " dev " + k.device);
                        }
                    });
                }
            }
        }

        if (!programBatched(pass, k, plans, deviceReady)) {
            programEach(pass, k, plans, deviceReady);
        }
    }

    /**
     * Every peer's missing or wrong entries in one {@link RouteBatch} (a start-up pass at 5000 vxlan
     * peers is 15000 of them); false when the kernel refused any, and then the caller programs
     * peer by peer, which names the failing one. A foreign route in the way is left to that too.
     */
    private boolean programBatched(Pass pass, Kernel k, List<PeerPlan> plans, boolean deviceReady) {
        RouteBatch batch = nl.batch();
        List<String> changes = new ArrayList<>();
        List<String> routes = new ArrayList<>();
        for (PeerPlan p : plans) {
            if (p.overlay()) {
                if (!deviceReady) {
                    continue; // the device's own error says why
                }
                if (!k.neighbourRight(p)) {
                    batch.replaceNeighbour(p.route().device(), p.neighbour(), p.mac(), Rtnl.NUD_PERMANENT);
                    changes.add("ip neigh replace " + p.neighbourArgs());
                }
                if (!k.fdbRight(p)) {
                    batch.replaceFdb(
                            p.route().device(), p.mac(), p.fdbDst(), Neighbours.SELF, Neighbours.FDB_PERMANENT);
                    changes.add("bridge fdb replace " + p.fdbArgs());
                }
            }
            Route want = p.route();
            Route have = k.ours.get(want.destination());
            if (have != null && sameRoute(have, want)) {
                continue;
            }
            if (have == null && k.foreign.containsKey(want.destination())) {
                return false; // the one-by-one pass reports it, and leaves it alone
            }
            batch.replaceRoute(want);
            routes.add("ip route replace " + want.toIpArgs());
        }
        try {
            batch.execute();
        } catch (RuntimeException e) {
            return false;
        }
        changes.forEach(pass::changed);
        routes.forEach(pass::routeAdded);
        return true;
    }

    /** Each peer on its own: neighbour, FDB entry, route, each only when it differs from the kernel's. */
    private void programEach(Pass pass, Kernel k, List<PeerPlan> plans, boolean deviceReady) {
        for (PeerPlan p : plans) {
            if (p.overlay()) {
                if (!deviceReady) {
                    continue; // the device's own error says why
                }
                boolean ok = pass.attempt(() -> peerName(p) + ": neighbour", () -> ensureNeighbour(pass, k, p))
                        && pass.attempt(() -> peerName(p) + ": fdb entry", () -> ensureFdb(pass, k, p));
                if (!ok) {
                    continue; // no route to a VTEP the kernel cannot reach
                }
            }
            pass.attempt(() -> peerName(p) + ": route", () -> ensureRoute(pass, k, p));
        }
    }

    private static String peerName(PeerPlan p) {
        return "peer " + Lease.keyName(p.peer().subnet()) + " (" + p.peer().publicIp() + ")";
    }

    private void ensureNeighbour(Pass pass, Kernel k, PeerPlan p) {
        if (!k.neighbourRight(p)) {
            nl.neighbours().replace(p.route().device(), p.neighbour(), p.mac(), Rtnl.NUD_PERMANENT);
            pass.changed("ip neigh replace " + p.neighbourArgs());
        }
    }

    private void ensureFdb(Pass pass, Kernel k, PeerPlan p) {
        if (!k.fdbRight(p)) {
            nl.neighbours()
                    .replaceFdb(p.route().device(), p.mac(), p.fdbDst(), Neighbours.SELF, Neighbours.FDB_PERMANENT);
            pass.changed("bridge fdb replace " + p.fdbArgs());
        }
        // A unicast MAC has one remote in a VXLAN FDB (the kernel appends only to multicast and
        // all-zero entries): replace moves it to the peer's address, nothing else can linger.
    }

    private void ensureRoute(Pass pass, Kernel k, PeerPlan p) {
        Route want = p.route();
        Route have = k.ours.get(want.destination());
        if (have != null && sameRoute(have, want)) {
            return;
        }
        Route foreign = k.foreign.get(want.destination());
        if (foreign != null && have == null) {
            // Replacing would overwrite a route someone else made: leave it, and say so.
            throw new IllegalStateException("a route to " + want.destination() + " of protocol " + foreign.protocol()
                    + " (not this agent's) is in the way: " + foreign.toIpArgs() + "; left alone");
        }
        nl.routes().replace(want);
        pass.routeAdded("ip route replace " + want.toIpArgs());
    }

    private void deleteRoute(Pass pass, Route r) {
        ownDeletions.route();
        boolean deleted = false;
        try {
            deleted = nl.routes().deleteOfProtocolIfExists(r);
        } finally {
            if (!deleted) {
                ownDeletions.routeNotDeleted();
            }
        }
        if (deleted) {
            pass.routeRemoved("ip route del " + r.toIpArgs());
        }
    }

    /** Whether a route read from the kernel is the wanted one (the listing fills in what was left unset). */
    static boolean sameRoute(Route have, Route want) {
        return have.protocol() == want.protocol()
                && have.metric() == want.metric()
                && Objects.equals(have.gateway(), want.gateway())
                && Objects.equals(have.device(), want.device())
                && have.onlink() == want.onlink()
                && have.type() == Rtnl.RTN_UNICAST
                && have.scope() == Rtnl.RT_SCOPE_UNIVERSE
                && have.source() == null;
    }

    /**
     * The kernel's state a pass compares against, read once: this agent's routes (main table,
     * IPv4), other routes that a peer route would replace, and the VXLAN device's neighbours and
     * FDB entries ({@code device} null when there is no device to read).
     */
    private static final class Kernel {
        final List<Route> allOurs = new ArrayList<>();
        final Map<IpPrefix, Route> ours = new HashMap<>();
        final Map<IpPrefix, Route> foreign = new HashMap<>();
        final Map<IpAddress, Neighbour> neighbours = new HashMap<>();
        final List<FdbEntry> fdb = new ArrayList<>();
        /** {@link #fdb} by MAC: a pass looks up every peer's entry, a scan each would be quadratic in the peers. */
        final Map<MacAddress, List<FdbEntry>> fdbByMac = new HashMap<>();

        final String device;

        private Kernel(String device) {
            this.device = device;
        }

        static Kernel read(RouteNetlink nl, String device) {
            Kernel k = new Kernel(device);
            for (Route r : nl.routes().list(Rtnl.AF_INET, Rtnl.RT_TABLE_MAIN)) {
                if (r.protocol() == ROUTE_PROTOCOL) {
                    k.allOurs.add(r);
                    if (r.metric() == 0) {
                        k.ours.put(r.destination(), r);
                    }
                } else if (r.metric() == 0) {
                    k.foreign.put(r.destination(), r);
                }
            }
            if (device != null) {
                for (Neighbour n : nl.neighbours().list(device)) {
                    if (n.address().isV4()) {
                        k.neighbours.put(n.address(), n);
                    }
                }
                for (FdbEntry e : nl.neighbours().listFdb(device)) {
                    if (!e.isMaster()) {
                        k.fdb.add(e);
                        k.fdbByMac
                                .computeIfAbsent(e.mac(), m -> new ArrayList<>(1))
                                .add(e);
                    }
                }
            }
            return k;
        }

        boolean neighbourRight(PeerPlan p) {
            Neighbour n = device == null ? null : neighbours.get(p.neighbour());
            return n != null && n.isPermanent() && p.mac().equals(n.mac());
        }

        boolean fdbRight(PeerPlan p) {
            if (device == null) {
                return false;
            }
            for (FdbEntry e : fdbByMac.getOrDefault(p.mac(), List.of())) {
                if (p.fdbDst().equals(e.dst()) && e.isPermanent()) {
                    return true;
                }
            }
            return false;
        }
    }

    // ---------------------------------------------------------------- results

    /**
     * What a pass did: each change as the {@code ip}/{@code bridge}/{@code nft} command that makes it,
     * and each error (the pass went on past it); of the changes, how many routes were put in place
     * (new or changed) and how many removed.
     */
    public record Report(List<String> changes, List<String> errors, int routesAdded, int routesRemoved) {
        public boolean changed() {
            return !changes.isEmpty();
        }
    }

    /**
     * One peer on this node: the wanted objects and whether each is present. {@code neighbour} and
     * {@code fdb} are null where the backend has none (host-gw, or a direct route under DirectRouting).
     * Each object is given as the arguments of the command that makes it ({@code ip route replace …},
     * {@code ip neigh replace …}, {@code bridge fdb replace …}).
     */
    public record PeerState(
            Lease peer,
            String route,
            boolean routePresent,
            String neighbour,
            Boolean neighbourPresent,
            String fdb,
            Boolean fdbPresent) {}
}
