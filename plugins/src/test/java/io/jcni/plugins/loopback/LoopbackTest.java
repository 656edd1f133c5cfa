package io.jcni.plugins.loopback;

import static io.jcni.plugins.testing.PluginFixture.call;
import static io.jcni.plugins.testing.PluginFixture.env;
import static io.jcni.plugins.testing.PluginFixture.json;
import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.CniVersion;
import io.jcni.cni.PluginResponse;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.plugins.testing.PluginFixture;
import io.jcni.testkit.Commands;
import io.jcni.testkit.Json;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The loopback plugin: every verb, every spec version, each in a fresh namespace, against the kernel. */
class LoopbackTest {
    static List<String> versions() {
        return CniVersion.SUPPORTED;
    }

    static String config(String version, String extra) {
        return """
                {"cniVersion": "%s", "name": "lonet", "type": "loopback"%s}
                """.formatted(version, extra);
    }

    /** lo's state in namespace {@code path} as the kernel reports it through our netlink layer. */
    static boolean loUp(String path) {
        try (NetNs ns = NetNs.open(path);
                RouteNetlink nl = RouteNetlink.open(ns, Trace.OFF)) {
            return nl.links().get("lo").isUp();
        }
    }

    /** lo's administrative state as iproute2 reports it: the independent witness. */
    @SuppressWarnings("unchecked")
    static boolean loUpByIp(String path) {
        String name = PluginFixture.nsName(path);
        List<Map<String, Object>> links = Json.objects(Commands.ip(name, "link", "show", "lo"));
        assertEquals(1, links.size());
        return ((List<Object>) links.get(0).get("flags")).contains("UP");
    }

    static void assertError(PluginResponse r, long code, String msgPart) {
        assertNotEquals(0, r.exitCode(), r.stdoutText());
        Map<String, Object> e = json(r);
        assertEquals(code, e.get("code"), r.stdoutText());
        assertTrue(((String) e.get("msg")).contains(msgPart), r.stdoutText());
    }

    @ParameterizedTest
    @MethodSource("versions")
    @SuppressWarnings("unchecked")
    void addBringsLoUpAndReportsIt(String version) {
        try (PluginFixture f = new PluginFixture("lo")) {
            String ns = f.netns("a");
            assertFalse(loUp(ns), "a new namespace has lo down");
            assertFalse(loUpByIp(ns));

            PluginResponse add = call(new Loopback(), env("ADD", "c1", ns, "lo"), config(version, ""));
            assertEquals(0, add.exitCode(), add.stdoutText() + add.stderr());
            assertTrue(loUp(ns));
            assertTrue(loUpByIp(ns));

            Map<String, Object> r = json(add);
            assertEquals(version, r.get("cniVersion"));
            List<Map<String, Object>> ifs = (List<Map<String, Object>>) r.get("interfaces");
            assertEquals(1, ifs.size());
            assertEquals(Map.of("name", "lo", "mac", "00:00:00:00:00:00", "sandbox", ns), ifs.get(0));
            List<Map<String, Object>> ips = (List<Map<String, Object>>) r.get("ips");
            assertEquals(2, ips.size());
            boolean v0 = version.startsWith("0.");
            assertEquals("127.0.0.1/8", ips.get(0).get("address"));
            assertEquals(0L, ips.get(0).get("interface"));
            assertEquals(v0 ? "4" : null, ips.get(0).get("version"));
            assertNull(ips.get(0).get("gateway"));
            assertEquals("::1/128", ips.get(1).get("address"));
            assertEquals(0L, ips.get(1).get("interface"));
            assertEquals(v0 ? "6" : null, ips.get(1).get("version"));
            assertEquals(v0 ? 3 : 2, ips.get(0).size(), "no other fields: " + ips.get(0));
            assertNull(r.get("routes"));
            assertEquals(3, r.size(), "cniVersion, interfaces and ips only: " + r);
        }
    }

    @ParameterizedTest
    @MethodSource("versions")
    void checkFollowsLoState(String version) throws Exception {
        try (PluginFixture f = new PluginFixture("lo")) {
            String ns = f.netns("c");
            Loopback lo = new Loopback();
            if (!CniVersion.atLeast(version, CniVersion.V040)) {
                assertError(call(lo, env("CHECK", "c1", ns, "lo"), config(version, "")), 1, "does not allow CHECK");
                return;
            }
            // down: CHECK fails with an error object in the request's version
            PluginResponse down = call(lo, env("CHECK", "c1", ns, "lo"), config(version, ""));
            assertError(down, 7, "loopback interface is down");
            assertEquals(version, json(down).get("cniVersion"));

            PluginResponse add = call(lo, env("ADD", "c1", ns, "lo"), config(version, ""));
            assertEquals(0, add.exitCode(), add.stdoutText());
            PluginResponse up =
                    call(lo, env("CHECK", "c1", ns, "lo"), config(version, ", \"prevResult\": " + add.stdoutText()));
            assertEquals(0, up.exitCode(), up.stdoutText());
            assertEquals("", up.stdoutText());

            // someone takes lo down behind the plugin's back: CHECK notices
            Commands.run("ip", "-n", PluginFixture.nsName(ns), "link", "set", "lo", "down");
            assertError(call(lo, env("CHECK", "c1", ns, "lo"), config(version, "")), 7, "loopback interface is down");
        }
    }

    @ParameterizedTest
    @MethodSource("versions")
    void delBringsLoDownAndToleratesAMissingNamespace(String version) {
        try (PluginFixture f = new PluginFixture("lo")) {
            String ns = f.netns("d");
            Loopback lo = new Loopback();
            assertEquals(
                    0, call(lo, env("ADD", "c1", ns, "lo"), config(version, "")).exitCode());
            assertTrue(loUp(ns));

            PluginResponse del = call(lo, env("DEL", "c1", ns, "lo"), config(version, ""));
            assertEquals(0, del.exitCode(), del.stdoutText());
            assertEquals("", del.stdoutText());
            assertFalse(loUp(ns));
            assertFalse(loUpByIp(ns));
            assertEquals(
                    0, call(lo, env("DEL", "c1", ns, "lo"), config(version, "")).exitCode(), "DEL is idempotent");

            PluginResponse empty = call(lo, env("DEL", "c1", "", "lo"), config(version, ""));
            assertEquals(0, empty.exitCode(), "empty CNI_NETNS: " + empty.stdoutText());
            PluginResponse gone =
                    call(lo, env("DEL", "c1", "/run/netns/" + f.prefix + "never", "lo"), config(version, ""));
            assertEquals(0, gone.exitCode(), "vanished CNI_NETNS: " + gone.stdoutText());
            // ADD, by contrast, must not accept a missing namespace
            assertError(
                    call(lo, env("ADD", "c1", "/run/netns/" + f.prefix + "never", "lo"), config(version, "")),
                    3,
                    "does not exist");
        }
    }

    @ParameterizedTest
    @MethodSource("versions")
    @SuppressWarnings("unchecked")
    void chainedAddPassesPrevResultThrough(String version) {
        try (PluginFixture f = new PluginFixture("lo")) {
            String ns = f.netns("p");
            boolean v0 = version.startsWith("0.");
            String ipVersion = v0 ? "\"version\": \"4\", " : "";
            String prev = """
                    {"cniVersion": "%s",
                     "interfaces": [{"name": "eth0", "mac": "0a:58:0a:f4:00:05", "sandbox": "%s"}],
                     "ips": [{%s"interface": 0, "address": "10.244.0.5/24", "gateway": "10.244.0.1"}],
                     "routes": [{"dst": "0.0.0.0/0", "gw": "10.244.0.1"}],
                     "dns": {"nameservers": ["10.96.0.10"], "search": ["svc.cluster.local"]}}
                    """.formatted(version, ns, ipVersion);
            PluginResponse add =
                    call(new Loopback(), env("ADD", "c1", ns, "lo"), config(version, ", \"prevResult\": " + prev));
            assertEquals(0, add.exitCode(), add.stdoutText());
            assertTrue(loUp(ns), "chained ADD still brings lo up");
            Map<String, Object> want = (Map<String, Object>) Json.parse(prev);
            assertEquals(want, json(add), "prevResult comes back unchanged");
        }
    }

    @ParameterizedTest
    @MethodSource("versions")
    void gcAndStatus(String version) throws Exception {
        try (PluginFixture f = new PluginFixture("lo")) {
            Loopback lo = new Loopback();
            for (String verb : List.of("GC", "STATUS")) {
                PluginResponse r = call(lo, env(verb, "", "", ""), config(version, ""));
                if (CniVersion.atLeast(version, CniVersion.V110)) {
                    assertEquals(0, r.exitCode(), verb + ": " + r.stdoutText());
                    assertEquals("", r.stdoutText());
                } else {
                    assertError(r, 1, "does not allow " + verb);
                }
            }
            // GC leaves an attached namespace alone
            String ns = f.netns("g");
            assertEquals(
                    0, call(lo, env("ADD", "c1", ns, "lo"), config(version, "")).exitCode());
            if (CniVersion.atLeast(version, CniVersion.V110)) {
                String withAttachments = config(version, ", \"cni.dev/valid-attachments\": []");
                assertEquals(0, call(lo, env("GC", "", "", ""), withAttachments).exitCode());
            }
            assertTrue(loUp(ns));
        }
    }
}
