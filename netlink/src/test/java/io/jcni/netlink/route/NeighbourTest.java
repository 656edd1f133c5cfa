package io.jcni.netlink.route;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.ObjectExistsException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.MacAddress;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.testing.Scratch;
import io.jcni.testkit.Commands;
import io.jcni.testkit.Json;
import io.jcni.testkit.Witness;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Neighbour (ARP/NDP) and bridge FDB entries, in a fresh namespace, checked with ip -j / bridge -j. */
class NeighbourTest {
    private static final MacAddress M1 = MacAddress.parse("02:00:00:aa:00:01");
    private static final MacAddress M2 = MacAddress.parse("02:00:00:aa:00:02");
    private static final MacAddress ZERO = MacAddress.parse("00:00:00:00:00:00");

    private Scratch s;
    private NetNs ns;
    private String nsName;
    private RouteNetlink nl;
    private final List<String> trace = new ArrayList<>();

    @BeforeEach
    void setUp() {
        s = new Scratch("nb");
        ns = s.netns("n");
        nsName = ns.name();
        nl = s.closeLater(RouteNetlink.open(ns, trace::add));
    }

    @AfterEach
    void tearDown() {
        s.close();
    }

    private String bridgeWithPort() {
        String br = s.name("br");
        String v = s.name("va");
        nl.links().add(LinkSpec.bridge(br).up());
        nl.links().add(LinkSpec.veth(v, s.name("vb")).master(br).up());
        return v;
    }

    @Test
    void neighbourAddListReplaceDeleteV4AndV6() {
        String br = s.name("br");
        nl.links().add(LinkSpec.bridge(br).up());
        IpAddress v4 = IpAddress.parse("10.1.0.5");
        IpAddress v6 = IpAddress.parse("fd00::5");
        nl.neighbours().add(br, v4, M1);
        nl.neighbours().add(br, v6, M2, Rtnl.NUD_PERMANENT);
        assertEquals(
                "ip -n " + nsName + " neigh add 10.1.0.5 lladdr 02:00:00:aa:00:01 dev " + br + " nud permanent",
                trace.get(trace.size() - 2));

        List<Neighbour> ours = nl.neighbours().list(br);
        Neighbour n4 = find(ours, v4);
        Neighbour n6 = find(ours, v6);
        assertNotNull(n4, ours.toString());
        assertNotNull(n6, ours.toString());
        assertEquals(M1, n4.mac());
        assertEquals(M2, n6.mac());
        assertTrue(n4.isPermanent());
        assertEquals("permanent", n4.stateName());
        assertEquals(br, n4.link());
        assertEquals(nl.links().get(br).index(), n4.linkIndex());
        assertNotNull(find(nl.neighbours().list(null), v4), "listing every link includes it");

        // witness
        List<Map<String, Object>> w = Json.objects(Commands.ip(nsName, "neigh", "show", "dev", br));
        Map<String, Object> w4 = byKey(w, "dst", "10.1.0.5");
        assertEquals("02:00:00:aa:00:01", w4.get("lladdr"));
        assertTrue(Witness.strings(w4.get("state")).contains("PERMANENT"), w4.toString());
        assertEquals("02:00:00:aa:00:02", byKey(w, "dst", "fd00::5").get("lladdr"));

        assertThrows(ObjectExistsException.class, () -> nl.neighbours().add(br, v4, M2));
        nl.neighbours().replace(br, v4, M2, Rtnl.NUD_PERMANENT);
        assertEquals(M2, find(nl.neighbours().list(br), v4).mac());
        assertEquals(
                "02:00:00:aa:00:02",
                byKey(Json.objects(Commands.ip(nsName, "neigh", "show", "dev", br)), "dst", "10.1.0.5")
                        .get("lladdr"));

        nl.neighbours().replace(br, v4, M1, Rtnl.NUD_STALE);
        Neighbour stale = find(nl.neighbours().list(br), v4);
        assertFalse(stale.isPermanent());

        nl.neighbours().delete(br, v4);
        assertNull(find(nl.neighbours().list(br), v4));
        assertNull(byKeyOrNull(Json.objects(Commands.ip(nsName, "neigh", "show", "dev", br)), "dst", "10.1.0.5"));
        assertEquals("ip -n " + nsName + " neigh del 10.1.0.5 dev " + br, trace.get(trace.size() - 1));
        NoSuchObjectException e =
                assertThrows(NoSuchObjectException.class, () -> nl.neighbours().delete(br, v4));
        assertEquals("delete neighbour", e.operation());
        assertFalse(nl.neighbours().deleteIfExists(br, v4));
        assertTrue(nl.neighbours().deleteIfExists(br, v6));
    }

    @Test
    void neighbourListIsPerLink() {
        String a = s.name("a");
        String b = s.name("b");
        nl.links().add(LinkSpec.bridge(a).up());
        nl.links().add(LinkSpec.bridge(b).up());
        nl.neighbours().add(a, IpAddress.parse("10.2.0.1"), M1);
        nl.neighbours().add(b, IpAddress.parse("10.2.0.2"), M2);
        List<Neighbour> onA = nl.neighbours().list(a);
        assertNotNull(find(onA, IpAddress.parse("10.2.0.1")));
        assertNull(find(onA, IpAddress.parse("10.2.0.2")));
        for (Neighbour n : onA) {
            assertEquals(a, n.link());
        }
    }

    @Test
    void fdbMasterEntryOnBridgePort() {
        String port = bridgeWithPort();
        String br = nl.links().get(nl.links().get(port).masterIndex()).name();
        trace.clear();
        nl.neighbours().addFdb(port, M1, null, Neighbours.MASTER, Neighbours.FDB_STATIC);
        assertEquals(
                "ip netns exec " + nsName + " bridge fdb add 02:00:00:aa:00:01 dev " + port + " master static",
                trace.get(0));
        FdbEntry e = findFdb(nl.neighbours().listFdb(port), M1, null);
        assertNotNull(e, nl.neighbours().listFdb(port).toString());
        assertTrue(e.isMaster());
        assertFalse(e.isPermanent());
        assertEquals(nl.links().get(br).index(), e.masterIndex());
        assertEquals(port, e.link());
        assertNotNull(findFdb(nl.neighbours().listBridgeFdb(br), M1, null), "visible from the bridge too");

        Map<String, Object> w = byKey(Witness.bridge(nsName, "fdb", "show", "dev", port), "mac", M1.toString());
        assertEquals(br, w.get("master"));
        assertEquals("static", w.get("state"));

        assertThrows(
                ObjectExistsException.class,
                () -> nl.neighbours().addFdb(port, M1, null, Neighbours.MASTER, Neighbours.FDB_STATIC));
        nl.neighbours().deleteFdb(port, M1, null, Neighbours.MASTER);
        assertNull(findFdb(nl.neighbours().listFdb(port), M1, null));
        assertNull(byKeyOrNull(Witness.bridge(nsName, "fdb", "show", "dev", port), "mac", M1.toString()));
        assertThrows(NoSuchObjectException.class, () -> nl.neighbours().deleteFdb(port, M1, null, Neighbours.MASTER));
        assertFalse(nl.neighbours().deleteFdbIfExists(port, M1, null, Neighbours.MASTER));
    }

    @Test
    void fdbVxlanRemotesAddAppendDelete() {
        String vx = s.name("vx");
        nl.links()
                .add(LinkSpec.vxlan(vx, 42)
                        .vxlanLocal(IpAddress.parse("192.0.2.1"))
                        .vxlanLearning(false));
        IpAddress r1 = IpAddress.parse("192.0.2.9");
        IpAddress r2 = IpAddress.parse("192.0.2.10");
        trace.clear();
        nl.neighbours().addFdb(vx, M1, r1, Neighbours.SELF, Neighbours.FDB_PERMANENT);
        assertEquals(
                "ip netns exec " + nsName + " bridge fdb add 02:00:00:aa:00:01 dev " + vx
                        + " dst 192.0.2.9 self permanent",
                trace.get(0));
        nl.neighbours().addFdb(vx, ZERO, r1, Neighbours.SELF, Neighbours.FDB_PERMANENT);
        nl.neighbours().appendFdb(vx, ZERO, r2, Neighbours.SELF, Neighbours.FDB_PERMANENT);
        assertEquals(
                "ip netns exec " + nsName + " bridge fdb append 00:00:00:00:00:00 dev " + vx
                        + " dst 192.0.2.10 self permanent",
                trace.get(2));

        List<FdbEntry> ours = nl.neighbours().listFdb(vx);
        FdbEntry e1 = findFdb(ours, M1, r1);
        assertNotNull(e1, ours.toString());
        assertTrue(e1.isSelf());
        assertTrue(e1.isPermanent());
        assertNotNull(findFdb(ours, ZERO, r1), ours.toString());
        assertNotNull(findFdb(ours, ZERO, r2), ours.toString());

        List<Map<String, Object>> w = Witness.bridge(nsName, "fdb", "show", "dev", vx);
        int zeros = 0;
        for (Map<String, Object> m : w) {
            if (ZERO.toString().equals(m.get("mac"))) {
                zeros++;
                assertTrue(List.of("192.0.2.9", "192.0.2.10").contains(m.get("dst")), m.toString());
            }
        }
        assertEquals(2, zeros, w.toString());
        Map<String, Object> w1 = byKey(w, "mac", M1.toString());
        assertEquals("192.0.2.9", w1.get("dst"));
        assertEquals("permanent", w1.get("state"));
        assertTrue(Witness.strings(w1.get("flags")).contains("self"), w1.toString());

        // a second add of the same MAC (without append) is refused; delete of one remote keeps the other
        assertThrows(
                ObjectExistsException.class,
                () -> nl.neighbours().addFdb(vx, M1, r2, Neighbours.SELF, Neighbours.FDB_PERMANENT));
        nl.neighbours().deleteFdb(vx, ZERO, r1, Neighbours.SELF);
        ours = nl.neighbours().listFdb(vx);
        assertNull(findFdb(ours, ZERO, r1));
        assertNotNull(findFdb(ours, ZERO, r2));
        nl.neighbours().deleteFdb(vx, M1, null, Neighbours.SELF);
        assertNull(findFdb(nl.neighbours().listFdb(vx), M1, null));
    }

    @Test
    void fdbNeedsSelfOrMaster() {
        String br = s.name("br");
        nl.links().add(LinkSpec.bridge(br));
        assertThrows(
                IllegalArgumentException.class, () -> nl.neighbours().addFdb(br, M1, null, 0, Neighbours.FDB_STATIC));
    }

    /** The neighbour and FDB trace lines replay with iproute2 in a second namespace to the same entries. */
    @Test
    void traceReplaysToTheSameEntries() {
        String br = s.name("br");
        String port = s.name("pa");
        String vx = s.name("vx");
        trace.clear();
        nl.links().add(LinkSpec.bridge(br).up());
        nl.links().add(LinkSpec.veth(port, s.name("pb")).master(br).up());
        nl.links()
                .add(LinkSpec.vxlan(vx, 77)
                        .vxlanLocal(IpAddress.parse("192.0.2.1"))
                        .vxlanLearning(false)
                        .master(br));
        nl.neighbours().add(br, IpAddress.parse("10.3.0.7"), M1);
        nl.neighbours().add(br, IpAddress.parse("fd03::7"), M2, Rtnl.NUD_PERMANENT); // NOARP ones go on carrier changes
        nl.neighbours().addFdb(port, M1, null, Neighbours.MASTER, Neighbours.FDB_STATIC);
        nl.neighbours().addFdb(port, M2, null, Neighbours.MASTER, Neighbours.FDB_PERMANENT);
        nl.neighbours().addFdb(vx, ZERO, IpAddress.parse("192.0.2.20"), Neighbours.SELF, Neighbours.FDB_PERMANENT);
        nl.neighbours().appendFdb(vx, ZERO, IpAddress.parse("192.0.2.21"), Neighbours.SELF, Neighbours.FDB_PERMANENT);
        nl.neighbours().replaceFdb(vx, M2, IpAddress.parse("192.0.2.22"), Neighbours.SELF, Neighbours.FDB_PERMANENT);

        NetNs second = s.netns("m");
        for (String line : trace) {
            Commands.run((" " + line + " ")
                    .replace(" " + nsName + " ", " " + second.name() + " ")
                    .trim()
                    .split(" "));
        }
        try (RouteNetlink nl2 = RouteNetlink.open(second, Trace.OFF)) {
            assertEquals(entries(nl, br, port, vx), entries(nl2, br, port, vx));
            assertTrue(
                    entries(nl2, br, port, vx)
                            .contains("fdb " + vx + " 00:00:00:00:00:00 192.0.2.21 state=192 flags=2 master=false"),
                    entries(nl2, br, port, vx).toString());
        }
    }

    private static TreeSet<String> entries(RouteNetlink n, String br, String port, String vx) {
        TreeSet<String> out = new TreeSet<>();
        for (Neighbour nb : n.neighbours().list(br)) {
            String mac = String.valueOf(nb.mac());
            boolean multicast = mac.startsWith("33:33") || mac.startsWith("01:00:5e"); // IGMP/MLD timing, not ours
            if (!multicast && (nb.state() & (Rtnl.NUD_PERMANENT | Rtnl.NUD_NOARP)) != 0) {
                out.add("neigh " + nb.link() + " " + nb.address() + " " + nb.mac() + " " + nb.stateName());
            }
        }
        for (String dev : List.of(port, vx)) {
            for (FdbEntry e : n.neighbours().listFdb(dev)) {
                if (e.mac().toString().startsWith("33:33") || e.mac().toString().startsWith("01:00:5e")) {
                    continue; // multicast addresses the device joined itself
                }
                String mac = e.mac().equals(n.links().get(dev).mac())
                        ? "own-mac"
                        : e.mac().toString();
                out.add("fdb " + dev + " " + mac + " " + e.dst() + " state=" + e.state() + " flags=" + e.flags()
                        + " master=" + (e.masterIndex() != 0));
            }
        }
        return out;
    }

    static Neighbour find(List<Neighbour> l, IpAddress ip) {
        for (Neighbour n : l) {
            if (n.address().equals(ip)) {
                return n;
            }
        }
        return null;
    }

    static FdbEntry findFdb(List<FdbEntry> l, MacAddress mac, IpAddress dst) {
        for (FdbEntry e : l) {
            if (e.mac().equals(mac) && (dst == null || dst.equals(e.dst()))) {
                return e;
            }
        }
        return null;
    }

    static Map<String, Object> byKey(List<Map<String, Object>> l, String key, String value) {
        Map<String, Object> m = byKeyOrNull(l, key, value);
        if (m == null) {
            throw new AssertionError("no " + key + "=" + value + " in " + l);
        }
        return m;
    }

    static Map<String, Object> byKeyOrNull(List<Map<String, Object>> l, String key, String value) {
        for (Map<String, Object> m : l) {
            if (value.equals(m.get(key))) {
                return m;
            }
        }
        return null;
    }
}
