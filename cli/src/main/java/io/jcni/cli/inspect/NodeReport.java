package io.jcni.cli.inspect;

import io.jcni.netlink.diag.SocketOwners;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.route.Address;
import io.jcni.netlink.route.Link;
import io.jcni.netlink.route.Neighbour;
import io.jcni.netlink.route.Route;
import io.jcni.runtime.CachedAttachment;
import java.io.PrintStream;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** {@code jcni inspect node}: the node view as a readable report or as JSON. */
public final class NodeReport {
    private NodeReport() {}

    /** Used and free addresses of one host-local range. */
    public record Usage(String network, CniState.Range range, BigInteger size, int used) {
        public BigInteger free() {
            return size.subtract(BigInteger.valueOf(used)).max(BigInteger.ZERO);
        }
    }

    public static List<Usage> usage(CniState cni) {
        List<Usage> out = new ArrayList<>();
        for (CniState.Network n : cni.networks()) {
            for (CniState.Range r : n.ranges()) {
                int used = 0;
                for (CniState.Reservation res : cni.reservations(n.name())) {
                    if (r.contains(res.address())) {
                        used++;
                    }
                }
                out.add(new Usage(n.name(), r, r.size(), used));
            }
        }
        return out;
    }

    static Object number(BigInteger b) {
        return b.bitLength() < 63 ? (Object) b.longValue() : b.toString();
    }

    // ------------------------------------------------------------------ JSON

    public static Map<String, Object> json(NodeView v) {
        return J.obj(
                "netns", v.node().label(),
                "interfaces", J.list(v.links(), NodeReport::linkJson),
                "addresses", J.list(v.addresses(), a -> J.address(a, v.linkName(a.linkIndex()), "label", a.label())),
                "routes", J.list(v.routes(), NodeReport::routeJson),
                "neighbours", J.list(v.neighbours(), n -> neighJson(v, n)),
                "forwarding",
                        J.obj(
                                "ipv4",
                                v.forwarding().get("net.ipv4.ip_forward"),
                                "ipv6",
                                v.forwarding().get("net.ipv6.conf.all.forwarding")),
                "sockets", J.list(v.listeners(), NodeReport::listenerJson),
                "cluster", clusterJson(v),
                "jcni", jcniJson(v),
                "problems", v.problems().isEmpty() ? null : new ArrayList<Object>(v.problems()));
    }

    static Map<String, Object> linkJson(NodeView.LinkInfo li) {
        Link l = li.link();
        NodeView.Peer p = li.peer();
        return J.link(
                l,
                "master",
                li.master(),
                "alias",
                l.alias(),
                "peer",
                p == null
                        ? null
                        : J.obj(
                                "ifindex",
                                p.index(),
                                "ifname",
                                p.name(),
                                "netnsId",
                                p.netnsId() < 0 ? null : p.netnsId(),
                                "netns",
                                p.netns(),
                                "pod",
                                p.pod(),
                                "network",
                                p.attachment() == null ? null : p.attachment().network(),
                                "containerId",
                                p.attachment() == null ? null : p.attachment().containerId(),
                                "addresses",
                                p.netnsId() < 0 ? null : J.list(p.addresses(), IpPrefix::toString)));
    }

    static Map<String, Object> routeJson(Route r) {
        return J.obj(
                "dst",
                Text.dst(r),
                "family",
                Text.family(r.isV4()),
                "gateway",
                J.str(r.gateway()),
                "dev",
                r.device(),
                "protocol",
                Text.protocol(r.protocol()),
                "scope",
                Text.scope(r.scope()),
                "metric",
                r.metric(),
                "prefsrc",
                J.str(r.source()),
                "type",
                Text.routeType(r.type()),
                "onlink",
                r.onlink() ? true : null);
    }

    static Map<String, Object> neighJson(NodeView v, Neighbour n) {
        return J.obj(
                "dst",
                n.address().toString(),
                "dev",
                n.link() != null ? n.link() : v.linkName(n.linkIndex()),
                "lladdr",
                J.str(n.mac()),
                "state",
                Text.neighState(n));
    }

    static Map<String, Object> listenerJson(NodeView.Listener l) {
        return J.obj(
                "protocol",
                l.socket().protocol(),
                "state",
                l.socket().stateName(),
                "local",
                l.socket().localText(),
                "address",
                l.socket().local().toString(),
                "port",
                l.socket().localPort(),
                "inode",
                l.socket().inode(),
                "uid",
                l.socket().uid(),
                "processes",
                J.list(l.owners(), NodeReport::ownerJson));
    }

    static Map<String, Object> ownerJson(SocketOwners.Owner o) {
        return J.obj("pid", o.pid(), "program", o.program(), "fd", o.fd(), "cmdline", o.cmdline());
    }

    static Map<String, Object> clusterJson(NodeView v) {
        NodeView.Uplink u = v.uplink();
        return J.obj(
                "interface",
                u == null
                        ? null
                        : J.obj(
                                "ifname",
                                u.name(),
                                "address",
                                J.str(u.address()),
                                "mac",
                                u.mac(),
                                "mtu",
                                u.mtu(),
                                "source",
                                u.source()),
                "agent",
                J.list(v.agents(), a -> J.obj("pid", a.pid(), "flags", a.flags(), "cmdline", a.cmdline())),
                "subnetFile",
                v.subnetFile().toString(),
                "subnetEnv",
                v.subnetEnv(),
                "peers",
                J.list(
                        v.peers(),
                        p -> J.obj(
                                "subnet",
                                J.str(p.subnet()),
                                "via",
                                J.str(p.via()),
                                "dev",
                                p.dev(),
                                "route",
                                p.route(),
                                "vtepMac",
                                p.vtepMac(),
                                "remote",
                                J.str(p.remote()))));
    }

    static Map<String, Object> jcniJson(NodeView v) {
        CniState cni = v.cni();
        List<Usage> usage = usage(cni);
        Services.SocketStatus s = v.pluginSocket();
        return J.obj(
                "netconf", cni.netconf().toString(),
                "networks",
                        J.list(
                                cni.networks(),
                                n -> J.obj(
                                        "name",
                                        n.name(),
                                        "file",
                                        n.file(),
                                        "cniVersion",
                                        n.cniVersion(),
                                        "plugins",
                                        new ArrayList<Object>(n.plugins()),
                                        "bridge",
                                        n.bridge(),
                                        "isGateway",
                                        n.isGateway(),
                                        "ipMasq",
                                        n.ipMasq(),
                                        "mtu",
                                        n.mtu() == 0 ? null : n.mtu(),
                                        "ipam",
                                        n.ipamType(),
                                        "dataDir",
                                        n.dataDir(),
                                        "ranges",
                                        J.list(
                                                usage.stream()
                                                        .filter(u -> u.network().equals(n.name()))
                                                        .toList(),
                                                u -> J.obj(
                                                        "subnet",
                                                        u.range().subnet().toString(),
                                                        "rangeStart",
                                                        u.range().start().toString(),
                                                        "rangeEnd",
                                                        u.range().end().toString(),
                                                        "gateway",
                                                        J.str(u.range().gateway()),
                                                        "size",
                                                        number(u.size()),
                                                        "used",
                                                        u.used(),
                                                        "free",
                                                        number(u.free()))))),
                "errors", new ArrayList<Object>(cni.errors()),
                "attachments", J.list(cni.attachments(), a -> attachmentJson(v, a)),
                "reservations",
                        J.list(
                                cni.allReservations(),
                                r -> J.obj(
                                        "network",
                                        r.network(),
                                        "address",
                                        r.address().toString(),
                                        "containerId",
                                        r.containerId(),
                                        "ifname",
                                        r.ifname(),
                                        "file",
                                        r.file().toString())),
                "nft",
                        J.obj(
                                "tables",
                                        J.list(
                                                v.nft().tables(),
                                                t -> J.obj(
                                                        "family",
                                                        t.family(),
                                                        "name",
                                                        t.name(),
                                                        "chains",
                                                        t.chainRules(),
                                                        "elements",
                                                        t.elements())),
                                "masquerade",
                                        J.list(
                                                v.nft().masq(),
                                                m -> J.obj("set", m.set(), "element", m.text(), "owner", m.owner())),
                                "hostPorts",
                                        J.list(
                                                v.nft().mappings(),
                                                m -> J.obj(
                                                        "set",
                                                        m.set(),
                                                        "protocol",
                                                        m.protocol(),
                                                        "hostIP",
                                                        J.str(m.hostIp()),
                                                        "hostPort",
                                                        m.hostPort(),
                                                        "target",
                                                        m.target().toString(),
                                                        "targetPort",
                                                        m.targetPort(),
                                                        "owner",
                                                        m.owner())),
                                "hostPortMasquerade",
                                        J.list(
                                                v.nft().portMasq(),
                                                m -> J.obj("set", m.set(), "element", m.text(), "owner", m.owner())),
                                "masquerading", new ArrayList<Object>(v.nft().masquerading()),
                                "problems", new ArrayList<Object>(v.nft().problems())),
                "pluginSocket",
                        J.obj(
                                "path",
                                s.path().toString(),
                                "present",
                                s.present(),
                                "answering",
                                s.answering(),
                                "detail",
                                s.detail(),
                                "servedBy",
                                s.servedBy(),
                                "holders",
                                J.list(s.holders(), NodeReport::ownerJson)),
                "agent", J.obj("running", !v.agents().isEmpty(), "pids", J.list(v.agents(), a -> a.pid())));
    }

    static Map<String, Object> attachmentJson(NodeView v, CachedAttachment a) {
        NodeView.LinkInfo veth = v.hostVeth(CniState.idOf(a));
        return J.obj(
                "pod",
                CniState.podName(a.containerId(), a.netns()),
                "network",
                a.networkName(),
                "containerId",
                a.containerId(),
                "ifname",
                a.ifName(),
                "netns",
                a.netns(),
                "netnsExists",
                !a.netns().isEmpty() && java.nio.file.Files.exists(java.nio.file.Path.of(a.netns())),
                "addresses",
                J.list(CniState.cachedAddresses(a), IpPrefix::toString),
                "hostVeth",
                veth == null ? null : veth.name(),
                "bridge",
                veth == null ? null : veth.master());
    }

    // ------------------------------------------------------------------ table

    public static void print(NodeView v, PrintStream out) {
        out.println("Node: "
                + (v.node().netns() == null
                        ? "this host's network namespace"
                        : "netns " + v.node().label()));
        out.println();
        out.println("Interfaces (ip link)");
        TextTable t = new TextTable("  ", "IDX", "NAME", "KIND", "STATE", "MTU", "MAC", "MASTER", "PEER");
        for (NodeView.LinkInfo li : v.links()) {
            Link l = li.link();
            t.row(
                    l.index(),
                    l.name(),
                    Text.nz(l.kind()),
                    l.operStateName(),
                    l.mtu(),
                    Text.nz(l.mac()),
                    Text.nz(li.master()),
                    peerText(li.peer()));
        }
        t.print(out);
        out.println();
        out.println("Addresses (ip addr)");
        t = new TextTable("  ", "INTERFACE", "ADDRESS", "SCOPE");
        for (Address a : v.addresses()) {
            t.row(v.linkName(a.linkIndex()), Text.addr(a), Text.scope(a.scope()));
        }
        t.print(out);
        out.println();
        out.println("Routes, main table (ip route; ip -6 route)");
        t = new TextTable("  ", "DESTINATION", "GATEWAY", "DEVICE", "PROTO", "SCOPE", "METRIC", "SOURCE");
        for (Route r : v.routes()) {
            t.row(
                    Text.dst(r) + (r.type() == 1 ? "" : " (" + Text.routeType(r.type()) + ")"),
                    Text.nz(r.gateway()),
                    Text.nz(r.device()) + (r.onlink() ? " onlink" : ""),
                    Text.protocol(r.protocol()),
                    Text.scope(r.scope()),
                    r.metric() == 0 ? "" : r.metric(),
                    Text.nz(r.source()));
        }
        t.print(out);
        out.println();
        out.println("Neighbours (ip neigh, arp)");
        t = new TextTable("  ", "ADDRESS", "MAC", "DEVICE", "STATE");
        for (Neighbour n : v.neighbours()) {
            t.row(
                    n.address(),
                    Text.nz(n.mac()),
                    n.link() != null ? n.link() : v.linkName(n.linkIndex()),
                    Text.neighState(n));
        }
        t.print(out);
        out.println();
        out.println("Forwarding (sysctl)");
        for (Map.Entry<String, String> e : v.forwarding().entrySet()) {
            out.println("  " + e.getKey() + " = " + (e.getValue() == null ? "(absent)" : e.getValue()));
        }
        out.println();
        out.println("Listening sockets (netstat -plnt, ss -ltnup)");
        t = new TextTable("  ", "PROTO", "LOCAL", "STATE", "PID/PROGRAM", "COMMAND");
        for (NodeView.Listener l : v.listeners()) {
            List<String> who = new ArrayList<>();
            for (SocketOwners.Owner o : l.owners()) {
                who.add(o.pid() + "/" + o.program());
            }
            t.row(
                    l.socket().protocol(),
                    l.socket().localText(),
                    l.socket().stateName(),
                    who.isEmpty() ? "-" : String.join(",", who),
                    l.owners().isEmpty() ? "" : abbreviate(l.owners().get(0).cmdline(), 60));
        }
        t.print(out);
        for (String p : v.problems()) {
            out.println("  error: " + p);
        }
        out.println();
        printCluster(v, out);
        out.println();
        printJcni(v, out);
    }

    static String peerText(NodeView.Peer p) {
        if (p == null) {
            return "";
        }
        String name = p.name() == null ? "if" + p.index() : p.name();
        if (p.netnsId() < 0) {
            return name;
        }
        String where = p.netns() == null ? "netnsid " + p.netnsId() : p.netns();
        return name + " in " + where + (p.pod() == null ? "" : " (pod " + p.pod() + ")");
    }

    static String abbreviate(String s, int n) {
        return s.length() <= n ? s : s.substring(0, n - 3) + "...";
    }

    static void printCluster(NodeView v, PrintStream out) {
        out.println("Cluster traffic");
        NodeView.Uplink u = v.uplink();
        if (u == null) {
            out.println("  interface: none found (no agent, no default route)");
        } else {
            out.println("  interface: " + u.name() + "  address " + Text.nz(u.address()) + "  mac " + Text.nz(u.mac())
                    + "  mtu " + u.mtu() + "  (from the " + u.source() + ")");
        }
        if (v.agents().isEmpty()) {
            out.println("  agent: not running in this namespace");
        } else {
            for (Services.Agent a : v.agents()) {
                out.println("  agent: pid " + a.pid()
                        + (a.flags().isEmpty() ? "" : "  " + Text.env(a.flags()).replace("=", " ")));
            }
        }
        out.println("  " + v.subnetFile() + ": " + (v.subnetEnv().isEmpty() ? "absent" : Text.env(v.subnetEnv())));
        if (!v.peers().isEmpty()) {
            TextTable t = new TextTable("  ", "PEER SUBNET", "VIA", "DEVICE", "ROUTE", "VTEP MAC", "REMOTE");
            for (NodeView.ClusterPeer p : v.peers()) {
                t.row(
                        Text.nz(p.subnet()),
                        Text.nz(p.via()),
                        Text.nz(p.dev()),
                        p.route() ? "proto 215" : "MISSING",
                        Text.nz(p.vtepMac()),
                        Text.nz(p.remote()));
            }
            t.print(out);
        }
    }

    static void printJcni(NodeView v, PrintStream out) {
        CniState cni = v.cni();
        out.println("jcni on this node (networks from " + cni.netconf() + ")");
        TextTable t = new TextTable("  ", "NETWORK", "BRIDGE", "PLUGINS", "RANGE", "USED", "FREE", "FILE");
        List<Usage> usage = usage(cni);
        for (CniState.Network n : cni.networks()) {
            List<Usage> mine =
                    usage.stream().filter(u -> u.network().equals(n.name())).toList();
            if (mine.isEmpty()) {
                t.row(
                        n.name(),
                        Text.nz(n.bridge()),
                        String.join(",", n.plugins()),
                        n.ipamType() == null ? "-" : n.ipamType(),
                        "",
                        "",
                        n.file());
            }
            for (Usage u : mine) {
                t.row(
                        n.name(),
                        Text.nz(n.bridge()),
                        String.join(",", n.plugins()),
                        u.range().subnet() + " " + u.range().start() + "-"
                                + u.range().end(),
                        u.used(),
                        u.free(),
                        n.file());
            }
        }
        t.print(out);
        for (String e : cni.errors()) {
            out.println("  error: " + e);
        }
        out.println();
        out.println("  Attachments (" + cni.cache().resultsDir() + ")");
        t = new TextTable("    ", "POD", "NETWORK", "IFNAME", "ADDRESSES", "HOST VETH", "BRIDGE", "NETNS");
        for (CachedAttachment a : cni.attachments()) {
            NodeView.LinkInfo veth = v.hostVeth(CniState.idOf(a));
            boolean alive = !a.netns().isEmpty() && java.nio.file.Files.exists(java.nio.file.Path.of(a.netns()));
            t.row(
                    CniState.podName(a.containerId(), a.netns()),
                    a.networkName(),
                    a.ifName(),
                    String.join(
                            ",",
                            CniState.cachedAddresses(a).stream()
                                    .map(IpPrefix::toString)
                                    .toList()),
                    veth == null ? "-" : veth.name(),
                    veth == null ? "-" : Text.nz(veth.master()),
                    (a.netns().isEmpty() ? "-" : a.netns()) + (alive ? "" : " (gone)"));
        }
        t.print(out);
        out.println();
        out.println("  NAT (nft table inet " + NftState.MASQ_TABLE + ")");
        t = new TextTable("    ", "SET", "ELEMENT", "OWNER");
        for (NftState.MasqElement m : v.nft().masq()) {
            t.row(m.set(), m.text(), Text.nz(m.owner()));
        }
        t.print(out);
        out.println("  Host ports (nft table inet " + NftState.HOSTPORT_TABLE + ")");
        t = new TextTable("    ", "MAPPING", "OWNER");
        for (NftState.Mapping m : v.nft().mappings()) {
            t.row(m.text(), Text.nz(m.owner()));
        }
        for (NftState.PortMasq m : v.nft().portMasq()) {
            t.row("masquerade " + m.set() + " " + m.text(), Text.nz(m.owner()));
        }
        t.print(out);
        if (!v.nft().tables().isEmpty()) {
            out.println("  Tables: "
                    + String.join(
                            "; ",
                            v.nft().tables().stream()
                                    .map(x -> x.text() + " ("
                                            + String.join(
                                                    ", ",
                                                    x.chainRules().entrySet().stream()
                                                            .map(e -> e.getKey() + " " + e.getValue() + " rules")
                                                            .toList())
                                            + ")")
                                    .toList()));
        }
        for (String p : v.nft().problems()) {
            out.println("  error: " + p);
        }
        out.println();
        Services.SocketStatus s = v.pluginSocket();
        String holder =
                s.holders().isEmpty() ? "" : " by pid " + s.holders().get(0).pid() + " (" + s.servedBy() + ")";
        out.println("  plugin socket " + s.path() + ": "
                + (!s.present()
                        ? "absent (" + s.detail() + "): the plugins run standalone"
                        : s.answering()
                                ? (s.detail().startsWith("answers, but") ? s.detail() : "answering") + holder
                                : "present but " + s.detail() + holder));
        out.println("  agent: "
                + (v.agents().isEmpty()
                        ? "not running"
                        : "running, pid "
                                + String.join(
                                        ",",
                                        v.agents().stream()
                                                .map(a -> Integer.toString(a.pid()))
                                                .toList())));
    }
}
