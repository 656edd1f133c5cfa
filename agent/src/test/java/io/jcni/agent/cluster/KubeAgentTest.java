package io.jcni.agent.cluster;

import static io.jcni.agent.cluster.ClusterRig.agentRoutes;
import static io.jcni.agent.cluster.ClusterRig.await;
import static io.jcni.agent.cluster.ClusterRig.linkExists;
import static io.jcni.agent.cluster.ClusterRig.linkMac;
import static io.jcni.agent.cluster.ClusterRig.vxlanFdb;
import static io.jcni.agent.cluster.ClusterRig.vxlanNeighbours;
import static org.junit.jupiter.api.Assertions.*;

import io.fabric8.kubernetes.api.model.NodeCondition;
import io.jcni.agent.KubeLeaseStore;
import io.jcni.agent.KubeMock;
import io.jcni.agent.Rbac;
import io.jcni.agent.sim.AgentProcess;
import io.jcni.agent.sim.Node;
import io.jcni.agent.sim.Pod;
import io.jcni.testkit.Commands;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * {@code jcni agent --kube-subnet-mgr} as a DaemonSet would run it, one real agent process per
 * simulated node, against a Kubernetes API server (fabric8's mock in CRUD mode) that the test
 * drives through the same client library: the Nodes' podCIDRs become the nodes' subnets and
 * routes, their annotations and condition are published, a Node without podCIDR is waited for,
 * one outside the network refused, a deleted Node's routes go everywhere, a restarted agent keeps
 * its VTEP MAC, losing the API server changes nothing in the kernel, the metrics and health tell
 * what happened, and every request the agents made is one their ClusterRole allows.
 *
 * <p>The steps build on each other (one cluster, started once): they run in order.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KubeAgentTest {
    static final String SEEDED_MAC = "0a:6a:62:2a:00:01";
    static final String DEVICE = "jcni.1";
    static final Duration READY = Duration.ofSeconds(60);

    static KubeRig rig;
    static Node n1, n2, n3;
    static Pod p1, p2;

    @BeforeAll
    static void cluster() throws Exception {
        KubeRig.removeStale();
        rig = KubeRig.create("a", true);
        n1 = rig.addNode("n1", 1);
        n2 = rig.addNode("n2", 2);
        n3 = rig.addNode("n3", 3);
    }

    @AfterAll
    static void nothingLeft() {
        try {
            if (rig != null) {
                rig.close();
            }
        } finally {
            KubeRig.assertNothingLeft();
        }
    }

    @Test
    @Order(1)
    void nodesTakeTheirPodCidrsPublishThemselvesAndRouteToEachOther() {
        // n1 ran jcni before: its Node still carries the VTEP MAC it published then, not the one its address would give
        rig.mock.createNode(
                "n1",
                List.of("10.246.1.0/24"),
                Map.of(
                        KubeLeaseStore.PUBLIC_IP,
                        n1.underlayIp(),
                        KubeLeaseStore.BACKEND_TYPE,
                        "vxlan",
                        KubeLeaseStore.BACKEND_DATA,
                        "{\"VNI\":1,\"VtepMAC\":\"" + SEEDED_MAC + "\"}"));
        rig.mock.createNode("n2", List.of("10.246.2.0/24", "fd00:246:2::/64"), Map.of()); // dual-stack: the IPv4 one
        rig.mock.createNode("n3", List.of(), Map.of()); // no podCIDR yet
        for (Node n : List.of(n1, n2, n3)) {
            rig.startAgent(n);
        }
        rig.awaitReady(n1, READY);
        rig.awaitReady(n2, READY);

        String env = read(n1.runDir().resolve("subnet.env"));
        assertTrue(env.contains("JCNI_NETWORK=10.246.0.0/16\n") && env.contains("JCNI_SUBNET=10.246.1.1/24\n"), env);
        assertTrue(read(rig.conflist(n2)).contains("\"subnet\": \"10.246.2.0/24\""), read(rig.conflist(n2)));

        String mac2 = linkMac(n2, DEVICE);
        assertEquals(SEEDED_MAC, linkMac(n1, DEVICE), "n1 read its VTEP MAC back from its Node");
        Map<String, String> a2 = rig.mock.node("n2").getMetadata().getAnnotations();
        assertEquals(n2.underlayIp(), a2.get(KubeLeaseStore.PUBLIC_IP));
        assertEquals("vxlan", a2.get(KubeLeaseStore.BACKEND_TYPE));
        assertEquals("{\"VNI\":1,\"VtepMAC\":\"" + mac2 + "\"}", a2.get(KubeLeaseStore.BACKEND_DATA));

        for (Node n : List.of(n1, n2)) {
            assertTrue(
                    await(() -> networkUp(n.name()), Duration.ofSeconds(20)),
                    n.name() + "'s NetworkUnavailable condition\n"
                            + rig.mock.node(n.name()).getStatus() + "\n" + rig.logs());
            NodeCondition c = condition(n.name());
            assertEquals("JcniIsUp", c.getReason());
        }

        assertTrue(
                await(
                        () -> routesTo(n1, "10.246.2.0/24", "10.246.2.0")
                                && routesTo(n2, "10.246.1.0/24", "10.246.1.0"),
                        Duration.ofSeconds(20)),
                "routes across\n" + agentRoutes(n1) + agentRoutes(n2) + "\n" + rig.logs());
        assertEquals(mac2, vxlanNeighbours(n1, 1).get("10.246.2.0"));
        assertEquals(n2.underlayIp(), vxlanFdb(n1, 1).get(mac2));
        assertEquals(SEEDED_MAC, vxlanNeighbours(n2, 1).get("10.246.1.0"));
        assertEquals(n1.underlayIp(), vxlanFdb(n2, 1).get(SEEDED_MAC));
    }

    @Test
    @Order(2)
    void aNodeWithoutPodCidrIsWaitedForOnceThenJoins() {
        AgentProcess a3 = rig.agent(n3);
        String waiting = "Node n3 has no podCIDR yet";
        assertTrue(a3.awaitLog(waiting, READY), a3.logText());
        // it asked again and again (every reconcile interval at most), and said so once
        long asked = rig.mock.agentRequests().stream()
                .filter(r -> r.method().equals("GET") && r.path().equals("/api/v1/nodes/n3"))
                .count();
        assertTrue(await(
                () -> rig.mock.agentRequests().stream()
                                .filter(r ->
                                        r.method().equals("GET") && r.path().equals("/api/v1/nodes/n3"))
                                .count()
                        >= asked + 3,
                Duration.ofSeconds(30)));
        assertEquals(1, count(a3.logText(), waiting), a3.logText());
        assertFalse(Files.exists(rig.conflist(n3)), "no conflist while waiting");
        assertFalse(Files.exists(n3.runDir().resolve("subnet.env")), "no subnet.env while waiting");
        assertFalse(linkExists(n3, DEVICE), "no VXLAN device while waiting");
        assertEquals(Map.of(), agentRoutes(n3), "no routes while waiting");
        ClusterRig.Http health = ClusterRig.httpGet(n3, ClusterRig.METRICS_PORT, "/healthz");
        assertEquals(503, health.status(), health.body());
        assertTrue(health.body().contains("no pass yet") && health.body().contains("no podCIDR"), health.body());

        setPodCidr("n3", "10.246.3.0/24");
        rig.awaitReady(n3, READY);
        assertTrue(
                await(
                        () -> routesTo(n3, "10.246.1.0/24", "10.246.1.0")
                                && routesTo(n3, "10.246.2.0/24", "10.246.2.0")
                                && routesTo(n1, "10.246.3.0/24", "10.246.3.0")
                                && routesTo(n2, "10.246.3.0/24", "10.246.3.0"),
                        Duration.ofSeconds(20)),
                "n3 joined everywhere\n" + rig.logs());
        assertTrue(await(() -> networkUp("n3"), Duration.ofSeconds(20)), rig.logs());
    }

    @Test
    @Order(3)
    void podsOnDifferentNodesReachEachOther() {
        p1 = rig.addPod(n1, "p1");
        p2 = rig.addPod(n2, "p2");
        assertTrue(p1.ip().startsWith("10.246.1."), p1.ip());
        assertTrue(p2.ip().startsWith("10.246.2."), p2.ip());
        assertTrue(rig.sim.awaitPing(p1, p2.ip(), Duration.ofSeconds(15)), p1 + " -> " + p2 + "\n" + rig.logs());
        assertTrue(rig.sim.awaitPing(p2, p1.ip(), Duration.ofSeconds(15)), p2 + " -> " + p1);
    }

    @Test
    @Order(4)
    void metricsTellWhatTheAgentDidAndHealthIsOk() {
        Map<String, Double> m = ClusterRig.metrics(n1);
        assertEquals(3.0, m.get("jcni_agent_leases"), m.toString());
        assertEquals(2.0, m.get("jcni_agent_peers"));
        assertEquals(1.0, m.get("jcni_agent_ready"));
        double passes = m.get("jcni_agent_reconcile_total");
        assertTrue(passes >= 3, "start-up, n2 and n3 joining: " + passes);
        assertEquals(passes, m.get("jcni_agent_reconcile_duration_seconds_count"));
        assertEquals(0.0, m.get("jcni_agent_reconcile_errors_total"));
        assertTrue(m.get("jcni_agent_routes_added_total") >= 2, m.toString());
        assertEquals(0.0, m.get("jcni_agent_routes_removed_total"));
        assertTrue(
                m.get("jcni_agent_last_reconcile_timestamp_seconds") > System.currentTimeMillis() / 1e3 - 60,
                m.toString());
        // the pod's ADD went through n1's agent: the bridge (with host-local inside it) and the chained plugins
        assertEquals(
                1.0,
                m.get("jcni_agent_cni_request_duration_seconds_count{command=\"ADD\",plugin=\"bridge\",result=\"ok\"}"),
                m.toString());
        assertTrue(m.get("jcni_agent_cni_request_duration_seconds_sum{command=\"ADD\",plugin=\"bridge\",result=\"ok\"}")
                > 0);
        assertEquals(
                1.0,
                m.get(
                        "jcni_agent_cni_request_duration_seconds_bucket{command=\"ADD\",le=\"+Inf\",plugin=\"bridge\",result=\"ok\"}"));

        ClusterRig.Http health = ClusterRig.httpGet(n1, ClusterRig.METRICS_PORT, "/healthz");
        assertEquals(200, health.status(), health.body());
        assertTrue(
                health.body().startsWith("ok: the last pass ended")
                        && health.body().contains("2 peer(s)"),
                health.body());
        assertEquals(404, ClusterRig.httpGet(n1, ClusterRig.METRICS_PORT, "/").status());
    }

    @Test
    @Order(5)
    void aDeletedNodesRoutesGoEverywhere() {
        double removedBefore = ClusterRig.metrics(n1).get("jcni_agent_routes_removed_total");
        rig.mock.client().nodes().withName("n3").delete();
        assertTrue(
                await(
                        () -> !agentRoutes(n1).containsKey("10.246.3.0/24")
                                && !agentRoutes(n2).containsKey("10.246.3.0/24"),
                        Duration.ofSeconds(20)),
                "n3's routes removed\n" + rig.logs());
        assertFalse(vxlanNeighbours(n1, 1).containsKey("10.246.3.0"));
        assertFalse(vxlanNeighbours(n2, 1).containsKey("10.246.3.0"));
        assertTrue(routesTo(n1, "10.246.2.0/24", "10.246.2.0"), "the others stay");
        assertEquals(removedBefore + 1, ClusterRig.metrics(n1).get("jcni_agent_routes_removed_total"));
        // n3's own agent: its Node is gone, it waits and leaves its node as it was
        AgentProcess a3 = rig.agent(n3);
        assertTrue(a3.awaitLog("Node n3 does not exist", Duration.ofSeconds(30)), a3.logText());
        assertTrue(Files.exists(rig.conflist(n3)));
        a3.stop();
    }

    @Test
    @Order(6)
    void aRestartedAgentKeepsItsVtepMacEvenWithoutItsDevice() {
        AgentProcess old = rig.agent(n1);
        old.kill9();
        // as after a reboot: the device (and with it the routes through it) are gone
        Commands.ip(n1.netns(), "link", "del", DEVICE);
        AgentProcess a1 = rig.startAgent(n1);
        assertTrue(
                await(() -> linkExists(n1, DEVICE) && routesTo(n1, "10.246.2.0/24", "10.246.2.0"), READY),
                "n1 programmed again\n" + a1.logText());
        assertEquals(SEEDED_MAC, linkMac(n1, DEVICE));
        assertEquals(
                "{\"VNI\":1,\"VtepMAC\":\"" + SEEDED_MAC + "\"}",
                rig.mock.node("n1").getMetadata().getAnnotations().get(KubeLeaseStore.BACKEND_DATA));
        assertEquals(n1.underlayIp(), vxlanFdb(n2, 1).get(SEEDED_MAC), "n2 never had to change anything");
        assertTrue(rig.sim.awaitPing(p2, p1.ip(), Duration.ofSeconds(15)), p2 + " -> " + p1 + "\n" + a1.logText());
    }

    @Test
    @Order(7)
    void aPodCidrOutsideTheNetworkIsRefused() {
        Node n4 = rig.addNode("n4", 4);
        rig.mock.createNode("n4", List.of("10.247.4.0/24"), Map.of());
        AgentProcess a4 = rig.startAgent(n4);
        assertTrue(a4.awaitLog("refusing Node n4's podCIDR 10.247.4.0/24", READY), a4.logText());
        assertTrue(a4.logText().contains("not inside the network 10.246.0.0/16"), a4.logText());
        assertFalse(Files.exists(rig.conflist(n4)));
        assertFalse(linkExists(n4, DEVICE));
        assertEquals(Map.of(), agentRoutes(n4));
        assertNull(
                rig.mock.node("n4").getMetadata().getAnnotations().get(KubeLeaseStore.PUBLIC_IP), "nothing published");
        assertFalse(agentRoutes(n1).containsKey("10.247.4.0/24"));
        a4.stop();
    }

    @Test
    @Order(8)
    void losingTheApiServerKeepsTheDataPlaneAndTheAgentsCatchUpAfter() {
        Map<String, Map<String, Object>> routes1 = agentRoutes(n1), routes2 = agentRoutes(n2);
        rig.api.pause();
        try {
            for (Node n : List.of(n1, n2)) {
                AgentProcess a = rig.agent(n);
                assertTrue(a.awaitLog("lost the watch on the Nodes", Duration.ofSeconds(30)), a.logText());
            }
            // a change the agents cannot see now: a node joins
            rig.mock.createNode(
                    "n5",
                    List.of("10.246.5.0/24"),
                    Map.of(
                            KubeLeaseStore.PUBLIC_IP,
                            "198.18.2.15",
                            KubeLeaseStore.BACKEND_TYPE,
                            "vxlan",
                            KubeLeaseStore.BACKEND_DATA,
                            "{\"VNI\":1,\"VtepMAC\":\"0a:6a:62:2a:00:05\"}"));
            double passes = ClusterRig.metrics(n1).get("jcni_agent_reconcile_total");
            assertTrue(
                    await(
                            () -> ClusterRig.metrics(n1).get("jcni_agent_reconcile_total") >= passes + 1,
                            Duration.ofSeconds(20)),
                    "a periodic pass while the API server is away");
            assertEquals(routes1, agentRoutes(n1), "nothing changed on n1");
            assertEquals(routes2, agentRoutes(n2), "nothing changed on n2");
            assertEquals(
                    200,
                    ClusterRig.httpGet(n1, ClusterRig.METRICS_PORT, "/healthz").status(),
                    "the data plane is fine: healthy");
            assertTrue(rig.sim.awaitPing(p1, p2.ip(), Duration.ofSeconds(5)), "pods keep talking");
        } finally {
            rig.api.resume();
        }
        for (Node n : List.of(n1, n2)) {
            AgentProcess a = rig.agent(n);
            assertTrue(
                    await(
                            () -> {
                                String t = a.logText();
                                return t.indexOf("watching the Nodes on", t.lastIndexOf("lost the watch on the Nodes"))
                                        > 0;
                            },
                            Duration.ofSeconds(60)),
                    "the agent says it is back\n" + a.logText());
            assertTrue(
                    await(() -> routesTo(n, "10.246.5.0/24", "10.246.5.0"), Duration.ofSeconds(30)),
                    n.name() + " caught up with n5\n" + a.logText());
        }
    }

    @Test
    @Order(9)
    void everyRequestTheAgentsMadeIsAllowedByTheirClusterRole() throws Exception {
        var rules = Rbac.clusterRole(Rbac.MANIFEST, "jcni");
        List<KubeMock.Request> requests = rig.mock.agentRequests();
        Set<String> made = new TreeSet<>();
        for (KubeMock.Request r : requests) {
            assertEquals(
                    KubeLeaseStore.USER_AGENT,
                    r.userAgent() == null ? null : r.userAgent().split("/")[0],
                    "every request not the test's is the agents': " + r);
            Rbac.Access a = Rbac.access(r.method(), r.path());
            assertTrue(Rbac.allows(rules, a), "the ClusterRole jcni does not allow " + a + " (" + r + ")");
            made.add(a.verb() + " " + a.resource());
        }
        assertEquals(
                Set.of("get nodes", "list nodes", "watch nodes", "patch nodes", "patch nodes/status"),
                made,
                "the agents used each permission they have: " + requests.size() + " requests");
    }

    // ---------------------------------------------------------------- helpers

    /** Whether {@code node} has the agent's route to {@code dst} via {@code gateway} on the VXLAN device. */
    static boolean routesTo(Node node, String dst, String gateway) {
        Map<String, Object> r = agentRoutes(node).get(dst);
        return r != null && gateway.equals(r.get("gateway")) && DEVICE.equals(r.get("dev"));
    }

    static boolean networkUp(String node) {
        return rig.networkUp(node);
    }

    static NodeCondition condition(String node) {
        NodeCondition c = conditionOrNull(node);
        assertNotNull(c, "no NetworkUnavailable condition on " + node);
        return c;
    }

    static NodeCondition conditionOrNull(String node) {
        var n = rig.mock.node(node);
        if (n == null || n.getStatus() == null || n.getStatus().getConditions() == null) {
            return null;
        }
        return n.getStatus().getConditions().stream()
                .filter(c -> c.getType().equals(KubeLeaseStore.CONDITION))
                .findFirst()
                .orElse(null);
    }

    static void setPodCidr(String node, String cidr) {
        rig.mock.client().nodes().withName(node).edit(n -> {
            n.getSpec().setPodCIDR(cidr);
            n.getSpec().setPodCIDRs(List.of(cidr));
            return n;
        });
    }

    static String read(java.nio.file.Path p) {
        try {
            return Files.readString(p);
        } catch (java.io.IOException e) {
            throw new AssertionError("cannot read " + p + ": " + e.getMessage());
        }
    }

    static int count(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }
}
