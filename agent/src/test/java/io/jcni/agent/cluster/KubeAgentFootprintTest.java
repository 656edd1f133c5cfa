package io.jcni.agent.cluster;

import static io.jcni.agent.cluster.ClusterRig.await;
import static org.junit.jupiter.api.Assertions.*;

import io.jcni.agent.KubeLeaseStore;
import io.jcni.agent.sim.AgentProcess;
import io.jcni.agent.sim.Node;
import io.jcni.testkit.Commands;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * What a Kubernetes-mode agent costs, measured as the cluster benchmark measures the etcd mode's
 * (with the agent's JVM options from bin/lib/jvm-options.env): the start-up of node 1's agent
 * alone (process start to the Node watched, to the conflist written, to the condition set), then,
 * with three agents, a pod on each of two nodes and three peers, its RSS and its CPU over 30 s
 * idle. On request only, as it takes a minute and a quiet machine:
 * {@code ./mvnw -o test -pl agent -am -Dtest=KubeAgentFootprintTest -Djcni.kube.footprint=true -Dsurefire.failIfNoSpecifiedTests=false}.
 * The figures go to stdout; the bounds asserted are loose (a broken agent, not a slow machine).
 * With {@code -Djcni.kube.footprint.nmt=true} the agent runs with native memory tracking and its
 * summary is printed too (the tracking's own cost makes that run's RSS larger); with
 * {@code -Djcni.kube.footprint.jvm="-Xms16m -Xmx128m …"} the agents get those JVM flags instead.
 */
@EnabledIfSystemProperty(named = "jcni.kube.footprint", matches = "true")
class KubeAgentFootprintTest {
    static final Duration IDLE = Duration.ofSeconds(30);

    @Test
    void startUpRssAndIdleCpu() throws Exception {
        KubeRig.removeStale();
        boolean nmt = Boolean.getBoolean("jcni.kube.footprint.nmt");
        try (KubeRig rig = KubeRig.create("f", true)) {
            String flags = System.getProperty("jcni.kube.footprint.jvm");
            if (flags != null && !flags.isBlank()) {
                rig.agentJvmFlags.clear();
                rig.agentJvmFlags.addAll(List.of(flags.strip().split("\\s+")));
            }
            if (nmt) {
                rig.agentJvmFlags.add("-XX:NativeMemoryTracking=summary"); // costs memory itself: a separate run
            }
            System.out.println("agents' JVM flags: " + rig.agentJvmFlags);
            Node n1 = rig.addNode("n1", 1), n2 = rig.addNode("n2", 2), n3 = rig.addNode("n3", 3);
            for (Node n : List.of(n1, n2, n3)) {
                rig.mock.createNode(n.name(), List.of("10.246." + n.index() + ".0/24"), Map.of());
            }
            long t0 = System.nanoTime();
            AgentProcess a1 = rig.startAgent(n1);
            assertTrue(
                    await(() -> a1.logText().contains("watching the Nodes on"), Duration.ofSeconds(60)), a1.logText());
            long watching = System.nanoTime();
            rig.awaitReady(n1, Duration.ofSeconds(60));
            long ready = System.nanoTime();
            assertTrue(await(() -> rig.networkUp("n1"), Duration.ofSeconds(30)), a1.logText());
            long condition = System.nanoTime();
            System.out.printf(
                    "kube-mode start-up of n1's agent: Node watched %d ms, conflist written %d ms, condition set %d ms%n",
                    ms(watching - t0), ms(ready - t0), ms(condition - t0));

            AgentProcess a2 = rig.startAgent(n2), a3 = rig.startAgent(n3);
            rig.awaitReady(n2, Duration.ofSeconds(60));
            rig.awaitReady(n3, Duration.ofSeconds(60));
            rig.addPod(n1, "p1");
            rig.addPod(n2, "p2");
            rig.mock.createNode(
                    "n9",
                    List.of("10.246.9.0/24"),
                    Map.of(
                            KubeLeaseStore.PUBLIC_IP,
                            "198.18.2.99",
                            KubeLeaseStore.BACKEND_TYPE,
                            "vxlan",
                            KubeLeaseStore.BACKEND_DATA,
                            "{\"VNI\":1,\"VtepMAC\":\"0a:6a:62:2a:00:09\"}"));
            assertTrue(await(() -> ClusterRig.agentRoutes(n1).size() == 3, Duration.ofSeconds(30)), a1.logText());

            long cpu0 = cpuMillis(a1.pid());
            Thread.sleep(IDLE.toMillis()); // measuring an idle period: nothing to wait for
            long cpu = cpuMillis(a1.pid()) - cpu0;
            long rss = status(a1.pid(), "VmRSS"), anon = status(a1.pid(), "RssAnon"), hwm = status(a1.pid(), "VmHWM");
            System.out.printf(
                    "kube-mode agent on n1 with 3 peers: RSS %.1f MiB (anonymous %.1f MiB, peak %.1f MiB), CPU over %d s idle %d ms;"
                            + " n2 RSS %.1f MiB, n3 RSS %.1f MiB%n",
                    rss / 1024.0,
                    anon / 1024.0,
                    hwm / 1024.0,
                    IDLE.toSeconds(),
                    cpu,
                    status(a2.pid(), "VmRSS") / 1024.0,
                    status(a3.pid(), "VmRSS") / 1024.0);
            System.out.println("n1's agent log:\n" + a1.logText());
            if (nmt) {
                System.out.println(Commands.of(
                                Path.of(System.getProperty("java.home"), "bin", "jcmd")
                                        .toString(),
                                Long.toString(a1.pid()),
                                "VM.native_memory",
                                "summary")
                        .timeout(Duration.ofSeconds(60))
                        .result()
                        .out());
            }
            assertTrue(rss < 400 * 1024, "RSS " + rss + " KiB");
        } finally {
            KubeRig.assertNothingLeft();
        }
    }

    static long ms(long nanos) {
        return nanos / 1_000_000;
    }

    /** A field of /proc/PID/status in KiB. */
    static long status(long pid, String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.substring(field.length() + 1).trim().split("\\s+")[0]);
            }
        }
        throw new IllegalStateException("no " + field + " for " + pid);
    }

    /** utime + stime of the process, in milliseconds (clock ticks of 10 ms). */
    static long cpuMillis(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10;
    }
}
