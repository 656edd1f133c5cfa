package io.jcni.plugins.bridge;

import static io.jcni.plugins.bridge.BridgeTests.config;
import static io.jcni.plugins.bridge.BridgeTests.hostVeth;
import static io.jcni.plugins.bridge.BridgeTests.ip;
import static io.jcni.plugins.bridge.BridgeTests.ok;
import static io.jcni.plugins.bridge.BridgeTests.withPrev;
import static io.jcni.plugins.testing.PluginFixture.call;
import static io.jcni.plugins.testing.PluginFixture.env;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jcni.cni.PluginResponse;
import io.jcni.plugins.testing.PluginFixture;
import io.jcni.testkit.Commands;
import io.jcni.testkit.Witness;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * DEL removes everything its ADD created — host veth, reservation, NAT element — whatever state
 * the attachment is in when DEL comes, with or without a usable prevResult; and it is idempotent.
 */
class BridgeDelTest {
    private final Bridge bridge = new Bridge();

    /** ADD c1/eth0 into a fresh namespace; checks the attachment is really there. */
    private record Added(String ns, PluginResponse add, Map<String, Object> result, String cfg) {}

    private Added add(PluginFixture f) {
        String ns = f.netns("p");
        String cfg = config(f, "1.1.0");
        PluginResponse add = call(bridge, env("ADD", "c1", ns, "eth0"), cfg);
        Map<String, Object> r = ok(add);
        assertTrue(Witness.linkNames(null).contains(hostVeth(r)), "host veth exists");
        assertEquals(
                BridgeTests.stableVethName(f.network, "c1", "eth0"), hostVeth(r), "the test knows the plugin's naming");
        assertEquals(List.of(ip(r, 0)), f.reservations());
        assertEquals(List.of(ip(r, 0)), f.natElements());
        return new Added(ns, add, r, cfg);
    }

    /** Nothing left, and c1's host end exists nowhere on the host (attached or not). */
    private static void clean(PluginFixture f, String... netns) {
        BridgeTests.assertClean(f, netns);
        String veth = BridgeTests.stableVethName(f.network, "c1", "eth0");
        assertFalse(BridgeTests.hostHasLink(veth), veth + " is still on the host");
    }

    private void delOk(String netns, String cfg) {
        ok(call(bridge, env("DEL", "c1", netns, "eth0"), cfg));
    }

    @Test
    void namespaceDeletedBeforeDel() throws Exception {
        try (PluginFixture f = new PluginFixture("bd")) {
            Added a = add(f);
            f.deleteNetns(a.ns);
            // prevResult given (as a runtime would), and the path no longer exists
            delOk(a.ns, withPrev(a.cfg, a.add));
            clean(f);
            delOk(a.ns, a.cfg);
        }
    }

    @Test
    void namespaceDeletedAndNoPrevResult() {
        try (PluginFixture f = new PluginFixture("bd")) {
            Added a = add(f);
            f.deleteNetns(a.ns);
            delOk(a.ns, a.cfg); // the address comes from the IPAM reservation
            clean(f);
        }
    }

    @Test
    void emptyNetns() throws Exception {
        try (PluginFixture f = new PluginFixture("bd")) {
            Added a = add(f);
            delOk("", a.cfg);
            assertEquals(List.of(), f.reservations());
            assertEquals(List.of(), f.natElements(), "NAT is removed even without a netns (reference bug plugins#810)");
            // DEL cannot enter the pod, but deleting the host end removes the pair: eth0 is gone too
            clean(f, a.ns);
        }
    }

    @Test
    void addressRemovedInsideThePodBeforeDel() {
        try (PluginFixture f = new PluginFixture("bd")) {
            Added a = add(f);
            String addr = (String) BridgeTests.list(a.result, "ips").get(0).get("address");
            Commands.run("ip", "-n", PluginFixture.nsName(a.ns), "addr", "del", addr, "dev", "eth0");
            delOk(a.ns, a.cfg);
            clean(f, a.ns);
        }
    }

    @Test
    void addressRemovedAndReservationGoneOnlyPrevResultKnowsTheAddress() throws Exception {
        try (PluginFixture f = new PluginFixture("bd")) {
            Added a = add(f);
            String addr = (String) BridgeTests.list(a.result, "ips").get(0).get("address");
            Commands.run("ip", "-n", PluginFixture.nsName(a.ns), "addr", "del", addr, "dev", "eth0");
            java.nio.file.Files.delete(f.dataDir.resolve(f.network).resolve(ip(a.result, 0)));
            delOk(a.ns, withPrev(a.cfg, a.add));
            clean(f, a.ns);
        }
    }

    @Test
    void prevResultAbsent() {
        try (PluginFixture f = new PluginFixture("bd")) {
            Added a = add(f);
            delOk(a.ns, a.cfg);
            clean(f, a.ns);
        }
    }

    @Test
    void prevResultGarbage() {
        try (PluginFixture f = new PluginFixture("bd")) {
            Added a = add(f);
            String garbage = a.cfg.substring(0, a.cfg.length() - 1)
                    + ",\"prevResult\":{\"ips\":[{\"address\":\"not-an-ip\"}],\"interfaces\":7}}";
            delOk(a.ns, garbage);
            clean(f, a.ns);
            String garbage2 = a.cfg.substring(0, a.cfg.length() - 1) + ",\"prevResult\":\"garbage\"}";
            delOk(a.ns, garbage2);
        }
    }

    @Test
    void delTwiceAndUnknownContainer() {
        try (PluginFixture f = new PluginFixture("bd")) {
            Added a = add(f);
            delOk(a.ns, a.cfg);
            clean(f, a.ns);
            delOk(a.ns, a.cfg);
            clean(f, a.ns);
            ok(call(bridge, env("DEL", "never-added", a.ns, "eth0"), a.cfg));
            ok(call(bridge, env("DEL", "never-added", "", "eth0"), a.cfg));
            ok(call(bridge, env("DEL", "never-added", "/run/netns/" + f.prefix + "gone", "eth0"), a.cfg));
            clean(f, a.ns);
        }
    }

    @Test
    void delOfOneAttachmentLeavesTheOtherAlone() {
        try (PluginFixture f = new PluginFixture("bd")) {
            Added a = add(f);
            String ns2 = f.netns("q");
            Map<String, Object> r2 = ok(call(bridge, env("ADD", "c2", ns2, "eth0"), a.cfg));
            delOk(a.ns, a.cfg);
            assertEquals(List.of(ip(r2, 0)), f.reservations());
            assertEquals(List.of(ip(r2, 0)), f.natElements());
            assertTrue(
                    Witness.linkNames(null).contains(hostVeth(r2)), "the other attachment's host veth is still there");
            assertEquals(List.of("eth0", "lo"), PluginFixture.nsLinks(ns2));
            ok(call(bridge, env("DEL", "c2", ns2, "eth0"), a.cfg));
            clean(f, a.ns, ns2);
        }
    }

    /**
     * With its tagged host end in place, DEL deletes the pair from the host side: the container end
     * goes with it, and the pod's namespace is never entered (no command runs in it).
     */
    @Test
    void taggedHostEndIsDeletedWithoutEnteringThePod() {
        try (PluginFixture f = new PluginFixture("bd")) {
            Added a = add(f);
            List<String> commands = Collections.synchronizedList(new ArrayList<>());
            ok(call(new Bridge(commands::add), env("DEL", "c1", a.ns, "eth0"), a.cfg));
            assertTrue(commands.contains("ip link del " + hostVeth(a.result)), commands.toString());
            assertTrue(
                    commands.stream().noneMatch(c -> c.startsWith("ip -n ") || c.startsWith("ip netns")),
                    commands.toString());
            assertEquals(List.of("lo"), PluginFixture.nsLinks(a.ns), "the container end went with the host end");
            clean(f, a.ns);
        }
    }

    /**
     * A host end renamed by hand is not among DEL's candidate names: DEL then deletes the container
     * interface in the pod, which takes the renamed host end (still tagged) with it.
     */
    @Test
    void renamedHostEndIsFoundThroughThePod() {
        try (PluginFixture f = new PluginFixture("bd")) {
            Added a = add(f);
            String renamed = "bdr" + hostVeth(a.result).substring(7);
            Commands.run("ip", "link", "set", hostVeth(a.result), "down");
            Commands.run("ip", "link", "set", hostVeth(a.result), "name", renamed);
            delOk(a.ns, a.cfg); // no prevResult: only the stable name is a candidate
            assertFalse(BridgeTests.hostHasLink(renamed), renamed + " is still on the host");
            assertEquals(List.of("lo"), PluginFixture.nsLinks(a.ns));
            clean(f, a.ns);
        }
    }
}
