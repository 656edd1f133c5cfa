package io.jcni.netlink;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ns.NamedNetns;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.route.LinkSpec;
import io.jcni.netlink.route.Route;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.netlink.sys.Errno;
import io.jcni.netlink.testing.Scratch;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The kernel's refusals as typed exceptions, with operation, object, errno and the extended-ACK text. */
class ErrorTest {
    private Scratch s;
    private RouteNetlink nl;
    private final List<String> trace = new ArrayList<>();

    @BeforeEach
    void setUp() {
        s = new Scratch("er");
        NetNs ns = s.netns("n");
        nl = s.closeLater(RouteNetlink.open(ns, trace::add));
    }

    @AfterEach
    void tearDown() {
        s.close();
    }

    @Test
    void duplicateLinkAddressRouteAreObjectExists() {
        String br = s.name("br");
        nl.links().add(LinkSpec.bridge(br).up());
        ObjectExistsException l =
                assertThrows(ObjectExistsException.class, () -> nl.links().add(LinkSpec.bridge(br)));
        assertEquals("add link", l.operation());
        assertEquals(br, l.object());
        assertEquals(Errno.EEXIST, l.errno());
        assertTrue(l.getMessage().startsWith("add link " + br + ": "), l.getMessage());
        assertTrue(l.getMessage().contains("EEXIST"), l.getMessage());

        // a veth whose peer name is taken
        String a = s.name("a");
        assertThrows(ObjectExistsException.class, () -> nl.links().add(LinkSpec.veth(a, br)));
        assertTrue(nl.links().find(a).isEmpty(), "nothing half-made");

        nl.addresses().add(br, IpPrefix.parse("10.11.0.1/24"));
        ObjectExistsException ad =
                assertThrows(ObjectExistsException.class, () -> nl.addresses().add(br, IpPrefix.parse("10.11.0.1/24")));
        assertEquals("add address", ad.operation());
        assertEquals("10.11.0.1/24 dev " + br, ad.object());

        Route r = Route.to(IpPrefix.parse("10.12.0.0/16")).via(IpAddress.parse("10.11.0.254"));
        nl.routes().add(r);
        ObjectExistsException rt =
                assertThrows(ObjectExistsException.class, () -> nl.routes().add(r));
        assertEquals("add route", rt.operation());
        assertEquals("10.12.0.0/16 via 10.11.0.254", rt.object());
        assertEquals(Errno.EEXIST, rt.errno());
    }

    @Test
    void missingLinkIsNoSuchObject() {
        String none = s.name("none");
        NoSuchObjectException del =
                assertThrows(NoSuchObjectException.class, () -> nl.links().delete(none));
        assertEquals("delete link", del.operation());
        assertEquals(none, del.object());
        assertEquals(Errno.ENODEV, del.errno());
        NoSuchObjectException up =
                assertThrows(NoSuchObjectException.class, () -> nl.links().setUp(none));
        assertEquals("set link up", up.operation());
        assertEquals(Errno.ENODEV, up.errno());
        assertThrows(NoSuchObjectException.class, () -> nl.links().setMtu(none, 1400));
        assertThrows(NoSuchObjectException.class, () -> nl.links().get(none));
        assertThrows(NoSuchObjectException.class, () -> nl.addresses().add(none, IpPrefix.parse("10.1.1.1/24")));
        assertThrows(
                NoSuchObjectException.class,
                () -> nl.routes().add(Route.to(IpPrefix.parse("10.1.0.0/16")).dev(none)));
        assertThrows(
                NoSuchObjectException.class,
                () -> nl.links().add(LinkSpec.veth(s.name("a"), s.name("b")).master(none)));
        assertTrue(trace.isEmpty(), "failed operations are not traced: " + trace);
    }

    @Test
    void invalidLinkNamesAreRefusedBeforeSending() {
        int before = nl.links().list().size();
        String[] bad = {"", "abcdefghijklmnop", "a/b", "a:b", "a b", "a\tb", "..", ".", "éééééééé"};
        for (String name : bad) {
            InvalidNameException e = assertThrows(
                    InvalidNameException.class, () -> nl.links().add(LinkSpec.bridge(name)), "name \"" + name + "\"");
            assertEquals("add link", e.operation());
            assertEquals(Errno.EINVAL, e.errno());
            assertNotNull(e.kernelMessage(), "the reason is given");
            assertThrows(InvalidNameException.class, () -> nl.links().delete(name));
            assertThrows(InvalidNameException.class, () -> nl.links().add(LinkSpec.veth(s.name("ok"), name)));
        }
        assertTrue(assertThrows(InvalidNameException.class, () -> nl.links().add(LinkSpec.bridge("abcdefghijklmnop")))
                .getMessage()
                .contains("15 bytes"));
        assertEquals(before, nl.links().list().size(), "nothing was created");
        assertThrows(InvalidNameException.class, () -> nl.links().add(LinkSpec.bridge("a\u00a0b")));
        // the kernel's isspace() takes byte 0xA0 for a space: "jà" (6a c3 a0) is refused, "jé" (6a c3 a9) is not
        assertThrows(InvalidNameException.class, () -> nl.links().add(LinkSpec.bridge("j\u00e0")));
        nl.links().add(LinkSpec.bridge("j\u00e9"));
        assertEquals("j\u00e9", nl.links().get("j\u00e9").name());
        // the longest valid name works
        String fifteen = "abcdefghijklmno";
        nl.links().add(LinkSpec.bridge(fifteen));
        assertEquals(fifteen, nl.links().get(fifteen).name());
    }

    @Test
    void invalidNamespaceNames() {
        String[] bad = {"a/b", "x".repeat(256), "..", ".", ""};
        for (String name : bad) {
            InvalidNameException e = assertThrows(InvalidNameException.class, () -> NamedNetns.create(name, Trace.OFF));
            assertEquals("create netns", e.operation());
            assertThrows(InvalidNameException.class, () -> NamedNetns.delete(name, Trace.OFF));
            assertThrows(InvalidNameException.class, () -> NetNs.openNamed(name));
        }
        assertFalse(NamedNetns.exists("a"), "nothing made under /run/netns for a/b");
        String longest = s.name("l") + "x".repeat(255 - s.name("l").length());
        assertEquals(255, longest.length());
        NamedNetns.create(s.adoptNetns(longest), Trace.OFF);
        assertTrue(NamedNetns.list().contains(longest));
        NamedNetns.delete(longest, Trace.OFF);
    }

    @Test
    void extendedAckTextReachesTheException() {
        String br = s.name("br");
        KernelException mtu = assertThrows(
                KernelException.class, () -> nl.links().add(LinkSpec.bridge(br).mtu(70000)));
        assertEquals(Errno.EINVAL, mtu.errno());
        assertNotNull(mtu.kernelMessage());
        assertTrue(mtu.kernelMessage().toLowerCase().contains("mtu greater than device maximum"), mtu.getMessage());
        assertTrue(mtu.getMessage().endsWith(": " + mtu.kernelMessage()), mtu.getMessage());

        // veth validates its MTU itself and says nothing beyond EINVAL; the type is the plain KernelException
        String a = s.name("a");
        KernelException veth = assertThrows(
                KernelException.class,
                () -> nl.links().add(LinkSpec.veth(a, s.name("b")).mtu(70000)));
        assertEquals(KernelException.class, veth.getClass());
        assertEquals(Errno.EINVAL, veth.errno());
        assertEquals("add link", veth.operation());
        assertEquals(a, veth.object());
        nl.links().add(LinkSpec.veth(a, s.name("b")));
        KernelException set =
                assertThrows(KernelException.class, () -> nl.links().setMtu(a, 70000));
        assertTrue(set.kernelMessage().toLowerCase().contains("mtu greater than device maximum"), set.getMessage());
        assertEquals("set link mtu", set.operation());

        nl.links().setUp(a);
        KernelException gw = assertThrows(
                KernelException.class,
                () -> nl.routes()
                        .add(Route.to(IpPrefix.parse("10.0.0.0/8"))
                                .via(IpAddress.parse("192.168.1.1"))
                                .dev(a)));
        assertEquals(Errno.ENETUNREACH, gw.errno());
        assertEquals("Nexthop has invalid gateway", gw.kernelMessage());
        assertEquals("add route", gw.operation());
        assertEquals("10.0.0.0/8 via 192.168.1.1 dev " + a, gw.object());
    }

    @Test
    void missingAddressRouteNeighbourAreNoSuchObject() {
        String br = s.name("br");
        nl.links().add(LinkSpec.bridge(br).up());
        NoSuchObjectException ad = assertThrows(
                NoSuchObjectException.class, () -> nl.addresses().delete(br, IpPrefix.parse("10.13.0.1/24")));
        assertEquals(Errno.EADDRNOTAVAIL, ad.errno());
        NoSuchObjectException rt = assertThrows(
                NoSuchObjectException.class,
                () -> nl.routes()
                        .delete(Route.to(IpPrefix.parse("10.14.0.0/16")).dev(br)));
        assertEquals(Errno.ESRCH, rt.errno());
        NoSuchObjectException nb = assertThrows(
                NoSuchObjectException.class, () -> nl.neighbours().delete(br, IpAddress.parse("10.13.0.9")));
        assertEquals(Errno.ENOENT, nb.errno());
        assertEquals("10.13.0.9 dev " + br, nb.object());
    }
}
