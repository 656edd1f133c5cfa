package io.jcni.agent;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class NetworkConfigTest {

    @Test
    void flannelsDefaultsAndKeys() throws Exception {
        NetworkConfig c = NetworkConfig.parse("{\"Network\": \"10.244.0.0/16\", \"Backend\": {\"Type\": \"vxlan\"}}");
        assertEquals(IpPrefix.parse("10.244.0.0/16"), c.network());
        assertEquals(24, c.subnetLen());
        assertEquals(
                IpAddress.parse("10.244.1.0"), c.subnetMin(), "the network's first subnet is skipped, as flannel does");
        assertEquals(IpAddress.parse("10.244.255.0"), c.subnetMax());
        assertEquals(255, c.subnetCount());
        assertEquals(new NetworkConfig.Backend("vxlan", 1, 8472, false), c.backend());
        assertEquals(1450, c.podMtu(1500));
        assertEquals(c, NetworkConfig.parse(c.toJson()), "toJson reads back equal");
    }

    @Test
    void explicitRangeAndHostGw() throws Exception {
        NetworkConfig c = NetworkConfig.parse("""
                {"Network":"10.244.0.0/16","SubnetLen":26,"SubnetMin":"10.244.0.64","SubnetMax":"10.244.0.192",
                 "Backend":{"Type":"host-gw"}}""");
        assertEquals(3, c.subnetCount());
        assertEquals(IpPrefix.parse("10.244.0.128/26"), c.subnet(1));
        assertTrue(c.leasable(IpPrefix.parse("10.244.0.192/26")));
        assertFalse(c.leasable(IpPrefix.parse("10.244.0.0/26")), "below SubnetMin");
        assertFalse(c.leasable(IpPrefix.parse("10.244.1.0/24")), "wrong length");
        assertEquals(1500, c.podMtu(1500), "host-gw adds no header");
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "{}|\"Network\" is missing",
                "{\"Network\":\"nonsense\"}|\"Network\" \"nonsense\" is not a CIDR",
                "{\"Network\":\"10.244.0.1/16\"}|\"Network\" 10.244.0.1/16 has host bits set",
                "{\"Network\":\"fd00::/64\"}|only IPv4",
                "{\"Network\":\"10.244.0.0/16\",\"SubnetLen\":8}|\"SubnetLen\" 8 must be longer",
                "{\"Network\":\"10.244.0.0/16\",\"SubnetLen\":\"24\"}|\"SubnetLen\" must be a whole number",
                "{\"Network\":\"10.244.0.0/16\",\"SubnetMin\":\"10.245.0.0\"}|\"SubnetMin\" 10.245.0.0 is outside",
                "{\"Network\":\"10.244.0.0/16\",\"SubnetMax\":\"10.244.3.7\"}|\"SubnetMax\" 10.244.3.7 is not the start",
                "{\"Network\":\"10.244.0.0/16\",\"SubnetMin\":\"10.244.9.0\",\"SubnetMax\":\"10.244.3.0\"}|\"SubnetMin\" 10.244.9.0 is after",
                "{\"Network\":\"10.244.0.0/16\",\"Backend\":{\"Type\":\"udp\"}}|\"Backend.Type\" \"udp\" is not supported",
                "{\"Network\":\"10.244.0.0/16\",\"Backend\":{\"Type\":\"vxlan\",\"VNI\":0}}|\"Backend.VNI\" 0 is outside",
                "{\"Network\":\"10.244.0.0/16\",\"Backend\":{\"Type\":\"vxlan\",\"Port\":70000}}|\"Backend.Port\" 70000",
                "{\"Network\":\"10.244.0.0/16\",\"Backend\":{\"Type\":\"vxlan\",\"DirectRouting\":\"yes\"}}|\"Backend.DirectRouting\" must be true or false",
                "[1]|not valid JSON",
            })
    void badConfigNamesTheKey(String json, String expected) {
        NetworkConfig.InvalidConfigException e =
                assertThrows(NetworkConfig.InvalidConfigException.class, () -> NetworkConfig.parse(json));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
