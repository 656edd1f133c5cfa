package io.jcni.agent.cluster;

import static io.jcni.agent.cluster.ClusterRig.agentRoutes;
import static io.jcni.agent.cluster.ClusterRig.await;
import static io.jcni.agent.cluster.ClusterRig.subnet;
import static io.jcni.agent.cluster.ClusterRig.vxlanFdb;
import static io.jcni.agent.cluster.ClusterRig.vxlanNeighbours;
import static org.junit.jupiter.api.Assertions.*;

import io.jcni.agent.Dataplane;
import io.jcni.agent.sim.AgentProcess;
import io.jcni.agent.sim.ExecResult;
import io.jcni.agent.sim.Node;
import io.jcni.agent.sim.Pod;
import io.jcni.agent.sim.SimulatedCluster;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.probe.Ping;
import io.jcni.testkit.Commands;
import io.jcni.testkit.Json;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The cluster network end to end, on each backend: three nodes with a real agent each, a
 * three-member etcd, two pods per node made from the conflist the agent wrote, and what must hold
 * for them: every pod reaches every pod with its own address, the outside sees the node's, an
 * agent killed with -9 loses no packet and comes back with its subnet and VTEP MAC, drift is
 * repaired, and a departed node's routes go everywhere, also from an agent that was down.
 */
class ClusterNetworkTest {
    /** The lease TTL of these clusters: short, so expiry is observable. */
    static final Duration TTL = Duration.ofSeconds(8);

    @BeforeAll
    static void removeWhatCrashedRunsLeft() {
        ClusterRig.removeStale();
    }

    @AfterAll
    static void nothingLeft() {
        ClusterRig.assertNothingLeft();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"host-gw", "vxlan"})
    void podsOnEveryNodeReachEachOther(String backend) throws Exception {
        boolean vxlan = backend.equals("vxlan");
        try (ClusterRig rig = ClusterRig.create(vxlan ? "v" : "h", 3)) {
            rig.agentArgs("--ip-masq", "--subnet-lease-ttl", TTL.toSeconds() + "s");
            rig.putConfig(ClusterRig.config(backend));
            List<Node> nodes = List.of(rig.addNode("n1", 1), rig.addNode("n2", 2), rig.addNode("n3", 3));
            for (Node n : nodes) {
                rig.startAgent(n);
            }
            for (Node n : nodes) {
                rig.awaitReady(n, Duration.ofSeconds(60));
            }
            Map<String, Map<String, Object>> leases = rig.leases();
            assertEquals(3, leases.size(), leases.toString());
            List<Pod> pods = rig.addPods(nodes, 2);

            // every pod reaches every other pod, on every node
            for (Pod from : pods) {
                for (Pod to : pods) {
                    if (from != to) {
                        assertTrue(
                                rig.sim.awaitPing(from, to.ip(), Duration.ofSeconds(5)),
                                from + " -> " + to + " (" + backend + ")\n" + rig.logs());
                    }
                }
            }
            Pod a = pods.get(0), b = pods.get(2), c = pods.get(4);
            // no NAT between pods, masquerade to the outside
            assertEquals(a.ip(), rig.sim.peerSeenBy(b, a), "the receiver sees the sender pod's own address");
            assertEquals(c.ip(), rig.sim.peerSeenBy(a, c));
            assertEquals(a.node().underlayIp(), rig.sim.peerSeenByOutside(a), "the outside sees the node's address");

            // the plugins were served by the agent's socket, not by standalone JVMs
            assertTrue(
                    Files.exists(nodes.get(0).socket()),
                    "the agent serves " + nodes.get(0).socket());

            // this node's view: every peer's objects present
            ExecResult status = rig.cluster(nodes.get(0), "status", "-o", "json");
            assertEquals(0, status.exitCode(), status.output());
            Map<String, Object> st = io.jcni.testkit.Witness.map(Json.parse(status.stdout()));
            List<Map<String, Object>> peers = io.jcni.testkit.Witness.list(
                    io.jcni.testkit.Witness.map(st.get("thisNode")).get("peers"));
            assertEquals(2, peers.size(), status.stdout());
            for (Map<String, Object> p : peers) {
                assertEquals(true, p.get("routePresent"), status.stdout());
                assertEquals(vxlan ? true : null, p.get("fdbPresent"), status.stdout());
            }
            ExecResult table = rig.cluster(nodes.get(0), "status");
            assertTrue(
                    table.stdout().contains(nodes.get(1).underlayIp())
                            && !table.stdout().contains("MISSING"),
                    table.output());

            // the pods' MTU leaves room for the VXLAN headers, and every agent kept its lease past 2 TTLs
            int mtu = vxlan ? 1450 : 1500;
            assertEquals(
                    mtu,
                    ((Number) Json.objects(Commands.ip(a.netns(), "link", "show", "dev", "eth0"))
                                    .getFirst()
                                    .get("mtu"))
                            .intValue());
            if (vxlan) {
                assertEquals(
                        mtu,
                        ((Number) Json.objects(Commands.ip(
                                                nodes.get(0).netns(), "link", "show", "dev", Dataplane.vxlanDevice(1)))
                                        .getFirst()
                                        .get("mtu"))
                                .intValue());
            }
            assertEquals(leases.keySet(), rig.leases().keySet(), "renewed well before expiry");

            ownLeaseDeletedIsTakenAgain(rig, nodes.get(2), nodes.get(0), vxlan);
            killedAgentLosesNoPacket(rig, nodes.get(1), a, b, vxlan);
            driftIsRepaired(rig, nodes.get(0), nodes.get(2), vxlan);
            departedNodesAreRemoved(rig, nodes, vxlan);
        }
    }

    /** The lease of a running agent deleted in etcd: the agent takes the same subnet again, and its peers follow. */
    private static void ownLeaseDeletedIsTakenAgain(ClusterRig rig, Node node, Node peer, boolean vxlan) {
        String held = rig.leaseOf(node);
        rig.etcd.etcdctl("del", ClusterRig.ETCD_PREFIX + "/subnets/" + held);
        assertTrue(
                await(() -> held.equals(rig.leaseOf(node)), Duration.ofSeconds(10)),
                "the agent took " + held + " again\n" + rig.agent(node).logText());
        assertTrue(
                await(
                        () -> agentRoutes(peer).containsKey(subnet(held)) && peerObjects(peer, vxlan) == 2,
                        Duration.ofSeconds(10)),
                peer.name() + " routes to it again\n" + rig.logs());
        // the watch event or the next renewal, whichever comes first, notices
        assertTrue(
                rig.agent(node).logText().contains("taking it again"),
                rig.agent(node).logText());
    }

    /** kill -9 of the agent on {@code node} while {@code from} pings {@code to} on it: no packet lost. */
    private static void killedAgentLosesNoPacket(ClusterRig rig, Node node, Pod from, Pod to, boolean vxlan)
            throws Exception {
        String leaseBefore = rig.leaseOf(node);
        Object macBefore = rig.leases().get(leaseBefore).get("BackendData");
        String deviceMac = vxlan ? ClusterRig.linkMac(node, Dataplane.vxlanDevice(1)) : null;
        AtomicBoolean pinging = new AtomicBoolean(true);
        AtomicInteger sent = new AtomicInteger(), lost = new AtomicInteger();
        Thread pinger = Thread.ofPlatform().start(() -> {
            try (NetNs ns = NetNs.openNamed(from.netns())) {
                IpAddress dst = IpAddress.parse(to.ip());
                while (pinging.get()) {
                    sent.incrementAndGet();
                    if (Ping.once(ns, dst, 1000) < 0) {
                        lost.incrementAndGet();
                    }
                    try {
                        Thread.sleep(50);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }
        });
        try {
            Thread.sleep(500);
            AgentProcess killed = rig.agent(node);
            killed.kill9();
            assertFalse(killed.alive());
            Thread.sleep(1000);
            AgentProcess restarted = rig.startAgent(node);
            assertTrue(restarted.awaitLog("start-up", Duration.ofSeconds(60)), restarted.logText());
            Thread.sleep(1000);
        } finally {
            pinging.set(false);
            pinger.join();
        }
        assertTrue(sent.get() >= 20, "pings sent: " + sent.get());
        assertEquals(
                0,
                lost.get(),
                lost.get() + " of " + sent.get() + " pings lost across kill -9 and restart\n" + rig.logs());
        assertEquals(leaseBefore, rig.leaseOf(node), "the restarted agent keeps its subnet");
        assertEquals(macBefore, rig.leases().get(leaseBefore).get("BackendData"), "and its VTEP MAC");
        if (vxlan) {
            assertEquals(deviceMac, ClusterRig.linkMac(node, Dataplane.vxlanDevice(1)), "the device was not recreated");
        }
    }

    /** Routes, neighbours, FDB entries and the VXLAN device deleted by hand come back within 15 s. */
    private static void driftIsRepaired(ClusterRig rig, Node node, Node peer, boolean vxlan) {
        String peerSubnet = subnet(rig.leaseOf(peer));
        assertTrue(agentRoutes(node).containsKey(peerSubnet), agentRoutes(node).toString());
        int logBefore = rig.agent(node).logText().length();
        // each deletion succeeds (Commands fails on a non-zero exit); the agent may put it back at once
        Commands.run("ip", "-n", node.netns(), "route", "del", peerSubnet);
        if (vxlan) {
            String gw = peerSubnet.substring(0, peerSubnet.indexOf('/'));
            String mac = vxlanNeighbours(node, 1).get(gw);
            assertNotNull(mac, vxlanNeighbours(node, 1).toString());
            Commands.run("ip", "-n", node.netns(), "neigh", "del", gw, "dev", Dataplane.vxlanDevice(1));
            Commands.run(
                    "bridge",
                    "-n",
                    node.netns(),
                    "fdb",
                    "del",
                    mac,
                    "dev",
                    Dataplane.vxlanDevice(1),
                    "dst",
                    peer.underlayIp(),
                    "self");
        }
        assertTrue(
                await(() -> agentRoutes(node).containsKey(peerSubnet), Duration.ofSeconds(15)),
                "route restored\n" + rig.logs());
        assertTrue(
                await(
                        () -> rig.agent(node).logText().substring(logBefore).contains("route replace " + peerSubnet),
                        Duration.ofSeconds(5)),
                "by the agent:\n" + rig.agent(node).logText().substring(logBefore));
        // a link flap of the underlay: the kernel drops the routes through it; they come back
        Commands.run("ip", "-n", node.netns(), "link", "set", "eth0", "down");
        Commands.run("ip", "-n", node.netns(), "link", "set", "eth0", "up");
        // the node's own network configuration puts its default route back (not the agent's business)
        Commands.run("ip", "-n", node.netns(), "route", "replace", "default", "via", SimulatedCluster.OUTSIDE_IP);
        assertTrue(
                await(() -> agentRoutes(node).size() == 2, Duration.ofSeconds(15)),
                "routes restored after a link flap\n" + rig.logs());

        // the masquerade's table (no route or link event tells of it: the periodic pass finds it)
        Commands.run("ip", "netns", "exec", node.netns(), "nft", "delete", "table", "inet", Dataplane.NFT_TABLE);
        assertTrue(
                await(
                        () -> Commands.run("ip", "netns", "exec", node.netns(), "nft", "list", "tables")
                                .contains(Dataplane.NFT_TABLE),
                        Duration.ofSeconds(15)),
                "masquerade table restored\n" + rig.logs());
        if (vxlan) {
            assertTrue(await(
                    () -> vxlanNeighbours(node, 1).size() == 2
                            && vxlanFdb(node, 1).size() == 2,
                    Duration.ofSeconds(15)));
            // the whole device
            Commands.run("ip", "-n", node.netns(), "link", "del", Dataplane.vxlanDevice(1));
            assertTrue(
                    await(
                            () -> ClusterRig.linkExists(node, Dataplane.vxlanDevice(1))
                                    && agentRoutes(node).size() == 2
                                    && vxlanNeighbours(node, 1).size() == 2
                                    && vxlanFdb(node, 1).size() == 2,
                            Duration.ofSeconds(15)),
                    "device, routes, neighbours and FDB restored\n" + rig.logs());
        }
    }

    /**
     * A lease deleted in etcd, one that expires, and one deleted while an agent was down: each
     * node's routes, neighbours and FDB entries go from the others.
     */
    private static void departedNodesAreRemoved(ClusterRig rig, List<Node> nodes, boolean vxlan) {
        Node n1 = nodes.get(0), n2 = nodes.get(1), n3 = nodes.get(2);
        String s2 = rig.leaseOf(n2), s3 = rig.leaseOf(n3);

        // n3 leaves for good (its agent is gone) and its lease is deleted: gone from n1 and n2 within 5 s
        rig.agent(n3).kill9();
        rig.etcd.etcdctl("del", ClusterRig.ETCD_PREFIX + "/subnets/" + s3);
        for (Node n : List.of(n1, n2)) {
            assertTrue(
                    await(
                            () -> !agentRoutes(n).containsKey(subnet(s3)) && peerObjects(n, vxlan) == 1,
                            Duration.ofSeconds(5)),
                    n.name() + " forgot " + s3 + "\n" + rig.logs());
        }

        // n1's agent is down while n2 leaves (its lease expires): n1 cleans up when it starts again
        rig.agent(n1).kill9();
        rig.agent(n2).kill9();
        assertTrue(agentRoutes(n1).containsKey(subnet(s2)), "nothing removes it while n1's agent is down");
        assertTrue(await(() -> rig.leaseOf(n2) == null, TTL.plusSeconds(5)), "n2's lease expired within its TTL");
        assertTrue(agentRoutes(n1).containsKey(subnet(s2)), "still there: n1's agent is down");
        rig.startAgent(n1);
        assertTrue(
                await(() -> agentRoutes(n1).isEmpty() && peerObjects(n1, vxlan) == 0, Duration.ofSeconds(30)),
                "n1's agent removed what n2 left, at start-up\n" + rig.logs());
    }

    /** How many peers {@code node} has VXLAN neighbours and FDB entries for (0 for host-gw checks). */
    private static int peerObjects(Node node, boolean vxlan) {
        if (!vxlan) {
            return agentRoutes(node).size();
        }
        int neigh = vxlanNeighbours(node, 1).size(), fdb = vxlanFdb(node, 1).size();
        return neigh == fdb ? neigh : -1;
    }
}
