package io.jcni.netlink.route;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.ObjectExistsException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.testing.Scratch;
import io.jcni.testkit.Commands;
import io.jcni.testkit.Witness;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Routes, IPv4 and IPv6, main and other tables, in a fresh namespace; ip -j route as witness. */
class RouteTest {
    private Scratch s;
    private String nsName;
    private RouteNetlink nl;
    private String dev;

    @BeforeEach
    void setUp() {
        s = new Scratch("rt");
        NetNs ns = s.netns("n");
        nsName = ns.name();
        nl = s.closeLater(RouteNetlink.open(ns, Trace.OFF));
        dev = s.name("br");
        nl.links().add(LinkSpec.bridge(dev).up());
        nl.addresses().add(dev, IpPrefix.parse("10.10.0.1/24"));
        nl.addresses().add(dev, IpPrefix.parse("fd10::1/64"), Addresses.NO_DAD);
    }

    @AfterEach
    void tearDown() {
        s.close();
    }

    private static IpAddress ip(String s) {
        return IpAddress.parse(s);
    }

    private static IpPrefix pfx(String s) {
        return IpPrefix.parse(s);
    }

    private static Route find(List<Route> l, String dst) {
        for (Route r : l) {
            if ((r.isDefault() ? "default" : r.destination().toString()).equals(dst)) {
                return r;
            }
        }
        return null;
    }

    private static Map<String, Object> w(List<Map<String, Object>> l, String dst) {
        for (Map<String, Object> m : l) {
            if (dst.equals(m.get("dst"))) {
                return m;
            }
        }
        return null;
    }

    @Test
    void connectedViaDefaultV4() {
        nl.routes().add(Route.to(pfx("10.20.0.0/24")).dev(dev));
        nl.routes().add(Route.to(pfx("10.30.0.0/16")).via(ip("10.10.0.254")));
        nl.routes().add(Route.defaultVia(ip("10.10.0.254")).dev(dev));

        List<Route> main = nl.routes().list(Rtnl.AF_INET, Rtnl.RT_TABLE_MAIN);
        Route c = find(main, "10.20.0.0/24");
        assertNotNull(c, main.toString());
        assertEquals(Rtnl.RT_SCOPE_LINK, c.scope(), "connected routes get link scope, as with ip route");
        assertEquals(dev, c.device());
        assertNull(c.gateway());
        Route v = find(main, "10.30.0.0/16");
        assertEquals(ip("10.10.0.254"), v.gateway());
        assertEquals(dev, v.device(), "the kernel resolved the device from the gateway");
        assertEquals(Rtnl.RT_SCOPE_UNIVERSE, v.scope());
        Route d = find(main, "default");
        assertNotNull(d);
        assertTrue(d.isDefault());
        assertEquals(Rtnl.RTPROT_BOOT, d.protocol());

        List<Map<String, Object>> wm = Witness.routes(nsName, false, "main");
        assertEquals("link", w(wm, "10.20.0.0/24").get("scope"));
        assertEquals(dev, w(wm, "10.20.0.0/24").get("dev"));
        assertEquals("10.10.0.254", w(wm, "10.30.0.0/16").get("gateway"));
        assertEquals("10.10.0.254", w(wm, "default").get("gateway"));
        assertNull(w(wm, "default").get("protocol"), "ip -j omits the default protocol, boot");
        // every route iproute2 sees in main is one we list, and vice versa
        assertEquals(wm.size(), main.size(), wm + " vs " + main);
    }

    @Test
    void onlinkAndExplicitScope() {
        // 192.168.99.1 is not covered by any address: only onlink makes it acceptable
        nl.routes()
                .add(Route.to(pfx("10.50.0.0/24"))
                        .via(ip("192.168.99.1"))
                        .dev(dev)
                        .withOnlink());
        nl.routes().add(Route.to(pfx("10.51.0.0/24")).dev(dev).scope(Rtnl.RT_SCOPE_LINK));
        nl.routes().add(Route.to(pfx("10.52.0.0/24")).dev(dev).scope(Rtnl.RT_SCOPE_UNIVERSE));
        List<Route> main = nl.routes().list(Rtnl.AF_INET, Rtnl.RT_TABLE_MAIN);
        assertTrue(find(main, "10.50.0.0/24").onlink());
        assertEquals(Rtnl.RT_SCOPE_LINK, find(main, "10.51.0.0/24").scope());
        assertEquals(Rtnl.RT_SCOPE_UNIVERSE, find(main, "10.52.0.0/24").scope());
        List<Map<String, Object>> wm = Witness.routes(nsName, false, "main");
        assertTrue(Witness.strings(w(wm, "10.50.0.0/24").get("flags")).contains("onlink"), wm.toString());
        assertEquals("192.168.99.1", w(wm, "10.50.0.0/24").get("gateway"));
        assertEquals("link", w(wm, "10.51.0.0/24").get("scope"));
        assertNull(w(wm, "10.52.0.0/24").get("scope"), "ip -j omits scope global");
    }

    @Test
    void otherTablesAndFilters() {
        nl.routes().add(Route.to(pfx("10.60.0.0/24")).dev(dev).table(100));
        nl.routes().add(Route.defaultVia(ip("10.10.0.254")).table(1000));
        nl.routes().add(Route.to(pfx("fd60::/64")).dev(dev).table(1000));

        List<Route> t100 = nl.routes().list(Rtnl.AF_INET, 100);
        assertEquals(1, t100.size(), t100.toString());
        assertEquals(100, t100.get(0).table());
        List<Route> t1000 = nl.routes().list(Rtnl.AF_UNSPEC, 1000);
        assertEquals(2, t1000.size(), t1000.toString());
        for (Route r : t1000) {
            assertEquals(1000, r.table());
        }
        List<Route> t1000v6 = nl.routes().list(Rtnl.AF_INET6, 1000);
        assertEquals(1, t1000v6.size());
        assertFalse(t1000v6.get(0).isV4());
        assertNull(find(nl.routes().list(Rtnl.AF_INET, Rtnl.RT_TABLE_MAIN), "10.60.0.0/24"), "not in main");
        List<Route> every = nl.routes().list(Rtnl.AF_UNSPEC, 0);
        assertNotNull(find(every, "10.60.0.0/24"));
        assertTrue(every.stream().anyMatch(r -> r.table() == Rtnl.RT_TABLE_LOCAL), "table 0 = every table");

        assertEquals(
                dev, w(Witness.routes(nsName, false, "100"), "10.60.0.0/24").get("dev"));
        assertEquals(
                "10.10.0.254",
                w(Witness.routes(nsName, false, "1000"), "default").get("gateway"));
        assertEquals(dev, w(Witness.routes(nsName, true, "1000"), "fd60::/64").get("dev"));

        nl.routes().delete(Route.defaultVia(ip("10.10.0.254")).table(1000));
        assertEquals(0, nl.routes().list(Rtnl.AF_INET, 1000).size());
    }

    @Test
    void metricsReplaceDelete() {
        IpPrefix p = pfx("10.70.0.0/24");
        nl.routes().add(Route.to(p).via(ip("10.10.0.253")).metric(100));
        nl.routes().add(Route.to(p).via(ip("10.10.0.254")).metric(200));
        List<Route> both = nl.routes().list(Rtnl.AF_INET, Rtnl.RT_TABLE_MAIN).stream()
                .filter(r -> r.destination().equals(p))
                .toList();
        assertEquals(2, both.size(), both.toString());
        List<Long> wMetrics = Witness.routes(nsName, false, "main").stream()
                .filter(m -> "10.70.0.0/24".equals(m.get("dst")))
                .map(m -> (Long) m.get("metric"))
                .sorted()
                .toList();
        assertEquals(List.of(100L, 200L), wMetrics);

        nl.routes().replace(Route.to(p).via(ip("10.10.0.250")).metric(100));
        Route r100 = nl.routes().list(Rtnl.AF_INET, Rtnl.RT_TABLE_MAIN).stream()
                .filter(r -> r.destination().equals(p) && r.metric() == 100)
                .findFirst()
                .orElseThrow();
        assertEquals(ip("10.10.0.250"), r100.gateway(), "replace swapped the gateway of the metric-100 route");
        assertEquals(
                2,
                Witness.routes(nsName, false, "main").stream()
                        .filter(m -> "10.70.0.0/24".equals(m.get("dst")))
                        .count());

        assertThrows(
                ObjectExistsException.class,
                () -> nl.routes().add(Route.to(p).via(ip("10.10.0.250")).metric(100)));
        nl.routes().delete(Route.to(p).metric(100));
        nl.routes().delete(Route.to(p).via(ip("10.10.0.254")).metric(200));
        assertNull(w(Witness.routes(nsName, false, "main"), "10.70.0.0/24"));
        NoSuchObjectException e = assertThrows(
                NoSuchObjectException.class,
                () -> nl.routes().delete(Route.to(p).metric(100)));
        assertEquals("delete route", e.operation());
        assertFalse(nl.routes().deleteIfExists(Route.to(p).metric(100)));
        nl.routes().replace(Route.to(p).dev(dev));
        assertTrue(nl.routes().deleteIfExists(Route.to(p).dev(dev)));
    }

    @Test
    void deleteOfProtocolLeavesOtherProtocolsRoute() {
        // Two routes the kernel tells apart only by protocol: same destination, next hop and metric.
        Commands.run("ip", "-n", nsName, "route", "add", "10.71.0.0/24", "via", "10.10.0.254", "proto", "static");
        Commands.run("ip", "-n", nsName, "route", "append", "10.71.0.0/24", "via", "10.10.0.254", "proto", "215");
        Route ours =
                Route.to(pfx("10.71.0.0/24")).via(ip("10.10.0.254")).dev(dev).protocol(215);

        assertTrue(nl.routes().deleteOfProtocolIfExists(ours));
        List<Map<String, Object>> left = Witness.routes(nsName, false, "main").stream()
                .filter(m -> "10.71.0.0/24".equals(m.get("dst")))
                .toList();
        assertEquals(1, left.size(), left.toString());
        assertEquals("static", left.get(0).get("protocol"), "the other protocol's route stays");
        assertFalse(nl.routes().deleteOfProtocolIfExists(ours), "none of protocol 215 is left");
        assertEquals(
                1,
                Witness.routes(nsName, false, "main").stream()
                        .filter(m -> "10.71.0.0/24".equals(m.get("dst")))
                        .count());
    }

    @Test
    void ipv6ConnectedViaDefaultMetric() {
        nl.routes().add(Route.to(pfx("fd20::/64")).dev(dev));
        nl.routes().add(Route.to(pfx("fd30::/48")).via(ip("fd10::fe")).metric(50));
        nl.routes().add(Route.defaultVia(ip("fd10::fe")).dev(dev));
        List<Route> v6 = nl.routes().list(Rtnl.AF_INET6, Rtnl.RT_TABLE_MAIN);
        for (Route r : v6) {
            assertFalse(r.isV4(), "family filter: " + r);
        }
        assertEquals(dev, find(v6, "fd20::/64").device());
        Route via = find(v6, "fd30::/48");
        assertEquals(ip("fd10::fe"), via.gateway());
        assertEquals(50, via.metric());
        assertEquals(ip("fd10::fe"), find(v6, "default").gateway());
        assertEquals(1024, find(v6, "default").metric(), "the kernel's IPv6 default metric");

        List<Map<String, Object>> wm = Witness.routes(nsName, true, "main");
        assertEquals(dev, w(wm, "fd20::/64").get("dev"));
        assertEquals("fd10::fe", w(wm, "fd30::/48").get("gateway"));
        assertEquals(50L, w(wm, "fd30::/48").get("metric"));
        assertEquals("fd10::fe", w(wm, "default").get("gateway"));

        nl.routes().replace(Route.to(pfx("fd30::/48")).via(ip("fd10::fd")).metric(50));
        assertEquals(
                "fd10::fd", w(Witness.routes(nsName, true, "main"), "fd30::/48").get("gateway"));
        nl.routes().delete(Route.to(pfx("fd30::/48")).metric(50));
        assertNull(w(Witness.routes(nsName, true, "main"), "fd30::/48"));
        assertNull(find(nl.routes().list(Rtnl.AF_INET6, Rtnl.RT_TABLE_MAIN), "fd30::/48"));
    }

    /** Non-unicast types, a protocol and a local route: read back, and their trace replays to the same routes. */
    @Test
    void routeTypesAndProtocolTraceAndReplay() {
        List<String> trace = new ArrayList<>();
        NetNs second = s.netns("m");
        try (RouteNetlink t = RouteNetlink.open(s.closeLater(NetNs.openNamed(nsName)), trace::add);
                RouteNetlink nl2 = RouteNetlink.open(second, Trace.OFF)) {
            nl2.links().add(LinkSpec.bridge(dev).up());
            nl2.addresses().add(dev, IpPrefix.parse("10.10.0.1/24"));
            nl2.addresses().add(dev, IpPrefix.parse("fd10::1/64"), Addresses.NO_DAD);

            t.routes().add(Route.to(pfx("10.80.0.0/16")).type(Rtnl.RTN_BLACKHOLE));
            t.routes()
                    .add(Route.to(pfx("10.81.0.0/16"))
                            .type(Rtnl.RTN_UNREACHABLE)
                            .table(100));
            t.routes().add(Route.to(pfx("fd80::/48")).type(Rtnl.RTN_PROHIBIT));
            t.routes().add(Route.to(pfx("10.82.0.0/24")).via(ip("10.10.0.254")).protocol(Rtnl.RTPROT_STATIC));
            t.routes()
                    .add(Route.to(pfx("10.83.0.1/32"))
                            .dev(dev)
                            .type(Rtnl.RTN_LOCAL)
                            .table(1000));
            String p = "ip -n " + nsName + " ";
            assertEquals(
                    List.of(
                            p + "route add blackhole 10.80.0.0/16",
                            p + "route add unreachable 10.81.0.0/16 table 100",
                            p + "-6 route add prohibit fd80::/48",
                            p + "route add 10.82.0.0/24 via 10.10.0.254 proto static",
                            p + "route add local 10.83.0.1/32 dev " + dev + " table 1000"),
                    trace);

            List<Route> all = nl.routes().list(Rtnl.AF_UNSPEC, 0);
            assertEquals(Rtnl.RTN_BLACKHOLE, find(all, "10.80.0.0/16").type());
            assertEquals(Rtnl.RTN_UNREACHABLE, find(all, "10.81.0.0/16").type());
            assertEquals(Rtnl.RTN_PROHIBIT, find(all, "fd80::/48").type());
            assertEquals(Rtnl.RTPROT_STATIC, find(all, "10.82.0.0/24").protocol());
            Route local = find(nl.routes().list(Rtnl.AF_INET, 1000), "10.83.0.1/32");
            assertEquals(Rtnl.RTN_LOCAL, local.type());
            assertEquals(Rtnl.RT_SCOPE_HOST, local.scope(), "host scope, as ip route picks for local routes");
            assertEquals(
                    "blackhole",
                    w(Witness.routes(nsName, false, "main"), "10.80.0.0/16").get("type"));
            assertEquals(
                    "static",
                    w(Witness.routes(nsName, false, "main"), "10.82.0.0/24").get("protocol"));
            assertEquals(
                    "local",
                    w(Witness.routes(nsName, false, "1000"), "10.83.0.1").get("type"));

            for (String line : trace) {
                Commands.run(line.replace("-n " + nsName + " ", "-n " + second.name() + " ")
                        .split(" "));
            }
            assertEquals(routeSet(nl), routeSet(nl2));
            // the routes read back print as commands that recreate them
            for (Route r : List.of(find(all, "10.80.0.0/16"), find(all, "10.82.0.0/24"), local)) {
                nl2.routes().delete(r);
            }
        }
    }

    /**
     * The route lookup answers with the output device's index; resolving it to a name must not
     * take a dump of every link: on a node where links come and go (pods starting and stopping),
     * a long dump is interrupted again and again, and portmap's ADD failed with "dump interrupted".
     */
    @Test
    void outputDeviceHoldsWhileLinksComeAndGo() throws Exception {
        // enough links that listing them takes several messages, the window a change interrupts
        for (int i = 0; i < 300; i++) {
            nl.links().add(LinkSpec.bridge("d" + i));
        }
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicInteger changes = new java.util.concurrent.atomic.AtomicInteger();
        List<Thread> churn = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            String name = "churn" + t;
            churn.add(Thread.ofPlatform().start(() -> {
                try (NetNs same = NetNs.openNamed(nsName);
                        RouteNetlink other = RouteNetlink.open(same, Trace.OFF)) {
                    while (!stop.get()) {
                        other.links().add(LinkSpec.bridge(name));
                        other.links().delete(name);
                        changes.incrementAndGet();
                    }
                }
            }));
        }
        try {
            for (int i = 0; i < 1000; i++) {
                assertEquals(dev, nl.routes().outputDevice(ip("10.10.0.5")));
            }
        } finally {
            stop.set(true);
            for (Thread t : churn) {
                t.join();
            }
        }
        assertTrue(changes.get() > 0, "links changed meanwhile");
    }

    private static TreeSet<String> routeSet(RouteNetlink n) {
        TreeSet<String> out = new TreeSet<>();
        for (Route r : n.routes().list(Rtnl.AF_UNSPEC, 0)) {
            if (!r.destination().toString().startsWith("fe80")
                    && !r.destination().toString().startsWith("ff00")) {
                out.add(r + " table=" + r.table() + " scope=" + r.scope() + " type=" + r.type() + " proto="
                        + r.protocol());
            }
        }
        return out;
    }
}
