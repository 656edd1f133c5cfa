package io.jcni.plugins.portmap;

import static io.jcni.plugins.testing.PluginFixture.call;
import static io.jcni.plugins.testing.PluginFixture.env;
import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.PluginResponse;
import io.jcni.plugins.bridge.Bridge;
import io.jcni.testkit.Json;
import io.jcni.testkit.Witness;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Two attachments whose stable host veth names collide (the name keeps 32 bits of a hash): the
 * second gets another name, and its DEL — with its namespace gone and no prevResult, so the
 * stable name is all it has — must not delete the first one's veth. The bridge runs in a node
 * namespace of the test's own.
 */
class HostVethCollisionTest {
    /** The bridge's stable host veth name: veth + the low 32 bits of FNV-1a over network, container ID, ifname. */
    static String stableName(String network, String containerId, String ifname) {
        return "veth" + io.jcni.cni.Fnv.hex8(io.jcni.cni.Fnv.hash64(network + "\0" + containerId + "\0" + ifname));
    }

    /** Two container IDs of one network whose stable names are the same (a birthday search). */
    static String[] collidingIds(String network) {
        Map<String, String> seen = new HashMap<>();
        for (int i = 0; ; i++) {
            String id = "c" + i;
            String prior = seen.putIfAbsent(stableName(network, id, "eth0"), id);
            if (prior != null) {
                return new String[] {prior, id};
            }
        }
    }

    /** The names of the interfaces of a bridge ADD result that are on the host (no sandbox): the bridge and the host veth. */
    static List<String> hostSideInterfaces(String bridgeResult) {
        return Witness.list(Witness.map(Json.parse(bridgeResult)).get("interfaces")).stream()
                .filter(iface -> iface.get("sandbox") == null)
                .map(iface -> (String) iface.get("name"))
                .toList();
    }

    @Test
    void delOfTheSecondOfTwoCollidingAttachmentsLeavesTheFirstOnesVeth() {
        try (PortmapWorld w = new PortmapWorld("hb")) {
            String[] ids = collidingIds(w.f.network);
            String name = stableName(w.f.network, ids[0], "eth0");
            assertEquals(name, stableName(w.f.network, ids[1], "eth0"));
            String node = w.nodePath.substring("/run/netns/".length());
            String cfg = w.bridgeConfig("1.0.0");

            String[] first = w.pod("a", ids[0], "1.0.0");
            assertTrue(hostSideInterfaces(first[1]).contains(name), "the first takes the stable name: " + first[1]);
            String[] second = w.pod("b", ids[1], "1.0.0");
            assertFalse(hostSideInterfaces(second[1]).contains(name), "the second gets another name: " + second[1]);

            // The second pod goes away (its veth with it); its DEL comes without prevResult.
            w.f.deleteNetns(second[0]);
            PluginResponse del = w.inNode(() -> call(new Bridge(), env("DEL", ids[1], second[0], "eth0"), cfg));
            assertEquals(0, del.exitCode(), del.stdoutText() + del.stderr());

            assertTrue(Witness.linkNames(node).contains(name), "the first pod's host veth is still there");
            assertEquals(
                    "veth",
                    Witness.map(Witness.link(node, name).get("linkinfo")).get("info_kind"),
                    "and it is a veth");
            String c = cfg.trim();
            String check = c.substring(0, c.length() - 1) + ", \"prevResult\": " + first[1] + "}";
            PluginResponse ok = w.inNode(() -> call(new Bridge(), env("CHECK", ids[0], first[0], "eth0"), check));
            assertEquals(0, ok.exitCode(), ok.stdoutText());
        }
    }
}
