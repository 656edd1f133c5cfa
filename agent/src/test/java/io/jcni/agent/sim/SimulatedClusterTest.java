package io.jcni.agent.sim;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.netlink.Trace;
import io.jcni.netlink.ns.NamedNetns;
import io.jcni.testkit.Commands;
import io.jcni.testkit.Json;
import io.jcni.testkit.TestNames;
import io.jcni.testkit.TestNetns;
import io.jcni.testkit.Witness;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The node simulation on the real kernel: etcd, the underlay, the nodes' mount namespaces, pods, and that close() leaves nothing. */
class SimulatedClusterTest {
    /** One run's names: "jsim-" and the run id, then a letter per test. */
    private static final String RUN = "jsim-" + TestNames.RUN;

    private static final Duration TEN_SECONDS = Duration.ofSeconds(10);

    private final List<String> logLines = new ArrayList<>();
    /** The namespaces a test makes on the host beside the simulation's own. */
    @AutoClose
    private final TestNetns namespaces = new TestNetns();

    private SimulatedCluster cluster(String tag) throws IOException {
        return SimulatedCluster.create(RUN + tag, Files.createTempDirectory(RUN + tag + "-"), Trace.OFF, line -> {
            synchronized (logLines) {
                logLines.add(line);
            }
        });
    }

    private static List<String> ipv4(List<String> addresses) {
        return addresses.stream().filter(a -> a.indexOf(':') < 0).toList();
    }

    private static List<String> namespacesWith(String prefix) {
        return NamedNetns.list().stream().filter(n -> n.startsWith(prefix)).toList();
    }

    @BeforeAll
    static void removeWhatCrashedRunsLeft() {
        SimulatedCluster.cleanupStale("jsim-"); // open simulations of other runs are spared
    }

    @AfterAll
    static void nothingOfThisRunIsLeft() {
        List<String> left = namespacesWith(RUN);
        SimulatedCluster.cleanupStale(RUN);
        assertEquals(List.of(), left, "namespaces left by this run");
    }

    @Test
    void etcdFormsAndKeepsServingWithAMemberDown() throws IOException {
        try (SimulatedCluster c = cluster("a")) {
            EtcdMembers etcd = c.startEtcd(3);
            assertEquals("http://198.18.0.2:2379,http://198.18.0.3:2379,http://198.18.0.4:2379", etcd.endpoints());
            ExecResult health = etcd.tryEtcdctl("endpoint", "health");
            assertTrue(health.ok(), health.output());
            assertEquals(3, health.output().split("is healthy", -1).length - 1, health.output());
            String members = etcd.etcdctl("member", "list");
            for (int i = 1; i <= 3; i++) {
                assertTrue(members.contains("e" + i + ", http://198.18.0." + (1 + i) + ":2380"), members);
                assertTrue(Files.isDirectory(etcd.dataDir(i).resolve("member")), "data of e" + i);
            }

            etcd.stop(2);
            assertFalse(etcd.running(2));
            assertEquals("http://198.18.0.2:2379,http://198.18.0.4:2379", etcd.liveEndpoints());
            // if e2 led, a put racing the election may be dropped (etcd then lets it time out): wait for a quorum first
            etcd.waitHealthy(TEN_SECONDS);
            etcd.etcdctl("put", "/jsim/k", "while-e2-is-down");
            assertEquals("/jsim/k\nwhile-e2-is-down\n", etcd.etcdctl("get", "/jsim/k"));

            etcd.start(2); // the same data directory: it rejoins and catches up
            etcd.waitHealthy(Duration.ofSeconds(20));
            assertTrue(
                    Procs.await(() -> localRead(etcd, 2, "/jsim/k").contains("while-e2-is-down"), TEN_SECONDS),
                    "e2 caught up with the write it missed");
        }
    }

    /** A serializable read answered by member {@code i} alone, from its own data. */
    private static String localRead(EtcdMembers etcd, int i, String key) {
        try {
            return Commands.run(
                    "nsenter",
                    "--net=/run/netns/" + etcd.netns(i),
                    "--",
                    "etcdctl",
                    "--endpoints",
                    etcd.endpoint(i),
                    "--consistency=s",
                    "get",
                    key);
        } catch (IllegalStateException notYet) {
            return "";
        }
    }

    @Test
    void nodesReachEachOtherAndTheOutsideHost() throws IOException {
        try (SimulatedCluster c = cluster("b")) {
            Node n1 = c.addNode("node1", 1);
            Node n2 = c.addNode("node2", 2);
            assertEquals(RUN + "bnode1", n1.netns());
            assertEquals("198.18.0.11", n1.underlayIp());
            assertEquals(List.of("198.18.0.12/24"), ipv4(Witness.addresses(n2.netns(), "eth0")));
            String routes = Commands.ip(n1.netns(), "route", "show", "default");
            assertTrue(routes.contains("\"gateway\":\"198.18.0.254\"") && routes.contains("\"dev\":\"eth0\""), routes);
            String underlay =
                    Commands.ip(c.underlayNetns(), "link", "show", "master", SimulatedCluster.UNDERLAY_BRIDGE);
            List<Object> bridgePorts = Json.objects(underlay).stream()
                    .map(link -> link.get("ifname"))
                    .toList();
            assertTrue(
                    bridgePorts.containsAll(List.of("vout", "vn1", "vn2")),
                    "the underlay bridge's ports: " + bridgePorts);

            assertTrue(n1.ping("198.18.0.12"), "node1 -> node2");
            assertTrue(n2.ping("198.18.0.11"), "node2 -> node1");
            assertTrue(n1.ping(SimulatedCluster.OUTSIDE_IP), "node1 -> outside");
            assertTrue(c.ping(c.outsideNetns(), "198.18.0.12"), "outside -> node2");
            assertFalse(n1.ping("198.18.0.13"), "no node 3: no answer");
            assertEquals("198.18.0.11", c.peerSeenBy(c.outsideNetns(), SimulatedCluster.OUTSIDE_IP, n1.netns()));
            synchronized (logLines) {
                assertTrue(
                        logLines.stream()
                                .anyMatch(l -> l.startsWith("node node2: nsenter --net=/run/netns/" + n2.netns()
                                        + " -- unshare --mount --propagation slave -- sh -c 'mount --bind")),
                        String.join("\n", logLines));
            }
            assertThrows(IllegalArgumentException.class, () -> c.addNode("node3", 2), "index taken");
            assertThrows(IllegalArgumentException.class, () -> c.addNode("ul", 3), "reserved name");
        }
    }

    @Test
    void aNodeHasItsOwnCniDirectoriesAndSeesPodNamespacesMadeLater() throws IOException {
        try (SimulatedCluster c = cluster("c")) {
            Node node = c.addNode("node1", 1);
            Path hostFile = Path.of(Node.CNI_CONF_DIR, "f");
            boolean hostHadIt = Files.exists(hostFile);
            ExecResult w = node.exec(
                    List.of("sh", "-c", "echo x > /etc/cni/net.d/f && echo y > /run/jcni/g && echo z > /var/lib/cni/h"),
                    TEN_SECONDS);
            assertTrue(w.ok(), w.output());
            assertEquals("x\n", Files.readString(node.cniConfDir().resolve("f")));
            assertEquals("y\n", Files.readString(node.runDir().resolve("g")));
            assertEquals("z\n", Files.readString(node.cniCacheDir().resolve("h")));
            if (!hostHadIt) {
                assertFalse(Files.exists(hostFile), "the host's own " + hostFile + " is untouched");
            }
            assertFalse(Files.exists(Path.of(Node.RUN_DIR, "g")), "the host's own /run/jcni is untouched");

            // a namespace created on the host after the node's init started, as a pod's is
            String podNs = RUN + "cpod1";
            namespaces.create(podNs);
            ExecResult ls = node.exec(List.of("ls", "/run/netns/" + podNs), TEN_SECONDS);
            assertTrue(ls.ok(), ls.output());
            ExecResult inside = node.exec(
                    List.of("nsenter", "--net=/run/netns/" + podNs, "--", "ip", "-j", "link", "show"), TEN_SECONDS);
            assertTrue(inside.ok(), "the namespace opens inside the node: " + inside.output());
            assertEquals(
                    List.of("lo"),
                    Json.objects(inside.stdout()).stream()
                            .map(m -> m.get("ifname"))
                            .toList());
            namespaces.delete(podNs);
            ExecResult gone = node.exec(List.of("ls", "/run/netns/" + podNs), TEN_SECONDS);
            assertNotEquals(0, gone.exitCode(), "deleting it on the host removes it inside the node too");

            ExecResult where =
                    node.exec(List.of("sh", "-c", "readlink /proc/self/ns/mnt /proc/self/ns/net; pwd"), TEN_SECONDS);
            String[] lines = where.stdout().split("\n");
            assertEquals(
                    Files.readSymbolicLink(Path.of("/proc", Long.toString(node.initPid()), "ns", "mnt"))
                            .toString(),
                    lines[0]);
            assertNotEquals(Files.readSymbolicLink(Path.of("/proc/self/ns/mnt")).toString(), lines[0]);
            assertEquals(
                    Files.readSymbolicLink(Path.of("/proc", Long.toString(node.initPid()), "ns", "net"))
                            .toString(),
                    lines[1]);
            assertEquals(node.dir().toString(), lines[2]);
        }
    }

    @Test
    void podsAddedOnANodeThroughItsDaemon() throws IOException {
        try (SimulatedCluster c = cluster("d")) {
            Path bin = TestPlugins.install(c.baseDir());
            Node node = c.addNode("node1", 1);
            Files.writeString(node.cniConfDir().resolve("10-jcni.conflist"), """
                    {"cniVersion": "1.0.0", "name": "jcni", "plugins": [
                      {"type": "jcni-bridge", "bridge": "jcni0", "isGateway": true, "ipMasq": true,
                       "ipam": {"type": "jcni-host-local", "ranges": [[{"subnet": "10.244.7.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}}]}
                    """);
            AgentProcess daemon =
                    node.startAgent(SimulatedCluster.javaCommand("io.jcni.cli.Main", "daemon"), node.dir("daemon.log"));
            assertTrue(
                    Procs.await(() -> Files.exists(node.socket()) || !daemon.alive(), Duration.ofSeconds(30))
                            && daemon.alive(),
                    "the daemon's socket appears in the node's run dir: " + daemon.logText());

            List<String> jcni = SimulatedCluster.javaCommand("io.jcni.cli.Main");
            Map<String, String> env = Map.of("CNI_PATH", bin.toString());
            Pod p1 = node.addPod("pod1", jcni, env);
            Pod p2 = node.addPod("pod2", jcni, env);
            assertTrue(
                    p1.ip().startsWith("10.244.7.")
                            && p2.ip().startsWith("10.244.7.")
                            && !p1.ip().equals(p2.ip()),
                    p1 + " " + p2);
            assertEquals(RUN + "dpod1", p1.netns());
            assertEquals(List.of(p1.ip() + "/24"), ipv4(Witness.addresses(p1.netns(), "eth0")));
            assertTrue(
                    Files.exists(node.cniCacheDir().resolve("networks/jcni/" + p1.ip())),
                    "host-local's lease is in the node's /var/lib/cni");
            assertEquals(List.of(p1, p2), node.pods());

            assertTrue(c.ping(p1, p2.ip()), "pod1 -> pod2");
            assertTrue(c.ping(p2, "10.244.7.1"), "pod2 -> its gateway");
            assertEquals(p1.ip(), c.peerSeenBy(p2, p1), "no NAT between pods");
            assertEquals(
                    node.underlayIp(), c.peerSeenByOutside(p1), "masqueraded to the node's address on the way out");

            node.removePod(p1);
            assertFalse(NamedNetns.exists(p1.netns()));
            assertFalse(Files.exists(node.cniCacheDir().resolve("networks/jcni/" + p1.ip())), "the lease is released");
            assertEquals(List.of(p2), node.pods());

            int exit = daemon.stop();
            assertTrue(
                    exit == 0 || exit == 143,
                    "ended by SIGTERM, not killed after the grace: exit " + exit + "\n" + daemon.logText());
            Matcher served = Pattern.compile("stopped after (\\d+) requests").matcher(daemon.logText());
            assertTrue(
                    served.find() && Integer.parseInt(served.group(1)) >= 3,
                    "the node's daemon served the adds and the del: " + daemon.logText());
            assertFalse(Files.exists(node.socket()));
        }
    }

    @Test
    void closeLeavesNoNamespaceProcessOrFile() throws IOException {
        SimulatedCluster c = cluster("e");
        List<ProcessHandle> started = new ArrayList<>();
        Path base = c.baseDir();
        try {
            EtcdMembers etcd = c.startEtcd(1);
            started.add(ProcessHandle.of(etcd.pid(1)).orElseThrow());
            for (int i = 1; i <= 2; i++) {
                Node n = c.addNode("node" + i, i);
                started.add(ProcessHandle.of(n.initPid()).orElseThrow());
                // one that ignores SIGTERM, one that a plain SIGTERM ends
                Process stubborn = n.run(
                        List.of("sh", "-c", "trap '' TERM; while :; do sleep 1; done"),
                        Map.of(),
                        n.dir("stubborn.log"));
                AgentProcess sleeper = n.startAgent(List.of("sleep", "1000"), n.dir("sleeper.log"));
                started.add(stubborn.toHandle());
                started.add(ProcessHandle.of(sleeper.pid()).orElseThrow());
            }
            assertEquals(
                    List.of(RUN + "eul", RUN + "eout", RUN + "ee1", RUN + "enode1", RUN + "enode2"),
                    namespacesWith(RUN + "e").stream()
                            .sorted((a, b) -> Integer.compare(order(a), order(b)))
                            .toList());
        } finally {
            c.close();
        }
        assertEquals(List.of(), namespacesWith(RUN + "e"));
        for (ProcessHandle h : started) {
            assertFalse(h.isAlive(), "pid " + h.pid() + " is gone");
        }
        assertFalse(Files.exists(base), base + " is deleted");
        c.close(); // a second time: nothing to do
        assertThrows(IllegalStateException.class, () -> c.addNode("node3", 3));
    }

    private int order(String ns) {
        List<String> o = List.of("eul", "eout", "ee1", "enode1", "enode2");
        return o.indexOf(ns.substring(RUN.length()));
    }

    @Test
    void cleanupStaleRemovesCrashedRunsButNotLiveOnes() throws Exception {
        String stalePrefix = RUN + "f";
        namespaces.create(stalePrefix + "ul");
        namespaces.create(stalePrefix + "node1");
        // a process left inside, as a node's init after a kill -9 of its JVM
        Process orphan = new ProcessBuilder(
                        "nsenter", "--net=/run/netns/" + stalePrefix + "node1", "--", "sleep", "1000")
                .start();
        try (SimulatedCluster live = cluster("g")) {
            live.addNode("node1", 1);
            List<String> removed = SimulatedCluster.cleanupStale(RUN);
            assertEquals(
                    List.of(stalePrefix + "node1", stalePrefix + "ul"),
                    removed.stream().sorted().toList());
            assertTrue(orphan.waitFor(10, java.util.concurrent.TimeUnit.SECONDS), "the process inside was killed");
            assertEquals(
                    List.of(RUN + "gnode1", RUN + "gout", RUN + "gul"),
                    namespacesWith(RUN).stream().sorted().toList(),
                    "the open simulation is spared");
        } finally {
            orphan.destroyForcibly();
        }
        assertThrows(IllegalArgumentException.class, () -> SimulatedCluster.cleanupStale(""));
    }
}
