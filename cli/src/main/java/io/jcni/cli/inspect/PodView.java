package io.jcni.cli.inspect;

import io.jcni.netlink.diag.NetnsIds;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ip.MacAddress;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.route.Address;
import io.jcni.netlink.route.Link;
import io.jcni.netlink.route.Route;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.netlink.route.Rtnl;
import io.jcni.runtime.CachedAttachment;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One pod's attachment to one network, every place it leaves a trace put side by side: the
 * result cache (what the runtime was told), the pod's namespace (what the pod has), the host veth
 * and bridge, the IPAM reservation, the masquerade and host-port elements — and each disagreement
 * between them as a {@link Finding}.
 */
public final class PodView {
    private final NodeView node;
    private final String pod;
    private final Owners.Id id;
    private final CachedAttachment cached;
    private final CniState.Network network;
    private final String netns;
    private final boolean netnsExists;
    private final List<Link> links = new ArrayList<>();
    private final List<Address> addresses = new ArrayList<>();
    private final List<Route> routes = new ArrayList<>();
    private NodeView.LinkInfo hostVeth;
    private final List<CniState.Reservation> reservations = new ArrayList<>();
    private final List<NftState.MasqElement> masq = new ArrayList<>();
    private final List<NftState.Mapping> mappings = new ArrayList<>();
    private final List<NftState.PortMasq> portMasq = new ArrayList<>();
    private final List<Finding> findings = new ArrayList<>();

    private PodView(NodeView node, Owners.Id id, CachedAttachment cached, String netns) {
        this.node = node;
        this.id = id;
        this.cached = cached;
        this.network = id == null ? null : node.cni().network(id.network());
        this.netns = netns == null || netns.isEmpty() ? null : netns;
        this.netnsExists = this.netns != null && Files.exists(Path.of(this.netns));
        this.pod = CniState.podName(id == null ? "" : id.containerId(), this.netns);
        if (netnsExists) {
            readNetns();
        }
        if (id != null) {
            hostVeth = node.hostVeth(id);
            if (hostVeth == null) {
                hostVeth = byPeerIndex();
            }
            for (CniState.Reservation r : node.cni().allReservations()) {
                if (r.owner().equals(id)) {
                    reservations.add(r);
                }
            }
            String nat = id.natComment();
            for (NftState.MasqElement m : node.nft().masq()) {
                if (nat.equals(m.owner())) {
                    masq.add(m);
                }
            }
            String pm = id.portmapComment();
            for (NftState.Mapping m : node.nft().mappings()) {
                if (pm.equals(m.owner())) {
                    mappings.add(m);
                }
            }
            for (NftState.PortMasq m : node.nft().portMasq()) {
                if (pm.equals(m.owner())) {
                    portMasq.add(m);
                }
            }
        }
        check();
    }

    /**
     * The pods {@code arg} names: a namespace path, a container ID, or a pod name (the name given to
     * {@code jcni pod create}, or the name of a namespace under /run/netns). One view per
     * attachment; a reservation or a namespace that the cache does not know gets a view of its own.
     */
    public static List<PodView> find(NodeView node, String arg) {
        CniState cni = node.cni();
        Set<Owners.Id> ids = new LinkedHashSet<>();
        String path = arg.indexOf('/') >= 0
                ? Path.of(arg).toAbsolutePath().normalize().toString()
                : null;
        for (CachedAttachment a : cni.attachments()) {
            boolean match = path != null
                    ? samePath(a.netns(), path)
                    : a.containerId().equals(arg)
                            || a.containerId().equals("jcni-pod-" + arg)
                            || a.netns().equals(NetNs.RUN_DIR + "/" + arg);
            if (match) {
                ids.add(CniState.idOf(a));
            }
        }
        List<PodView> out = new ArrayList<>();
        for (Owners.Id id : ids) {
            CachedAttachment a = cni.attachment(id);
            out.add(new PodView(node, id, a, a.netns()));
        }
        if (out.isEmpty() && path == null) {
            Set<Owners.Id> reserved = new LinkedHashSet<>();
            for (CniState.Reservation r : cni.allReservations()) {
                if (r.containerId().equals(arg) || r.containerId().equals("jcni-pod-" + arg)) {
                    reserved.add(r.owner());
                }
            }
            for (Owners.Id id : reserved) {
                String ns = NetNs.RUN_DIR + "/"
                        + (id.containerId().startsWith("jcni-pod-")
                                ? id.containerId().substring(9)
                                : arg);
                out.add(new PodView(node, id, null, Files.exists(Path.of(ns)) ? ns : null));
            }
        }
        if (out.isEmpty()) {
            String ns = path != null ? path : NetNs.RUN_DIR + "/" + arg;
            if (Files.exists(Path.of(ns))) {
                out.add(new PodView(node, null, null, ns));
            }
        }
        return out;
    }

    /** A view of a cached attachment (for doctor). */
    static PodView of(NodeView node, CachedAttachment a) {
        return new PodView(node, CniState.idOf(a), a, a.netns());
    }

    private static boolean samePath(String a, String b) {
        if (a.isEmpty()) {
            return false;
        }
        if (a.equals(b)) {
            return true;
        }
        try {
            return Files.isSameFile(Path.of(a), Path.of(b));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private void readNetns() {
        try (NetNs ns = NetNs.open(netns);
                RouteNetlink in = RouteNetlink.open(ns, io.jcni.netlink.Trace.OFF)) {
            links.addAll(in.links().list());
            addresses.addAll(in.addresses().list(null));
            for (int family : new int[] {Rtnl.AF_INET, Rtnl.AF_INET6}) {
                for (Route r : in.routes().list(family, Rtnl.RT_TABLE_MAIN)) {
                    if (r.type() == Rtnl.RTN_UNICAST) {
                        routes.add(r);
                    }
                }
            }
        } catch (RuntimeException e) {
            findings.add(Finding.error(
                    "netns-unreadable", netns, "cannot read the namespace: " + e.getMessage(), fixRecreate()));
        }
    }

    /** The host end found through the pod interface's peer index, when the pod's link points at the node's namespace. */
    private NodeView.LinkInfo byPeerIndex() {
        Link iface = podInterface();
        if (iface == null || iface.peerIndex() == 0 || iface.linkNetnsId() < 0) {
            return null;
        }
        try (NetNs ns = NetNs.open(netns);
                NetnsIds ids = NetnsIds.from(ns)) {
            NetNs nodeNs = node.node().netns();
            int nodeId;
            if (nodeNs == null) {
                try (NetNs self = NetNs.current()) {
                    nodeId = ids.idOf(self);
                }
            } else {
                nodeId = ids.idOf(nodeNs);
            }
            if (nodeId != iface.linkNetnsId()) {
                return null; // the other end is somewhere else
            }
        } catch (RuntimeException e) {
            return null;
        }
        NodeView.LinkInfo l = node.link(iface.peerIndex());
        return l != null && "veth".equals(l.link().kind()) ? l : null;
    }

    /** The attachment's interface inside the pod, or null. */
    public Link podInterface() {
        if (id == null) {
            return null;
        }
        for (Link l : links) {
            if (l.name().equals(id.ifname())) {
                return l;
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ checks

    /**
     * A pod made by {@code jcni pod create}: this command line is its runtime, so it may run the
     * attachment's DEL and ADD again itself (a container runtime's pods are left to their runtime).
     */
    private boolean ownPod() {
        return id != null && cached != null && id.containerId().startsWith("jcni-pod-") && netnsExists;
    }

    /** The addresses the re-ADD asks host-local for (CNI_ARGS IP), so the pod keeps its own. */
    private String readdArgs() {
        List<String> ips = new ArrayList<>();
        for (IpPrefix ip : CniState.cachedAddresses(cached)) {
            ips.add(ip.address().toString());
        }
        List<String> args = new ArrayList<>();
        for (Map.Entry<String, String> e : cached.cniArgs()) {
            if (!e.getKey().equals("IP")
                    && !e.getKey().equals("MAC")
                    && !e.getKey().equals("IgnoreUnknown")) {
                args.add(e.getKey() + "=" + e.getValue());
            }
        }
        args.add("IgnoreUnknown=1");
        if (!ips.isEmpty()) {
            args.add("IP=" + String.join(",", ips));
        }
        String mac = cachedMac();
        if (mac != null) {
            args.add("MAC=" + mac);
        }
        return String.join(";", args);
    }

    /** The two jcni commands the re-ADD is, run in the node's namespace. */
    private List<String> readdCommands() {
        String common = id.network() + " " + netns + " --container-id " + Fixer.shell(id.containerId()) + " --ifname "
                + id.ifname();
        String cap = cached.capabilityArgs().isEmpty()
                ? ""
                : " --cap " + Fixer.shell(io.jcni.cni.json.Json.write(cached.capabilityArgs()));
        String where = node.node().exec();
        return List.of(
                where + "jcni del " + common,
                where + "jcni add " + common + " --args " + Fixer.shell(readdArgs()) + cap);
    }

    /** DEL and ADD again, from the node's namespace (the plugins work in the namespace they run in), asking for the same addresses. */
    private void readd(Fixer f) throws Exception {
        Sources src = node.sources();
        io.jcni.runtime.NetworkConfigList net;
        try {
            net = io.jcni.runtime.CniRuntime.loadNetwork(src.netconf(), id.network());
        } catch (io.jcni.runtime.ConfException gone) {
            net = io.jcni.runtime.ConfLoader.parseList(
                    cached.config(), cached.file().toString()); // as cached at ADD
        }
        io.jcni.runtime.CniRuntime cni = io.jcni.runtime.CniRuntime.builder()
                .cniPath(src.cniPath())
                .cacheDir(src.cacheDir())
                .build();
        io.jcni.runtime.RuntimeConf rt = cached.runtimeConf();
        io.jcni.runtime.RuntimeConf again = new io.jcni.runtime.RuntimeConf(
                rt.containerId(),
                rt.netns(),
                rt.ifName(),
                io.jcni.runtime.RuntimeConf.parseArgs(readdArgs()),
                rt.capabilityArgs());
        List<String> commands = readdCommands();
        io.jcni.runtime.NetworkConfigList list = net;
        f.node().run(() -> {
            try {
                f.trace().command(commands.get(0));
                cni.del(list, rt);
                f.trace().command(commands.get(1));
                cni.add(list, again);
                return null;
            } catch (io.jcni.cni.CniError e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
        });
    }

    private String fixRecreate() {
        if (id == null) {
            return "";
        }
        if (ownPod()) {
            return String.join(" && ", readdCommands());
        }
        if (id.containerId().startsWith("jcni-pod-")) {
            String name = id.containerId().substring(9);
            return "jcni pod delete " + name + " --network " + id.network() + " && jcni pod create " + name
                    + " --network " + id.network();
        }
        return "jcni del " + id.network() + " " + (netns == null ? "''" : netns) + " --container-id " + id.containerId()
                + " --ifname " + id.ifname() + "  (then let the runtime ADD it again)";
    }

    private void check() {
        String subject = id == null ? netns : id.toString();
        if (id == null) {
            findings.add(Finding.warning(
                    "not-in-cache",
                    subject,
                    "the namespace exists but no cached attachment or reservation names it",
                    "jcni pod list; ls " + node.cni().cache().resultsDir()));
            return;
        }
        if (cached == null) {
            findings.add(Finding.warning(
                    "cache-missing",
                    subject,
                    "reserved in the IPAM store but not in the result cache: no runtime" + " will DEL it",
                    "rm "
                            + String.join(
                                    " ",
                                    reservations.stream()
                                            .map(r -> r.file().toString())
                                            .toList())));
        }
        if (network == null) {
            findings.add(Finding.warning(
                    "network-missing",
                    subject,
                    "network " + id.network() + " is not in " + node.cni().netconf()
                            + ": a DEL can only use the configuration cached at ADD",
                    "jcni networks"));
        }
        if (netns == null) {
            if (cached != null) {
                findings.add(Finding.info(
                        "netns-unknown", subject, "the cache records no namespace for this attachment", ""));
            }
        } else if (!netnsExists) {
            findings.add(Finding.error(
                    "netns-missing",
                    subject,
                    "namespace " + netns + " is gone, its attachment is still "
                            + (cached != null ? "cached" : "reserved"),
                    fixRecreate().isEmpty() ? "" : "jcni doctor --fix"));
            return;
        }
        Link iface = podInterface();
        List<IpPrefix> cachedIps = cached == null ? List.of() : CniState.cachedAddresses(cached);
        if (netnsExists) {
            if (iface == null) {
                Finding missing =
                        Finding.error("interface-missing", subject, id.ifname() + " is not in " + netns, fixRecreate());
                findings.add(ownPod() ? missing.repairedBy(this::readd) : missing);
            } else {
                List<IpPrefix> have = new ArrayList<>();
                for (Address a : addresses) {
                    if (a.linkIndex() == iface.index()) {
                        have.add(a.prefix());
                    }
                }
                for (IpPrefix ip : cachedIps) {
                    if (!have.contains(ip)) {
                        findings.add(Finding.error(
                                "ip-missing",
                                subject,
                                "address " + ip + " is in the cache but not on " + id.ifname() + " in " + netns,
                                fixRecreate()));
                    }
                }
                for (Address a : addresses) {
                    if (a.linkIndex() == iface.index()
                            && a.scope() == Rtnl.RT_SCOPE_UNIVERSE
                            && cached != null
                            && !cachedIps.contains(a.prefix())) {
                        findings.add(Finding.warning(
                                "ip-not-in-cache",
                                subject,
                                id.ifname() + " has " + a.prefix() + ", which the cached result does not list",
                                ip(netns) + " addr del " + a.prefix() + " dev " + id.ifname()));
                    }
                }
                String mac = cachedMac();
                if (mac != null && iface.mac() != null && !MacAddress.parse(mac).equals(iface.mac())) {
                    findings.add(Finding.warning(
                            "mac-mismatch",
                            subject,
                            id.ifname() + " has MAC " + iface.mac() + ", the cache says " + mac,
                            fixRecreate()));
                }
                if (!iface.isUp()) {
                    String cmd = ip(netns) + " link set " + id.ifname() + " up";
                    String ns = netns;
                    String ifn = id.ifname();
                    findings.add(Finding.error("interface-down", subject, id.ifname() + " is down in " + netns, cmd)
                            .repairedBy(f -> {
                                try (NetNs n = NetNs.open(ns);
                                        RouteNetlink in = f.in(n)) {
                                    in.links().setUp(ifn);
                                }
                            }));
                }
                for (IpPrefix dst : cachedRoutes()) {
                    boolean found = false;
                    for (Route r : routes) {
                        found |= r.destination().network().equals(dst.network());
                    }
                    if (!found) {
                        findings.add(Finding.warning(
                                "route-missing",
                                subject,
                                "route to " + dst + " is in the cache but not in " + netns,
                                fixRecreate()));
                    }
                }
            }
        }
        checkHostSide(subject, iface);
        checkIpam(subject, cachedIps);
        checkNat(subject, cachedIps);
        checkHostPorts(subject, cachedIps);
    }

    private void checkHostSide(String subject, Link iface) {
        if (network == null || network.bridgeType() == null || !netnsExists || iface == null) {
            return;
        }
        NodeView.LinkInfo bridge = node.link(network.bridge());
        if (bridge == null) {
            findings.add(Finding.error(
                    "bridge-missing", subject, "bridge " + network.bridge() + " does not exist", fixRecreate()));
        }
        if (hostVeth == null) {
            findings.add(Finding.error(
                    "host-veth-missing",
                    subject,
                    "no host veth of " + id.ifname() + " in the node's namespace"
                            + (network.jcniBridge() ? " (none tagged '" + id.alias() + "')" : ""),
                    fixRecreate()));
            return;
        }
        String veth = hostVeth.name();
        if (bridge != null && !network.bridge().equals(hostVeth.master())) {
            String br = network.bridge();
            findings.add(Finding.error(
                            "veth-not-on-bridge",
                            subject,
                            "host veth " + veth + " is "
                                    + (hostVeth.master() == null ? "on no bridge" : "on " + hostVeth.master())
                                    + ", not on " + br,
                            node.node().ip() + " link set " + veth + " master " + br)
                    .repairedBy(f -> f.node().rt().links().setMaster(veth, br)));
        }
        if (!hostVeth.link().isUp()) {
            findings.add(Finding.error(
                            "veth-down",
                            subject,
                            "host veth " + veth + " is down",
                            node.node().ip() + " link set " + veth + " up")
                    .repairedBy(f -> f.node().rt().links().setUp(veth)));
        }
        if (network.jcniBridge() && !id.alias().equals(hostVeth.link().alias())) {
            String alias = id.alias();
            findings.add(Finding.warning(
                            "veth-untagged",
                            subject,
                            "host veth " + veth + " is not tagged with its attachment"
                                    + " (alias "
                                    + (hostVeth.link().alias() == null
                                            ? "none"
                                            : "'" + hostVeth.link().alias() + "'")
                                    + "): the bridge's DEL will not delete it",
                            node.node().ip() + " link set " + veth + " alias '" + alias + "'")
                    .repairedBy(f -> f.node().rt().links().setAlias(veth, alias)));
        }
        int want = network.mtu() > 0
                ? network.mtu()
                : bridge != null ? bridge.link().mtu() : 0;
        int hostMtu = hostVeth.link().mtu();
        int podMtu = iface.mtu();
        if (want > 0 && (hostMtu != want || podMtu != want)) {
            String ns = netns;
            String ifn = id.ifname();
            findings.add(Finding.warning(
                            "mtu-mismatch",
                            subject,
                            "MTU of host veth " + veth + " " + hostMtu + ", of " + ifn + " " + podMtu + ", but the "
                                    + (network.mtu() > 0 ? "network's mtu is " : "bridge's MTU is ") + want,
                            node.node().ip() + " link set " + veth + " mtu " + want + "; " + ip(netns) + " link set "
                                    + ifn + " mtu " + want)
                    .repairedBy(f -> {
                        f.node().rt().links().setMtu(veth, want);
                        try (NetNs n = NetNs.open(ns);
                                RouteNetlink in = f.in(n)) {
                            in.links().setMtu(ifn, want);
                        }
                    }));
        }
    }

    private void checkIpam(String subject, List<IpPrefix> cachedIps) {
        if (network == null || !network.hostLocal() || cached == null) {
            return;
        }
        for (IpPrefix ip : cachedIps) {
            CniState.Range range = network.rangeOf(ip.address());
            if (range == null) {
                continue; // not host-local's (another range set, or an address the runtime asked for)
            }
            CniState.Reservation holder = null;
            for (CniState.Reservation r : node.cni().reservations(network.name())) {
                if (r.address().equals(ip.address())) {
                    holder = r;
                }
            }
            Path file = network.store().resolve(ip.address().toString());
            if (holder == null) {
                Owners.Id owner = id;
                findings.add(Finding.error(
                                "reservation-missing",
                                subject,
                                ip.address() + " is not reserved in " + network.store()
                                        + ": host-local may give it to another pod",
                                "printf '%s\\r\\n%s' " + Fixer.shell(id.containerId()) + " " + id.ifname() + " > "
                                        + file)
                        .repairedBy(f -> Stores.reserve(f, network, ip.address(), owner)));
            } else if (!holder.owner().equals(id)) {
                findings.add(Finding.error(
                        "reservation-other-owner",
                        subject,
                        ip.address() + " is reserved by " + holder.containerId() + "/" + holder.ifname()
                                + ", not by this pod: two pods may hold it",
                        "jcni inspect pod " + holder.containerId()));
            }
        }
        for (CniState.Reservation r : reservations) {
            boolean listed = false;
            for (IpPrefix ip : cachedIps) {
                listed |= ip.address().equals(r.address());
            }
            if (!listed) {
                findings.add(Finding.warning(
                        "reservation-not-in-cache",
                        subject,
                        r.address() + " is reserved for this attachment" + " but not in its cached result",
                        "rm " + r.file()));
            }
        }
    }

    private void checkNat(String subject, List<IpPrefix> cachedIps) {
        if (network == null || !network.jcniBridge() || !network.ipMasq() || cached == null) {
            return;
        }
        String owner = id.natComment();
        for (IpPrefix ip : cachedIps) {
            String set = ip.isV4() ? "pods4" : "pods6";
            NftState.MasqElement have = null;
            for (NftState.MasqElement m : node.nft().masq()) {
                if (m.set().equals(set) && m.address().equals(ip.address())) {
                    have = m;
                }
            }
            if (have == null) {
                findings.add(Finding.error(
                        "nat-missing",
                        subject,
                        ip.address() + " is not in nft set inet jcni " + set + ": its traffic leaves unmasqueraded",
                        fixRecreate()));
            } else if (!owner.equals(have.owner())) {
                findings.add(Finding.error(
                        "nat-other-owner",
                        subject,
                        "nft set inet jcni " + set + " has " + ip.address() + " for " + have.owner() + ", not for "
                                + owner,
                        fixRecreate()));
            }
            boolean local = false;
            for (NftState.MasqElement m : node.nft().masq()) {
                local |= m.set().equals(ip.isV4() ? "local4" : "local6")
                        && m.address().equals(ip.address())
                        && owner.equals(m.owner());
            }
            if (have != null && !local) {
                findings.add(Finding.error(
                        "nat-missing",
                        subject,
                        "nft set inet jcni " + (ip.isV4() ? "local4" : "local6") + " lacks " + ip.address() + " . "
                                + ip.network() + ": its traffic to its own subnet is masqueraded",
                        fixRecreate()));
            }
        }
    }

    @SuppressWarnings("unchecked")
    private void checkHostPorts(String subject, List<IpPrefix> cachedIps) {
        if (cached == null
                || network == null
                || !network.portmap()
                || !(cached.capabilityArgs().get("portMappings") instanceof List<?> pm)) {
            return;
        }
        String owner = id.portmapComment();
        for (Object o : pm) {
            if (!(o instanceof Map<?, ?> m)
                    || !(m.get("hostPort") instanceof Number hp)
                    || !(m.get("containerPort") instanceof Number cp)) {
                continue;
            }
            String proto = m.get("protocol") instanceof String p && !p.isEmpty()
                    ? p.toLowerCase(java.util.Locale.ROOT)
                    : "tcp";
            IpAddress hostIp = m.get("hostIP") instanceof String h && !h.isEmpty() ? IpAddress.tryParse(h) : null;
            if (hostIp != null && (hostIp.equals(IpAddress.parse("0.0.0.0")) || hostIp.equals(IpAddress.parse("::")))) {
                hostIp = null;
            }
            for (IpPrefix ip : firstPerFamily(cachedIps)) {
                if (hostIp != null && hostIp.isV4() != ip.isV4()) {
                    continue;
                }
                String want = proto + " " + (hostIp == null ? "" : hostIp + ":") + hp.intValue() + " -> " + ip.address()
                        + ":" + cp.intValue();
                NftState.Mapping have = null;
                for (NftState.Mapping x : node.nft().mappings()) {
                    if (x.protocol().equals(proto)
                            && x.hostPort() == hp.intValue()
                            && java.util.Objects.equals(x.hostIp(), hostIp)
                            && x.target().isV4() == ip.isV4()) {
                        have = x;
                    }
                }
                if (have == null) {
                    findings.add(Finding.error(
                            "hostport-missing",
                            subject,
                            "host port " + want + " is not mapped (nft table inet " + NftState.HOSTPORT_TABLE + ")",
                            fixRecreate()));
                } else if (!owner.equals(have.owner())
                        || !have.target().equals(ip.address())
                        || have.targetPort() != cp.intValue()) {
                    findings.add(Finding.error(
                            "hostport-other-owner",
                            subject,
                            "host port " + proto + " " + hp.intValue() + " maps to " + have.target() + ":"
                                    + have.targetPort() + " for " + have.owner() + ", not " + want,
                            fixRecreate()));
                }
            }
        }
    }

    private static List<IpPrefix> firstPerFamily(List<IpPrefix> ips) {
        List<IpPrefix> out = new ArrayList<>();
        IpPrefix v4 = null, v6 = null;
        for (IpPrefix p : ips) {
            if (p.isV4() && v4 == null) {
                v4 = p;
            } else if (!p.isV4() && v6 == null) {
                v6 = p;
            }
        }
        if (v4 != null) {
            out.add(v4);
        }
        if (v6 != null) {
            out.add(v6);
        }
        return out;
    }

    /** The MAC the cached result gives the sandbox interface. */
    private String cachedMac() {
        if (cached == null || cached.result() == null || !(cached.result().get("interfaces") instanceof List<?> ifs)) {
            return null;
        }
        for (Object o : ifs) {
            if (o instanceof Map<?, ?> m
                    && id.ifname().equals(m.get("name"))
                    && m.get("sandbox") instanceof String s
                    && !s.isEmpty()
                    && m.get("mac") instanceof String mac) {
                return mac;
            }
        }
        return null;
    }

    private List<IpPrefix> cachedRoutes() {
        return cached == null ? new ArrayList<>() : CniState.cachedPrefixes(cached, "routes", "dst");
    }

    static String ip(String netns) {
        String name = netns != null && netns.startsWith(NetNs.RUN_DIR + "/")
                ? netns.substring(NetNs.RUN_DIR.length() + 1)
                : null;
        return name != null && name.indexOf('/') < 0 ? "ip -n " + name : "nsenter --net=" + netns + " ip";
    }

    // ------------------------------------------------------------------ output

    public List<Finding> findings() {
        return findings;
    }

    public boolean hasProblems() {
        return findings.stream().anyMatch(Finding::counts);
    }

    public Owners.Id id() {
        return id;
    }

    public String pod() {
        return pod;
    }

    public String netns() {
        return netns;
    }

    public NodeView.LinkInfo hostVeth() {
        return hostVeth;
    }

    public Map<String, Object> json() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("pod", pod);
        if (id != null) {
            m.put("network", id.network());
            m.put("containerId", id.containerId());
            m.put("ifname", id.ifname());
        }
        m.put("netns", netns);
        m.put("netnsExists", netnsExists);
        m.put(
                "interfaces",
                J.list(
                        links,
                        l -> J.link(
                                l,
                                "peerIfindex",
                                l.peerIndex() == 0 ? null : l.peerIndex(),
                                "linkNetnsId",
                                l.linkNetnsId() < 0 ? null : l.linkNetnsId())));
        m.put("addresses", J.list(addresses, a -> J.address(a, nameOf(a.linkIndex()))));
        m.put("routes", J.list(routes, NodeReport::routeJson));
        m.put(
                "hostVeth",
                hostVeth == null
                        ? null
                        : J.obj(
                                "ifname",
                                hostVeth.name(),
                                "ifindex",
                                hostVeth.link().index(),
                                "address",
                                J.str(hostVeth.link().mac()),
                                "mtu",
                                hostVeth.link().mtu(),
                                "operstate",
                                hostVeth.link().operStateName(),
                                "master",
                                hostVeth.master(),
                                "alias",
                                hostVeth.link().alias()));
        String br = hostVeth != null && hostVeth.master() != null
                ? hostVeth.master()
                : network == null ? null : network.bridge();
        m.put(
                "bridge",
                br == null || node.link(br) == null
                        ? null
                        : J.obj(
                                "ifname",
                                br,
                                "address",
                                J.str(node.link(br).link().mac()),
                                "mtu",
                                node.link(br).link().mtu(),
                                "addresses",
                                J.list(node.addressesOf(br), a -> a.prefix().toString())));
        m.put(
                "reservations",
                J.list(
                        reservations,
                        r -> J.obj(
                                "address",
                                r.address().toString(),
                                "file",
                                r.file().toString())));
        m.put("masquerade", J.list(masq, x -> J.obj("set", x.set(), "element", x.text(), "owner", x.owner())));
        m.put(
                "hostPorts",
                J.list(
                        mappings,
                        x -> J.obj(
                                "protocol",
                                x.protocol(),
                                "hostIP",
                                J.str(x.hostIp()),
                                "hostPort",
                                x.hostPort(),
                                "target",
                                x.target().toString(),
                                "targetPort",
                                x.targetPort(),
                                "owner",
                                x.owner())));
        m.put(
                "hostPortMasquerade",
                J.list(portMasq, x -> J.obj("set", x.set(), "element", x.text(), "owner", x.owner())));
        m.put(
                "cache",
                cached == null
                        ? null
                        : J.obj(
                                "file",
                                cached.file().toString(),
                                "result",
                                cached.result(),
                                "capabilityArgs",
                                cached.capabilityArgs().isEmpty() ? null : cached.capabilityArgs()));
        m.put("findings", J.list(findings, Finding::json));
        return m;
    }

    private String nameOf(int index) {
        for (Link l : links) {
            if (l.index() == index) {
                return l.name();
            }
        }
        return "if" + index;
    }

    public void print(PrintStream out) {
        out.println("Pod " + pod
                + (id == null
                        ? ""
                        : "  network " + id.network() + "  container " + id.containerId() + "  ifname " + id.ifname()));
        out.println("  netns " + (netns == null ? "(none recorded)" : netns + (netnsExists ? "" : " (gone)")));
        out.println();
        out.println("  Inside the pod (ip -n POD link/addr/route)");
        TextTable t = new TextTable("    ", "IFACE", "STATE", "MTU", "MAC", "ADDRESSES");
        for (Link l : links) {
            List<String> as = new ArrayList<>();
            for (Address a : addresses) {
                if (a.linkIndex() == l.index()) {
                    as.add(a.prefix()
                            + (a.scope() == Rtnl.RT_SCOPE_UNIVERSE ? "" : " (" + Text.scope(a.scope()) + ")"));
                }
            }
            t.row(l.name(), l.operStateName(), l.mtu(), Text.nz(l.mac()), String.join(", ", as));
        }
        t.print(out);
        t = new TextTable("    ", "ROUTE", "GATEWAY", "DEVICE");
        for (Route r : routes) {
            t.row(Text.dst(r), Text.nz(r.gateway()), Text.nz(r.device()));
        }
        if (!t.isEmpty()) {
            t.print(out);
        }
        out.println();
        out.println("  On the node");
        if (hostVeth == null) {
            out.println("    host veth: not found");
        } else {
            out.println(
                    "    host veth " + hostVeth.name() + "  " + hostVeth.link().operStateName() + "  mtu "
                            + hostVeth.link().mtu()
                            + "  mac " + Text.nz(hostVeth.link().mac()) + "  bridge " + Text.nz(hostVeth.master())
                            + (hostVeth.link().alias() == null
                                    ? ""
                                    : "  alias '" + hostVeth.link().alias() + "'"));
            if (hostVeth.master() != null) {
                out.println("    bridge " + hostVeth.master() + "  "
                        + String.join(
                                ", ",
                                node.addressesOf(hostVeth.master()).stream()
                                        .map(a -> a.prefix().toString())
                                        .toList()));
            }
        }
        out.println("    reservations: "
                + (reservations.isEmpty()
                        ? "none"
                        : String.join(
                                ", ",
                                reservations.stream()
                                        .map(r -> r.address() + " (" + r.file() + ")")
                                        .toList())));
        out.println("    masquerade: "
                + (masq.isEmpty()
                        ? "none"
                        : String.join(
                                ", ",
                                masq.stream().map(x -> x.set() + " " + x.text()).toList())));
        out.println("    host ports: "
                + (mappings.isEmpty()
                        ? "none"
                        : String.join(
                                ", ",
                                mappings.stream().map(NftState.Mapping::text).toList())));
        out.println();
        out.println("  Cached result " + (cached == null ? "(none)" : cached.file()));
        if (cached != null && cached.result() != null) {
            for (IpPrefix ip : CniState.cachedAddresses(cached)) {
                out.println("    address " + ip);
            }
            for (IpPrefix r : cachedRoutes()) {
                out.println("    route " + r);
            }
        }
        out.println();
        printFindings(findings, out, "  ");
    }

    /** Findings as the doctor prints them: severity, check and problem, then the fix. */
    static void printFindings(List<Finding> findings, PrintStream out, String indent) {
        if (findings.isEmpty()) {
            out.println(indent + "No inconsistencies.");
            return;
        }
        out.println(indent + "Inconsistencies");
        for (Finding f : findings) {
            out.println(indent + "  " + String.format("%-8s", f.severity().text()) + f.check() + ": " + f.message());
            if (!f.fix().isEmpty()) {
                out.println(indent + "          fix: " + f.fix()
                        + (f.repair() != null ? "   (jcni doctor --fix does this)" : ""));
            }
        }
    }
}
