package io.jcni.plugins.hostlocal;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.CniError;
import io.jcni.cni.CniVersion;
import io.jcni.testkit.TestNames;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** Configuration validation (code 7, messages naming the range) and how range sets are assembled. */
class HostLocalConfigTest extends HostLocalTestBase {

    private void invalid(String ipamBody, String extraTop, String... fragments) throws IOException {
        for (String v : CniVersion.SUPPORTED) {
            error(run("ADD", "c1", "eth0", conf(v, ipamBody, extraTop)), CniError.INVALID_NETWORK_CONFIG, fragments);
            // DEL (and CHECK) refuse a configuration that does not validate, like the reference
            error(run("DEL", "c1", "eth0", conf(v, ipamBody, extraTop)), CniError.INVALID_NETWORK_CONFIG, fragments);
            if (!v.startsWith("0.3")) {
                error(
                        run("CHECK", "c1", "eth0", conf(v, ipamBody, extraTop)),
                        CniError.INVALID_NETWORK_CONFIG,
                        fragments);
            }
        }
        assertEquals(new TreeSet<String>(), reservations(), "nothing reserved by an invalid configuration");
    }

    private static String range(String body) {
        return "\"ranges\":[[{" + body + "}]]";
    }

    @Test
    void hostBitsSet() throws IOException {
        invalid(
                range("\"subnet\":\"10.0.0.1/24\""),
                "",
                "ipam.ranges[0][0]: Network has host bits set. "
                        + "For a subnet mask of length 24 the network address is 10.0.0.0");
        invalid(
                range("\"subnet\":\"fd00::1/64\""),
                "",
                "ipam.ranges[0][0]: Network has host bits set. "
                        + "For a subnet mask of length 64 the network address is fd00::");
    }

    @Test
    void tooSmallNetworks() throws IOException {
        invalid(
                range("\"subnet\":\"10.0.0.0/31\""),
                "",
                "ipam.ranges[0][0]: Network 10.0.0.0/31 too small to allocate from");
        invalid(range("\"subnet\":\"10.0.0.0/32\""), "", "Network 10.0.0.0/32 too small to allocate from");
        invalid(range("\"subnet\":\"fd00::/127\""), "", "Network fd00::/127 too small to allocate from");
        invalid(
                "\"ranges\":[[{\"subnet\":\"10.1.0.0/24\"},{\"subnet\":\"10.0.0.4/31\"}]]",
                "",
                "ipam.ranges[0][1]: Network 10.0.0.4/31 too small to allocate from");
    }

    @Test
    void rangeBoundsOutsideTheSubnetOrReversed() throws IOException {
        invalid(
                range("\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"10.0.1.5\""),
                "",
                "ipam.ranges[0][0]: RangeStart 10.0.1.5 not in network 10.0.0.0/24");
        invalid(
                range("\"subnet\":\"10.0.0.0/24\",\"rangeEnd\":\"10.0.1.5\""),
                "",
                "ipam.ranges[0][0]: RangeEnd 10.0.1.5 not in network 10.0.0.0/24");
        invalid(
                range("\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"fd00::5\""),
                "",
                "RangeStart fd00::5 not in network 10.0.0.0/24");
        invalid(
                range("\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"10.0.0.9\",\"rangeEnd\":\"10.0.0.5\""),
                "",
                "ipam.ranges[0][0]: RangeStart 10.0.0.9 is after RangeEnd 10.0.0.5");
        invalid(
                range("\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"10.0.0.300\""),
                "",
                "ipam.ranges[0][0].rangeStart: invalid IP address \"10.0.0.300\"");
        invalid(range("\"subnet\":\"10.0.0.0\""), "", "ipam.ranges[0][0].subnet", "invalid CIDR address");
        invalid(range("\"gateway\":\"10.0.0.1\""), "", "ipam.ranges[0][0]: subnet is required");
    }

    @Test
    void mixedFamiliesAndOverlaps() throws IOException {
        invalid(
                "\"ranges\":[[{\"subnet\":\"10.0.0.0/24\"},{\"subnet\":\"fd00::/64\"}]]",
                "",
                "ipam.ranges[0][1]: mixed address families");
        invalid(
                "\"ranges\":[[{\"subnet\":\"10.0.0.0/24\"},{\"subnet\":\"10.0.0.0/25\"}]]",
                "",
                "ipam.ranges[0][1]: subnets 10.0.0.1-10.0.0.254 and 10.0.0.1-10.0.0.126 overlap");
        invalid(ranges("10.0.0.0/24", "10.0.0.0/16"), "", "ipam.ranges[1]: range set 0 overlaps with 1");
        invalid(ranges("fd00::/64", "10.9.0.0/16", "fd00::/48"), "", "ipam.ranges[2]: range set 0 overlaps with 2");
        invalid(
                ranges("10.0.0.0/24"),
                "\"runtimeConfig\":{\"ipRanges\":[[{\"subnet\":\"10.0.0.128/25\"}]]}",
                "ipam.ranges[0]: range set 0 overlaps with 1",
                "runtimeConfig.ipRanges[0]");
    }

    @Test
    void disjointRangesOfOneSubnetAreFine() throws IOException {
        String c = conf(
                CniVersion.V110,
                "\"ranges\":[[{\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"10.0.0.10\",\"rangeEnd\":\"10.0.0.11\"},"
                        + "{\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"10.0.0.20\",\"rangeEnd\":\"10.0.0.20\"}]]");
        assertEquals("10.0.0.10", address(ok(run("ADD", "c1", "eth0", c)), 0));
        assertEquals("10.0.0.11", address(ok(run("ADD", "c2", "eth0", c)), 0));
        assertEquals("10.0.0.20", address(ok(run("ADD", "c3", "eth0", c)), 0));
        error(
                run("ADD", "c4", "eth0", c),
                CniError.NO_ADDRESSES,
                "no IP addresses available in range set: 10.0.0.10-10.0.0.11,10.0.0.20-10.0.0.20");
    }

    @Test
    void missingPieces() throws IOException {
        invalid("", "", "no IP ranges specified");
        invalid("\"ranges\":[]", "", "no IP ranges specified");
        invalid("\"ranges\":[[]]", "", "ipam.ranges[0]: empty range set");
        invalid("\"ranges\":[{\"subnet\":\"10.0.0.0/24\"}]", "", "ipam.ranges[0]: expected array of ranges");
        for (String v : CniVersion.SUPPORTED) {
            String noIpam = "{\"cniVersion\":\"" + v + "\",\"name\":\"" + NET + "\",\"type\":\"host-local\"}";
            error(run("ADD", "c1", "eth0", noIpam), CniError.INVALID_NETWORK_CONFIG, "IPAM config missing 'ipam' key");
            error(run("DEL", "c1", "eth0", noIpam), CniError.INVALID_NETWORK_CONFIG, "IPAM config missing 'ipam' key");
        }
        // an unreadable resolvConf fails ADD (only ADD reads it) and leaves nothing reserved
        String badResolv =
                conf(CniVersion.V110, ranges("10.0.0.0/24") + ",\"resolvConf\":\"/nonexistent/resolv.conf\"");
        error(
                run("ADD", "c1", "eth0", badResolv),
                CniError.INVALID_NETWORK_CONFIG,
                "ipam.resolvConf",
                "/nonexistent/resolv.conf");
        assertEquals(new TreeSet<String>(), reservations());
        okEmpty(run("DEL", "c1", "eth0", badResolv));
    }

    @Test
    void legacyRangeAndRuntimeIpRangesArePrepended() throws IOException {
        for (String v : CniVersion.SUPPORTED) {
            resetStore();
            String c = conf(
                    v,
                    "\"subnet\":\"10.8.0.0/24\",\"rangeStart\":\"10.8.0.100\",\"gateway\":\"10.8.0.254\","
                            + ranges("fd00:8::/64"),
                    "\"runtimeConfig\":{\"ipRanges\":[[{\"subnet\":\"10.9.0.0/24\"}]]}");
            assertIps(
                    ok(run("ADD", "c1", "eth0", c)),
                    v,
                    "10.9.0.2/24",
                    "10.9.0.1",
                    "10.8.0.100/24",
                    "10.8.0.254",
                    "fd00:8::2/64",
                    "fd00:8::1");
            // the cursor index is the set's place in the final list
            assertEquals("10.9.0.2", fileText("last_reserved_ip.0"));
            assertEquals("10.8.0.100", fileText("last_reserved_ip.1"));
            assertEquals("fd00:8::2", fileText("last_reserved_ip.2"));
            okEmpty(run("DEL", "c1", "eth0", c));
            assertEquals(new TreeSet<String>(), reservations());
        }
        invalid("\"subnet\":\"10.8.0.1/24\"", "", "ipam: Network has host bits set");
    }

    @Test
    void defaultDataDirIsTheReferenceOne() throws Exception {
        String net = "jhl-default-" + TestNames.RUN;
        String c = "{\"cniVersion\":\"1.1.0\",\"name\":\"" + net + "\"," + "\"ipam\":{\"type\":\"host-local\","
                + ranges("10.77.0.0/24") + "}}";
        java.nio.file.Path dir = java.nio.file.Path.of(IpamConfig.DEFAULT_DATA_DIR, net);
        try {
            assertEquals("10.77.0.2", address(ok(run("ADD", "c1", "eth0", c)), 0));
            assertEquals("c1\r\neth0", Files.readString(dir.resolve("10.77.0.2")));
            okEmpty(run("DEL", "c1", "eth0", c));
            assertFalse(Files.exists(dir.resolve("10.77.0.2")));
        } finally {
            for (String n : List.of("10.77.0.2", "last_reserved_ip.0", "lock")) {
                Files.deleteIfExists(dir.resolve(n));
            }
            Files.deleteIfExists(dir);
        }
    }
}
