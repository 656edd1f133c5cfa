package io.jcni.netlink.route;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.ObjectExistsException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.testing.Scratch;
import io.jcni.testkit.Witness;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Interface addresses, IPv4 and IPv6, in a fresh namespace; ip -j addr as witness. */
class AddressTest {
    private Scratch s;
    private String nsName;
    private RouteNetlink nl;
    private String br;

    @BeforeEach
    void setUp() {
        s = new Scratch("ad");
        NetNs ns = s.netns("n");
        nsName = ns.name();
        nl = s.closeLater(RouteNetlink.open(ns, Trace.OFF));
        br = s.name("br");
        nl.links().add(LinkSpec.bridge(br).up());
    }

    @AfterEach
    void tearDown() {
        s.close();
    }

    private static Address find(List<Address> l, String prefix) {
        for (Address a : l) {
            if (a.prefix().toString().equals(prefix)) {
                return a;
            }
        }
        return null;
    }

    private Map<String, Object> witness(String dev, String local) {
        for (Map<String, Object> a : Witness.addrInfo(nsName, dev)) {
            if (local.equals(a.get("local"))) {
                return a;
            }
        }
        return null;
    }

    @Test
    void ipv4WithBroadcastAndConnectedRoute() {
        nl.addresses().add(br, IpPrefix.parse("10.9.0.1/24"));
        Address a = find(nl.addresses().list(br), "10.9.0.1/24");
        assertNotNull(a, nl.addresses().list(br).toString());
        assertEquals(nl.links().get(br).index(), a.linkIndex());
        assertEquals(Rtnl.RT_SCOPE_UNIVERSE, a.scope());
        assertEquals(br, a.label());
        Map<String, Object> w = witness(br, "10.9.0.1");
        assertNotNull(w);
        assertEquals(24L, w.get("prefixlen"));
        assertEquals("10.9.0.255", w.get("broadcast"), "brd + semantics");
        assertTrue(nl.routes().list(Rtnl.AF_INET, Rtnl.RT_TABLE_MAIN).stream()
                .anyMatch(r -> r.destination().toString().equals("10.9.0.0/24") && r.protocol() == Rtnl.RTPROT_KERNEL));
        assertThrows(ObjectExistsException.class, () -> nl.addresses().add(br, IpPrefix.parse("10.9.0.1/24")));
    }

    @Test
    void pointToPointPrefixesGetNoBroadcast() {
        nl.addresses().add(br, IpPrefix.parse("10.9.1.1/32"));
        Map<String, Object> w = witness(br, "10.9.1.1");
        assertEquals(32L, w.get("prefixlen"));
        assertNull(w.get("broadcast"));
    }

    @Test
    void ipv6NodadIsUsableAtOnce() {
        nl.addresses().add(br, IpPrefix.parse("fd00::1/64"), Addresses.NO_DAD);
        Address a = find(nl.addresses().list(br), "fd00::1/64");
        assertNotNull(a);
        assertFalse(a.isTentative());
        assertTrue((a.flags() & Addresses.NO_DAD) != 0);
        Map<String, Object> w = witness(br, "fd00::1");
        assertEquals(true, w.get("nodad"));
        assertNull(w.get("tentative"));
        assertEquals(64L, w.get("prefixlen"));
    }

    @Test
    void noPrefixRouteLeavesNoConnectedRoute() {
        nl.addresses().add(br, IpPrefix.parse("10.9.2.1/24"), Addresses.NO_PREFIX_ROUTE);
        nl.addresses().add(br, IpPrefix.parse("fd02::1/64"), Addresses.NO_PREFIX_ROUTE | Addresses.NO_DAD);
        assertTrue((find(nl.addresses().list(br), "10.9.2.1/24").flags() & Addresses.NO_PREFIX_ROUTE) != 0);
        assertEquals(true, witness(br, "10.9.2.1").get("noprefixroute"));
        assertEquals(true, witness(br, "fd02::1").get("noprefixroute"));
        assertEquals(true, witness(br, "fd02::1").get("nodad"));
        assertTrue(nl.routes().list(Rtnl.AF_INET, Rtnl.RT_TABLE_MAIN).stream()
                .noneMatch(r -> r.destination().toString().equals("10.9.2.0/24")));
        assertTrue(nl.routes().list(Rtnl.AF_INET6, Rtnl.RT_TABLE_MAIN).stream()
                .noneMatch(r -> r.destination().toString().equals("fd02::/64")));
        assertTrue(Witness.routes(nsName, false, "main").stream().noneMatch(r -> "10.9.2.0/24".equals(r.get("dst"))));
        assertTrue(Witness.routes(nsName, true, "main").stream().noneMatch(r -> "fd02::/64".equals(r.get("dst"))));
    }

    @Test
    void listIsPerLinkAndDeleteRemoves() {
        String other = s.name("o");
        nl.links().add(LinkSpec.bridge(other).up());
        nl.addresses().add(br, IpPrefix.parse("10.9.3.1/24"));
        nl.addresses().add(br, IpPrefix.parse("fd03::1/64"), Addresses.NO_DAD);
        nl.addresses().add(other, IpPrefix.parse("10.9.4.1/24"));
        List<Address> onBr = nl.addresses().list(br);
        assertNotNull(find(onBr, "10.9.3.1/24"));
        assertNotNull(find(onBr, "fd03::1/64"));
        assertNull(find(onBr, "10.9.4.1/24"));
        nl.links().setUp("lo"); // a fresh namespace's lo gets 127.0.0.1 and ::1 when it goes up
        List<Address> all = nl.addresses().list(null);
        assertNotNull(find(all, "10.9.4.1/24"));
        assertNotNull(find(all, "127.0.0.1/8"), "lo's address is in the full listing");
        // same set as iproute2 (global and link-local alike)
        List<String> ours =
                onBr.stream().map(a -> a.prefix().toString()).sorted().toList();
        assertEquals(Witness.addresses(nsName, br).stream().sorted().toList(), ours);

        nl.addresses().delete(br, IpPrefix.parse("10.9.3.1/24"));
        nl.addresses().delete(br, IpPrefix.parse("fd03::1/64"));
        assertNull(find(nl.addresses().list(br), "10.9.3.1/24"));
        assertNull(witness(br, "10.9.3.1"));
        assertNull(witness(br, "fd03::1"));
        NoSuchObjectException e = assertThrows(
                NoSuchObjectException.class, () -> nl.addresses().delete(br, IpPrefix.parse("10.9.3.1/24")));
        assertEquals("delete address", e.operation());
        assertNotNull(find(nl.addresses().list(other), "10.9.4.1/24"), "the other link keeps its address");
    }
}
