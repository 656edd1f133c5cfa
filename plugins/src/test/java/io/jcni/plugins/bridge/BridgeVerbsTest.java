package io.jcni.plugins.bridge;

import static io.jcni.plugins.testing.PluginFixture.call;
import static io.jcni.plugins.testing.PluginFixture.env;
import static io.jcni.plugins.testing.PluginFixture.json;
import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.CniVersion;
import io.jcni.cni.PluginResponse;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.MacAddress;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.probe.Ping;
import io.jcni.netlink.route.Link;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.plugins.testing.PluginFixture;
import io.jcni.testkit.Commands;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every verb of the bridge plugin, for every spec version, checked against the kernel and field by field. */
class BridgeVerbsTest {
    static List<String> versions() {
        return CniVersion.SUPPORTED;
    }

    static String config(PluginFixture f, String version, String extra) {
        return """
                {"cniVersion": "%s", "name": "%s", "type": "bridge", "bridge": "%s", "isGateway": true,
                 "ipMasq": true, "mtu": 1400, %s
                 "ipam": {"type": "host-local", "dataDir": "%s", "ranges": [[{"subnet": "10.250.%d.0/24"}]],
                          "routes": [{"dst": "0.0.0.0/0"}]}}
                """.formatted(version, f.network, f.bridge, extra, f.dataDir, Math.abs(f.prefix.hashCode() % 200));
    }

    @ParameterizedTest
    @MethodSource("versions")
    @SuppressWarnings("unchecked")
    void addCheckDel(String version) throws Exception {
        try (PluginFixture f = new PluginFixture("bv")) {
            String ns = f.netns("p");
            Bridge bridge = new Bridge();
            String cfg = config(f, version, "");
            PluginResponse add = call(bridge, env("ADD", "c1", ns, "eth0"), cfg);
            assertEquals(0, add.exitCode(), add.stdoutText() + add.stderr());
            Map<String, Object> r = json(add);
            assertEquals(version, r.get("cniVersion"));
            List<Map<String, Object>> ifs = (List<Map<String, Object>>) r.get("interfaces");
            assertEquals(3, ifs.size());
            assertEquals(f.bridge, ifs.get(0).get("name"));
            String hostVeth = (String) ifs.get(1).get("name");
            assertTrue(hostVeth.matches("veth[0-9a-f]{8}"), hostVeth);
            assertEquals("eth0", ifs.get(2).get("name"));
            assertEquals(ns, ifs.get(2).get("sandbox"));
            List<Map<String, Object>> ips = (List<Map<String, Object>>) r.get("ips");
            assertEquals(1, ips.size());
            String addr = (String) ips.get(0).get("address");
            assertTrue(addr.endsWith(".2/24"), addr);
            assertEquals(2L, ips.get(0).get("interface"));
            assertEquals(version.startsWith("0.") ? "4" : null, ips.get(0).get("version"));
            String gw = (String) ips.get(0).get("gateway");
            assertTrue(gw.endsWith(".1"), gw);

            // the kernel agrees
            try (NetNs pod = NetNs.open(ns);
                    RouteNetlink in = RouteNetlink.open(pod, Trace.OFF);
                    RouteNetlink host = RouteNetlink.open(Trace.OFF)) {
                Link eth0 = in.links().get("eth0");
                assertTrue(eth0.isUp());
                assertEquals(1400, eth0.mtu());
                assertEquals(addr, in.addresses().list("eth0").get(0).prefix().toString());
                Link br = host.links().get(f.bridge);
                assertEquals(br.index(), host.links().get(hostVeth).masterIndex());
                assertEquals(
                        gw + "/24",
                        host.addresses().list(f.bridge).get(0).prefix().toString());
            }
            assertTrue(Commands.run("ip", "netns", "exec", PluginFixture.nsName(ns), "ip", "route")
                    .contains("default via " + gw + " dev eth0"));
            assertEquals(List.of(addr.substring(0, addr.indexOf('/'))), f.natElements());
            assertEquals(List.of(addr.substring(0, addr.indexOf('/'))), f.reservations());

            // CHECK with the ADD result
            if (!version.equals("0.3.0") && !version.equals("0.3.1")) {
                String withPrev = cfg.trim().substring(0, cfg.trim().length() - 1) + ", \"prevResult\": "
                        + add.stdoutText() + "}";
                PluginResponse check = call(bridge, env("CHECK", "c1", ns, "eth0"), withPrev);
                assertEquals(0, check.exitCode(), check.stdoutText());
            }

            PluginResponse del = call(bridge, env("DEL", "c1", ns, "eth0"), cfg);
            assertEquals(0, del.exitCode(), del.stdoutText());
            assertEquals(List.of(), f.natElements());
            assertEquals(List.of(), f.reservations());
            try (RouteNetlink host = RouteNetlink.open(Trace.OFF)) {
                assertTrue(host.links().find(hostVeth).isEmpty());
            }
            PluginResponse again = call(bridge, env("DEL", "c1", ns, "eth0"), cfg);
            assertEquals(0, again.exitCode(), "DEL is idempotent: " + again.stdoutText());
        }
    }

    /** macspoofchk: frames from the pod's port with another source MAC are dropped; DEL removes the entries. */
    @Test
    @SuppressWarnings("unchecked")
    void macSpoofCheck() throws Exception {
        try (PluginFixture f = new PluginFixture("bm")) {
            String ns = f.netns("p");
            String nsName = PluginFixture.nsName(ns);
            Bridge bridge = new Bridge();
            String cfg = config(f, "1.1.0", "\"macspoofchk\": true,");
            PluginResponse add = call(bridge, env("ADD", "c1", ns, "eth0"), cfg);
            assertEquals(0, add.exitCode(), add.stdoutText());
            Map<String, Object> r = json(add);
            List<Map<String, Object>> ifs = (List<Map<String, Object>>) r.get("interfaces");
            String hostVeth = (String) ifs.get(1).get("name");
            String mac = (String) ifs.get(2).get("mac");
            String gw =
                    (String) ((List<Map<String, Object>>) r.get("ips")).get(0).get("gateway");
            String table = Commands.run("nft", "list", "table", "bridge", "jcni_spoofchk");
            assertTrue(table.contains("iifname @ports iifname . ether saddr != @allowed drop"), table);
            assertTrue(table.contains("\"" + hostVeth + "\" . " + mac), table);

            try (NetNs pod = NetNs.open(ns)) {
                assertTrue(Ping.once(pod, IpAddress.parse(gw), 2000) >= 0, "the real MAC passes");
                Commands.run("ip", "-n", nsName, "link", "set", "eth0", "address", "02:de:ad:be:ef:01");
                Commands.run("ip", "-n", nsName, "neigh", "flush", "dev", "eth0");
                assertTrue(Ping.once(pod, IpAddress.parse(gw), 1000) < 0, "a spoofed source MAC is dropped");
                Commands.run("ip", "-n", nsName, "link", "set", "eth0", "address", mac);
                assertTrue(Ping.once(pod, IpAddress.parse(gw), 2000) >= 0, "the real MAC passes again");
            }
            String withPrev =
                    cfg.trim().substring(0, cfg.trim().length() - 1) + ", \"prevResult\": " + add.stdoutText() + "}";
            assertEquals(
                    0, call(bridge, env("CHECK", "c1", ns, "eth0"), withPrev).exitCode());

            assertEquals(0, call(bridge, env("DEL", "c1", ns, "eth0"), withPrev).exitCode());
            String after = Commands.run("nft", "list", "table", "bridge", "jcni_spoofchk");
            assertFalse(after.contains(hostVeth), after);
            assertFalse(after.contains(MacAddress.parse(mac).toString()), after);
        }
    }
}
