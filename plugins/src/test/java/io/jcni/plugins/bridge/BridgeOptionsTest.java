package io.jcni.plugins.bridge;

import static io.jcni.plugins.bridge.BridgeTests.REMOVE;
import static io.jcni.plugins.bridge.BridgeTests.assertClean;
import static io.jcni.plugins.bridge.BridgeTests.config;
import static io.jcni.plugins.bridge.BridgeTests.hostVeth;
import static io.jcni.plugins.bridge.BridgeTests.ip;
import static io.jcni.plugins.bridge.BridgeTests.list;
import static io.jcni.plugins.bridge.BridgeTests.ok;
import static io.jcni.plugins.bridge.BridgeTests.ranges;
import static io.jcni.plugins.bridge.BridgeTests.subnet;
import static io.jcni.plugins.bridge.BridgeTests.withPrev;
import static io.jcni.plugins.testing.PluginFixture.call;
import static io.jcni.plugins.testing.PluginFixture.env;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jcni.cni.PluginResponse;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.route.Address;
import io.jcni.netlink.route.Link;
import io.jcni.netlink.route.LinkSpec;
import io.jcni.netlink.route.Links;
import io.jcni.netlink.route.Route;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.netlink.route.Rtnl;
import io.jcni.plugins.testing.PluginFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The bridge's options, each read back from the kernel (and the result), each with a contrast case. */
class BridgeOptionsTest {
    static final String V = "1.0.0";

    static Links.BridgePort port(String hostVeth) {
        try (RouteNetlink host = RouteNetlink.open(Trace.OFF)) {
            return host.links().bridgePort(hostVeth);
        }
    }

    static Link hostLink(String name) {
        try (RouteNetlink host = RouteNetlink.open(Trace.OFF)) {
            return host.links().get(name);
        }
    }

    static Link podLink(String ns, String name) {
        try (NetNs n = NetNs.open(ns);
                RouteNetlink in = RouteNetlink.open(n, Trace.OFF)) {
            return in.links().get(name);
        }
    }

    static List<Address> podAddresses(String ns) {
        try (NetNs n = NetNs.open(ns);
                RouteNetlink in = RouteNetlink.open(n, Trace.OFF)) {
            return in.addresses().list("eth0");
        }
    }

    static List<Route> podRoutes(String ns) {
        try (NetNs n = NetNs.open(ns);
                RouteNetlink in = RouteNetlink.open(n, Trace.OFF)) {
            return in.routes().list(Rtnl.AF_UNSPEC, 0);
        }
    }

    static List<String> bridgeAddresses(String bridge) {
        try (RouteNetlink host = RouteNetlink.open(Trace.OFF)) {
            List<String> out = new ArrayList<>();
            for (Address a : host.addresses().list(bridge)) {
                if (!a.prefix().toString().startsWith("fe80:")) {
                    out.add(a.prefix().toString());
                }
            }
            out.sort(null);
            return out;
        }
    }

    static void del(PluginFixture f, String id, String ns, String cfg) {
        ok(call(new Bridge(), env("DEL", id, ns, "eth0"), cfg));
    }

    @Test
    void hairpinModeAndPortIsolationOnTheHostPort() {
        try (PluginFixture f = new PluginFixture("bo")) {
            String ns1 = f.netns("a"), ns2 = f.netns("b");
            String on = config(f, V, "hairpinMode", true, "portIsolation", true);
            String off = config(f, V);
            Links.BridgePort p1 = port(hostVeth(ok(call(new Bridge(), env("ADD", "c1", ns1, "eth0"), on))));
            assertTrue(p1.hairpin(), "hairpin");
            assertTrue(p1.isolated(), "isolated");
            Links.BridgePort p2 = port(hostVeth(ok(call(new Bridge(), env("ADD", "c2", ns2, "eth0"), off))));
            assertFalse(p2.hairpin());
            assertFalse(p2.isolated());
            assertEquals(hostLink(f.bridge).index(), p1.masterIndex());
            // the bridge is not promiscuous unless asked
            assertFalse(hostLink(f.bridge).isPromiscuous());
            del(f, "c1", ns1, on);
            del(f, "c2", ns2, off);
            assertClean(f, ns1, ns2);
        }
    }

    @Test
    void promiscModeOnTheBridge() {
        try (PluginFixture f = new PluginFixture("bo")) {
            String ns = f.netns("a");
            String cfg = config(f, V, "promiscMode", true);
            PluginResponse add = call(new Bridge(), env("ADD", "c1", ns, "eth0"), cfg);
            ok(add);
            assertTrue(hostLink(f.bridge).isPromiscuous());
            del(f, "c1", ns, cfg);
            assertClean(f, ns);
        }
    }

    @Test
    void isDefaultGatewayAddsADefaultRoute() throws Exception {
        try (PluginFixture f = new PluginFixture("bo")) {
            String ns1 = f.netns("a"), ns2 = f.netns("b");
            String gwCfg = config(f, V, "isGateway", REMOVE, "isDefaultGateway", true);
            PluginResponse add = call(new Bridge(), env("ADD", "c1", ns1, "eth0"), gwCfg);
            Map<String, Object> r = ok(add);
            String gw = "10.251." + f.octet + ".1";
            assertEquals(gw, list(r, "ips").get(0).get("gateway"));
            assertEquals(List.of(Map.of("dst", "0.0.0.0/0", "gw", gw)), list(r, "routes"));
            assertTrue(
                    podRoutes(ns1).stream()
                            .anyMatch(x -> x.isDefault()
                                    && x.gateway() != null
                                    && x.gateway().toString().equals(gw)),
                    podRoutes(ns1).toString());
            assertEquals(List.of(gw + "/24"), bridgeAddresses(f.bridge), "isDefaultGateway implies isGateway");
            ok(call(new Bridge(), env("CHECK", "c1", ns1, "eth0"), withPrev(gwCfg, add)));
            // contrast: isGateway alone gives no default route
            Map<String, Object> r2 = ok(call(new Bridge(), env("ADD", "c2", ns2, "eth0"), config(f, V)));
            assertEquals(List.of(), list(r2, "routes"));
            assertFalse(podRoutes(ns2).stream().anyMatch(Route::isDefault));
            del(f, "c1", ns1, gwCfg);
            del(f, "c2", ns2, gwCfg);
            assertClean(f, ns1, ns2);
        }
    }

    @Test
    void forceAddressReplacesAConflictingBridgeAddress() {
        try (PluginFixture f = new PluginFixture("bo")) {
            String ns = f.netns("a");
            try (RouteNetlink host = RouteNetlink.open(Trace.OFF)) {
                host.links().add(LinkSpec.bridge(f.bridge).up());
                host.addresses().add(f.bridge, IpPrefix.parse("192.0.2.1/24"));
            }
            BridgeTests.error(call(new Bridge(), env("ADD", "c1", ns, "eth0"), config(f, V)), 7);
            assertClean(f, ns);
            assertEquals(List.of("192.0.2.1/24"), bridgeAddresses(f.bridge));
            String cfg = config(f, V, "forceAddress", true);
            ok(call(new Bridge(), env("ADD", "c1", ns, "eth0"), cfg));
            assertEquals(List.of("10.251." + f.octet + ".1/24"), bridgeAddresses(f.bridge));
            del(f, "c1", ns, cfg);
            assertClean(f, ns);
        }
    }

    @Test
    void macPrecedenceRuntimeConfigThenArgsThenCniArgs() {
        try (PluginFixture f = new PluginFixture("bo")) {
            String rc = "02:00:00:00:00:01", args = "02:00:00:00:00:02", env = "02:00:00:00:00:03";
            Object argsObj = Map.of("cni", Map.of("mac", args));
            Object rcObj = Map.of("mac", rc);
            record Row(String id, String cfg, String expected) {}
            List<Row> rows = List.of(
                    new Row("all3", config(f, V, "runtimeConfig", rcObj, "args", argsObj), rc),
                    new Row("args", config(f, V, "args", argsObj), args),
                    new Row("envonly", config(f, V), env));
            List<String> nss = new ArrayList<>();
            for (Row row : rows) {
                String ns = f.netns(row.id);
                nss.add(ns);
                Map<String, String> e = env("ADD", row.id, ns, "eth0");
                e.put("CNI_ARGS", "MAC=" + env);
                Map<String, Object> r = ok(call(new Bridge(), e, row.cfg));
                assertEquals(row.expected, list(r, "interfaces").get(2).get("mac"), row.id);
                assertEquals(row.expected, String.valueOf(podLink(ns, "eth0").mac()), row.id);
            }
            // without any: a random MAC, none of the three
            String ns = f.netns("none");
            nss.add(ns);
            Map<String, Object> r = ok(call(new Bridge(), env("ADD", "none", ns, "eth0"), config(f, V)));
            String mac = (String) list(r, "interfaces").get(2).get("mac");
            assertFalse(List.of(rc, args, env).contains(mac), mac);
            for (Row row : rows) {
                Map<String, String> e = env("DEL", row.id, nss.get(rows.indexOf(row)), "eth0");
                e.put("CNI_ARGS", "MAC=" + env);
                ok(call(new Bridge(), e, row.cfg));
            }
            del(f, "none", ns, config(f, V));
            assertClean(f, nss.toArray(new String[0]));
        }
    }

    @Test
    void disableContainerInterfaceLeavesEth0Down() {
        try (PluginFixture f = new PluginFixture("bo")) {
            String ns = f.netns("a");
            String cfg = config(
                    f, V, "ipam", REMOVE, "isGateway", REMOVE, "ipMasq", REMOVE, "disableContainerInterface", true);
            Map<String, Object> r = ok(call(new Bridge(), env("ADD", "c1", ns, "eth0"), cfg));
            assertEquals(List.of(), list(r, "ips"));
            assertFalse(podLink(ns, "eth0").isUp(), "eth0 stays down");
            assertEquals(hostLink(f.bridge).index(), hostLink(hostVeth(r)).masterIndex());
            del(f, "c1", ns, cfg);
            assertClean(f, ns);
        }
    }

    @Test
    void l2OnlyWithoutIpam() throws Exception {
        try (PluginFixture f = new PluginFixture("bo")) {
            String ns = f.netns("a");
            for (Object ipam :
                    new Object[] {REMOVE, Map.of()}) { // absent, and {} (the reference treats both as no IPAM)
                String cfg = config(f, V, "ipam", ipam, "isGateway", REMOVE);
                PluginResponse add = call(new Bridge(), env("ADD", "c1", ns, "eth0"), cfg);
                Map<String, Object> r = ok(add);
                assertEquals(List.of(), list(r, "ips"));
                assertTrue(podLink(ns, "eth0").isUp());
                assertTrue(
                        podAddresses(ns).stream().noneMatch(a -> a.prefix().isV4()),
                        podAddresses(ns).toString());
                assertEquals(List.of(), bridgeAddresses(f.bridge));
                assertEquals(List.of(), f.reservations());
                assertEquals(List.of(), f.natElements());
                ok(call(new Bridge(), env("CHECK", "c1", ns, "eth0"), withPrev(cfg, add)));
                del(f, "c1", ns, cfg);
                assertClean(f, ns);
            }
        }
    }

    @Test
    void dnsFromTheConfigReplacesIpamDns() throws Exception {
        try (PluginFixture f = new PluginFixture("bo")) {
            Path resolv = f.dataDir.resolve("resolv.conf");
            Files.writeString(resolv, "nameserver 192.0.2.53\nsearch example.org\n");
            Map<String, Object> ipam = BridgeTests.ipam(f, ranges(subnet(f)));
            ipam.put("resolvConf", resolv.toString());
            String ns1 = f.netns("a"), ns2 = f.netns("b");
            String fromIpam = config(f, V, "ipam", ipam);
            Map<String, Object> r1 = ok(call(new Bridge(), env("ADD", "c1", ns1, "eth0"), fromIpam));
            assertEquals(List.of("192.0.2.53"), ((Map<?, ?>) r1.get("dns")).get("nameservers"));
            String fromConfig = config(f, V, "ipam", ipam, "dns", Map.of("nameservers", List.of("9.9.9.9")));
            Map<String, Object> r2 = ok(call(new Bridge(), env("ADD", "c2", ns2, "eth0"), fromConfig));
            Map<?, ?> dns = (Map<?, ?>) r2.get("dns");
            assertEquals(List.of("9.9.9.9"), dns.get("nameservers"));
            assertEquals(null, dns.get("search"), "replaced as a whole, not merged");
            del(f, "c1", ns1, fromIpam);
            del(f, "c2", ns2, fromConfig);
            assertClean(f, ns1, ns2);
        }
    }

    @Test
    void dualStackWithoutDad() throws Exception {
        try (PluginFixture f = new PluginFixture("bo")) {
            String ns = f.netns("a");
            String v6 = "fd00:251:" + Integer.toHexString(f.octet) + "::/64";
            String cfg = config(f, V, "enabledad", false, "ipam", BridgeTests.ipam(f, ranges(subnet(f), v6)));
            PluginResponse add = call(new Bridge(), env("ADD", "c1", ns, "eth0"), cfg);
            Map<String, Object> r = ok(add);
            assertEquals(2, list(r, "ips").size());
            String a4 = ip(r, 0), a6 = ip(r, 1);
            assertTrue(a4.startsWith("10.251."), a4);
            assertTrue(a6.startsWith("fd00:251:"), a6);
            List<Address> have = podAddresses(ns);
            for (String a : List.of(a4, a6)) {
                Address x = have.stream()
                        .filter(h -> h.prefix().address().toString().equals(a))
                        .findFirst()
                        .orElseThrow(() -> new AssertionError(a + " not on eth0: " + have));
                assertFalse(x.isTentative(), a + " is tentative: DAD should be off");
            }
            String gw6 = v6.replace("::/64", "::1/64");
            assertEquals(List.of("10.251." + f.octet + ".1/24", gw6), bridgeAddresses(f.bridge));
            assertEquals(
                    List.of(a4, a6).stream().sorted().toList(),
                    f.natElements().stream().sorted().toList());
            assertEquals(List.of(a4, a6).stream().sorted().toList(), f.reservations());
            ok(call(new Bridge(), env("CHECK", "c1", ns, "eth0"), withPrev(cfg, add)));
            del(f, "c1", ns, cfg);
            assertClean(f, ns);
        }
    }

    /**
     * This kernel has no bridge VLAN filtering: a bridge with vlan_filtering cannot be created, and
     * a port of an existing non-filtering bridge takes no VLAN. Only a clean error is asserted.
     */
    @Test
    void vlanAndVlanTrunkFailCleanlyOnThisKernel() {
        try (PluginFixture f = new PluginFixture("bo")) {
            String ns = f.netns("a");
            List<String> cfgs = List.of(
                    config(f, V, "vlan", 10),
                    config(f, V, "vlanTrunk", List.of(Map.of("id", 20), Map.of("minID", 30, "maxID", 32))));
            for (int round = 0; round < 2; round++) {
                if (round == 1) { // now with an existing (non-VLAN-filtering) bridge
                    ok(call(new Bridge(), env("ADD", "plain", f.netns("plain"), "eth0"), config(f, V)));
                }
                for (String cfg : cfgs) {
                    BridgeTests.Snapshot before = BridgeTests.Snapshot.of(f, ns);
                    PluginResponse r = call(new Bridge(), env("ADD", "v", ns, "eth0"), cfg);
                    if (r.exitCode() == 0) {
                        // a kernel with VLAN filtering: then the port must really carry the VLANs
                        try (RouteNetlink host = RouteNetlink.open(Trace.OFF)) {
                            assertNotEquals(List.of(), host.links().bridgeVlans(hostVeth(ok(r))));
                        }
                        del(f, "v", ns, cfg);
                        continue;
                    }
                    // 100: the kernel refused (creating a vlan_filtering bridge, or adding a VLAN to the port)
                    Map<String, Object> e = BridgeTests.error(r, io.jcni.cni.CniError.KERNEL_REFUSED);
                    System.out.println("BridgeOptionsTest VLAN round " + round + ": code " + e.get("code") + ", "
                            + e.get("msg") + "; " + e.get("details"));
                    assertEquals(
                            before,
                            BridgeTests.Snapshot.of(f, ns),
                            "a failed VLAN ADD leaves nothing: " + r.stdoutText());
                    ok(call(new Bridge(), env("DEL", "v", ns, "eth0"), cfg));
                }
            }
        }
    }
}
