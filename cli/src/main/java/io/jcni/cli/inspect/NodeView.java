package io.jcni.cli.inspect;

import io.jcni.netlink.diag.InetSocket;
import io.jcni.netlink.diag.SockDiag;
import io.jcni.netlink.diag.SocketOwners;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.ns.Sysctl;
import io.jcni.netlink.route.Address;
import io.jcni.netlink.route.FdbEntry;
import io.jcni.netlink.route.Link;
import io.jcni.netlink.route.Neighbour;
import io.jcni.netlink.route.Route;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.netlink.route.Rtnl;
import io.jcni.runtime.CachedAttachment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One node as jcni sees it, read in one go: the kernel's view of its namespace (links with their
 * veth peers traced into the pods' namespaces, addresses, routes, neighbours, forwarding, listening
 * sockets with their processes), the interface that carries cluster traffic, and jcni's own state
 * (networks and their IPAM usage, attachments, NAT and host-port elements, the plugin socket and
 * the agent). Nothing is changed.
 */
public final class NodeView {
    /** The route protocol the cluster agent marks its routes with ({@code proto 215}). */
    public static final int AGENT_ROUTE_PROTOCOL = 215;

    /**
     * A link of the node.
     *
     * @param master the bridge it is attached to, null when none
     * @param peer   for a veth, where its other end is; null otherwise
     */
    public record LinkInfo(Link link, String master, Peer peer) {
        public String name() {
            return link.name();
        }
    }

    /**
     * A veth's other end.
     *
     * @param netns      the namespace's path, null when it is the node's own or could not be found
     * @param attachment the attachment it belongs to (by the host veth's alias, else by its namespace), or null
     */
    public record Peer(
            int index,
            String name,
            int netnsId,
            String netns,
            Owners.Id attachment,
            String pod,
            List<IpPrefix> addresses) {}

    /** A listening socket with the processes holding it. */
    public record Listener(InetSocket socket, List<SocketOwners.Owner> owners) {}

    /** A peer node as this node's kernel knows it: the agent's route, and for vxlan its neighbour and FDB entry. */
    public record ClusterPeer(
            IpPrefix subnet, IpAddress via, String dev, boolean route, String vtepMac, IpAddress remote) {}

    /**
     * The interface that carries cluster traffic and how it was found.
     *
     * @param source {@code agent --iface}, {@code vxlan jcni.N}, {@code proto 215 routes} or {@code default route}
     */
    public record Uplink(String name, IpAddress address, String mac, int mtu, String source) {}

    private final NodeHandle node;
    private final Sources sources;
    private final CniState cni;
    private final List<LinkInfo> links = new ArrayList<>();
    private final Map<Integer, LinkInfo> byIndex = new HashMap<>();
    private final List<Address> addresses;
    private final List<Route> routes = new ArrayList<>();
    private final List<Neighbour> neighbours;
    private final Map<String, String> forwarding = new LinkedHashMap<>();
    private final List<Listener> listeners = new ArrayList<>();
    private final NftState nft;
    private final Services.SocketStatus plugins;
    private final List<Services.Agent> agents;
    private final Path subnetFile;
    private final Map<String, String> subnetEnv;
    private final List<ClusterPeer> peers = new ArrayList<>();
    private final Uplink uplink;
    private final List<String> problems = new ArrayList<>();

    private NodeView(NodeHandle node, Sources sources) {
        this.node = node;
        this.sources = sources;
        this.cni = CniState.load(sources.netconf(), sources.cacheDir());
        RouteNetlink rt = node.rt();
        List<Link> raw = rt.links().list();
        Map<Integer, String> names = new HashMap<>();
        for (Link l : raw) {
            names.put(l.index(), l.name());
        }
        Map<String, Owners.Id> byAlias = new HashMap<>();
        Map<String, CachedAttachment> byNetns = new HashMap<>();
        List<String> netnsPaths = new ArrayList<>();
        for (CachedAttachment a : cni.attachments()) {
            byAlias.put(Owners.alias(a.networkName(), a.containerId(), a.ifName()), CniState.idOf(a));
            if (!a.netns().isEmpty()) {
                byNetns.put(a.netns() + "\0" + a.ifName(), a);
                netnsPaths.add(a.netns());
            }
        }
        long self = node.inode();
        try (NetnsResolver resolver = new NetnsResolver(node.netns(), self, netnsPaths)) {
            for (Link l : raw) {
                Peer peer = null;
                if ("veth".equals(l.kind()) && l.peerIndex() != 0) {
                    peer = peer(l, names, resolver, byAlias, byNetns);
                }
                LinkInfo li = new LinkInfo(
                        l,
                        l.masterIndex() == 0 ? null : names.getOrDefault(l.masterIndex(), "if" + l.masterIndex()),
                        peer);
                links.add(li);
                byIndex.put(l.index(), li);
            }
        }
        this.addresses = rt.addresses().list(null);
        for (int family : new int[] {Rtnl.AF_INET, Rtnl.AF_INET6}) {
            for (Route r : rt.routes().list(family, Rtnl.RT_TABLE_MAIN)) {
                if (r.type() == Rtnl.RTN_UNICAST
                        || r.type() == Rtnl.RTN_BLACKHOLE
                        || r.type() == Rtnl.RTN_UNREACHABLE
                        || r.type() == Rtnl.RTN_PROHIBIT) {
                    routes.add(r);
                }
            }
        }
        this.neighbours = new ArrayList<>();
        for (Neighbour n : rt.neighbours().list(null)) {
            // as ip neigh shows them: entries that are only NOARP (loopback, multicast) or have no state are left out
            if ((n.state() & 0xff & ~Rtnl.NUD_NOARP) != 0) {
                neighbours.add(n);
            }
        }
        forwarding.put("net.ipv4.ip_forward", sysctl("net.ipv4.ip_forward"));
        forwarding.put("net.ipv6.conf.all.forwarding", sysctl("net.ipv6.conf.all.forwarding"));
        List<InetSocket> socks = List.of();
        try (SockDiag diag = SockDiag.open(node.netns())) {
            socks = diag.listening();
        } catch (RuntimeException e) {
            problems.add("listening sockets: " + e.getMessage()); // a kernel without inet_diag: the rest still shows
        }
        List<Long> inodes = new ArrayList<>();
        socks.forEach(s -> inodes.add(s.inode()));
        SocketOwners owners = SocketOwners.scan(inodes);
        for (InetSocket s : socks) {
            listeners.add(new Listener(s, owners.of(s.inode())));
        }
        this.nft = NftState.read(node.nft());
        this.agents = Services.agents(self);
        Services.Agent agent = agents.isEmpty() ? null : agents.get(0);
        Path socket = sources.socket();
        if (agent != null
                && agent.flag("--plugin-socket") != null
                && sources.socket().equals(Services.DEFAULT_SOCKET)) {
            socket = Path.of(agent.flag("--plugin-socket"));
        }
        this.plugins = Services.socket(socket, node);
        Path sf = sources.subnetFile();
        if (agent != null && agent.flag("--subnet-file") != null && sf.equals(Services.DEFAULT_SUBNET_FILE)) {
            sf = Path.of(agent.flag("--subnet-file"));
        }
        this.subnetFile = sf;
        this.subnetEnv = Services.envFile(sf);
        collectPeers(rt);
        this.uplink = findUplink(agent);
    }

    /** Reads the node. */
    public static NodeView read(NodeHandle node, Sources sources) {
        return new NodeView(node, sources);
    }

    private String sysctl(String key) {
        try {
            return Sysctl.read(node.netns(), key);
        } catch (RuntimeException e) {
            return null; // IPv6 disabled: no such file
        }
    }

    private Peer peer(
            Link l,
            Map<Integer, String> names,
            NetnsResolver resolver,
            Map<String, Owners.Id> byAlias,
            Map<String, CachedAttachment> byNetns) {
        Owners.Id id = l.alias() == null ? null : byAlias.get(l.alias());
        if (id == null && l.alias() != null && l.alias().startsWith("jcni ")) {
            id = Owners.parse(l.alias());
        }
        if (l.linkNetnsId() < 0) {
            return new Peer(l.peerIndex(), names.get(l.peerIndex()), -1, null, id, null, List.of());
        }
        String path = resolver.pathOf(l.linkNetnsId());
        String peerName = null;
        List<IpPrefix> peerAddresses = new ArrayList<>();
        if (path != null) {
            try (NetNs ns = NetNs.open(path);
                    RouteNetlink in = RouteNetlink.open(ns, io.jcni.netlink.Trace.OFF)) {
                peerName = in.links().get(l.peerIndex()).name();
                for (Address a : in.addresses().list(peerName)) {
                    if (a.scope() == Rtnl.RT_SCOPE_UNIVERSE) {
                        peerAddresses.add(a.prefix());
                    }
                }
            } catch (RuntimeException gone) {
                // the pod went away meanwhile
            }
        }
        CachedAttachment a = path == null || peerName == null ? null : byNetns.get(path + "\0" + peerName);
        if (id == null && a != null) {
            id = CniState.idOf(a);
        }
        if (a == null && id != null) {
            a = cni.attachment(id);
        }
        String pod = a != null
                ? CniState.podName(a.containerId(), a.netns())
                : id != null
                        ? CniState.podName(id.containerId(), path)
                        : null; // a namespace no attachment names is no pod
        return new Peer(l.peerIndex(), peerName, l.linkNetnsId(), path, id, pod, peerAddresses);
    }

    /** The agent's marks: proto 215 routes, and on jcni.N devices the neighbour (gateway → VTEP MAC) and FDB entry (MAC → remote). */
    private void collectPeers(RouteNetlink rt) {
        Map<IpAddress, String> vtepMac = new HashMap<>();
        Map<String, IpAddress> remote = new HashMap<>();
        for (LinkInfo l : links) {
            if (!isVxlanDevice(l.link())) {
                continue;
            }
            for (Neighbour n : neighbours) {
                if (n.linkIndex() == l.link().index() && n.mac() != null) {
                    vtepMac.put(n.address(), n.mac().toString());
                }
            }
            try {
                for (FdbEntry f : rt.neighbours().listFdb(l.name())) {
                    if (f.dst() != null) {
                        remote.put(f.mac().toString(), f.dst());
                    }
                }
            } catch (RuntimeException gone) {
                // the device went away
            }
        }
        Map<IpAddress, Boolean> routed = new HashMap<>();
        for (Route r : routes) {
            if (r.protocol() != AGENT_ROUTE_PROTOCOL) {
                continue;
            }
            String mac = r.gateway() == null ? null : vtepMac.get(r.gateway());
            peers.add(new ClusterPeer(
                    r.destination(), r.gateway(), r.device(), true, mac, mac == null ? null : remote.get(mac)));
            if (r.gateway() != null) {
                routed.put(r.gateway(), true);
            }
        }
        int len = subnetLength();
        for (Map.Entry<IpAddress, String> e : vtepMac.entrySet()) {
            if (routed.containsKey(e.getKey())) {
                continue;
            }
            String dev = null;
            for (Neighbour n : neighbours) {
                if (n.address().equals(e.getKey())
                        && n.mac() != null
                        && byIndex.containsKey(n.linkIndex())
                        && isVxlanDevice(byIndex.get(n.linkIndex()).link())) {
                    dev = byIndex.get(n.linkIndex()).name();
                }
            }
            IpPrefix subnet = len > 0 ? new IpPrefix(e.getKey(), len).network() : null;
            peers.add(new ClusterPeer(subnet, e.getKey(), dev, false, e.getValue(), remote.get(e.getValue())));
        }
        peers.sort((a, b) -> String.valueOf(a.via()).compareTo(String.valueOf(b.via())));
    }

    /** The length of every node's subnet, from subnet.env's {@code JCNI_SUBNET} (e.g. 24), or -1. */
    public int subnetLength() {
        String s = subnetEnv.get("JCNI_SUBNET");
        try {
            return s == null ? -1 : IpPrefix.parse(s).length();
        } catch (IllegalArgumentException e) {
            return -1;
        }
    }

    static boolean isVxlanDevice(Link l) {
        return "vxlan".equals(l.kind()) && l.name().startsWith("jcni.");
    }

    private Uplink findUplink(Services.Agent agent) {
        String name = null, source = null;
        IpAddress address = null;
        if (agent != null && agent.flag("--iface") != null) {
            String f = agent.flag("--iface");
            IpAddress a = IpAddress.tryParse(f);
            if (a == null) {
                name = f;
            } else {
                for (Address ad : addresses) {
                    if (ad.prefix().address().equals(a) && byIndex.containsKey(ad.linkIndex())) {
                        name = byIndex.get(ad.linkIndex()).name();
                        address = a;
                    }
                }
            }
            source = "agent --iface";
        }
        if (name == null) {
            for (LinkInfo l : links) {
                Link.VxlanInfo vx = l.link().vxlan();
                if (isVxlanDevice(l.link())
                        && vx != null
                        && vx.underlayIndex() != 0
                        && byIndex.containsKey(vx.underlayIndex())) {
                    name = byIndex.get(vx.underlayIndex()).name();
                    address = vx.local() == null ? null : IpAddress.parse(vx.local());
                    source = "vxlan " + l.name();
                    break;
                }
            }
        }
        if (name == null) {
            for (Route r : routes) {
                if (r.protocol() == AGENT_ROUTE_PROTOCOL
                        && r.device() != null
                        && !r.device().startsWith("jcni.")) {
                    name = r.device();
                    source = "proto 215 routes";
                    break;
                }
            }
        }
        if (name == null) {
            for (Route r : routes) {
                if (r.isDefault() && r.isV4() && r.device() != null) {
                    name = r.device();
                    source = "default route";
                    break;
                }
            }
        }
        if (name == null) {
            return null;
        }
        if (agent != null && agent.flag("--public-ip") != null) {
            address = IpAddress.tryParse(agent.flag("--public-ip"));
        }
        LinkInfo li = link(name);
        if (address == null && li != null) {
            for (Address a : addresses) {
                if (a.linkIndex() == li.link().index() && a.prefix().isV4() && a.scope() == Rtnl.RT_SCOPE_UNIVERSE) {
                    address = a.prefix().address();
                    break;
                }
            }
        }
        return new Uplink(
                name,
                address,
                li == null || li.link().mac() == null ? null : li.link().mac().toString(),
                li == null ? 0 : li.link().mtu(),
                source);
    }

    // ---- accessors ----

    public NodeHandle node() {
        return node;
    }

    public Sources sources() {
        return sources;
    }

    public CniState cni() {
        return cni;
    }

    public List<LinkInfo> links() {
        return links;
    }

    public LinkInfo link(String name) {
        for (LinkInfo l : links) {
            if (l.name().equals(name)) {
                return l;
            }
        }
        return null;
    }

    public LinkInfo link(int index) {
        return byIndex.get(index);
    }

    public String linkName(int index) {
        LinkInfo l = byIndex.get(index);
        return l == null ? "if" + index : l.name();
    }

    public List<Address> addresses() {
        return addresses;
    }

    public List<Address> addressesOf(String link) {
        LinkInfo l = link(link);
        List<Address> out = new ArrayList<>();
        if (l != null) {
            for (Address a : addresses) {
                if (a.linkIndex() == l.link().index()) {
                    out.add(a);
                }
            }
        }
        return out;
    }

    public List<Route> routes() {
        return routes;
    }

    public List<Neighbour> neighbours() {
        return neighbours;
    }

    public Map<String, String> forwarding() {
        return forwarding;
    }

    public List<Listener> listeners() {
        return listeners;
    }

    public NftState nft() {
        return nft;
    }

    /** What could not be read (a missing kernel facility), one line each. */
    public List<String> problems() {
        return problems;
    }

    public Services.SocketStatus pluginSocket() {
        return plugins;
    }

    public List<Services.Agent> agents() {
        return agents;
    }

    public Path subnetFile() {
        return subnetFile;
    }

    public Map<String, String> subnetEnv() {
        return subnetEnv;
    }

    /** The node is (or was) in a cluster: the agent runs, or its subnet file or routes are there. */
    public boolean clustered() {
        return !agents.isEmpty() || !subnetEnv.isEmpty() || !peers.isEmpty();
    }

    public List<ClusterPeer> peers() {
        return peers;
    }

    /** The interface carrying cluster traffic, or null when there is no default route to go by. */
    public Uplink uplink() {
        return uplink;
    }

    /** The host veth of an attachment, by its alias or its namespace, or null. */
    public LinkInfo hostVeth(Owners.Id id) {
        for (LinkInfo l : links) {
            if (l.peer() != null && id.equals(l.peer().attachment())) {
                return l;
            }
        }
        return null;
    }
}
