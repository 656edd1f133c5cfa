package io.jcni.netlink;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.route.Link;
import io.jcni.netlink.route.LinkSpec;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.netlink.testing.Scratch;
import org.junit.jupiter.api.Test;

class SmokeTest {
    @Test
    void vethPeerBornInPod() {
        try (Scratch s = new Scratch("sm")) {
            NetNs pod = s.netns("p");
            String host = s.hostLink(s.name("h"));
            try (RouteNetlink nl = RouteNetlink.open(Trace.OFF);
                    RouteNetlink in = RouteNetlink.open(pod, Trace.OFF)) {
                nl.links().add(LinkSpec.veth(host, "eth0").peerNetns(pod).up());
                in.links().setUp("eth0");
                Link h = nl.links().get(host);
                assertEquals("veth", h.kind());
                Link e = in.links().get("eth0");
                assertTrue(e.isUp());
                in.addresses().add("eth0", IpPrefix.parse("192.0.2.2/24"));
                assertEquals(
                        "192.0.2.2/24",
                        in.addresses().list("eth0").get(0).prefix().toString());
                assertTrue(nl.links().find("eth0").isEmpty()
                        || nl.links().get("eth0").index() != e.index());
            }
        }
    }
}
