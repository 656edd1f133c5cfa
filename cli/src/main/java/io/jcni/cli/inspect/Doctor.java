package io.jcni.cli.inspect;

import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.nft.NftBatch;
import io.jcni.netlink.nft.NftElement;
import io.jcni.netlink.nft.Nftables;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.ns.Sysctl;
import io.jcni.netlink.route.Address;
import io.jcni.netlink.route.Link;
import io.jcni.netlink.route.Route;
import io.jcni.netlink.sys.Fd;
import io.jcni.runtime.CachedAttachment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code jcni doctor}: what is wrong with the node's pod networking, each finding with a
 * severity and a one-line fix, and with {@code --fix} the repairs that are safe — those that put
 * back exactly what jcni's plugins or agent would have made, or remove what provably belongs to
 * no pod — each printed as its equivalent command.
 */
public final class Doctor {
    private Doctor() {}

    /** A reservation younger than this may be an ADD in flight (reserved, not cached yet): host-local's GC waits as long. */
    static final long YOUNG_MS = 2 * 60 * 1000;

    private static final int ROUTE_PROTOCOL = NodeView.AGENT_ROUTE_PROTOCOL;

    /** Every finding on the node, the most severe first. */
    public static List<Finding> check(NodeView v) {
        List<Finding> out = new ArrayList<>();
        CniState cni = v.cni();
        checkForwarding(v, out);
        checkBridges(v, out);
        Set<String> staleOwners = checkStale(v, out);
        for (CachedAttachment a : cni.attachments()) {
            if (!a.netns().isEmpty() && !Files.exists(Path.of(a.netns()))) {
                continue; // reported as stale above
            }
            for (Finding f : PodView.of(v, a).findings()) {
                if (!f.check().equals("netns-missing")) {
                    out.add(f);
                }
            }
        }
        checkVeths(v, out);
        checkNat(v, out, staleOwners);
        checkHostPorts(v, out, staleOwners);
        checkScaffolding(v, out);
        checkCluster(v, out);
        checkPlugins(v, out);
        checkUplinkMtu(v, out);
        for (String e : cni.errors()) {
            out.add(Finding.warning("config-error", "configuration", e, "correct or remove the file"));
        }
        if (v.pluginSocket().present() && !v.pluginSocket().answering()) {
            Services.SocketStatus s = v.pluginSocket();
            out.add(Finding.error(
                    "plugin-socket",
                    s.path().toString(),
                    "the plugins' socket " + s.detail() + ": the installed plugins wait for it before they fall back",
                    "restart jcni daemon (or the agent), or rm " + s.path()));
        }
        out.sort((a, b) -> a.severity().compareTo(b.severity()));
        return out;
    }

    // ------------------------------------------------------------------ forwarding, bridges

    private static void checkForwarding(NodeView v, List<Finding> out) {
        boolean v4 = v.clustered(), v6 = false;
        for (CniState.Network n : v.cni().networks()) {
            if (n.bridgeType() != null && n.isGateway()) {
                for (CniState.Range r : n.ranges()) {
                    v4 |= r.subnet().isV4();
                    v6 |= !r.subnet().isV4();
                }
                if (n.ranges().isEmpty()) {
                    v4 = true; // another IPAM: assume IPv4
                }
            }
        }
        forwarding(v, out, v4, "net.ipv4.ip_forward");
        forwarding(v, out, v6, "net.ipv6.conf.all.forwarding");
    }

    private static void forwarding(NodeView v, List<Finding> out, boolean needed, String key) {
        String value = v.forwarding().get(key);
        if (!needed || value == null || value.equals("1")) {
            return;
        }
        String prefix = v.node().exec();
        out.add(Finding.error(
                        "ip-forward-off",
                        key,
                        key + " is " + value + ": the node does not route its pods' traffic" + " (a gateway bridge"
                                + (v.clustered() ? " and the cluster network need" : " needs") + " it)",
                        prefix + "sysctl -w " + key + "=1")
                .repairedBy(f -> Sysctl.write(f.node().netns(), key, "1", f.trace())));
    }

    private static void checkBridges(NodeView v, List<Finding> out) {
        for (CniState.Network n : v.cni().networks()) {
            if (n.bridgeType() == null) {
                continue;
            }
            NodeView.LinkInfo br = v.link(n.bridge());
            boolean used =
                    v.cni().attachments().stream().anyMatch(a -> a.networkName().equals(n.name()));
            if (br == null) {
                if (used) {
                    out.add(Finding.error(
                            "bridge-missing",
                            n.bridge(),
                            "network " + n.name() + " has attachments but its bridge " + n.bridge() + " does not exist",
                            "recreate the pods of " + n.name() + " (their veths went with it)"));
                }
                continue;
            }
            if (!"bridge".equals(br.link().kind())) {
                out.add(Finding.error(
                        "bridge-kind",
                        n.bridge(),
                        n.bridge() + " is a " + br.link().kind() + ", not a bridge",
                        v.node().ip() + " link del " + n.bridge()));
                continue;
            }
            if (!br.link().isUp()) {
                String name = n.bridge();
                out.add(Finding.error(
                                "bridge-down",
                                name,
                                "bridge " + name + " of network " + n.name() + " is down",
                                v.node().ip() + " link set " + name + " up")
                        .repairedBy(f -> f.node().rt().links().setUp(name)));
            }
            if (!n.isGateway()) {
                continue;
            }
            List<Address> have = v.addressesOf(n.bridge());
            for (CniState.Range r : n.ranges()) {
                if (r.gateway() == null) {
                    continue;
                }
                IpPrefix want = new IpPrefix(r.gateway(), r.subnet().length());
                boolean exact = false;
                Address sameIp = null;
                for (Address a : have) {
                    exact |= a.prefix().equals(want);
                    if (a.prefix().address().equals(r.gateway())) {
                        sameIp = a;
                    }
                }
                String name = n.bridge();
                if (exact) {
                    // right
                } else if (sameIp != null) {
                    out.add(Finding.error(
                            "bridge-address",
                            name,
                            name + " has " + sameIp.prefix() + ", network " + n.name() + " wants " + want,
                            v.node().ip() + " addr del " + sameIp.prefix() + " dev " + name + " && "
                                    + v.node().ip() + " addr add " + want + " dev " + name));
                } else {
                    out.add(Finding.error(
                                    "bridge-address",
                                    name,
                                    name + " lacks the gateway address " + want + " of network " + n.name()
                                            + ": its pods have no gateway",
                                    v.node().ip() + " addr add " + want + " dev " + name)
                            .repairedBy(f -> f.node().rt().addresses().add(name, want)));
                }
                for (Address a : have) {
                    if (r.subnet().contains(a.prefix().address())
                            && !a.prefix().address().equals(r.gateway())) {
                        out.add(Finding.warning(
                                "bridge-address",
                                name,
                                name + " also has " + a.prefix() + " inside " + r.subnet()
                                        + ", which host-local may give to a pod",
                                v.node().ip() + " addr del " + a.prefix() + " dev " + name));
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------ stale attachments and reservations

    /** Reports attachments and reservations whose pod is gone; returns their NAT/portmap owners (removed with them). */
    private static Set<String> checkStale(NodeView v, List<Finding> out) {
        Set<String> owners = new HashSet<>();
        CniState cni = v.cni();
        Set<Owners.Id> cachedIds = new HashSet<>();
        for (CachedAttachment a : cni.attachments()) {
            cachedIds.add(CniState.idOf(a));
            if (a.netns().isEmpty() || Files.exists(Path.of(a.netns()))) {
                continue;
            }
            Owners.Id id = CniState.idOf(a);
            owners.add(id.natComment());
            owners.add(id.portmapComment());
            List<CniState.Reservation> held = cni.allReservations().stream()
                    .filter(r -> r.owner().equals(id))
                    .toList();
            CniState.Network net = cni.network(id.network());
            boolean ours = net == null || jcniChain(net);
            Finding f = Finding.error(
                    "stale-attachment",
                    id.toString(),
                    "pod " + CniState.podName(id.containerId(), a.netns())
                            + " is gone (namespace " + a.netns()
                            + " no longer exists) but its attachment is still cached"
                            + (held.isEmpty()
                                    ? ""
                                    : " and holds "
                                            + String.join(
                                                    ", ",
                                                    held.stream()
                                                            .map(r ->
                                                                    r.address().toString())
                                                            .toList())),
                    ours
                            ? "jcni doctor --fix  (releases its reservations, NAT and host-port elements, cache entry)"
                            : "jcni del " + id.network() + " " + a.netns() + " --container-id " + id.containerId()
                                    + " --ifname " + id.ifname());
            out.add(ours ? f.repairedBy(fx -> release(fx, v, id, held, a.file())) : f);
        }
        Set<Owners.Id> reported = new HashSet<>();
        for (CniState.Reservation r : cni.allReservations()) {
            Owners.Id id = r.owner();
            if (cachedIds.contains(id) || reported.contains(id)) {
                continue;
            }
            boolean netnsAlive = id.containerId().startsWith("jcni-pod-")
                    && Files.exists(Path.of(NetNs.RUN_DIR, id.containerId().substring(9)));
            boolean vethAlive = v.hostVeth(id) != null;
            if (netnsAlive || vethAlive) {
                out.add(Finding.warning(
                        "cache-missing",
                        id.toString(),
                        r.address() + " is reserved for a live pod that the result cache"
                                + " does not list: no runtime will DEL it",
                        "jcni inspect pod " + id.containerId()));
                reported.add(id);
                continue;
            }
            if (r.ageMillis() < YOUNG_MS) {
                continue; // an ADD in flight has reserved but not cached yet
            }
            reported.add(id);
            owners.add(id.natComment());
            owners.add(id.portmapComment());
            List<CniState.Reservation> held = cni.allReservations().stream()
                    .filter(x -> x.owner().equals(id))
                    .toList();
            out.add(Finding.error(
                            "stale-reservation",
                            id.toString(),
                            String.join(
                                            ", ",
                                            held.stream()
                                                    .map(x -> x.address().toString())
                                                    .toList()) + " reserved for container " + id.containerId()
                                    + ", which is gone (no cached attachment,"
                                    + " no namespace, no veth)",
                            "rm "
                                    + String.join(
                                            " ",
                                            held.stream()
                                                    .map(x ->
                                                            Fixer.shell(x.file().toString()))
                                                    .toList()))
                    .repairedBy(fx -> release(fx, v, id, held, null)));
        }
        return owners;
    }

    /** The chain is jcni's plugins' (or reference plugins whose state is in the same files): everything a release removes is known. */
    private static boolean jcniChain(CniState.Network n) {
        for (String t : n.plugins()) {
            if (!t.startsWith("jcni-") && !t.equals("host-local") && !t.equals("loopback")) {
                return false;
            }
        }
        return true;
    }

    /** Releases what a gone pod held: its NAT and host-port elements (by owner), its reservations, its cache entry. */
    private static void release(Fixer f, NodeView v, Owners.Id id, List<CniState.Reservation> held, Path cacheFile)
            throws Exception {
        CniState.Network net = v.cni().network(id.network());
        try (Fd lock = net != null && net.hostLocal() ? Stores.lock(net) : null) {
            deleteElements(
                    f,
                    NftState.MASQ_TABLE,
                    NftState.MASQ_SETS,
                    e -> id.natComment().equals(e.comment()));
        }
        deleteElements(
                f,
                NftState.HOSTPORT_TABLE,
                concat(NftState.PORT_MAPS, NftState.PORT_SETS),
                e -> id.portmapComment().equals(e.comment()));
        for (CniState.Reservation r : held) {
            CniState.Network rn = v.cni().network(r.network());
            if (rn != null) {
                Stores.release(f, rn, r);
            }
        }
        if (cacheFile != null) {
            f.remove(cacheFile);
        }
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    /** Deletes, in one transaction, every element of {@code sets} that {@code doomed} accepts (listed afresh). */
    static void deleteElements(
            Fixer f, String table, List<String> sets, java.util.function.Predicate<NftElement> doomed) {
        Nftables nft = f.node().nft();
        NftBatch b = nft.batch();
        int n = 0;
        for (String set : sets) {
            List<NftElement> els;
            try {
                els = nft.elements(Nftables.INET, table, set);
            } catch (NoSuchObjectException none) {
                continue;
            }
            for (NftElement e : els) {
                if (e.intervalEnd() || !doomed.test(e)) {
                    continue;
                }
                deleteOne(b, table, set, e);
                n++;
            }
        }
        if (n > 0) {
            b.commit();
        }
    }

    private static void deleteOne(NftBatch b, String table, String set, NftElement e) {
        if (e.keyEnd() != null) {
            NftState.MasqElement m = NftState.masqElement(set, e);
            b.deleteRangeElement(Nftables.INET, table, set, e.key(), e.keyEnd(), m.text());
        } else if (table.equals(NftState.MASQ_TABLE)) {
            b.deleteElement(
                    Nftables.INET, table, set, e.key(), IpAddress.of(e.key()).toString());
        } else {
            b.deleteElement(Nftables.INET, table, set, e.key(), keyText(set, e.key()));
        }
    }

    /** nft's text for a key of one of portmap's maps or sets. */
    static String keyText(String set, byte[] key) {
        io.jcni.netlink.nft.SetKeyType t = switch (set) {
            case "ports4", "ports6" -> io.jcni.netlink.nft.SetKeyType.INET_PROTO_INET_SERVICE;
            case "hostip4" -> io.jcni.netlink.nft.SetKeyType.IPV4_ADDR_INET_PROTO_INET_SERVICE;
            case "hostip6" -> io.jcni.netlink.nft.SetKeyType.IPV6_ADDR_INET_PROTO_INET_SERVICE;
            case "masq4" -> io.jcni.netlink.nft.SetKeyType.IPV4_ADDR_IPV4_ADDR;
            case "masq6" -> io.jcni.netlink.nft.SetKeyType.IPV6_ADDR_IPV6_ADDR;
            case "masqall4" -> io.jcni.netlink.nft.SetKeyType.IPV4_ADDR;
            default -> io.jcni.netlink.nft.SetKeyType.IPV6_ADDR;
        };
        return t.format(key);
    }

    // ------------------------------------------------------------------ veths, NAT, host ports, scaffolding

    private static void checkVeths(NodeView v, List<Finding> out) {
        CniState cni = v.cni();
        Set<String> aliases = new HashSet<>();
        for (CachedAttachment a : cni.attachments()) {
            aliases.add(Owners.alias(a.networkName(), a.containerId(), a.ifName()));
        }
        for (CniState.Reservation r : cni.allReservations()) {
            aliases.add(r.owner().alias());
        }
        Set<String> bridges = new HashSet<>();
        for (CniState.Network n : cni.networks()) {
            if (n.bridge() != null) {
                bridges.add(n.bridge());
            }
        }
        for (NodeView.LinkInfo li : v.links()) {
            Link l = li.link();
            if (!"veth".equals(l.kind())) {
                continue;
            }
            String name = l.name();
            if (l.alias() != null && l.alias().startsWith("jcni ")) {
                if (aliases.contains(l.alias())) {
                    continue;
                }
                String alias = l.alias();
                String where = li.peer() == null || li.peer().netns() == null
                        ? ""
                        : " (its other end is in " + li.peer().netns() + ")";
                out.add(Finding.warning(
                                "orphan-veth",
                                name,
                                "veth " + name + " is tagged '" + alias + "' but that attachment is"
                                        + " neither cached nor reserved: it belongs to no pod" + where,
                                v.node().ip() + " link del " + name)
                        .repairedBy(f -> {
                            Link now = f.node().rt().links().find(name).orElse(null);
                            if (now != null && alias.equals(now.alias())) {
                                f.node().rt().links().delete(name);
                            }
                        }));
            } else if (li.master() != null
                    && bridges.contains(li.master())
                    && (li.peer() == null || li.peer().attachment() == null)) {
                out.add(Finding.warning(
                        "untracked-veth",
                        name,
                        "veth " + name + " on bridge " + li.master() + " belongs to no known" + " attachment"
                                + (li.peer() != null && li.peer().netns() != null
                                        ? " (its other end is in " + li.peer().netns() + ")"
                                        : ""),
                        v.node().ip() + " link del " + name + "  (if it is no one's)"));
            }
        }
    }

    /** Which (address, comment) pairs are some live attachment's: every reservation, and the addresses of cached attachments. */
    private static Set<String> validNat(CniState cni) {
        Set<String> valid = new HashSet<>();
        for (CniState.Reservation r : cni.allReservations()) {
            valid.add(r.address() + " " + r.owner().natComment());
        }
        for (CachedAttachment a : cni.attachments()) {
            for (IpPrefix ip : CniState.cachedAddresses(a)) {
                CniState.Network n = cni.network(a.networkName());
                if (n == null || !n.hostLocal() || n.rangeOf(ip.address()) == null) {
                    valid.add(ip.address() + " "
                            + CniState.idOf(a).natComment()); // no store to ask: the cache is the record
                }
            }
        }
        return valid;
    }

    private static void checkNat(NodeView v, List<Finding> out, Set<String> staleOwners) {
        CniState cni = v.cni();
        Set<String> valid = validNat(cni);
        Map<String, CniState.Network> tags = new java.util.HashMap<>();
        for (CniState.Network n : cni.networks()) {
            tags.put(Owners.natNetworkTag(n.name()), n);
        }
        for (NftState.MasqElement m : v.nft().masq()) {
            if (m.owner() != null && staleOwners.contains(m.owner())) {
                continue;
            }
            if (m.owner() != null && valid.contains(m.address() + " " + m.owner())) {
                continue;
            }
            String cmd = v.node().exec() + "nft 'delete element inet " + NftState.MASQ_TABLE + " " + m.set() + " { "
                    + m.text() + " }'";
            CniState.Network net = tags.get(Owners.networkTagOf(m.owner()));
            if (net == null) {
                out.add(Finding.info(
                        "foreign-nat",
                        m.set() + " " + m.text(),
                        "nft set inet jcni " + m.set() + " has " + m.text() + " for "
                                + (m.owner() == null ? "no owner" : m.owner()) + ", a network not configured here",
                        cmd));
                continue;
            }
            String set = m.set();
            NftElement raw = m.raw();
            String owner = m.owner();
            out.add(Finding.error(
                            "stale-nat",
                            set + " " + m.text(),
                            "nft set inet jcni " + set + " masquerades " + m.text() + " for " + owner
                                    + ", which holds no such address",
                            cmd)
                    .repairedBy(f -> {
                        try (Fd lock = net.hostLocal() ? Stores.lock(net) : null) {
                            // under the store's lock: an ADD of this address cannot be half-way now
                            if (!validNat(CniState.load(
                                            cni.netconf(), cni.cache().dir()))
                                    .contains(m.address() + " " + owner)) {
                                deleteElements(
                                        f,
                                        NftState.MASQ_TABLE,
                                        List.of(set),
                                        e -> java.util.Arrays.equals(e.key(), raw.key())
                                                && java.util.Objects.equals(e.comment(), owner));
                            }
                        }
                    }));
        }
    }

    private static void checkHostPorts(NodeView v, List<Finding> out, Set<String> staleOwners) {
        CniState cni = v.cni();
        Set<String> valid = new HashSet<>();
        for (CachedAttachment a : cni.attachments()) {
            valid.add(CniState.idOf(a).portmapComment());
        }
        for (CniState.Reservation r : cni.allReservations()) {
            valid.add(r.owner().portmapComment());
        }
        Set<String> tags = new HashSet<>();
        for (CniState.Network n : cni.networks()) {
            tags.add(Owners.portmapNetworkTag(n.name()));
        }
        List<Object[]> elements = new ArrayList<>(); // {set, text, owner, raw}
        for (NftState.Mapping m : v.nft().mappings()) {
            elements.add(new Object[] {m.set(), keyText(m.set(), m.raw().key()), m.owner(), m.raw(), m.text()});
        }
        for (NftState.PortMasq m : v.nft().portMasq()) {
            elements.add(new Object[] {m.set(), m.text(), m.owner(), m.raw(), "masquerade " + m.text()});
        }
        for (Object[] e : elements) {
            String set = (String) e[0], key = (String) e[1], owner = (String) e[2], what = (String) e[4];
            NftElement raw = (NftElement) e[3];
            if (owner != null && (valid.contains(owner) || staleOwners.contains(owner))) {
                continue;
            }
            String cmd = v.node().exec() + "nft 'delete element inet " + NftState.HOSTPORT_TABLE + " " + set + " { "
                    + key + " }'";
            if (owner == null || !tags.contains(Owners.networkTagOf(owner))) {
                out.add(Finding.info(
                        "foreign-hostport",
                        set + " " + key,
                        what + " belongs to " + (owner == null ? "no owner" : owner)
                                + ", a network not configured here",
                        cmd));
                continue;
            }
            out.add(Finding.error(
                            "stale-hostport",
                            set + " " + key,
                            "host port " + what + " is kept for " + owner + ", which is no attachment on this node",
                            cmd)
                    .repairedBy(f -> deleteElements(
                            f,
                            NftState.HOSTPORT_TABLE,
                            List.of(set),
                            x -> java.util.Arrays.equals(x.key(), raw.key())
                                    && java.util.Objects.equals(x.comment(), owner))));
        }
    }

    private static void checkScaffolding(NodeView v, List<Finding> out) {
        if (!v.cni().attachments().isEmpty()) {
            return;
        }
        for (NftState.Table t : v.nft().tables()) {
            if (t.name().equals(NftState.CLUSTER_TABLE) || t.elements() > 0) {
                continue;
            }
            out.add(Finding.info(
                    "empty-scaffolding",
                    t.text(),
                    "nft table " + t.text() + " holds no element and no pod is attached:"
                            + " left from pods that are gone (the next ADD makes it again)",
                    v.node().exec() + "nft delete table " + t.text()));
        }
        for (CniState.Network n : v.cni().networks()) {
            NodeView.LinkInfo br = n.bridge() == null ? null : v.link(n.bridge());
            if (br == null) {
                continue;
            }
            boolean ports = v.links().stream().anyMatch(l -> n.bridge().equals(l.master()));
            if (!ports) {
                out.add(Finding.info(
                        "idle-bridge",
                        n.bridge(),
                        "bridge " + n.bridge() + " of network " + n.name()
                                + " has no ports and no attachments (the plugins leave it, as the reference does)",
                        v.node().ip() + " link del " + n.bridge()));
            }
        }
    }

    // ------------------------------------------------------------------ cluster, plugins, MTU

    private static void checkCluster(NodeView v, List<Finding> out) {
        if (!v.clustered()) {
            return;
        }
        if (v.agents().isEmpty()) {
            out.add(Finding.warning(
                    "agent-not-running",
                    v.subnetFile().toString(),
                    "this node was joined to a cluster network ("
                            + (v.subnetEnv().isEmpty() ? "routes of proto 215" : v.subnetFile())
                            + ") but no jcni agent runs here: routes to"
                            + " nodes that join or leave are not updated",
                    "start the agent (jcni agent …, its systemd unit or DaemonSet)"));
        }
        for (NodeView.ClusterPeer p : v.peers()) {
            if (!p.route()) {
                if (p.subnet() == null || p.dev() == null) {
                    out.add(Finding.error(
                            "peer-route-missing",
                            String.valueOf(p.via()),
                            "a peer's VTEP " + p.via() + " is known (neighbour "
                                    + p.vtepMac()
                                    + ") but there is no route to its subnet, and its length is unknown (no JCNI_SUBNET in "
                                    + v.subnetFile() + ")",
                            "restart the agent"));
                    continue;
                }
                Route r = Route.to(p.subnet())
                        .via(p.via())
                        .dev(p.dev())
                        .withOnlink()
                        .protocol(ROUTE_PROTOCOL);
                out.add(Finding.error(
                                "peer-route-missing",
                                p.subnet().toString(),
                                "no route to peer subnet " + p.subnet()
                                        + " although its VTEP " + p.via() + " (" + p.vtepMac() + ") is programmed on "
                                        + p.dev()
                                        + ": pods here cannot reach its pods",
                                v.node().ip() + " route replace " + r.toIpArgs())
                        .repairedBy(f -> f.node().rt().routes().replace(r)));
            } else if (p.dev() != null && p.dev().startsWith("jcni.")) {
                if (p.vtepMac() == null) {
                    out.add(Finding.error(
                            "peer-neighbour-missing",
                            p.subnet().toString(),
                            "the route to " + p.subnet() + " goes via " + p.via() + " on " + p.dev()
                                    + ", which has no neighbour entry: packets wait for an ARP reply no one sends",
                            "restart the agent (it knows the peer's VTEP MAC)"));
                } else if (p.remote() == null) {
                    out.add(Finding.error(
                            "peer-fdb-missing",
                            p.subnet().toString(),
                            p.dev() + " has no FDB entry for " + p.vtepMac() + " (peer " + p.subnet()
                                    + "): its packets are not encapsulated to the peer",
                            "restart the agent"));
                }
            }
        }
    }

    private static void checkPlugins(NodeView v, List<Finding> out) {
        List<String> path = v.sources().cniPath();
        for (CniState.Network n : v.cni().networks()) {
            List<String> needed = new ArrayList<>(n.plugins());
            if (n.ipamType() != null
                    && !(n.jcniBridge()
                            && ("host-local".equals(n.ipamType()) || "jcni-host-local".equals(n.ipamType())))) {
                needed.add(n.ipamType()); // executed by the bridge (jcni's runs host-local in-process)
            }
            for (String type : new java.util.LinkedHashSet<>(needed)) {
                boolean found = false;
                for (String dir : path) {
                    found |= !dir.isEmpty() && Files.isRegularFile(Path.of(dir, type));
                }
                if (!found) {
                    String dir = path.isEmpty() ? "/opt/cni/bin" : path.get(0);
                    out.add(Finding.error(
                            "missing-plugin",
                            n.name() + " " + type,
                            "network " + n.name() + " (" + n.file() + ") needs plugin " + type
                                    + ", which is in none of " + path + ": every ADD of it fails",
                            type.startsWith("jcni-")
                                    ? "jcni install --dir " + dir
                                    : "install the " + type + " plugin into " + dir));
                }
            }
        }
    }

    private static void checkUplinkMtu(NodeView v, List<Finding> out) {
        NodeView.Uplink u = v.uplink();
        if (u == null || u.mtu() == 0) {
            return;
        }
        int vxlanMtu = 0;
        String vxlan = null;
        for (NodeView.LinkInfo l : v.links()) {
            if (NodeView.isVxlanDevice(l.link())) {
                vxlanMtu = l.link().mtu();
                vxlan = l.name();
            }
        }
        for (CniState.Network n : v.cni().networks()) {
            NodeView.LinkInfo br = n.bridge() == null ? null : v.link(n.bridge());
            if (br == null) {
                continue;
            }
            int pods = n.mtu() > 0 ? n.mtu() : br.link().mtu();
            if (vxlan != null && pods > vxlanMtu) {
                out.add(Finding.error(
                        "mtu-mismatch",
                        n.bridge(),
                        "pods of " + n.name() + " send up to " + pods + " bytes but " + vxlan
                                + " carries " + vxlanMtu + " (the underlay's " + u.mtu()
                                + " minus the VXLAN headers): large packets to other"
                                + " nodes are dropped",
                        "set \"mtu\": " + vxlanMtu + " in " + n.file() + " and recreate the pods"));
            } else if (pods > u.mtu() && (n.ipMasq() || v.clustered())) {
                out.add(Finding.warning(
                        "mtu-mismatch",
                        n.bridge(),
                        "pods of " + n.name() + " send up to " + pods + " bytes, the uplink " + u.name() + " carries "
                                + u.mtu(),
                        "set \"mtu\": " + u.mtu() + " in " + n.file() + " and recreate the pods"));
            }
            if (n.mtu() > 0
                    && br.link().mtu() != n.mtu()
                    && v.links().stream().noneMatch(l -> n.bridge().equals(l.master()))) {
                out.add(Finding.warning(
                        "mtu-mismatch",
                        n.bridge(),
                        "bridge " + n.bridge() + " has MTU " + br.link().mtu() + ", network " + n.name() + " says "
                                + n.mtu(),
                        v.node().ip() + " link set " + n.bridge() + " mtu " + n.mtu()));
            }
        }
    }

    // ------------------------------------------------------------------ fixing

    /** One applied repair: the finding, the commands it made, and its error if it failed. */
    public record Applied(Finding finding, List<String> commands, String error) {}

    /** What {@link #fix} did: the findings before, the repairs applied, what is left. */
    public record Outcome(List<Finding> before, List<Applied> applied, List<Finding> left) {}

    /**
     * Finds, repairs what is safe, and checks again, a few rounds (a repair can uncover the next
     * thing, e.g. elements of a reservation just released), until nothing repairable is left or a
     * round repairs nothing.
     */
    public static Outcome fix(Sources sources) {
        List<Finding> before = null;
        List<Applied> applied = new ArrayList<>();
        Set<String> failed = new HashSet<>();
        for (int round = 0; round < 4; round++) {
            List<Finding> found;
            try (NodeHandle h = NodeHandle.open(sources.netns(), Trace.OFF)) {
                found = check(NodeView.read(h, sources));
            }
            if (before == null) {
                before = found;
            }
            List<Finding> todo = found.stream()
                    .filter(f -> f.repair() != null && !failed.contains(key(f)))
                    .toList();
            if (todo.isEmpty()) {
                break;
            }
            List<String> commands = new ArrayList<>();
            try (NodeHandle h = NodeHandle.open(sources.netns(), commands::add)) {
                Fixer fixer = new Fixer(h, h.trace());
                for (Finding f : todo) {
                    commands.clear();
                    String error = null;
                    try {
                        f.repair().apply(fixer);
                    } catch (Exception | Error e) {
                        error = e.getMessage() == null ? e.toString() : e.getMessage();
                        failed.add(key(f));
                    }
                    applied.add(new Applied(f, List.copyOf(commands), error));
                }
            }
        }
        List<Finding> left;
        try (NodeHandle h = NodeHandle.open(sources.netns(), Trace.OFF)) {
            left = check(NodeView.read(h, sources));
        }
        return new Outcome(before, applied, left);
    }

    private static String key(Finding f) {
        return f.check() + " " + f.subject() + " " + f.message();
    }
}
