package io.jcni.agent;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.agent.ClusterLab.Node;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ip.MacAddress;
import io.jcni.netlink.ns.Sysctl;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.testkit.Commands;
import io.jcni.testkit.Json;
import io.jcni.testkit.Witness;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The dataplane on a three-node cluster in namespaces ({@link ClusterLab}), both backends: pods
 * reach each other with their own addresses, passes converge and then change nothing, drift is
 * repaired, only what the agent marked is ever removed. Every check reads the kernel through
 * {@code ip -j}, {@code bridge -j} and {@code nft -j}, or sends real packets.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DataplaneTest {
    private static final String VX = "jcni.1";
    private ClusterLab lab;

    @BeforeAll
    void createLab() {
        lab = new ClusterLab();
    }

    @AfterAll
    void removeLab() {
        if (lab != null) {
            lab.close();
        }
    }

    /** Each test starts from nodes without anything of the agent's, and without the tests' own extras. */
    @BeforeEach
    void reset() {
        for (Node n : lab.nodes) {
            Dataplane.Report r = n.dataplane().teardown();
            assertEquals(List.of(), r.errors());
            sh(n, "ip", "route", "flush", "proto", "static");
            sh(n, "ip", "route", "flush", "proto", "boot");
            sh(n, "ip", "-4", "addr", "flush", "dev", ClusterLab.POD_BRIDGE);
        }
    }

    // ---------------------------------------------------------------- helpers

    static NetworkConfig config(String backend, int vni, boolean directRouting) {
        try {
            return NetworkConfig.parse("{\"Network\": \"10.244.0.0/16\", \"Backend\": {\"Type\": \"" + backend
                    + "\", \"VNI\": " + vni + ", \"DirectRouting\": " + directRouting + "}}");
        } catch (NetworkConfig.InvalidConfigException e) {
            throw new AssertionError(e);
        }
    }

    static NetworkConfig config(String backend) {
        return config(backend, 1, false);
    }

    private Lease lease(Node n, NetworkConfig c) {
        boolean vx = c.backend().isVxlan();
        return new Lease(
                n.subnet(),
                n.publicIp(),
                c.backend().type(),
                vx ? n.dataplane().vtepMac(c, null) : null,
                vx ? c.backend().vni() : 0,
                0);
    }

    private List<Lease> leases(NetworkConfig c, int... nodes) {
        List<Lease> out = new ArrayList<>();
        for (int i : nodes) {
            out.add(lease(lab.node(i), c));
        }
        return out;
    }

    private List<Lease> allLeases(NetworkConfig c) {
        return leases(c, 1, 2, 3);
    }

    private static Lease own(Node n, List<Lease> leases) {
        for (Lease l : leases) {
            if (l.subnet().equals(n.subnet())) {
                return l;
            }
        }
        throw new AssertionError("no lease for " + n.subnet());
    }

    private Dataplane.Report pass(Node n, NetworkConfig c, List<Lease> leases, boolean masq) {
        Dataplane.Report r = n.dataplane().reconcile(c, own(n, leases), leases, masq);
        assertEquals(List.of(), r.errors(), "errors of the pass on node " + n.index());
        return r;
    }

    private void passAll(NetworkConfig c, List<Lease> leases, boolean masq) {
        for (Node n : lab.nodes) {
            pass(n, c, leases, masq);
        }
    }

    private void assertSecondPassChangesNothing(NetworkConfig c, List<Lease> leases, boolean masq) {
        for (Node n : lab.nodes) {
            assertEquals(List.of(), pass(n, c, leases, masq).changes(), "second pass on node " + n.index());
        }
    }

    private static String sh(Node n, String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", n.name()));
        cmd.addAll(List.of(args));
        return Commands.run(cmd.toArray(new String[0]));
    }

    /** The node's routes of protocol 215 as {@code DST via GW dev DEV [onlink]}, sorted. */
    private static TreeSet<String> ourRoutes(Node n) {
        TreeSet<String> out = new TreeSet<>();
        for (Map<String, Object> m :
                Json.objects(Commands.ip(n.name(), "route", "show", "table", "main", "proto", "215"))) {
            out.add(m.get("dst") + " via " + m.get("gateway") + " dev " + m.get("dev")
                    + (Witness.strings(m.get("flags")).contains("onlink") ? " onlink" : ""));
        }
        return out;
    }

    /** Every IPv4 route of the node's main table as {@code DST PROTOCOL}, sorted. */
    private static TreeSet<String> allRoutes(Node n) {
        TreeSet<String> out = new TreeSet<>();
        for (Map<String, Object> m : Witness.routes(n.name(), false, "main")) {
            // ip -j leaves out the protocol of routes added by hand (boot)
            out.add(m.get("dst") + " " + (m.get("protocol") == null ? "boot" : m.get("protocol")));
        }
        return out;
    }

    /** Permanent neighbours on the VXLAN device as {@code IP MAC}. */
    private static TreeSet<String> neighbours(Node n) {
        TreeSet<String> out = new TreeSet<>();
        for (Map<String, Object> m : Json.objects(Commands.ip(n.name(), "neigh", "show", "dev", VX))) {
            if (Witness.strings(m.get("state")).contains("PERMANENT")) {
                out.add(m.get("dst") + " " + m.get("lladdr"));
            }
        }
        return out;
    }

    /** The VXLAN device's FDB entries as {@code MAC dst IP STATE}. */
    private static TreeSet<String> fdb(Node n) {
        TreeSet<String> out = new TreeSet<>();
        for (Map<String, Object> m : Witness.bridge(n.name(), "fdb", "show", "dev", VX)) {
            out.add(m.get("mac") + " dst " + m.get("dst") + " " + m.get("state"));
        }
        return out;
    }

    private static boolean hasLink(Node n, String name) {
        return Witness.linkNames(n.name()).contains(name);
    }

    private static List<String> ourLinks(String ns) {
        return Witness.linkNames(ns).stream().filter(l -> l.startsWith("jcni.")).toList();
    }

    private static boolean hasTable(String ns) {
        String out = Commands.run("ip", "netns", "exec", ns, "nft", "-j", "list", "tables");
        return out.contains("\"" + Dataplane.NFT_TABLE + "\"");
    }

    private static long ifindex(Node n, String link) {
        return (Long) Witness.link(n.name(), link).get("ifindex");
    }

    private static MacAddress mac(Node n, NetworkConfig c) {
        return n.dataplane().vtepMac(c, null);
    }

    /** What node {@code n} must hold for the other nodes in {@code peers}, both backends. */
    private void assertProgrammed(Node n, NetworkConfig c, int... peers) {
        TreeSet<String> routes = new TreeSet<>();
        TreeSet<String> neigh = new TreeSet<>();
        TreeSet<String> fdb = new TreeSet<>();
        for (int p : peers) {
            Node peer = lab.node(p);
            String dst = peer.subnet().toString();
            if (c.backend().isVxlan()) {
                String vtep = peer.subnet().address().toString();
                routes.add(dst + " via " + vtep + " dev " + VX + " onlink");
                neigh.add(vtep + " " + mac(peer, c));
                fdb.add(mac(peer, c) + " dst " + peer.publicIp() + " permanent");
            } else {
                routes.add(dst + " via " + peer.publicIp() + " dev eth0");
            }
        }
        assertEquals(routes, ourRoutes(n), "routes of protocol 215 on node " + n.index());
        if (c.backend().isVxlan()) {
            assertEquals(neigh, neighbours(n), "neighbours on node " + n.index());
            assertEquals(fdb, fdb(n), "fdb on node " + n.index());
        } else {
            assertEquals(List.of(), ourLinks(n.name()), "no VXLAN device under host-gw");
        }
    }

    private void assertAllPodsTalk() {
        for (Node from : lab.nodes) {
            for (Node to : lab.nodes) {
                if (from != to) {
                    assertTrue(
                            ClusterLab.pings(from.pod(), to.podIp(), 5000),
                            "pod " + from.podIp() + " -> pod " + to.podIp());
                }
            }
        }
    }

    // ---------------------------------------------------------------- tests

    @ParameterizedTest
    @ValueSource(strings = {"host-gw", "vxlan"})
    void podsReachEachOtherWithTheirOwnAddressesAndASecondPassChangesNothing(String backend) {
        NetworkConfig c = config(backend);
        List<Lease> leases = allLeases(c);
        Sysctl.write(lab.node(1).ns(), "net.ipv4.ip_forward", "0", Trace.OFF);

        Dataplane.Report first = pass(lab.node(1), c, leases, false);
        assertTrue(
                first.changes().contains("sysctl -w net.ipv4.ip_forward=1"),
                first.changes().toString());
        assertTrue(
                first.changes().contains("ip addr add 10.244.1.1/24 brd + dev jcni0"),
                first.changes().toString());
        if (c.backend().isVxlan()) {
            assertTrue(
                    first.changes()
                            .contains("ip neigh replace 10.244.2.0 lladdr " + mac(lab.node(2), c)
                                    + " dev jcni.1 nud permanent"),
                    first.changes().toString());
            assertTrue(
                    first.changes()
                            .contains("bridge fdb replace " + mac(lab.node(2), c)
                                    + " dev jcni.1 dst 198.18.0.12 self permanent"),
                    first.changes().toString());
            assertTrue(
                    first.changes()
                            .contains("ip route replace 10.244.2.0/24 via 10.244.2.0 dev jcni.1 proto 215 onlink"),
                    first.changes().toString());
        } else {
            assertTrue(
                    first.changes().contains("ip route replace 10.244.2.0/24 via 198.18.0.12 dev eth0 proto 215"),
                    first.changes().toString());
        }
        pass(lab.node(2), c, leases, false);
        pass(lab.node(3), c, leases, false);

        for (Node n : lab.nodes) {
            assertEquals("1", sh(n, "cat", "/proc/sys/net/ipv4/ip_forward").trim());
            assertEquals(List.of("10.244." + n.index() + ".1/24"), v4(n, ClusterLab.POD_BRIDGE));
        }
        assertProgrammed(lab.node(1), c, 2, 3);
        assertProgrammed(lab.node(2), c, 1, 3);
        assertProgrammed(lab.node(3), c, 1, 2);
        if (c.backend().isVxlan()) {
            Map<String, Object> link = Witness.link(lab.node(1).name(), VX);
            Map<String, Object> data =
                    Witness.map(Witness.map(link.get("linkinfo")).get("info_data"));
            assertEquals("vxlan", Witness.map(link.get("linkinfo")).get("info_kind"));
            assertEquals(1L, data.get("id"));
            assertEquals(8472L, data.get("port"));
            assertEquals("198.18.0.11", data.get("local"));
            assertEquals("eth0", data.get("link"));
            assertEquals(Boolean.FALSE, data.get("learning"));
            assertEquals(1450L, link.get("mtu"));
            assertEquals(mac(lab.node(1), c).toString(), link.get("address"));
            assertTrue(Witness.strings(link.get("flags")).contains("UP"));
            assertEquals(List.of("10.244.1.0/32"), v4(lab.node(1), VX));
            assertEquals(1450, c.podMtu(lab.node(1).dataplane().underlayMtu()));
        }

        assertAllPodsTalk();
        assertEquals(
                lab.node(1).podIp(),
                ClusterLab.sourceSeenBy(
                        lab.node(2).pod(), lab.node(2).podIp(), lab.node(1).pod()),
                "pod to pod keeps the pod's address");
        assertEquals(
                lab.node(3).podIp(),
                ClusterLab.sourceSeenBy(
                        lab.node(1).pod(), lab.node(1).podIp(), lab.node(3).pod()));

        assertSecondPassChangesNothing(c, leases, false);
        assertAllPodsTalk();
    }

    private static List<String> v4(Node n, String dev) {
        return Witness.addresses(n.name(), dev).stream()
                .filter(a -> !a.contains(":"))
                .toList();
    }

    @ParameterizedTest
    @ValueSource(strings = {"host-gw", "vxlan"})
    void whatIsRemovedOrChangedByHandIsRestoredByTheNextPass(String backend) {
        NetworkConfig c = config(backend);
        List<Lease> leases = allLeases(c);
        passAll(c, leases, false);
        Node n1 = lab.node(1);
        Node n2 = lab.node(2);

        sh(n1, "ip", "route", "del", "10.244.2.0/24");
        assertEquals(1, pass(n1, c, leases, false).changes().size());
        assertProgrammed(n1, c, 2, 3);

        sh(n1, "ip", "route", "replace", "10.244.2.0/24", "via", "198.18.0.13", "dev", "eth0", "proto", "215");
        assertEquals(1, pass(n1, c, leases, false).changes().size(), "a wrong route of ours is replaced");
        assertProgrammed(n1, c, 2, 3);

        if (c.backend().isVxlan()) {
            String mac2 = mac(n2, c).toString();
            sh(n1, "ip", "neigh", "del", "10.244.2.0", "dev", VX);
            assertEquals(
                    List.of("ip neigh replace 10.244.2.0 lladdr " + mac2 + " dev jcni.1 nud permanent"),
                    pass(n1, c, leases, false).changes());
            assertProgrammed(n1, c, 2, 3);

            sh(n1, "bridge", "fdb", "del", mac2, "dev", VX, "dst", "198.18.0.12", "self");
            assertEquals(
                    List.of("bridge fdb replace " + mac2 + " dev jcni.1 dst 198.18.0.12 self permanent"),
                    pass(n1, c, leases, false).changes());
            assertProgrammed(n1, c, 2, 3);

            sh(n1, "bridge", "fdb", "replace", mac2, "dev", VX, "dst", "198.18.0.99", "self", "permanent");
            assertEquals(
                    List.of("bridge fdb replace " + mac2 + " dev jcni.1 dst 198.18.0.12 self permanent"),
                    pass(n1, c, leases, false).changes(),
                    "the peer's MAC points at the peer again");
            assertProgrammed(n1, c, 2, 3);

            sh(n1, "bridge", "fdb", "add", "02:00:00:00:00:99", "dev", VX, "dst", "198.18.0.99", "self", "permanent");
            sh(n1, "ip", "neigh", "add", "10.244.99.0", "lladdr", "02:00:00:00:00:99", "dev", VX, "nud", "permanent");
            assertEquals(
                    List.of(
                            "bridge fdb del 02:00:00:00:00:99 dev jcni.1 dst 198.18.0.99 self",
                            "ip neigh del 10.244.99.0 dev jcni.1"),
                    pass(n1, c, leases, false).changes(),
                    "entries of a MAC and address no peer has are removed");
            assertProgrammed(n1, c, 2, 3);

            long index = ifindex(n1, VX);
            sh(n1, "ip", "link", "set", VX, "address", "02:00:00:00:00:99", "mtu", "1300");
            List<String> changes = pass(n1, c, leases, false).changes();
            // A new MAC makes the kernel flush the device's neighbours (permanent ones too): they come back.
            assertEquals(
                    List.of("ip link set jcni.1 address " + own(n1, leases).vtepMac(), "ip link set jcni.1 mtu 1450"),
                    changes.subList(0, 2));
            assertEquals(index, ifindex(n1, VX), "MAC and MTU are set in place");
            assertProgrammed(n1, c, 2, 3);
            assertEquals(
                    own(n1, leases).vtepMac().toString(),
                    Witness.link(n1.name(), VX).get("address"));

            sh(n1, "ip", "link", "del", VX);
            Dataplane.Report r = pass(n1, c, leases, false);
            assertTrue(
                    r.changes()
                            .get(0)
                            .startsWith("ip link add jcni.1 address "
                                    + own(n1, leases).vtepMac()),
                    r.changes().toString());
            assertProgrammed(n1, c, 2, 3);

            // Made by hand with the wrong UDP port: only recreating fixes that.
            sh(n1, "ip", "link", "del", VX);
            sh(
                    n1,
                    "ip",
                    "link",
                    "add",
                    VX,
                    "type",
                    "vxlan",
                    "id",
                    "1",
                    "local",
                    "198.18.0.11",
                    "dev",
                    "eth0",
                    "dstport",
                    "4789",
                    "nolearning");
            r = pass(n1, c, leases, false);
            assertEquals("ip link del jcni.1", r.changes().get(0), r.changes().toString());
            assertEquals(
                    8472L,
                    Witness.map(Witness.map(Witness.link(n1.name(), VX).get("linkinfo"))
                                    .get("info_data"))
                            .get("port"));
            assertProgrammed(n1, c, 2, 3);
        }
        assertSecondPassChangesNothing(c, leases, false);
        assertAllPodsTalk();
    }

    @ParameterizedTest
    @ValueSource(strings = {"host-gw", "vxlan"})
    void aRestartedAgentTouchesNothingThatIsRight(String backend) {
        NetworkConfig c = config(backend);
        List<Lease> leases = allLeases(c);
        passAll(c, leases, true);
        Node n1 = lab.node(1);
        long index = c.backend().isVxlan() ? ifindex(n1, VX) : 0;
        try (RouteNetlink nl = RouteNetlink.open(n1.ns(), Trace.OFF);
                Dataplane restarted = new Dataplane(nl, Trace.OFF, "eth0", n1.publicIp(), ClusterLab.POD_BRIDGE)) {
            assertEquals(
                    own(n1, leases).vtepMac(), restarted.vtepMac(c, null), "the device's MAC is the one to publish");
            Dataplane.Report r = restarted.reconcile(c, own(n1, leases), leases, true);
            assertEquals(List.of(), r.errors());
            assertEquals(List.of(), r.changes());
        }
        if (c.backend().isVxlan()) {
            assertEquals(index, ifindex(n1, VX), "the device was not recreated");
        }
        assertAllPodsTalk();
    }

    @ParameterizedTest
    @ValueSource(strings = {"host-gw", "vxlan"})
    void aRemovedLeaseTakesExactlyThatPeersObjectsAndNothingOfOthers(String backend) {
        NetworkConfig c = config(backend);
        List<Lease> all = allLeases(c);
        passAll(c, all, false);
        Node n1 = lab.node(1);
        sh(n1, "ip", "route", "add", "10.244.50.0/24", "via", "198.18.0.13", "dev", "eth0", "proto", "static");
        sh(n1, "ip", "route", "add", "10.99.0.0/24", "via", "198.18.0.12", "proto", "boot");
        // A route of ours to a subnet nobody leases any more (left from before a restart).
        sh(n1, "ip", "route", "add", "10.244.77.0/24", "via", "198.18.0.13", "dev", "eth0", "proto", "215");

        List<Lease> without3 = leases(c, 1, 2);
        OwnDeletions announced = n1.dataplane().ownDeletions();
        announced.clear();
        Dataplane.Report r = pass(n1, c, without3, false);
        assertTrue(
                r.changes().contains("ip route del 10.244.77.0/24 via 198.18.0.13 dev eth0 proto 215"),
                r.changes().toString());
        // every deletion was announced for the kernel watch, once: the stale route and peer 3's (vxlan: its neighbour
        // and FDB entry)
        int routesAnnounced = 0, neighboursAnnounced = 0;
        while (announced.takeRoute()) {
            routesAnnounced++;
        }
        while (announced.takeNeighbour()) {
            neighboursAnnounced++;
        }
        assertEquals(2, r.routesRemoved(), r.changes().toString());
        assertEquals(2, routesAnnounced);
        assertEquals(backend.equals("vxlan") ? 2 : 0, neighboursAnnounced);
        assertProgrammed(n1, c, 2);
        pass(lab.node(2), c, without3, false);
        assertProgrammed(lab.node(2), c, 1);
        TreeSet<String> routes = allRoutes(n1);
        assertTrue(routes.contains("10.244.50.0/24 static"), routes.toString());
        assertTrue(routes.contains("10.99.0.0/24 boot"), routes.toString());
        assertTrue(ClusterLab.pings(n1.pod(), lab.node(2).podIp(), 5000));

        passAll(c, all, false);
        assertProgrammed(n1, c, 2, 3);
        routes = allRoutes(n1);
        assertTrue(routes.contains("10.244.50.0/24 static") && routes.contains("10.99.0.0/24 boot"), routes.toString());
        assertAllPodsTalk();
    }

    @ParameterizedTest
    @ValueSource(strings = {"host-gw", "vxlan"})
    void aJoinedPeerIsProgrammedAloneAsAFullPassWouldOrLeftToTheFullPass(String backend) {
        NetworkConfig c = config(backend);
        List<Lease> all = allLeases(c);
        List<Lease> without3 = leases(c, 1, 2);
        Node n1 = lab.node(1);
        pass(n1, c, without3, false);
        Lease third = lease(lab.node(3), c);

        Dataplane.Report r = n1.dataplane().addPeers(c, own(n1, all), all, List.of(third));
        assertNotNull(r, "only a new peer: programmed alone");
        assertEquals(
                backend.equals("vxlan") ? 3 : 1, r.changes().size(), r.changes().toString());
        assertEquals(1, r.routesAdded());
        assertProgrammed(n1, c, 2, 3);
        assertEquals(List.of(), pass(n1, c, all, false).changes(), "a full pass after it finds nothing to do");

        // a route already there (here another owner's): left to the full pass, which leaves it alone and says so
        pass(n1, c, without3, false);
        sh(n1, "ip", "route", "add", third.subnet().toString(), "via", "198.18.0.12", "dev", "eth0", "proto", "static");
        assertNull(n1.dataplane().addPeers(c, own(n1, all), all, List.of(third)), "a route in the way");
        assertTrue(allRoutes(n1).contains(third.subnet() + " static"), "the foreign route is untouched");
        sh(n1, "ip", "route", "del", third.subnet().toString(), "proto", "static");

        // a lease that cannot be planned, even another one: the full pass is the one to report it
        List<Lease> withBad = new ArrayList<>(all);
        withBad.add(new Lease(
                IpPrefix.parse("10.99.0.0/24"),
                IpAddress.parse("198.18.0.99"),
                backend,
                backend.equals("vxlan") ? MacAddress.parse("0a:6a:00:00:00:99") : null,
                backend.equals("vxlan") ? 1 : 0,
                0));
        assertNull(n1.dataplane().addPeers(c, own(n1, all), withBad, List.of(third)), "a lease outside the network");
    }

    @Test
    void keepsGoingPastAFailingPeerAndLeavesAForeignRouteInTheWayAlone() {
        NetworkConfig c = config("host-gw");
        Node n1 = lab.node(1);
        sh(n1, "ip", "route", "add", "10.244.3.0/24", "via", "198.18.0.12", "dev", "eth0", "proto", "static");
        List<Lease> leases = new ArrayList<>(allLeases(c));
        // A peer that is not on the underlay's link: host-gw cannot route to it.
        leases.add(new Lease(IpPrefix.parse("10.244.4.0/24"), IpAddress.parse("198.18.9.9"), "host-gw", null, 0, 0));

        Dataplane.Report r = n1.dataplane().reconcile(c, own(n1, leases), leases, false);
        assertEquals(2, r.errors().size(), r.errors().toString());
        assertTrue(
                r.errors().stream().anyMatch(e -> e.contains("10.244.3.0/24") && e.contains("left alone")),
                r.errors().toString());
        assertTrue(
                r.errors().stream().anyMatch(e -> e.contains("10.244.4.0-24")),
                r.errors().toString());
        assertEquals(
                new TreeSet<>(List.of("10.244.2.0/24 via 198.18.0.12 dev eth0")),
                ourRoutes(n1),
                "the good peer is programmed");
        assertTrue(allRoutes(n1).contains("10.244.3.0/24 static"), "the foreign route is untouched");

        List<Dataplane.PeerState> states = n1.dataplane().inspect(c, own(n1, leases), leases);
        assertEquals(3, states.size());
        assertTrue(states.get(0).routePresent());
        assertFalse(states.get(1).routePresent());
        assertFalse(states.get(2).routePresent());
    }

    @Test
    void switchingBackendOrVniRemovesTheOldVxlanDevice() {
        NetworkConfig vx = config("vxlan");
        passAll(vx, allLeases(vx), false);
        assertEquals(List.of(VX), ourLinks(lab.node(1).name()));

        NetworkConfig vx2 = config("vxlan", 2, false);
        List<Lease> leases2 = allLeases(vx2);
        for (Node n : lab.nodes) {
            Dataplane.Report r = pass(n, vx2, leases2, false);
            assertTrue(r.changes().contains("ip link del jcni.1"), r.changes().toString());
            assertEquals(List.of("jcni.2"), ourLinks(n.name()));
        }
        assertAllPodsTalk();

        NetworkConfig hg = config("host-gw");
        List<Lease> hgLeases = allLeases(hg);
        passAll(hg, hgLeases, false);
        for (Node n : lab.nodes) {
            assertEquals(List.of(), ourLinks(n.name()), "no jcni.* device on node " + n.index());
        }
        assertProgrammed(lab.node(1), hg, 2, 3);
        assertAllPodsTalk();
        assertSecondPassChangesNothing(hg, hgLeases, false);
    }

    @ParameterizedTest
    @ValueSource(strings = {"host-gw", "vxlan"})
    void masqueradeHidesPodsFromTheOutsideButNeverFromOtherPods(String backend) {
        NetworkConfig c = config(backend);
        List<Lease> leases = allLeases(c);
        Node n1 = lab.node(1);
        Node n2 = lab.node(2);
        passAll(c, leases, false);
        assertFalse(hasTable(n1.name()));
        assertFalse(
                ClusterLab.pings(n1.pod(), ClusterLab.OUTSIDE_IP, 0),
                "without masquerade the outside cannot answer a pod");

        passAll(c, leases, true);
        assertTrue(hasTable(n1.name()));
        String table =
                Commands.run("ip", "netns", "exec", n1.name(), "nft", "list", "table", "inet", Dataplane.NFT_TABLE);
        assertTrue(table.contains("ip saddr 10.244.0.0/16 ip daddr 10.244.0.0/16 return"), table);
        assertTrue(table.contains("ip saddr 10.244.0.0/16 ip daddr != 224.0.0.0/4 masquerade"), table);
        assertTrue(
                table.contains("ip saddr != 10.244.0.0/16 ip daddr 10.244.0.0/16 ip daddr != 10.244.1.0/24 masquerade"),
                table);
        assertTrue(table.contains("type nat hook postrouting priority srcnat"), table);

        assertEquals(
                n1.publicIp(),
                ClusterLab.sourceSeenBy(lab.outside, ClusterLab.OUTSIDE_IP, n1.pod()),
                "pod to outside leaves with the node's address");
        assertEquals(n1.podIp(), ClusterLab.sourceSeenBy(n2.pod(), n2.podIp(), n1.pod()), "pod to pod is never NATed");
        assertEquals(n2.podIp(), ClusterLab.sourceSeenBy(n1.pod(), n1.podIp(), n2.pod()));
        assertTrue(ClusterLab.pings(n1.pod(), ClusterLab.OUTSIDE_IP, 5000));
        assertSecondPassChangesNothing(c, leases, true);

        // A rule added by hand: the table is replaced as a whole.
        sh(n1, "nft", "add", "rule", "inet", Dataplane.NFT_TABLE, "postrouting", "counter");
        Dataplane.Report r = pass(n1, c, leases, true);
        assertTrue(
                r.changes().contains("nft delete table inet jcni_cluster"),
                r.changes().toString());
        String after =
                Commands.run("ip", "netns", "exec", n1.name(), "nft", "list", "table", "inet", Dataplane.NFT_TABLE);
        assertFalse(after.contains("counter"), after);
        assertEquals(
                3,
                after.lines().filter(l -> l.contains("comment \"jcni cluster")).count(),
                after);

        for (Node n : lab.nodes) {
            Dataplane.Report off = pass(n, c, leases, false);
            assertEquals(List.of("nft delete table inet jcni_cluster"), off.changes());
            assertFalse(hasTable(n.name()));
        }
        assertEquals(n1.podIp(), ClusterLab.sourceSeenBy(n2.pod(), n2.podIp(), n1.pod()));
    }

    @Test
    void theBridgeGetsTheOwnGatewayAndLosesAddressesOfOtherSubnets() {
        NetworkConfig c = config("vxlan");
        List<Lease> leases = allLeases(c);
        Node n1 = lab.node(1);
        passAll(c, leases, false);
        sh(n1, "ip", "addr", "del", "10.244.1.1/24", "dev", ClusterLab.POD_BRIDGE);
        sh(n1, "ip", "addr", "add", "10.244.99.1/24", "dev", ClusterLab.POD_BRIDGE);
        sh(n1, "ip", "addr", "add", "10.244.1.77/24", "dev", ClusterLab.POD_BRIDGE); // inside the own subnet: stays
        sh(n1, "ip", "addr", "add", "172.31.0.1/24", "dev", ClusterLab.POD_BRIDGE); // outside the network: not ours

        Dataplane.Report r = pass(n1, c, leases, false);
        assertEquals(
                List.of("ip addr add 10.244.1.1/24 brd + dev jcni0", "ip addr del 10.244.99.1/24 dev jcni0"),
                r.changes());
        assertEquals(
                new TreeSet<>(List.of("10.244.1.1/24", "10.244.1.77/24", "172.31.0.1/24")),
                new TreeSet<>(v4(n1, ClusterLab.POD_BRIDGE)));
        assertAllPodsTalk();

        // No bridge yet (no pod on the node): nothing is created for it.
        try (RouteNetlink nl = RouteNetlink.open(lab.lone, Trace.OFF);
                Dataplane lone =
                        new Dataplane(nl, Trace.OFF, "eth0", IpAddress.parse("198.18.1.1"), ClusterLab.POD_BRIDGE)) {
            NetworkConfig hg = config("host-gw");
            Lease own =
                    new Lease(IpPrefix.parse("10.244.9.0/24"), IpAddress.parse("198.18.1.1"), "host-gw", null, 0, 0);
            Dataplane.Report lr = lone.reconcile(hg, own, List.of(own), false);
            assertEquals(List.of(), lr.errors());
            assertFalse(Witness.linkNames(lab.loneName).contains(ClusterLab.POD_BRIDGE));
        }
    }

    @Test
    void directRoutingUsesPlainRoutesForPeersOnTheSameSubnet() {
        NetworkConfig c = config("vxlan", 1, true);
        List<Lease> leases = new ArrayList<>(allLeases(c));
        MacAddress farMac = MacAddress.parse("02:aa:bb:cc:dd:04");
        // A node behind a router: only VXLAN reaches it (the test never sends to it).
        leases.add(new Lease(IpPrefix.parse("10.244.4.0/24"), IpAddress.parse("198.18.1.50"), "vxlan", farMac, 1, 0));
        for (Node n : lab.nodes) {
            pass(n, c, leases, false);
        }
        Node n1 = lab.node(1);
        assertEquals(
                new TreeSet<>(List.of(
                        "10.244.2.0/24 via 198.18.0.12 dev eth0",
                        "10.244.3.0/24 via 198.18.0.13 dev eth0",
                        "10.244.4.0/24 via 10.244.4.0 dev jcni.1 onlink")),
                ourRoutes(n1));
        assertEquals(new TreeSet<>(List.of("10.244.4.0 " + farMac)), neighbours(n1));
        assertEquals(new TreeSet<>(List.of(farMac + " dst 198.18.1.50 permanent")), fdb(n1));
        assertAllPodsTalk();
        assertSecondPassChangesNothing(c, leases, false);

        List<Dataplane.PeerState> states = n1.dataplane().inspect(c, own(n1, leases), leases);
        assertEquals(3, states.size());
        Dataplane.PeerState direct = states.stream()
                .filter(s -> s.peer().subnet().toString().equals("10.244.2.0/24"))
                .findFirst()
                .orElseThrow();
        assertNull(direct.neighbour());
        assertNull(direct.fdb());
        assertTrue(direct.routePresent());
        Dataplane.PeerState far = states.stream()
                .filter(s -> s.peer().subnet().toString().equals("10.244.4.0/24"))
                .findFirst()
                .orElseThrow();
        assertEquals("10.244.4.0 lladdr " + farMac + " dev jcni.1 nud permanent", far.neighbour());
        assertEquals(Boolean.TRUE, far.neighbourPresent());
        assertEquals(Boolean.TRUE, far.fdbPresent());
    }

    @Test
    void inspectTellsWhichObjectIsMissing() {
        NetworkConfig c = config("vxlan");
        List<Lease> leases = allLeases(c);
        Node n1 = lab.node(1);
        passAll(c, leases, false);
        List<Dataplane.PeerState> states = n1.dataplane().inspect(c, own(n1, leases), leases);
        assertEquals(2, states.size());
        for (Dataplane.PeerState s : states) {
            assertTrue(s.routePresent() && s.neighbourPresent() && s.fdbPresent(), s.toString());
        }
        Dataplane.PeerState to3 = states.get(1);
        assertEquals("10.244.3.0/24 via 10.244.3.0 dev jcni.1 proto 215 onlink", to3.route());
        assertEquals(mac(lab.node(3), c) + " dev jcni.1 dst 198.18.0.13 self permanent", to3.fdb());

        sh(n1, "bridge", "fdb", "del", mac(lab.node(3), c).toString(), "dev", VX, "dst", "198.18.0.13", "self");
        sh(n1, "ip", "route", "del", "10.244.3.0/24");
        to3 = n1.dataplane().inspect(c, own(n1, leases), leases).get(1);
        assertFalse(to3.routePresent());
        assertEquals(Boolean.TRUE, to3.neighbourPresent());
        assertEquals(Boolean.FALSE, to3.fdbPresent());
    }

    @Test
    void teardownLeavesNothingOfTheAgentsAndOnlyThat() {
        NetworkConfig c = config("vxlan");
        List<Lease> leases = allLeases(c);
        passAll(c, leases, true);
        Node n1 = lab.node(1);
        sh(n1, "ip", "route", "add", "10.244.50.0/24", "via", "198.18.0.13", "dev", "eth0", "proto", "static");
        sh(n1, "ip", "route", "add", "10.99.0.0/24", "via", "198.18.0.12", "proto", "boot");

        Dataplane.Report r = n1.dataplane().teardown();
        assertEquals(List.of(), r.errors());
        assertTrue(r.changes().contains("ip link del jcni.1"), r.changes().toString());
        assertTrue(
                r.changes().contains("nft delete table inet jcni_cluster"),
                r.changes().toString());
        assertEquals(new TreeSet<>(), ourRoutes(n1));
        assertEquals(List.of(), ourLinks(n1.name()));
        assertFalse(hasTable(n1.name()));
        TreeSet<String> routes = allRoutes(n1);
        assertTrue(routes.contains("10.244.50.0/24 static") && routes.contains("10.99.0.0/24 boot"), routes.toString());
        assertEquals(
                List.of("10.244.1.1/24"), v4(n1, ClusterLab.POD_BRIDGE), "teardown leaves the bridge to the plugin");

        Dataplane.Report again = n1.dataplane().teardown();
        assertEquals(List.of(), again.changes());
        assertEquals(List.of(), again.errors());

        // host-gw routes go too
        NetworkConfig hg = config("host-gw");
        passAll(hg, allLeases(hg), false);
        assertFalse(ourRoutes(n1).isEmpty());
        n1.dataplane().teardown();
        assertEquals(new TreeSet<>(), ourRoutes(n1));
    }

    @Test
    void vtepMacIsTheDevicesElseThePreviousElseDerivedStably() {
        NetworkConfig c = config("vxlan");
        Node n1 = lab.node(1);
        MacAddress derived = n1.dataplane().vtepMac(c, null);
        assertTrue(derived.isLocalUnicast(), derived.toString());
        assertEquals(derived, VxlanDevice.derivedMac(n1.publicIp(), 1), "stable");
        assertNotEquals(derived, VxlanDevice.derivedMac(n1.publicIp(), 2), "depends on the VNI");
        assertNotEquals(derived, VxlanDevice.derivedMac(lab.node(2).publicIp(), 1), "depends on the address");
        MacAddress previous = MacAddress.parse("02:12:34:56:78:9a");
        assertEquals(previous, n1.dataplane().vtepMac(c, previous), "no device yet: the lease's MAC");
        assertNull(n1.dataplane().vtepMac(config("host-gw"), previous));

        Lease own = new Lease(n1.subnet(), n1.publicIp(), "vxlan", previous, 1, 0);
        Dataplane.Report r = n1.dataplane().reconcile(c, own, List.of(own), false);
        assertEquals(List.of(), r.errors());
        assertEquals(
                previous.toString(), Witness.link(n1.name(), VX).get("address"), "the device takes the lease's MAC");
        assertEquals(previous, n1.dataplane().vtepMac(c, null), "an existing device's MAC wins");
        assertEquals(previous, n1.dataplane().vtepMac(c, derived));
    }
}
