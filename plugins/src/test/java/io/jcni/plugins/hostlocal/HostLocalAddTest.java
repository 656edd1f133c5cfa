package io.jcni.plugins.hostlocal;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.CniError;
import io.jcni.cni.CniVersion;
import io.jcni.cni.PluginResponse;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** ADD: allocation order, the store's files, several range sets, requested IPs, refusals. */
class HostLocalAddTest extends HostLocalTestBase {

    @Test
    @SuppressWarnings("unchecked")
    void roundRobinFilesRoutesAndDnsInEveryVersion() throws IOException {
        Files.writeString(
                dataDir.resolve("resolv.conf"),
                "# comment\n; also comment\nnameserver 10.0.0.53\n"
                        + "nameserver fd00::53\ndomain example.test\nsearch a.test b.test\noptions ndots:2 edns0\nlonely\n");
        for (String v : CniVersion.SUPPORTED) {
            resetStore();
            String c = conf(
                    v,
                    ranges("10.1.0.0/29") + ",\"routes\":[{\"dst\":\"0.0.0.0/0\"},"
                            + "{\"dst\":\"192.168.0.0/16\",\"gw\":\"10.1.0.6\"}],\"resolvConf\":\""
                            + dataDir.resolve("resolv.conf") + "\"");
            Map<String, Object> r1 = ok(run("ADD", "c1", "eth0", c));
            assertIps(r1, v, "10.1.0.2/29", "10.1.0.1");
            List<Object> routes = (List<Object>) r1.get("routes");
            assertEquals(
                    List.of(Map.of("dst", "0.0.0.0/0"), Map.of("dst", "192.168.0.0/16", "gw", "10.1.0.6")), routes);
            Map<String, Object> dns = (Map<String, Object>) r1.get("dns");
            assertEquals(List.of("10.0.0.53", "fd00::53"), dns.get("nameservers"));
            assertEquals("example.test", dns.get("domain"));
            assertEquals(List.of("a.test", "b.test"), dns.get("search"));
            assertEquals(List.of("ndots:2", "edns0"), dns.get("options"));
            assertEquals(Set.of("cniVersion", "ips", "routes", "dns"), r1.keySet());

            assertIps(ok(run("ADD", "c2", "eth0", c)), v, "10.1.0.3/29", "10.1.0.1");
            assertEquals("c1\r\neth0", fileText("10.1.0.2"));
            assertEquals("c2\r\neth0", fileText("10.1.0.3"));
            assertEquals("rw-------", mode("10.1.0.2"));
            assertEquals("10.1.0.3", fileText("last_reserved_ip.0"));
            assertEquals("rw-------", mode("last_reserved_ip.0"));
            assertEquals("rwxr-x---", mode("lock"));
            assertEquals(
                    "rwxr-xr-x",
                    java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(netDir())));

            // Released .2 is not reused at once: round-robin continues after the last reservation.
            okEmpty(run("DEL", "c1", "eth0", c));
            assertIps(ok(run("ADD", "c3", "eth0", c)), v, "10.1.0.4/29", "10.1.0.1");
            assertIps(ok(run("ADD", "c4", "eth0", c)), v, "10.1.0.5/29", "10.1.0.1");
            assertIps(ok(run("ADD", "c5", "eth0", c)), v, "10.1.0.6/29", "10.1.0.1");
            // wraps past rangeEnd (.6) to rangeStart, skipping the gateway (.1)
            assertIps(ok(run("ADD", "c6", "eth0", c)), v, "10.1.0.2/29", "10.1.0.1");
            assertEquals("10.1.0.2", fileText("last_reserved_ip.0"));
            assertEquals(
                    new TreeSet<>(List.of("10.1.0.2", "10.1.0.3", "10.1.0.4", "10.1.0.5", "10.1.0.6")), reservations());
            error(
                    run("ADD", "c7", "eth0", c),
                    CniError.NO_ADDRESSES,
                    "no IP addresses available in range set: 10.1.0.1-10.1.0.6");
        }
    }

    @Test
    void cursorOutsideTheSetIsIgnoredAndGarbageCursorTolerated() throws IOException {
        String c = conf(CniVersion.V110, ranges("10.1.1.0/24"));
        Files.createDirectories(netDir());
        Files.writeString(netDir().resolve("last_reserved_ip.0"), "192.168.7.7");
        assertEquals("10.1.1.2", address(ok(run("ADD", "c1", "eth0", c)), 0));
        Files.writeString(netDir().resolve("last_reserved_ip.0"), "10.1.1.40");
        assertEquals("10.1.1.41", address(ok(run("ADD", "c2", "eth0", c)), 0));
        Files.writeString(netDir().resolve("last_reserved_ip.0"), "");
        assertEquals("10.1.1.3", address(ok(run("ADD", "c3", "eth0", c)), 0));
    }

    @Test
    void gatewayInsideTheRangeIsSkipped() throws IOException {
        for (String v : CniVersion.SUPPORTED) {
            resetStore();
            String c = conf(
                    v,
                    "\"ranges\":[[{\"subnet\":\"10.2.0.0/24\",\"rangeStart\":\"10.2.0.2\",\"rangeEnd\":\"10.2.0.4\","
                            + "\"gateway\":\"10.2.0.3\"}]]");
            assertIps(ok(run("ADD", "c1", "eth0", c)), v, "10.2.0.2/24", "10.2.0.3");
            assertIps(ok(run("ADD", "c2", "eth0", c)), v, "10.2.0.4/24", "10.2.0.3");
            error(
                    run("ADD", "c3", "eth0", c),
                    CniError.NO_ADDRESSES,
                    "no IP addresses available in range set: 10.2.0.2-10.2.0.4");
            assertEquals(new TreeSet<>(List.of("10.2.0.2", "10.2.0.4")), reservations());
        }
    }

    @Test
    void severalRangeSetsV4AndV6InOneAdd() throws IOException {
        for (String v : CniVersion.SUPPORTED) {
            resetStore();
            String c = conf(
                    v,
                    "\"ranges\":[[{\"subnet\":\"10.3.0.0/30\"},{\"subnet\":\"10.3.1.0/30\"}],"
                            + "[{\"subnet\":\"fd00:3::/64\",\"rangeStart\":\"fd00:3::a\",\"rangeEnd\":\"fd00:3::ff\"}]]");
            assertIps(ok(run("ADD", "c1", "eth0", c)), v, "10.3.0.2/30", "10.3.0.1", "fd00:3::a/64", "fd00:3::1");
            // the first range of set 0 is full: wrap into its second range
            assertIps(ok(run("ADD", "c2", "eth0", c)), v, "10.3.1.2/30", "10.3.1.1", "fd00:3::b/64", "fd00:3::1");
            assertEquals("c1\r\neth0", fileText("fd00:3::a"));
            assertEquals("10.3.1.2", fileText("last_reserved_ip.0"));
            assertEquals("fd00:3::b", fileText("last_reserved_ip.1"));
            // set 0 exhausted: the whole ADD fails and releases the v6 address it did not get to keep
            error(
                    run("ADD", "c3", "eth0", c),
                    CniError.NO_ADDRESSES,
                    "no IP addresses available in range set: 10.3.0.1-10.3.0.2,10.3.1.1-10.3.1.2",
                    "failed to allocate for range 0");
            assertEquals(new TreeSet<>(List.of("10.3.0.2", "10.3.1.2", "fd00:3::a", "fd00:3::b")), reservations());
        }
    }

    @Test
    void requestedAddressesThroughAllThreeChannels() throws IOException {
        for (String v : CniVersion.SUPPORTED) {
            resetStore();
            String dual = ranges("10.5.0.0/24", "fd00:5::/64");
            // runtimeConfig.ips (prefix ignored), one per family
            assertIps(
                    ok(run(
                            "ADD",
                            "c1",
                            "eth0",
                            conf(v, dual, "\"runtimeConfig\":{\"ips\":[\"fd00:5::20/64\",\"10.5.0.7/24\"]}"))),
                    v,
                    "10.5.0.7/24",
                    "10.5.0.1",
                    "fd00:5::20/64",
                    "fd00:5::1");
            assertEquals("10.5.0.7", fileText("last_reserved_ip.0"));
            // args.cni.ips
            assertIps(
                    ok(run("ADD", "c2", "eth0", conf(v, dual, "\"args\":{\"cni\":{\"ips\":[\"10.5.0.8\"]}}"))),
                    v,
                    "10.5.0.8/24",
                    "10.5.0.1",
                    "fd00:5::21/64",
                    "fd00:5::1");
            // CNI_ARGS IP
            assertIps(
                    ok(run("ADD", "c3", "eth0", conf(v, dual), "IgnoreUnknown=1;IP=10.5.0.9")),
                    v,
                    "10.5.0.9/24",
                    "10.5.0.1",
                    "fd00:5::22/64",
                    "fd00:5::1");
            // CNI_ARGS IP is ignored when the configuration requests addresses itself
            assertIps(
                    ok(run(
                            "ADD",
                            "c4",
                            "eth0",
                            conf(v, dual, "\"args\":{\"cni\":{\"ips\":[\"10.5.0.10\"]}}"),
                            "IP=10.5.0.11")),
                    v,
                    "10.5.0.10/24",
                    "10.5.0.1",
                    "fd00:5::23/64",
                    "fd00:5::1");
            assertFalse(reservations().contains("10.5.0.11"));

            TreeSet<String> before = reservations();
            error(
                    run("ADD", "c5", "eth0", conf(v, dual), "IP=10.5.0.7"),
                    CniError.NO_ADDRESSES,
                    "requested IP address 10.5.0.7 is not available in range set 10.5.0.1-10.5.0.254");
            error(
                    run("ADD", "c5", "eth0", conf(v, dual), "IP=10.5.0.1"),
                    CniError.INVALID_NETWORK_CONFIG,
                    "requested ip 10.5.0.1 is subnet's gateway");
            error(
                    run("ADD", "c5", "eth0", conf(v, dual, "\"runtimeConfig\":{\"ips\":[\"10.9.9.9\"]}")),
                    CniError.INVALID_NETWORK_CONFIG,
                    "failed to allocate all requested IPs: 10.9.9.9");
            error(
                    run("ADD", "c5", "eth0", conf(v, dual, "\"runtimeConfig\":{\"ips\":[\"10.5.0.300\"]}")),
                    CniError.INVALID_NETWORK_CONFIG,
                    "runtimeConfig.ips[0]: invalid IP \"10.5.0.300\"");
            error(
                    run("ADD", "c5", "eth0", conf(v, dual), "IP=nonsense"),
                    CniError.INVALID_NETWORK_CONFIG,
                    "invalid IP");
            // none of the failed ADDs left anything behind
            assertEquals(before, reservations());
        }
    }

    @Test
    void duplicateAddIsRefusedAndKeepsTheFirstReservation() throws IOException {
        for (String v : CniVersion.SUPPORTED) {
            resetStore();
            String c = conf(v, ranges("10.6.0.0/24", "fd00:6::/64"));
            ok(run("ADD", "c1", "eth0", c));
            error(
                    run("ADD", "c1", "eth0", c),
                    HostLocal.DUPLICATE_ALLOCATION,
                    "10.6.0.2 has been allocated to c1, duplicate allocation is not allowed");
            assertEquals("c1\r\neth0", fileText("10.6.0.2"));
            assertEquals("c1\r\neth0", fileText("fd00:6::2"));
            // another interface of the same container is a different attachment
            assertIps(ok(run("ADD", "c1", "eth1", c)), v, "10.6.0.3/24", "10.6.0.1", "fd00:6::3/64", "fd00:6::1");
            // a legacy reservation (container ID only) counts as the same owner
            writeReservation("10.6.0.50", "c9");
            error(run("ADD", "c9", "eth0", c), HostLocal.DUPLICATE_ALLOCATION, "10.6.0.50 has been allocated to c9");
            assertEquals(
                    new TreeSet<>(List.of("10.6.0.2", "10.6.0.3", "10.6.0.50", "fd00:6::2", "fd00:6::3")),
                    reservations());
        }
    }

    @Test
    void exhaustedSlash30FailsWith101AndLeavesNothingReserved() throws IOException {
        for (String v : CniVersion.SUPPORTED) {
            resetStore();
            // set 0 has room; set 1 (a /30) has exactly one address (.2: .1 is the gateway, .3 broadcast)
            String c = conf(v, ranges("10.7.0.0/24", "10.6.0.0/30"));
            assertIps(ok(run("ADD", "c1", "eth0", c)), v, "10.7.0.2/24", "10.7.0.1", "10.6.0.2/30", "10.6.0.1");
            PluginResponse r = run("ADD", "c2", "eth0", c);
            Map<String, Object> e = error(
                    r,
                    CniError.NO_ADDRESSES,
                    "no IP addresses available in range set: 10.6.0.1-10.6.0.2",
                    "failed to allocate for range 1");
            assertEquals(v, e.get("cniVersion"));
            // 10.7.0.3 was reserved for c2 by set 0, then rolled back
            assertEquals(new TreeSet<>(List.of("10.6.0.2", "10.7.0.2")), reservations());
            for (String name : reservations()) {
                assertEquals("c1\r\neth0", fileText(name));
            }
            ok(run("DEL", "c1", "eth0", c));
            assertIps(ok(run("ADD", "c2", "eth0", c)), v, "10.7.0.4/24", "10.7.0.1", "10.6.0.2/30", "10.6.0.1");
        }
    }

    @Test
    void ipv6DefaultsAndCanonicalNames() throws IOException {
        String c = conf(CniVersion.V100, "\"ranges\":[[{\"subnet\":\"FD00:0:0:7::/126\"}]]");
        assertIps(ok(run("ADD", "c1", "eth0", c)), CniVersion.V100, "fd00:0:0:7::2/126", "fd00:0:0:7::1");
        // IPv6 rangeEnd defaults to the last address of the subnet (no broadcast)
        assertIps(ok(run("ADD", "c2", "eth0", c)), CniVersion.V100, "fd00:0:0:7::3/126", "fd00:0:0:7::1");
        assertEquals(new TreeSet<>(List.of("fd00:0:0:7::2", "fd00:0:0:7::3")), reservations());
        error(run("ADD", "c3", "eth0", c), CniError.NO_ADDRESSES, "fd00:0:0:7::1-fd00:0:0:7::3");
    }
}
