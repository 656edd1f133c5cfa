package io.jcni.plugins.portmap;

import static io.jcni.plugins.portmap.PortmapTrafficTest.connect;
import static io.jcni.plugins.portmap.PortmapTrafficTest.serve;
import static io.jcni.plugins.testing.PluginFixture.call;
import static io.jcni.plugins.testing.PluginFixture.env;
import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.PluginResponse;
import io.jcni.netlink.ns.NetNs;
import io.jcni.plugins.bridge.Bridge;
import io.jcni.plugins.hostlocal.HostLocal;
import io.jcni.testkit.Commands;
import java.nio.channels.ServerSocketChannel;
import org.junit.jupiter.api.Test;

/**
 * The bridge's masquerade and portmap's host ports belong to an attachment, not to an address:
 * a DEL that comes late, after the address went to another container, leaves the new owner's NAT
 * alone; and drift (a flushed ruleset, a deleted chain) shows in CHECK and is repaired by the
 * next ADD. Everything runs in a node namespace of the test's own, with an "outside" namespace
 * that has no route back to the pods, so only masqueraded traffic gets an answer.
 */
class NatOwnershipTest {
    static final String OUTSIDE = "10.98.0.2", NODE_OUT = "10.98.0.1";
    static final String MAPPING = "[{\"hostPort\": 8080, \"containerPort\": 80, \"protocol\": \"tcp\"}]";

    /** An outside host on a veth of the node (10.98.0.0/24): answers with the source it saw. */
    private static NetNs outside(PortmapWorld w) {
        String out = w.f.netns("o");
        String node = w.nodePath.substring("/run/netns/".length());
        Commands.ip(
                node,
                "link",
                "add",
                "out0",
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                out.substring("/run/netns/".length()));
        Commands.ip(node, "addr", "add", NODE_OUT + "/24", "dev", "out0");
        Commands.ip(node, "link", "set", "out0", "up");
        String o = out.substring("/run/netns/".length());
        Commands.ip(o, "addr", "add", OUTSIDE + "/24", "dev", "eth0");
        Commands.ip(o, "link", "set", "eth0", "up");
        Commands.ip(o, "link", "set", "lo", "up");
        return NetNs.open(out);
    }

    private PluginResponse bridge(PortmapWorld w, String command, String id, String ns, String config) {
        return w.inNode(() -> call(new Bridge(), env(command, id, ns, "eth0"), config));
    }

    /** The CNI error code of a failed call (the process exits 1 and prints the code). */
    private static int code(PluginResponse r) {
        assertNotEquals(0, r.exitCode(), r.stdoutText());
        return ((Number) io.jcni.plugins.testing.PluginFixture.json(r).get("code")).intValue();
    }

    private static String withPrev(String config, String prev) {
        String c = config.trim();
        return c.substring(0, c.length() - 1) + ", \"prevResult\": " + prev + "}";
    }

    @Test
    void aLateDelAfterTheAddressWasReusedLeavesTheNewOwnersNatAndHostPorts() throws Exception {
        try (PortmapWorld w = new PortmapWorld("hb")) {
            w.ipMasq = true;
            String cfg = w.bridgeConfig("1.0.0");
            // A is added, then "crashes": its IPAM reservation is released and its pod is gone, but no DEL came.
            String[] a = w.pod("a", "ca", "1.0.0", "IP=10.77.0.50");
            assertEquals(
                    0,
                    w.portmap("ADD", "ca", a[0], w.portmapConfig("1.0.0", MAPPING, "", a[1]))
                            .exitCode());
            assertEquals(
                    0,
                    w.inNode(() -> call(new HostLocal(), env("DEL", "ca", a[0], "eth0"), cfg))
                            .exitCode());
            w.f.deleteNetns(a[0]);

            // B gets the same address and maps the same host port to it.
            String[] b = w.pod("b", "cb", "1.0.0", "IP=10.77.0.50");
            assertEquals("10.77.0.50", PortmapWorld.podAddress(b[1]));
            String pmB = w.portmapConfig("1.0.0", MAPPING, "", b[1]);
            PluginResponse addB = w.portmap("ADD", "cb", b[0], pmB);
            assertEquals(0, addB.exitCode(), addB.stdoutText() + addB.stderr());

            // A's DEL arrives late: its prevResult names the address B holds now.
            PluginResponse delPm = w.portmap("DEL", "ca", a[0], w.portmapConfig("1.0.0", MAPPING, "", a[1]));
            assertEquals(0, delPm.exitCode(), delPm.stdoutText());
            PluginResponse delA = bridge(w, "DEL", "ca", a[0], withPrev(cfg, a[1]));
            assertEquals(0, delA.exitCode(), delA.stdoutText() + delA.stderr());

            PluginResponse checkB = bridge(w, "CHECK", "cb", b[0], withPrev(cfg, b[1]));
            assertEquals(0, checkB.exitCode(), "B's bridge CHECK: " + checkB.stdoutText());
            PluginResponse checkPmB = w.portmap("CHECK", "cb", b[0], pmB);
            assertEquals(0, checkPmB.exitCode(), "B's portmap CHECK: " + checkPmB.stdoutText());

            try (NetNs out = outside(w);
                    NetNs podB = NetNs.open(b[0]);
                    ServerSocketChannel web = serve(podB, 80);
                    ServerSocketChannel far = serve(out, 7000)) {
                assertEquals(
                        "seen " + NODE_OUT,
                        connect(podB, OUTSIDE, 7000),
                        "B's traffic leaving its subnet is masqueraded");
                assertEquals(
                        "seen " + PortmapWorld.GATEWAY,
                        connect(w.node, PortmapWorld.GATEWAY, 8080),
                        "B's host port answers");
            }
        }
    }

    @Test
    void driftShowsInCheckAndTheNextAddRepairsIt() throws Exception {
        try (PortmapWorld w = new PortmapWorld("hb")) {
            w.ipMasq = true;
            String cfg = w.bridgeConfig("1.0.0");
            String[] a = w.pod("a", "ca", "1.0.0");
            String pmA = w.portmapConfig("1.0.0", MAPPING, "", a[1]);
            assertEquals(0, w.portmap("ADD", "ca", a[0], pmA).exitCode());
            assertEquals(0, bridge(w, "CHECK", "ca", a[0], withPrev(cfg, a[1])).exitCode());

            // A deleted chain: the elements are there, but do nothing.
            for (String table : new String[] {"jcni", PortmapTable.TABLE}) {
                w.nft("flush", "chain", "inet", table, "postrouting");
                w.nft("delete", "chain", "inet", table, "postrouting");
            }
            PluginResponse check = bridge(w, "CHECK", "ca", a[0], withPrev(cfg, a[1]));
            assertEquals(104, code(check), check.stdoutText());
            assertTrue(check.stdoutText().contains("postrouting"), check.stdoutText());
            PluginResponse checkPm = w.portmap("CHECK", "ca", a[0], pmA);
            assertEquals(104, code(checkPm), checkPm.stdoutText());

            // The next ADD (another pod) puts the chains back.
            String[] b = w.pod("b", "cb", "1.0.0");
            assertEquals(
                    0,
                    w.portmap(
                                    "ADD",
                                    "cb",
                                    b[0],
                                    w.portmapConfig(
                                            "1.0.0",
                                            "[{\"hostPort\": 8081, \"containerPort\": 80, \"protocol\": \"tcp\"}]",
                                            "",
                                            b[1]))
                            .exitCode());
            assertEquals(0, bridge(w, "CHECK", "ca", a[0], withPrev(cfg, a[1])).exitCode());
            assertEquals(0, w.portmap("CHECK", "ca", a[0], pmA).exitCode());

            // The whole ruleset flushed: CHECK says so; the next ADD restores the masquerade of every pod of the
            // network.
            w.nft("flush", "ruleset");
            check = bridge(w, "CHECK", "ca", a[0], withPrev(cfg, a[1]));
            assertEquals(104, code(check), check.stdoutText());
            assertTrue(check.stdoutText().contains("missing"), check.stdoutText());
            assertEquals(104, code(w.portmap("CHECK", "ca", a[0], pmA)));
            w.pod("c", "cc", "1.0.0");
            PluginResponse again = bridge(w, "CHECK", "ca", a[0], withPrev(cfg, a[1]));
            assertEquals(0, again.exitCode(), "A's masquerade is restored from the IPAM store: " + again.stdoutText());
            assertEquals(0, bridge(w, "CHECK", "cb", b[0], withPrev(cfg, b[1])).exitCode());
            try (NetNs out = outside(w);
                    NetNs podA = NetNs.open(a[0]);
                    ServerSocketChannel far = serve(out, 7000)) {
                assertEquals("seen " + NODE_OUT, connect(podA, OUTSIDE, 7000), "A's traffic is masqueraded again");
            }
        }
    }

    @Test
    void theLastDelOfANetworkLeavesNothingOfItInTheNatTable() {
        try (PortmapWorld w = new PortmapWorld("hb")) {
            w.ipMasq = true;
            String cfg = w.bridgeConfig("1.0.0");
            String[] a = w.pod("a", "ca", "1.0.0");
            String[] b = w.pod("b", "cb", "1.0.0");
            String before = w.nft("list", "table", "inet", "jcni");
            assertTrue(before.contains(w.f.network + "/ca/eth0"), before);
            assertEquals(0, bridge(w, "DEL", "ca", a[0], withPrev(cfg, a[1])).exitCode());
            assertEquals(0, bridge(w, "DEL", "cb", b[0], withPrev(cfg, b[1])).exitCode());
            String after = w.nft("list", "table", "inet", "jcni");
            assertFalse(after.contains(w.f.network), "nothing names the network any more:\n" + after);
            assertFalse(after.contains("elements"), "no element is left:\n" + after);
            assertEquals(1, after.split("chain ", -1).length - 1, "one chain serves every network:\n" + after);
        }
    }
}
