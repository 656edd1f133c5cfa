package io.jcni.netlink.route;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.netlink.KernelException;
import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.MacAddress;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.sys.Errno;
import io.jcni.netlink.testing.Scratch;
import io.jcni.testkit.Witness;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Links in fresh namespaces: every kind jcni creates and every setter, read back through our API and ip -j. */
class LinkTest {
    private Scratch s;
    private NetNs ns;
    private String nsName;
    private RouteNetlink nl;

    @BeforeEach
    void setUp() {
        s = new Scratch("lk");
        ns = s.netns("n");
        nsName = ns.name();
        nl = s.closeLater(RouteNetlink.open(ns, Trace.OFF));
    }

    @AfterEach
    void tearDown() {
        s.close();
    }

    @Test
    void bridgeCreatedUp() {
        String br = s.name("br");
        nl.links().add(LinkSpec.bridge(br).mtu(1400).up());
        Link l = nl.links().get(br);
        assertEquals("bridge", l.kind());
        assertTrue(l.isUp());
        assertEquals(1400, l.mtu());
        Map<String, Object> w = Witness.link(nsName, br);
        assertEquals("bridge", Witness.map(w.get("linkinfo")).get("info_kind"));
        assertTrue(Witness.strings(w.get("flags")).contains("UP"), w.toString());
        assertEquals(1400L, w.get("mtu"));
    }

    /**
     * vlan_filtering needs CONFIG_BRIDGE_VLAN_FILTERING, which this machine's kernel lacks (even
     * {@code ip link add b type bridge vlan_filtering 1} answers EOPNOTSUPP): skipped when absent.
     */
    @Test
    void bridgeWithVlanFilteringWhenTheKernelHasIt() {
        String br = s.name("br");
        try {
            nl.links().add(LinkSpec.bridge(br).vlanFiltering(true));
        } catch (KernelException e) {
            Assumptions.assumeFalse(
                    e.errno() == Errno.EOPNOTSUPP, "kernel lacks bridge VLAN filtering: " + e.getMessage());
            throw e;
        }
        Map<String, Object> w = Witness.link(nsName, br);
        assertEquals(
                1L, Witness.map(Witness.map(w.get("linkinfo")).get("info_data")).get("vlan_filtering"));
    }

    @Test
    void vethPeerBornInTargetNamespaceSeesLinkNetnsId() {
        NetNs pod = s.netns("p");
        String host = s.name("h");
        String peer = s.name("c");
        MacAddress peerMac = MacAddress.parse("02:11:22:33:44:55");
        nl.links()
                .add(LinkSpec.veth(host, peer)
                        .peerNetns(pod)
                        .peerMac(peerMac)
                        .mtu(1450)
                        .up());
        assertTrue(nl.links().find(peer).isEmpty(), "the peer never appears in the creating namespace");
        try (RouteNetlink in = RouteNetlink.open(pod, Trace.OFF)) {
            Link p = in.links().get(peer);
            Link h = nl.links().get(host);
            assertEquals("veth", p.kind());
            assertEquals(peerMac, p.mac());
            assertEquals(1450, p.mtu());
            assertEquals(1450, h.mtu());
            assertTrue(h.linkNetnsId() >= 0, "IFLA_LINK_NETNSID is set: " + h);
            assertTrue(p.linkNetnsId() >= 0, "and from the other side: " + p);
            assertEquals(p.index(), h.peerIndex(), "IFLA_LINK names the peer's index in the other namespace");
            assertEquals(h.index(), p.peerIndex());
            // carrier needs both ends up
            assertFalse(nl.links().get(host).isLowerUp());
            in.links().setUp(peer);
            assertTrue(in.links().get(peer).isUp());

            Map<String, Object> wh = Witness.link(nsName, host);
            assertEquals((long) h.linkNetnsId(), wh.get("link_netnsid"));
            assertEquals((long) p.index(), wh.get("link_index"));
            Map<String, Object> wp = Witness.link(pod.name(), peer);
            assertEquals(peerMac.toString(), wp.get("address"));
            assertEquals("veth", Witness.map(wp.get("linkinfo")).get("info_kind"));
        }
    }

    @Test
    void vxlanParametersReadBack() {
        String under = s.name("u");
        String vx = s.name("vx");
        nl.links().add(LinkSpec.bridge(under).up());
        nl.links()
                .add(LinkSpec.vxlan(vx, 4242)
                        .vxlanLocal(IpAddress.parse("192.0.2.1"))
                        .vxlanPort(8472)
                        .vxlanLearning(false)
                        .vxlanDevice(under)
                        .mtu(1400));
        Link l = nl.links().get(vx);
        assertEquals("vxlan", l.kind());
        Link.VxlanInfo v = l.vxlan();
        assertNotNull(v);
        assertEquals(4242, v.vni());
        assertEquals("192.0.2.1", v.local());
        assertEquals(8472, v.port());
        assertFalse(v.learning());
        assertEquals(nl.links().get(under).index(), v.underlayIndex());
        assertEquals(1400, l.mtu());

        Map<String, Object> d = Witness.map(
                Witness.map(Witness.link(nsName, vx).get("linkinfo")).get("info_data"));
        assertEquals(4242L, d.get("id"));
        assertEquals("192.0.2.1", d.get("local"));
        assertEquals(8472L, d.get("port"));
        assertEquals(false, d.get("learning"));
        assertEquals(under, d.get("link"));

        String vx2 = s.name("vy");
        nl.links().add(LinkSpec.vxlan(vx2, 7).vxlanLearning(true).vxlanGroup(IpAddress.parse("192.0.2.200")));
        Link.VxlanInfo v2 = nl.links().get(vx2).vxlan();
        assertTrue(v2.learning());
        assertEquals(4789, v2.port(), "IANA port by default");
        assertEquals("192.0.2.200", v2.group());
        assertEquals(
                "192.0.2.200",
                Witness.map(Witness.map(Witness.link(nsName, vx2).get("linkinfo"))
                                .get("info_data"))
                        .get("remote"));
    }

    /**
     * The dummy driver is not in every kernel (this machine's lacks it: {@code ip link add x type
     * dummy} answers "Unknown device type"): probe, and skip when absent.
     */
    @Test
    void dummyWhenTheKernelHasIt() {
        String d = s.name("d");
        try {
            nl.links().add(LinkSpec.dummy(d));
        } catch (KernelException e) {
            Assumptions.assumeFalse(e.errno() == Errno.EOPNOTSUPP, "kernel lacks the dummy driver: " + e.getMessage());
            throw e;
        }
        Link l = nl.links().get(d);
        assertEquals("dummy", l.kind());
        assertEquals(
                "dummy", Witness.map(Witness.link(nsName, d).get("linkinfo")).get("info_kind"));
        nl.links().delete(d);
        assertTrue(nl.links().find(d).isEmpty());
    }

    @Test
    void upDownMtuMacPromiscuous() {
        String a = s.name("a");
        String b = s.name("b");
        nl.links().add(LinkSpec.veth(a, b));
        assertFalse(nl.links().get(a).isUp());
        nl.links().setUp(a);
        assertTrue(nl.links().get(a).isUp());
        assertTrue(Witness.strings(Witness.link(nsName, a).get("flags")).contains("UP"));
        nl.links().setDown(a);
        assertFalse(nl.links().get(a).isUp());
        assertFalse(Witness.strings(Witness.link(nsName, a).get("flags")).contains("UP"));

        nl.links().setMtu(a, 9000);
        assertEquals(9000, nl.links().get(a).mtu());
        assertEquals(9000L, Witness.link(nsName, a).get("mtu"));

        MacAddress mac = MacAddress.parse("02:aa:bb:cc:dd:ee");
        nl.links().setMac(a, mac);
        assertEquals(mac, nl.links().get(a).mac());
        assertEquals(mac.toString(), Witness.link(nsName, a).get("address"));

        nl.links().setPromiscuous(a, true);
        Link p = nl.links().get(a);
        assertTrue(p.isPromiscuous());
        assertEquals(1, p.promiscuity());
        assertTrue(Witness.strings(Witness.link(nsName, a).get("flags")).contains("PROMISC"));
        nl.links().setPromiscuous(a, false);
        assertFalse(nl.links().get(a).isPromiscuous());
        assertEquals(0, nl.links().get(a).promiscuity());
        assertFalse(Witness.strings(Witness.link(nsName, a).get("flags")).contains("PROMISC"));
    }

    @Test
    void masterNomasterHairpinIsolation() {
        String br = s.name("br");
        String a = s.name("a");
        nl.links().add(LinkSpec.bridge(br).up());
        nl.links().add(LinkSpec.veth(a, s.name("b")));
        assertEquals(0, nl.links().get(a).masterIndex());
        assertThrows(NoSuchObjectException.class, () -> nl.links().bridgePort(a));

        nl.links().setMaster(a, br);
        Link l = nl.links().get(a);
        assertEquals(nl.links().get(br).index(), l.masterIndex());
        assertEquals("bridge", l.slaveKind());
        assertEquals(br, Witness.link(nsName, a).get("master"));

        Links.BridgePort bp = nl.links().bridgePort(a);
        assertFalse(bp.hairpin());
        assertFalse(bp.isolated());
        assertTrue(bp.learning());
        nl.links().setHairpin(a, true);
        nl.links().setIsolated(a, true);
        bp = nl.links().bridgePort(a);
        assertTrue(bp.hairpin());
        assertTrue(bp.isolated());
        assertEquals(nl.links().get(br).index(), bp.masterIndex());
        Map<String, Object> w =
                Witness.bridge(nsName, "-d", "link", "show", "dev", a).get(0);
        assertEquals(true, w.get("hairpin"));
        assertEquals(true, w.get("isolated"));
        assertEquals(br, w.get("master"));

        nl.links().setHairpin(a, false);
        nl.links().setIsolated(a, false);
        bp = nl.links().bridgePort(a);
        assertFalse(bp.hairpin());
        assertFalse(bp.isolated());
        w = Witness.bridge(nsName, "-d", "link", "show", "dev", a).get(0);
        assertEquals(false, w.get("hairpin"));
        assertEquals(false, w.get("isolated"));

        nl.links().setNoMaster(a);
        assertEquals(0, nl.links().get(a).masterIndex());
        assertNull(Witness.link(nsName, a).get("master"));
        assertTrue(Witness.bridge(nsName, "link").stream().noneMatch(m -> a.equals(m.get("ifname"))));
    }

    @Test
    void createWithMasterAndTxQueueLen() {
        String br = s.name("br");
        String a = s.name("a");
        nl.links().add(LinkSpec.bridge(br));
        nl.links().add(LinkSpec.veth(a, s.name("b")).master(br).txQueueLen(500));
        Link l = nl.links().get(a);
        assertEquals(nl.links().get(br).index(), l.masterIndex());
        assertEquals(500, l.txQueueLen());
        assertEquals(500L, Witness.link(nsName, a).get("txqlen"));
    }

    @Test
    void moveToAnotherNamespace() {
        NetNs other = s.netns("o");
        String a = s.name("a");
        String b = s.name("b");
        nl.links().add(LinkSpec.veth(a, b));
        nl.links().moveToNetns(b, other);
        assertTrue(nl.links().find(b).isEmpty());
        assertFalse(Witness.linkNames(nsName).contains(b));
        try (RouteNetlink o = RouteNetlink.open(other, Trace.OFF)) {
            Link moved = o.links().get(b);
            assertEquals("veth", moved.kind());
            assertTrue(moved.linkNetnsId() >= 0);
            assertEquals(nl.links().get(a).index(), moved.peerIndex());
        }
        assertTrue(Witness.linkNames(other.name()).contains(b));
    }

    @Test
    void linkInOtherNamespaceAtCreation() {
        NetNs other = s.netns("o");
        String br = s.name("br");
        nl.links().add(LinkSpec.bridge(br).netns(other));
        assertTrue(nl.links().find(br).isEmpty());
        assertTrue(Witness.linkNames(other.name()).contains(br));
    }

    @Test
    void listAndGetByNameAndIndex() {
        String br = s.name("br");
        String a = s.name("a");
        String b = s.name("b");
        nl.links().add(LinkSpec.bridge(br));
        nl.links().add(LinkSpec.veth(a, b));
        List<Link> all = nl.links().list();
        List<String> names = all.stream().map(Link::name).toList();
        assertTrue(names.containsAll(List.of("lo", br, a, b)), names.toString());
        assertEquals(4, all.size(), "a fresh namespace has only lo besides ours: " + names);
        assertEquals(
                names.stream().sorted().toList(),
                Witness.linkNames(nsName).stream().sorted().toList());
        for (Link l : all) {
            assertEquals(l.name(), nl.links().get(l.index()).name());
            assertEquals(l.index(), nl.links().get(l.name()).index());
            assertEquals(((Number) Witness.link(nsName, l.name()).get("ifindex")).intValue(), l.index());
        }
        Link lo = nl.links().get("lo");
        assertEquals(1, lo.index());
        assertNull(lo.kind());
        assertThrows(NoSuchObjectException.class, () -> nl.links().get(99999));
        assertThrows(NoSuchObjectException.class, () -> nl.links().get(s.name("none")));
        assertTrue(nl.links().find(s.name("none")).isEmpty());
    }

    @Test
    void deleteAndDeleteIfExists() {
        NetNs other = s.netns("o");
        String a = s.name("a");
        String b = s.name("b");
        nl.links().add(LinkSpec.veth(a, b).peerNetns(other));
        nl.links().delete(a);
        assertTrue(nl.links().find(a).isEmpty());
        assertFalse(Witness.linkNames(nsName).contains(a));
        assertFalse(Witness.linkNames(other.name()).contains(b), "the peer goes with it, even in another namespace");
        NoSuchObjectException e =
                assertThrows(NoSuchObjectException.class, () -> nl.links().delete(a));
        assertEquals(Errno.ENODEV, e.errno());
        assertFalse(nl.links().deleteIfExists(a));
        String br = s.name("br");
        nl.links().add(LinkSpec.bridge(br));
        assertTrue(nl.links().deleteIfExists(br));
        assertTrue(nl.links().find(br).isEmpty());
    }
}
