package io.jcni.agent.cluster;

import static io.jcni.agent.cluster.ClusterRig.agentRoutes;
import static io.jcni.agent.cluster.ClusterRig.await;
import static io.jcni.agent.cluster.ClusterRig.subnet;
import static org.junit.jupiter.api.Assertions.*;

import io.jcni.agent.sim.AgentProcess;
import io.jcni.agent.sim.Node;
import io.jcni.agent.sim.Pod;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.probe.Ping;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The store's failures: a member down is no event at all; every member down leaves the data plane
 * untouched (pods keep talking) and the agents catch up when etcd returns; and many agents racing
 * for subnets at once never share one.
 */
class ClusterStoreOutageTest {

    @BeforeAll
    static void removeWhatCrashedRunsLeft() {
        ClusterRig.removeStale();
    }

    @AfterAll
    static void nothingLeft() {
        ClusterRig.assertNothingLeft();
    }

    @Test
    void etcdMembersGoingDown() throws Exception {
        try (ClusterRig rig = ClusterRig.create("o", 3)) {
            rig.agentArgs("--ip-masq");
            rig.putConfig(ClusterRig.config("vxlan"));
            List<Node> nodes = List.of(rig.addNode("n1", 1), rig.addNode("n2", 2), rig.addNode("n3", 3));
            for (Node n : nodes) {
                rig.startAgent(n);
            }
            for (Node n : nodes) {
                rig.awaitReady(n, Duration.ofSeconds(60));
            }
            List<Pod> pods = rig.addPods(nodes, 1);

            // one member down: a fourth node still joins, and everyone reaches its pod
            rig.etcd.stop(2);
            Node n4 = rig.addNode("n4", 4);
            rig.startAgent(n4);
            rig.awaitReady(n4, Duration.ofSeconds(60));
            Pod p4 = rig.addPods(List.of(n4), 1).getFirst();
            for (Pod p : pods) {
                assertTrue(rig.sim.awaitPing(p, p4.ip(), Duration.ofSeconds(15)), p + " -> " + p4 + "\n" + rig.logs());
                assertTrue(rig.sim.awaitPing(p4, p.ip(), Duration.ofSeconds(5)), p4 + " -> " + p);
            }

            // every member down: the data plane stays as it is, pods keep talking
            rig.etcd.stop(1);
            rig.etcd.stop(3);
            for (Node n : List.of(nodes.get(0), n4)) {
                AgentProcess a = rig.agent(n);
                assertTrue(
                        a.awaitLog("etcd", Duration.ofSeconds(30))
                                && await(() -> a.logText().contains("keeping the data plane"), Duration.ofSeconds(30)),
                        "the agent says etcd is gone and the data plane stays:\n" + a.logText());
            }
            int routesBefore = agentRoutes(nodes.get(0)).size();
            assertEquals(3, routesBefore);
            int lost = pingEveryPairFor(List.of(pods.get(0), pods.get(1), p4), Duration.ofSeconds(12));
            assertEquals(0, lost, "pings lost while etcd was down\n" + rig.logs());
            assertEquals(routesBefore, agentRoutes(nodes.get(0)).size(), "nothing flushed");
            // metrics and health in etcd mode: three peers, the pod's ADD served, healthy (its data plane is intact)
            Map<String, Double> metrics = ClusterRig.metrics(nodes.get(0));
            assertEquals(3.0, metrics.get("jcni_agent_peers"), metrics.toString());
            assertEquals(
                    1.0,
                    metrics.get(
                            "jcni_agent_cni_request_duration_seconds_count{command=\"ADD\",plugin=\"bridge\",result=\"ok\"}"),
                    metrics.toString());
            ClusterRig.Http health = ClusterRig.httpGet(nodes.get(0), ClusterRig.METRICS_PORT, "/healthz");
            assertEquals(200, health.status(), health.body());
            // the drift repair goes on without etcd: a route deleted now comes back
            String s4 = subnet(rig.leaseOfCached(n4));
            io.jcni.testkit.Commands.run("ip", "-n", nodes.get(0).netns(), "route", "del", s4);
            assertTrue(
                    await(() -> agentRoutes(nodes.get(0)).containsKey(s4), Duration.ofSeconds(15)),
                    "repaired from the last leases known\n" + rig.logs());

            // etcd back: a new node joins and is reachable from the others
            rig.etcd.start(1);
            rig.etcd.start(2);
            rig.etcd.start(3);
            rig.etcd.waitHealthy(Duration.ofSeconds(60));
            for (Node n : List.of(nodes.get(0), n4)) {
                AgentProcess a = rig.agent(n);
                assertTrue(
                        await(() -> a.logText().contains("etcd is reachable again"), Duration.ofSeconds(60)),
                        "the agent resynced:\n" + a.logText());
            }
            Node n5 = rig.addNode("n5", 5);
            rig.startAgent(n5);
            rig.awaitReady(n5, Duration.ofSeconds(60));
            Pod p5 = rig.addPods(List.of(n5), 1).getFirst();
            for (Pod p : List.of(pods.get(0), pods.get(1), pods.get(2), p4)) {
                assertTrue(rig.sim.awaitPing(p, p5.ip(), Duration.ofSeconds(15)), p + " -> " + p5 + "\n" + rig.logs());
            }
        }
    }

    @Test
    void tenAgentsStartedAtOnceGetTenSubnets() throws Exception {
        try (ClusterRig rig = ClusterRig.create("t", 1)) {
            rig.agentArgs("--no-plugin-socket");
            rig.putConfig(ClusterRig.config("host-gw"));
            List<Node> nodes = new java.util.ArrayList<>();
            for (int i = 1; i <= 10; i++) {
                nodes.add(rig.addNode("n" + i, i));
            }
            ExecutorService pool = Executors.newFixedThreadPool(10);
            try {
                List<Future<?>> started = nodes.stream()
                        .map(n -> pool.submit(() -> rig.startAgent(n)))
                        .collect(Collectors.toList());
                for (Future<?> f : started) {
                    f.get();
                }
            } finally {
                pool.shutdown();
            }
            for (Node n : nodes) {
                rig.awaitReady(n, Duration.ofSeconds(120));
            }
            var leases = rig.leases();
            assertEquals(10, leases.size(), leases.toString());
            Set<Object> owners =
                    leases.values().stream().map(v -> v.get("PublicIP")).collect(Collectors.toSet());
            assertEquals(10, owners.size(), "ten nodes, ten distinct subnets: " + leases);
            for (Node n : nodes) {
                assertTrue(
                        await(() -> agentRoutes(n).size() == 9, Duration.ofSeconds(30)),
                        n.name() + " routes to the nine others: " + agentRoutes(n));
            }
        }
    }

    /** Pings every ordered pair of {@code pods} round after round for {@code span}; returns how many went unanswered. */
    private static int pingEveryPairFor(List<Pod> pods, Duration span) throws Exception {
        int lost = 0;
        long end = System.nanoTime() + span.toNanos();
        while (System.nanoTime() < end) {
            for (Pod from : pods) {
                try (NetNs ns = NetNs.openNamed(from.netns())) {
                    for (Pod to : pods) {
                        if (to != from && Ping.once(ns, IpAddress.parse(to.ip()), 1000) < 0) {
                            lost++;
                        }
                    }
                }
            }
            Thread.sleep(200);
        }
        return lost;
    }
}
