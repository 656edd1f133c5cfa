package io.jcni.plugins.bridge;

import static io.jcni.plugins.bridge.BridgeTests.assertClean;
import static io.jcni.plugins.bridge.BridgeTests.config;
import static io.jcni.plugins.bridge.BridgeTests.configMap;
import static io.jcni.plugins.bridge.BridgeTests.error;
import static io.jcni.plugins.bridge.BridgeTests.ip;
import static io.jcni.plugins.bridge.BridgeTests.ok;
import static io.jcni.plugins.bridge.BridgeTests.ranges;
import static io.jcni.plugins.testing.PluginFixture.call;
import static io.jcni.plugins.testing.PluginFixture.env;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jcni.cni.json.Json;
import io.jcni.plugins.testing.PluginFixture;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** GC keeps valid attachments and drops the stale ones' reservations and NAT elements; STATUS reports exhaustion as 50. */
class BridgeGcStatusTest {
    static final String V = "1.1.0";

    static String gcConfig(PluginFixture f, String key, String... validIds) {
        Map<String, Object> m = configMap(f, V);
        List<Object> valid = new ArrayList<>();
        for (String id : validIds) {
            valid.add(Map.of("containerID", id, "ifname", "eth0"));
        }
        m.put(key, valid);
        return Json.write(m);
    }

    static Map<String, String> gcEnv() {
        return env("GC", "", "", ""); // libcni sends the attachment variables empty on GC
    }

    @Test
    void gcRemovesStaleReservationsAndNatElements() {
        try (PluginFixture f = new PluginFixture("bs")) {
            String cfg = config(f, V);
            String ns1 = f.netns("a"), ns2 = f.netns("b"), ns3 = f.netns("c");
            String a = ip(ok(call(new Bridge(), env("ADD", "c1", ns1, "eth0"), cfg)), 0);
            String b = ip(ok(call(new Bridge(), env("ADD", "c2", ns2, "eth0"), cfg)), 0);
            String c = ip(ok(call(new Bridge(), env("ADD", "c3", ns3, "eth0"), cfg)), 0);
            assertEquals(3, f.natElements().size());

            // c2 is stale: the runtime lists c1 and c3 (and an attachment of c1 on another ifname, which is not
            // c1/eth0)
            f.ageReservations(); // past host-local's grace period for ADDs in flight
            ok(call(new Bridge(), gcEnv(), gcConfig(f, "cni.dev/valid-attachments", "c1", "c3")));
            assertEquals(sorted(a, c), f.reservations());
            assertEquals(sorted(a, c), sorted(f.natElements().toArray(new String[0])));

            // the spec-v1.1.0 key is read too
            ok(call(new Bridge(), gcEnv(), gcConfig(f, "cni.dev/attachments", "c1")));
            assertEquals(List.of(a), f.reservations());
            assertEquals(List.of(a), f.natElements());

            // GC again with the same list: nothing more to do, still success
            ok(call(new Bridge(), gcEnv(), gcConfig(f, "cni.dev/valid-attachments", "c1")));
            assertEquals(List.of(a), f.reservations());

            // without any list nothing is known to be stale
            ok(call(new Bridge(), gcEnv(), cfg));
            assertEquals(List.of(a), f.reservations());
            assertEquals(List.of(a), f.natElements());

            // the valid attachment still works; the stale ones' DELs (their namespaces went away) succeed
            ok(call(new Bridge(), env("DEL", "c1", ns1, "eth0"), cfg));
            f.deleteNetns(ns2);
            f.deleteNetns(ns3);
            ok(call(new Bridge(), env("DEL", "c2", ns2, "eth0"), cfg));
            ok(call(new Bridge(), env("DEL", "c3", ns3, "eth0"), cfg));
            assertClean(f, ns1);
        }
    }

    @Test
    void gcWithAnEmptyListRemovesEverything() {
        try (PluginFixture f = new PluginFixture("bs")) {
            String cfg = config(f, V);
            String ns1 = f.netns("a");
            ok(call(new Bridge(), env("ADD", "c1", ns1, "eth0"), cfg));
            f.ageReservations(); // past host-local's grace period for ADDs in flight
            ok(call(new Bridge(), gcEnv(), gcConfig(f, "cni.dev/valid-attachments")));
            assertEquals(List.of(), f.reservations());
            assertEquals(List.of(), f.natElements());
            ok(call(new Bridge(), env("DEL", "c1", ns1, "eth0"), cfg));
            assertClean(f, ns1);
        }
    }

    @Test
    void statusSucceedsAndReports50WhenTheRangeIsExhausted() {
        try (PluginFixture f = new PluginFixture("bs")) {
            // a /30 with the gateway .1 has one address for pods: .2
            String cfg = config(f, V, "ipam", BridgeTests.ipam(f, ranges("10.252." + f.octet + ".0/30")));
            Map<String, String> status = env("STATUS", "", "", "");
            ok(call(new Bridge(), status, cfg));
            String ns1 = f.netns("a"), ns2 = f.netns("b");
            ok(call(new Bridge(), env("ADD", "c1", ns1, "eth0"), cfg));
            error(call(new Bridge(), status, cfg), 50);
            error(call(new Bridge(), env("ADD", "c2", ns2, "eth0"), cfg), 101);
            // "not ready" is informational: DEL still works, and then STATUS is fine again
            ok(call(new Bridge(), env("DEL", "c1", ns1, "eth0"), cfg));
            ok(call(new Bridge(), status, cfg));
            assertClean(f, ns1, ns2);
        }
    }

    static List<String> sorted(String... s) {
        List<String> l = new ArrayList<>(List.of(s));
        l.sort(null);
        return l;
    }
}
