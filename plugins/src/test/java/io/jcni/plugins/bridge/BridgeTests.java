package io.jcni.plugins.bridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jcni.cni.PluginResponse;
import io.jcni.cni.json.Json;
import io.jcni.plugins.testing.PluginFixture;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Shared helpers of the bridge plugin tests: configurations as maps, results, leak snapshots. */
final class BridgeTests {
    private BridgeTests() {}

    /** Marks a key to remove in {@link #config}. */
    static final Object REMOVE = new Object();

    /** The pod subnet of a fixture: 10.251.&lt;octet&gt;.0/24. */
    static String subnet(PluginFixture f) {
        return "10.251." + f.octet + ".0/24";
    }

    static Map<String, Object> ipam(PluginFixture f, Object ranges) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", "host-local");
        m.put("dataDir", f.dataDir.toString());
        m.put("ranges", ranges);
        return m;
    }

    static List<Object> ranges(String... subnets) {
        List<Object> sets = new ArrayList<>();
        for (String s : subnets) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("subnet", s);
            sets.add(new ArrayList<Object>(List.of(r)));
        }
        return sets;
    }

    /**
     * A valid L3 configuration of the fixture's network (isGateway, ipMasq, host-local in the
     * fixture's data dir), with {@code overrides} applied as key, value pairs (value {@link #REMOVE}
     * deletes the key).
     */
    static Map<String, Object> configMap(PluginFixture f, String version, Object... overrides) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cniVersion", version);
        m.put("name", f.network);
        m.put("type", "bridge");
        m.put("bridge", f.bridge);
        m.put("isGateway", true);
        m.put("ipMasq", true);
        m.put("ipam", ipam(f, ranges(subnet(f))));
        for (int i = 0; i < overrides.length; i += 2) {
            String k = (String) overrides[i];
            if (overrides[i + 1] == REMOVE) {
                m.remove(k);
            } else {
                m.put(k, overrides[i + 1]);
            }
        }
        return m;
    }

    static String config(PluginFixture f, String version, Object... overrides) {
        return Json.write(configMap(f, version, overrides));
    }

    /** The configuration with {@code prevResult} set to an ADD's output. */
    static String withPrev(String config, PluginResponse add) throws Exception {
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) Json.parse(config);
        m.put("prevResult", Json.parse(add.stdout()));
        return Json.write(m);
    }

    static Map<String, Object> ok(PluginResponse r) {
        assertEquals(0, r.exitCode(), () -> "expected success: " + r.stdoutText() + r.stderr());
        return r.stdout().length == 0 ? Map.of() : PluginFixture.json(r);
    }

    /** Asserts the error object: exit 1, cniVersion, the code, a non-empty msg; returns it. */
    static Map<String, Object> error(PluginResponse r, int code) {
        assertEquals(1, r.exitCode(), () -> "expected failure with code " + code + ": " + r.stdoutText() + r.stderr());
        Map<String, Object> e = PluginFixture.json(r);
        assertInstanceOf(String.class, e.get("cniVersion"), () -> "cniVersion in " + e);
        assertFalse(((String) e.get("cniVersion")).isEmpty());
        assertEquals((long) code, e.get("code"), () -> "code in " + e);
        assertInstanceOf(String.class, e.get("msg"), () -> "msg in " + e);
        assertFalse(((String) e.get("msg")).isBlank(), () -> "msg in " + e);
        return e;
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> list(Map<String, Object> r, String key) {
        Object v = r.get(key);
        return v == null ? List.of() : (List<Map<String, Object>>) v;
    }

    /** The host veth named in an ADD result. */
    static String hostVeth(Map<String, Object> r) {
        return (String) list(r, "interfaces").get(1).get("name");
    }

    /** The i-th address of an ADD result without its prefix length. */
    static String ip(Map<String, Object> r, int i) {
        String a = (String) list(r, "ips").get(i).get("address");
        assertNotNull(a);
        return a.substring(0, a.indexOf('/'));
    }

    /** The host end's name the plugin gives an attachment (Bridge.hostVethName), to look for it anywhere on the host. */
    static String stableVethName(String network, String containerId, String ifname) {
        return "veth" + io.jcni.cni.Fnv.hex8(io.jcni.cni.Fnv.hash64(network + "\0" + containerId + "\0" + ifname));
    }

    static boolean hostHasLink(String name) {
        try (io.jcni.netlink.route.RouteNetlink host =
                io.jcni.netlink.route.RouteNetlink.open(io.jcni.netlink.Trace.OFF)) {
            return host.links().find(name).isPresent();
        }
    }

    /** What a leak would change: this fixture's host links, the namespaces' links, reservations, NAT set elements. */
    record Snapshot(
            List<String> host, Map<String, List<String>> namespaces, List<String> reservations, List<String> nat) {
        static Snapshot of(PluginFixture f, String... netns) {
            Map<String, List<String>> ns = new LinkedHashMap<>();
            for (String n : netns) {
                ns.put(n, PluginFixture.nsLinks(n));
            }
            List<String> nat = new ArrayList<>(f.natElements());
            nat.sort(null);
            return new Snapshot(
                    f.hostLinks(),
                    ns,
                    f.dataFiles().stream()
                            .filter(n -> !n.startsWith("last_reserved_ip") && !n.equals("lock"))
                            .toList(),
                    nat);
        }
    }

    /** Asserts nothing of the attachment is left: no veth on the bridge, only lo in the pod, no reservation, no NAT. */
    static void assertClean(PluginFixture f, String... netns) {
        for (String l : f.hostLinks()) {
            assertFalse(l.endsWith("(veth)"), () -> "host veth left: " + f.hostLinks());
        }
        for (String n : netns) {
            List<String> links = PluginFixture.nsLinks(n);
            assertTrue(links.isEmpty() || links.equals(List.of("lo")), () -> n + " still has " + links);
        }
        assertEquals(
                List.of(),
                f.dataFiles().stream()
                        .filter(n -> !n.startsWith("last_reserved_ip") && !n.equals("lock"))
                        .toList(),
                "reservations / temp files left");
        assertEquals(List.of(), f.natElements(), "NAT elements left");
    }
}
