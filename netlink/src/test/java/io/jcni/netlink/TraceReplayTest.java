package io.jcni.netlink;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ip.MacAddress;
import io.jcni.netlink.ns.NamedNetns;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.ns.Sysctl;
import io.jcni.netlink.route.Address;
import io.jcni.netlink.route.Addresses;
import io.jcni.netlink.route.Link;
import io.jcni.netlink.route.LinkSpec;
import io.jcni.netlink.route.Links;
import io.jcni.netlink.route.Neighbour;
import io.jcni.netlink.route.Route;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.netlink.route.Rtnl;
import io.jcni.netlink.testing.Scratch;
import io.jcni.testkit.Commands;
import io.jcni.testkit.Json;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The trace is exact and replayable: the command lines recorded while jcni wires a pod (two
 * namespaces, a veth born in the pod, addresses, routes, a neighbour, a sysctl) are asserted
 * verbatim, then run with iproute2 against a second, fresh namespace pair, and the two pairs'
 * kernel state is compared.
 */
class TraceReplayTest {
    private static final MacAddress HOST_MAC = MacAddress.parse("02:00:0a:01:00:01");
    private static final MacAddress POD_MAC = MacAddress.parse("02:00:0a:01:00:02");

    @Test
    void recordedCommandsAreExactAndReplayToTheSameState() {
        try (Scratch s = new Scratch("tr")) {
            String h1 = s.name("h");
            String p1 = s.name("p");
            String h2 = s.name("h");
            String p2 = s.name("p");
            String vh = s.name("vh");
            String vp = s.name("vp");
            for (String n : List.of(h1, p1, h2, p2)) {
                s.adoptNetns(n); // made by the code under test, and by the replay
            }
            List<String> trace = new ArrayList<>();
            wirePod(h1, p1, vh, vp, trace::add);
            List<String> expected = List.of(
                    "ip netns add " + h1,
                    "ip netns add " + p1,
                    "ip -n " + h1 + " link add " + vh + " mtu 1450 address " + HOST_MAC + " type veth peer name " + vp
                            + " mtu 1450 address " + POD_MAC + " netns " + p1,
                    "ip -n " + h1 + " link set " + vh + " up",
                    "ip -n " + p1 + " link set lo up",
                    "ip -n " + p1 + " link set " + vp + " up",
                    "ip -n " + p1 + " addr add 10.1.0.2/24 brd + dev " + vp,
                    "ip -n " + p1 + " addr add fd01::2/64 dev " + vp + " nodad",
                    "ip -n " + p1 + " route add default via 10.1.0.1",
                    "ip -n " + p1 + " -6 route add default via fd01::1 dev " + vp + " metric 100",
                    "ip -n " + h1 + " addr add 10.1.0.1/32 dev " + vh,
                    "ip -n " + h1 + " route add 10.1.0.2/32 dev " + vh + " src 10.1.0.1",
                    "ip -n " + h1 + " route add default via 10.1.0.254 dev " + vh + " table 1000 onlink",
                    "ip -n " + h1 + " neigh add 10.1.0.2 lladdr " + POD_MAC + " dev " + vh + " nud permanent",
                    "ip netns exec " + h1 + " sysctl -w net.ipv4.ip_forward=1");
            assertEquals(expected, trace);

            // replay in a second pair: the same lines with the namespace names swapped
            for (String line : trace) {
                String replay = (" " + line + " ")
                        .replace(" " + h1 + " ", " " + h2 + " ")
                        .replace(" " + p1 + " ", " " + p2 + " ")
                        .trim();
                Commands.run(replay.split(" "));
            }

            assertEquals(snapshot(h1), snapshot(h2), "host side");
            assertEquals(snapshot(p1), snapshot(p2), "pod side");
            assertEquals(ipWitness(h1), ipWitness(h2), "host side, as iproute2 sees it");
            assertEquals(ipWitness(p1), ipWitness(p2), "pod side, as iproute2 sees it");
            // and the state is what was asked for, not merely equal
            String pod2 = snapshot(p2).toString();
            String host2 = snapshot(h2).toString();
            assertTrue(pod2.contains("addr " + vp + " 10.1.0.2/24 "), pod2);
            assertTrue(pod2.contains("route default via fd01::1 dev " + vp + " metric 100 "), pod2);
            assertTrue(host2.contains("route default via 10.1.0.254 dev " + vh + " table 1000 onlink "), host2);
            assertTrue(host2.contains("neigh " + vh + " 10.1.0.2 " + POD_MAC), host2);
            assertTrue(host2.contains("ip_forward=1"), host2);
        }
    }

    /** Every link setter's trace line replays to the same link state (flags, MTU, MAC, master, port flags, namespace). */
    @Test
    void linkSetterTracesReplay() {
        try (Scratch s = new Scratch("tr")) {
            NetNs a1 = s.netns("a");
            NetNs o1 = s.netns("o");
            NetNs a2 = s.netns("a");
            NetNs o2 = s.netns("o");
            String br = s.name("br");
            String x = s.name("x");
            String y = s.name("y");
            String m = s.name("m");
            String n = s.name("n");
            List<String> trace = new ArrayList<>();
            try (RouteNetlink nl = RouteNetlink.open(a1, trace::add)) {
                nl.links().add(LinkSpec.bridge(br).up());
                nl.links().add(LinkSpec.veth(x, y));
                nl.links().add(LinkSpec.veth(m, n).txQueueLen(100));
                nl.links()
                        .add(LinkSpec.vxlan(s.name("v"), 9)
                                .vxlanLocal(IpAddress.parse("fd00::1"))
                                .vxlanGroup(IpAddress.parse("fd00::9"))
                                .vxlanPort(4790)
                                .master(br));
                nl.links().setMtu(x, 1300);
                nl.links().setMac(x, HOST_MAC);
                nl.links().setMaster(x, br);
                nl.links().setMaster(m, br);
                nl.links().setHairpin(x, true);
                nl.links().setIsolated(x, true);
                nl.links().setNoMaster(m);
                nl.links().setPromiscuous(y, true);
                nl.links().setUp(x);
                nl.links().setUp(y);
                nl.links().setDown(y);
                nl.links().moveToNetns(n, o1);
                nl.links().delete(m);
            }
            assertTrue(
                    trace.contains("ip netns exec " + a1.name() + " bridge link set dev " + x + " hairpin on"),
                    trace.toString());
            assertTrue(
                    trace.contains("ip -n " + a1.name() + " link set " + n + " netns " + o1.name()), trace.toString());
            for (String line : trace) {
                Commands.run((" " + line + " ")
                        .replace(" " + a1.name() + " ", " " + a2.name() + " ")
                        .replace(" " + o1.name() + " ", " " + o2.name() + " ")
                        .trim()
                        .split(" "));
            }
            assertEquals(linkState(a1), linkState(a2));
            assertEquals(linkState(o1), linkState(o2));
            String after = linkState(a2).toString();
            assertTrue(after.contains("port " + x + " hairpin=true isolated=true"), after);
            assertTrue(
                    after.contains("vxlan=VxlanInfo[vni=9, local=fd00::1, group=fd00::9, port=4790, learning=true"),
                    after);
            assertTrue(after.contains("link " + y + " kind=veth mtu=1500 mac=random up=false promisc=1"), after);
            assertFalse(after.contains("link " + m + " "), after);
        }
    }

    private static TreeSet<String> linkState(NetNs ns) {
        TreeSet<String> out = new TreeSet<>();
        try (RouteNetlink nl = RouteNetlink.open(ns, Trace.OFF)) {
            Map<Integer, String> names = new HashMap<>();
            for (Link l : nl.links().list()) {
                names.put(l.index(), l.name());
            }
            for (Link l : nl.links().list()) {
                String mac = l.mac() == null || !l.mac().equals(HOST_MAC)
                        ? "random"
                        : l.mac().toString();
                out.add("link " + l.name() + " kind=" + l.kind() + " mtu=" + l.mtu() + " mac=" + mac + " up=" + l.isUp()
                        + " promisc=" + l.promiscuity() + " txq=" + l.txQueueLen() + " master="
                        + names.get(l.masterIndex())
                        + " slave=" + l.slaveKind() + " vxlan=" + l.vxlan()
                        + " peer=" + (l.linkNetnsId() >= 0 ? "elsewhere" : names.get(l.peerIndex())));
                if (l.masterIndex() != 0) {
                    Links.BridgePort p = nl.links().bridgePort(l.name());
                    out.add("port " + l.name() + " hairpin=" + p.hairpin() + " isolated=" + p.isolated() + " learning="
                            + p.learning());
                }
            }
        }
        return out;
    }

    private static void wirePod(String host, String pod, String vh, String vp, Trace trace) {
        NamedNetns.create(host, trace);
        NamedNetns.create(pod, trace);
        try (NetNs h = NetNs.openNamed(host);
                NetNs p = NetNs.openNamed(pod);
                RouteNetlink hn = RouteNetlink.open(h, trace);
                RouteNetlink pn = RouteNetlink.open(p, trace)) {
            hn.links()
                    .add(LinkSpec.veth(vh, vp)
                            .peerNetns(p)
                            .mtu(1450)
                            .mac(HOST_MAC)
                            .peerMac(POD_MAC)
                            .up());
            pn.links().setUp("lo");
            pn.links().setUp(vp);
            pn.addresses().add(vp, IpPrefix.parse("10.1.0.2/24"));
            pn.addresses().add(vp, IpPrefix.parse("fd01::2/64"), Addresses.NO_DAD);
            pn.routes().add(Route.defaultVia(IpAddress.parse("10.1.0.1")));
            pn.routes().add(Route.defaultVia(IpAddress.parse("fd01::1")).dev(vp).metric(100));
            hn.addresses().add(vh, IpPrefix.parse("10.1.0.1/32"));
            hn.routes().add(Route.to(IpPrefix.parse("10.1.0.2/32")).dev(vh).src(IpAddress.parse("10.1.0.1")));
            hn.routes()
                    .add(Route.defaultVia(IpAddress.parse("10.1.0.254"))
                            .dev(vh)
                            .table(1000)
                            .withOnlink());
            hn.neighbours().add(vh, IpAddress.parse("10.1.0.2"), POD_MAC);
            Sysctl.write(h, "net.ipv4.ip_forward", "1", trace);
        }
    }

    private static boolean linkLocal(IpAddress a) {
        byte[] b = a.bytes();
        return b.length == 16 && ((b[0] & 0xff) == 0xfe && (b[1] & 0xc0) == 0x80 || (b[0] & 0xff) == 0xff);
    }

    /**
     * The namespace's state through our API, as comparable text: links (kind, MTU, MAC, up, master,
     * peer), addresses, routes of every table, permanent neighbours, ip_forward. IPv6 link-local
     * and multicast entries are left out (they follow DAD timing, not the commands).
     */
    private static TreeSet<String> snapshot(String ns) {
        TreeSet<String> out = new TreeSet<>();
        try (NetNs n = NetNs.openNamed(ns);
                RouteNetlink nl = RouteNetlink.open(n, Trace.OFF)) {
            Map<Integer, String> names = new HashMap<>();
            for (Link l : nl.links().list()) {
                names.put(l.index(), l.name());
            }
            for (Link l : nl.links().list()) {
                out.add("link " + l.name() + " kind=" + l.kind() + " mtu=" + l.mtu() + " mac=" + l.mac() + " up="
                        + l.isUp() + " master=" + names.get(l.masterIndex()) + " peerInOtherNs="
                        + (l.linkNetnsId() >= 0));
                for (Address a : nl.addresses().list(l.name())) {
                    if (!linkLocal(a.prefix().address())) {
                        out.add("addr " + l.name() + " " + a.prefix() + " scope=" + a.scope() + " flags="
                                + (a.flags() & ~Rtnl.IFA_F_TENTATIVE));
                    }
                }
            }
            for (Route r : nl.routes().list(Rtnl.AF_UNSPEC, 0)) {
                if (!linkLocal(r.destination().address())) {
                    out.add("route " + r + " table=" + r.table() + " proto=" + r.protocol() + " scope=" + r.scope()
                            + " type=" + r.type());
                }
            }
            for (Neighbour nb : nl.neighbours().list(null)) {
                if (nb.isPermanent()) {
                    out.add("neigh " + nb.link() + " " + nb.address() + " " + nb.mac());
                }
            }
            out.add("ip_forward=" + Sysctl.read(n, "net.ipv4.ip_forward"));
        }
        return out;
    }

    /** The same comparison through iproute2's eyes (addresses and IPv4 routes of every table). */
    private static TreeSet<String> ipWitness(String ns) {
        TreeSet<String> out = new TreeSet<>();
        for (Map<String, Object> l : Json.objects(Commands.ip(ns, "addr", "show"))) {
            out.add("link " + l.get("ifname") + " " + l.get("mtu") + " " + l.get("address") + " " + l.get("flags"));
            for (Object o : (List<?>) l.get("addr_info")) {
                @SuppressWarnings("unchecked")
                Map<String, Object> a = (Map<String, Object>) o;
                if (!"link".equals(a.get("scope"))) {
                    out.add("addr " + l.get("ifname") + " " + a.get("local") + "/" + a.get("prefixlen") + " "
                            + a.get("scope"));
                }
            }
        }
        for (Map<String, Object> r : Json.objects(Commands.ip(ns, "-4", "route", "show", "table", "all"))) {
            out.add("route "
                    + new TreeSet<>(r.entrySet().stream().map(Object::toString).toList()));
        }
        return out;
    }
}
