package io.jcni.runtime;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.CniError;
import io.jcni.cni.Result;
import io.jcni.cni.json.Json;
import io.jcni.testkit.Commands;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The runtime driving the reference plugins from /usr/lib/cni (Debian containernetworking-plugins):
 * the proof that jcni is a runtime for any plugin, not only its own.
 */
class RuntimeReferencePluginsTest {
    static final String REF = "/usr/lib/cni";

    private static String bridgeConf(RtFixture f, boolean dualStack) {
        String v6 = dualStack
                ? ", [{\"subnet\": \"fd00:" + f.subnet24.replace('.', ':').substring(3) + "::/64\"}]"
                : "";
        return """
                {"type": "bridge", "bridge": "%s", "isGateway": true,
                 "ipam": {"type": "host-local", "dataDir": "%s", "ranges": [[{"subnet": "%s.0/24"}]%s], "routes": [{"dst": "0.0.0.0/0"}]}}""".formatted(f.bridge, f.dataDir, f.subnet24, v6);
    }

    @Test
    void bridgeHostLocalPortmapAndLoopback() throws Exception {
        try (RtFixture f = new RtFixture(REF)) {
            NetworkConfigList net = f.conf("10-pods.conflist", """
                    {"cniVersion": "1.0.0", "name": "%s", "plugins": [%s,
                      {"type": "portmap", "capabilities": {"portMappings": true}}]}""".formatted(f.network, bridgeConf(f, false)));
            NetworkConfigList lo = f.conf("20-lo.conflist", """
                    {"cniVersion": "1.0.0", "name": "%slo", "plugins": [{"type": "loopback"}]}""".formatted(f.prefix));
            String ns = f.netns("pod");
            String cid = f.prefix + "c1";
            RuntimeConf rt = new RuntimeConf(
                    cid,
                    ns,
                    "eth0",
                    List.of(Map.entry("IgnoreUnknown", "1")),
                    Map.of(
                            "portMappings",
                            List.of(Map.of("hostPort", 18080L, "containerPort", 80L, "protocol", "tcp"))));

            NetworkResult r = f.runtime.add(net, rt);
            f.runtime.add(lo, new RuntimeConf(cid, ns, "lo"));

            // the result is bridge's, passed through portmap; the kernel agrees with it
            assertEquals("1.0.0", r.cniVersion());
            Result res = r.result();
            String addr = res.ips().get(0).address().toString();
            assertTrue(addr.startsWith(f.subnet24 + "."), addr);
            assertEquals(1, res.ips().size());
            assertEquals(
                    res.ips().stream().map(i -> i.address().toString()).sorted().toList(),
                    RtFixture.addresses(ns, "eth0").stream().sorted().toList());
            assertTrue(res.interfaces().stream().anyMatch(i -> i.name().equals("eth0") && ns.equals(i.sandbox())));
            assertTrue(RtFixture.linkExists(null, f.bridge));
            assertTrue(RtFixture.addresses(ns, "lo").contains("127.0.0.1/8"), "loopback up with its address");
            String ip = addr.substring(0, addr.indexOf('/'));
            assertTrue(
                    portmapRules().contains("--to-destination " + ip + ":80"),
                    "portmap got portMappings from the capability args");

            // the cache, in libcni's shape
            Path cache = f.cacheFile(f.network, cid, "eth0");
            Map<String, Object> c = Json.parseObject(Files.readAllBytes(cache));
            assertEquals(
                    List.of(
                            "kind",
                            "containerId",
                            "config",
                            "ifName",
                            "networkName",
                            "netns",
                            "cniArgs",
                            "capabilityArgs",
                            "result"),
                    List.copyOf(c.keySet()));
            assertEquals(r.json(), c.get("result"), "the cached result is the final ADD result");

            // CHECK runs bridge (which checks host-local), then portmap. The installed reference
            // portmap (iptables backend) looks for its IPv4 rules in the ip6 nat table as well, so
            // its CHECK fails on any IPv4 pod; accept exactly that failure, nothing else.
            try {
                f.runtime.check(net, rt);
            } catch (CniError e) {
                assertTrue(
                        e.getMessage().startsWith("plugin type=\"portmap\" failed (check): could not check ipv6 dnat"),
                        e.getMessage());
            }
            f.runtime.check(lo, new RuntimeConf(cid, ns, "lo"));

            // a CHECK that must fail: the address is gone
            Commands.run("ip", "-n", RtFixture.nsName(ns), "addr", "flush", "dev", "eth0");
            CniError broken = assertThrows(CniError.class, () -> f.runtime.check(net, rt));
            assertTrue(broken.getMessage().startsWith("plugin type=\"bridge\" failed (check): "), broken.getMessage());

            f.runtime.del(net, new RuntimeConf(cid, ns, "eth0")); // capability args come from the cache
            f.runtime.del(lo, new RuntimeConf(cid, ns, "lo"));
            assertFalse(Files.exists(cache), "cache removed after DEL");
            assertFalse(RtFixture.linkExists(ns, "eth0"));
            assertFalse(
                    portmapRules().contains("--to-destination " + ip + ":80"),
                    "portmap DEL had the cached portMappings");
            assertEquals(List.of(), f.runtime.cachedAttachments(null));
            // DEL again: idempotent, no cache needed
            f.runtime.del(net, new RuntimeConf(cid, ns, "eth0"));
        }
    }

    /** The nat table, where the reference portmap (iptables backend) puts its DNAT chains. */
    private static String portmapRules() {
        return Commands.run("iptables", "-t", "nat", "-S");
    }

    @Test
    void chainWithFirewallAndTuning() throws Exception {
        try (RtFixture f = new RtFixture(REF)) {
            NetworkConfigList net = f.conf("10-fw.conflist", """
                    {"cniVersion": "1.0.0", "name": "%s", "plugins": [%s,
                      {"type": "firewall", "backend": "iptables"},
                      {"type": "tuning", "mtu": 1400, "sysctl": {"net.ipv4.conf.eth0.accept_redirects": "0"}, "capabilities": {"mac": true}}]}""".formatted(f.network, bridgeConf(f, false)));
            String ns = f.netns("pod");
            String cid = f.prefix + "c2";
            RuntimeConf rt = new RuntimeConf(cid, ns, "eth0", List.of(), Map.of("mac", "c2:11:22:33:44:55"));

            NetworkResult r = f.runtime.add(net, rt);
            String addr = r.result().ips().get(0).address().toString();
            String ip = addr.substring(0, addr.indexOf('/'));
            Map<String, Object> link = io.jcni.testkit.Witness.link(RtFixture.nsName(ns), "eth0");
            assertEquals(1400L, ((Number) link.get("mtu")).longValue(), "tuning set the MTU");
            assertEquals(
                    "c2:11:22:33:44:55", link.get("address"), "tuning got runtimeConfig.mac from the capability args");
            assertEquals(
                    "0",
                    Commands.run(
                                    "ip",
                                    "netns",
                                    "exec",
                                    RtFixture.nsName(ns),
                                    "cat",
                                    "/proc/sys/net/ipv4/conf/eth0/accept_redirects")
                            .strip());
            assertTrue(
                    Commands.run("iptables", "-S", "CNI-FORWARD").contains(ip), "firewall admitted the pod's address");
            // tuning reports the new MAC in the result it passes on
            assertTrue(r.toJsonString().contains("c2:11:22:33:44:55"), r.toJsonString());

            f.runtime.check(net, rt);
            f.runtime.del(net, rt);
            assertFalse(Commands.run("iptables", "-S", "CNI-FORWARD").contains(ip), "firewall rules removed");
            assertFalse(RtFixture.linkExists(ns, "eth0"));
            assertFalse(Files.exists(f.cacheFile(f.network, cid, "eth0")));
            try (var s = Files.list(f.dataDir.resolve(f.network))) {
                assertEquals(
                        List.of(),
                        s.map(p -> p.getFileName().toString())
                                .filter(n -> !n.equals("lock") && !n.startsWith("last_reserved_ip"))
                                .toList(),
                        "lease released");
            }
        }
    }

    @Test
    void statusAndGcAreNoOpsBelow110AndCheckIsRefusedBelow040() throws Exception {
        try (RtFixture f = new RtFixture(REF)) {
            NetworkConfigList old = f.conf("10-old.conflist", """
                    {"cniVersion": "0.3.1", "name": "%s", "plugins": [{"type": "does-not-exist"}]}""".formatted(f.network));
            f.runtime.status(old); // 0.3.1: nothing is run, so the missing plugin is not noticed
            assertTrue(f.runtime.gc(old, List.of()).ok());
            CniError e = assertThrows(
                    CniError.class, () -> f.runtime.check(old, new RuntimeConf("x", "/run/netns/x", "eth0")));
            assertEquals("configuration version \"0.3.1\" does not support the CHECK command", e.getMessage());
        }
    }
}
