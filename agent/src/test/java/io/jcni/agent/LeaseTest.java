package io.jcni.agent;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ip.MacAddress;
import org.junit.jupiter.api.Test;

class LeaseTest {

    @Test
    void keyNames() {
        assertEquals("10.244.3.0-24", Lease.keyName(IpPrefix.parse("10.244.3.0/24")));
        assertEquals(IpPrefix.parse("10.244.3.0/24"), Lease.subnetOfKeyName("10.244.3.0-24"));
        assertNull(Lease.subnetOfKeyName("10.244.3.1-24"), "not a network address");
        assertNull(Lease.subnetOfKeyName("config"));
        assertNull(Lease.subnetOfKeyName("x-y"));
    }

    @Test
    void readsFlannelsValue() {
        // exactly what flannel's vxlan backend writes
        Lease l = Lease.parse(
                IpPrefix.parse("10.244.3.0/24"),
                "{\"PublicIP\":\"198.18.0.11\",\"PublicIPv6\":null,\"BackendType\":\"vxlan\",\"BackendData\":{\"VNI\":1,\"VtepMAC\":\"8e:3c:6b:0a:11:22\"}}",
                7);
        assertEquals(IpAddress.parse("198.18.0.11"), l.publicIp());
        assertEquals(MacAddress.parse("8e:3c:6b:0a:11:22"), l.vtepMac());
        assertEquals(1, l.vni());
        assertEquals(7, l.storeLease());
        Lease again = Lease.parse(l.subnet(), l.valueJson(), 7);
        assertEquals(l, again, "our value reads back equal");
        Lease hostGw = Lease.parse(
                IpPrefix.parse("10.244.4.0/24"),
                "{\"PublicIP\":\"198.18.0.12\",\"BackendType\":\"host-gw\",\"BackendData\":null}",
                0);
        assertNull(hostGw.vtepMac());
    }

    @Test
    void badValuesAreNamed() {
        IpPrefix s = IpPrefix.parse("10.244.3.0/24");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Lease.parse(s, "{}", 0))
                .getMessage()
                .contains("PublicIP"));
        assertTrue(assertThrows(
                        IllegalArgumentException.class,
                        () -> Lease.parse(s, "{\"PublicIP\":\"198.18.0.1\",\"BackendType\":\"vxlan\"}", 0))
                .getMessage()
                .contains("VtepMAC"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Lease.parse(s, "nope", 0))
                .getMessage()
                .contains("not JSON"));
    }
}
