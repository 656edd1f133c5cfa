package io.jcni.netlink.probe;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.route.LinkSpec;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.netlink.testing.Scratch;
import org.junit.jupiter.api.Test;

/** Two namespaces joined by a veth: the server sees the client's address; no path gives null. */
class TcpProbeTest {

    @Test
    void serverSeesTheClientsAddressAndUnreachableGivesNull() {
        try (Scratch s = new Scratch("tp")) {
            NetNs a = s.netns("a");
            NetNs b = s.netns("b");
            try (RouteNetlink inA = RouteNetlink.open(a, Trace.OFF);
                    RouteNetlink inB = RouteNetlink.open(b, Trace.OFF)) {
                inA.links().add(LinkSpec.veth("eth0", "eth0").peerNetns(b).up());
                inA.links().setUp("lo");
                inB.links().setUp("lo");
                inB.links().setUp("eth0");
                inA.addresses().add("eth0", IpPrefix.parse("198.18.7.1/24"));
                inB.addresses().add("eth0", IpPrefix.parse("198.18.7.2/24"));
                inB.addresses().add("lo", IpPrefix.parse("198.18.8.1/32")); // no route to it from a
            }
            assertEquals("198.18.7.1", TcpProbe.peerSeen(b, IpAddress.parse("198.18.7.2"), 0, a, 3000));
            assertEquals(
                    "198.18.7.2", TcpProbe.peerSeen(a, IpAddress.parse("198.18.7.1"), 0, b, 3000), "and the other way");
            assertNull(
                    TcpProbe.peerSeen(b, IpAddress.parse("198.18.8.1"), 0, a, 1000),
                    "a has no route to b's 198.18.8.1");
            IllegalStateException e = assertThrows(
                    IllegalStateException.class, () -> TcpProbe.peerSeen(a, IpAddress.parse("198.18.7.2"), 0, b, 1000));
            assertTrue(e.getMessage().contains("cannot listen on 198.18.7.2"), e.getMessage());
        }
    }
}
