package io.jcni.agent.cluster;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jcni.agent.Handoff;
import io.jcni.agent.KubeMock;
import io.jcni.agent.sim.AgentProcess;
import io.jcni.agent.sim.Node;
import io.jcni.agent.sim.Pod;
import io.jcni.agent.sim.SimulatedCluster;
import io.jcni.agent.sim.TestPlugins;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ns.NamedNetns;
import io.jcni.netlink.ns.NetNs;
import io.jcni.testkit.TestNames;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A simulated cluster whose agents run in Kubernetes mode: nodes on the underlay 198.18.2.0/24,
 * each running a real {@code jcni agent --kube-subnet-mgr} process, and a Kubernetes API server
 * (fabric8's mock in CRUD mode, {@link KubeMock}) that they reach at {@value #API_IP}:{@value #API_PORT}:
 * a host namespace on the underlay whose listening socket relays to the mock on the test JVM's
 * loopback ({@link NetnsForwarder}). The test drives the Nodes through the mock's client, the same
 * fabric8 client the agent uses. Every namespace is called {@code jkb-<run><tag>…}.
 */
final class KubeRig implements AutoCloseable {
    static final String PREFIX = "jkb-";
    static final String RUN = PREFIX + TestNames.RUN;
    static final String UNDERLAY = "198.18.2.0/24";
    static final String API_IP = "198.18.2.5";
    static final int API_PORT = 6443;
    static final String NETWORK = "10.246.0.0/16";
    static final String NET_CONF = "{\"Network\":\"" + NETWORK + "\",\"Backend\":{\"Type\":\"vxlan\"}}";
    /** The agents' reconcile interval: short, so a node waiting for its podCIDR looks again soon. */
    static final String RECONCILE_INTERVAL = "2s";

    final SimulatedCluster sim;
    final Path base;
    final KubeMock mock;
    final NetnsForwarder api;
    final Path kubeconfig;
    final Path netConf;
    Path cniBin;
    final Map<String, AgentProcess> agents = new ConcurrentHashMap<>();
    /** The agents' JVM flags: the ones a node's agent ships with. */
    final List<String> agentJvmFlags = new ArrayList<>(io.jcni.agent.JvmOptions.agent());

    private final NetNs apiNetns;
    private final StringBuilder log = new StringBuilder();

    private KubeRig(String tag) throws IOException {
        base = Files.createTempDirectory(RUN + tag + "-");
        SimulatedCluster s = null;
        KubeMock m = null;
        NetNs a = null;
        NetnsForwarder f = null;
        try {
            s = SimulatedCluster.create(
                    RUN + tag,
                    base.resolve("sim"),
                    Trace.OFF,
                    line -> {
                        synchronized (log) {
                            log.append(line).append('\n');
                        }
                    },
                    UNDERLAY);
            m = new KubeMock();
            a = NetNs.openNamed(s.addHost("api", 5));
            f = new NetnsForwarder(
                    a, new InetSocketAddress(API_IP, API_PORT), new InetSocketAddress("127.0.0.1", m.port()));
            f.resume();
        } catch (RuntimeException | Error e) {
            closeAll(f, a, s, m);
            deleteBase();
            throw e;
        }
        sim = s;
        mock = m;
        apiNetns = a;
        api = f;
        kubeconfig = KubeMock.kubeconfig(base.resolve("kubeconfig"), API_IP, API_PORT);
        netConf = Files.writeString(base.resolve("net-conf.json"), NET_CONF);
    }

    /** A rig named {@code tag}, with the CNI plugins installed when {@code plugins}. */
    static KubeRig create(String tag, boolean plugins) throws IOException {
        KubeRig rig = new KubeRig(tag);
        try {
            if (plugins) {
                rig.cniBin = TestPlugins.install(rig.base);
            }
            return rig;
        } catch (IOException | RuntimeException | Error e) {
            rig.close();
            throw e;
        }
    }

    Node addNode(String name, int index) {
        return sim.addNode(name, index);
    }

    /** Starts (or restarts) the agent on {@code node} in Kubernetes mode, its Node named as the node. */
    AgentProcess startAgent(Node node, String... moreArgs) {
        List<String> args = new ArrayList<>(List.of(
                "agent",
                "--kube-subnet-mgr",
                "--node-name",
                node.name(),
                "--kubeconfig",
                kubeconfig.toString(),
                "--net-conf",
                netConf.toString(),
                "--reconcile-interval",
                RECONCILE_INTERVAL));
        args.addAll(List.of(moreArgs));
        List<String> cmd =
                new ArrayList<>(SimulatedCluster.javaCommand("io.jcni.agent.AgentMain", args.toArray(new String[0])));
        cmd.addAll(1, agentJvmFlags);
        AgentProcess a = node.startAgent(cmd, base.resolve(node.name() + "-agent-" + System.nanoTime() + ".log"));
        agents.put(node.name(), a);
        return a;
    }

    AgentProcess agent(Node node) {
        return agents.get(node.name());
    }

    Path conflist(Node node) {
        return node.cniConfDir().resolve(Handoff.CONFLIST);
    }

    /** Waits until the agent on {@code node} has written its conflist. */
    void awaitReady(Node node, Duration within) {
        AgentProcess a = agent(node);
        assertTrue(
                ClusterRig.await(() -> Files.exists(conflist(node)) || !a.alive(), within)
                        && Files.exists(conflist(node)),
                "agent on " + node.name() + " ready within " + within + "; its log:\n" + a.logText());
    }

    Pod addPod(Node node, String name) {
        Map<String, String> env = new HashMap<>();
        env.put("CNI_PATH", cniBin.toString());
        return node.addPod(name, SimulatedCluster.javaCommand("io.jcni.cli.Main"), env);
    }

    /** Whether Node {@code name} has the condition NetworkUnavailable=False. */
    boolean networkUp(String name) {
        var n = mock.node(name);
        return n != null
                && n.getStatus() != null
                && n.getStatus().getConditions() != null
                && n.getStatus().getConditions().stream()
                        .anyMatch(c -> c.getType().equals(io.jcni.agent.KubeLeaseStore.CONDITION)
                                && "False".equals(c.getStatus()));
    }

    /** Every agent's log, for a failure message. */
    String logs() {
        StringBuilder b = new StringBuilder();
        for (Map.Entry<String, AgentProcess> e : agents.entrySet()) {
            b.append("---- agent on ")
                    .append(e.getKey())
                    .append('\n')
                    .append(e.getValue().logText());
        }
        return b.toString();
    }

    /** Removes what crashed runs of these tests left (clusters of running tests are spared). */
    static void removeStale() {
        SimulatedCluster.cleanupStale(PREFIX);
    }

    /** Fails when this run left a namespace behind (after removing it). */
    static void assertNothingLeft() {
        List<String> left =
                NamedNetns.list().stream().filter(n -> n.startsWith(RUN)).toList();
        SimulatedCluster.cleanupStale(RUN);
        org.junit.jupiter.api.Assertions.assertEquals(List.of(), left, "namespaces left by this run");
    }

    @Override
    public void close() {
        try {
            closeAll(api, apiNetns, sim, mock);
        } finally {
            deleteBase();
        }
    }

    private static void closeAll(AutoCloseable... all) {
        RuntimeException first = null;
        for (AutoCloseable c : all) {
            if (c == null) {
                continue;
            }
            try {
                c.close();
            } catch (Exception e) {
                if (first == null) {
                    first = e instanceof RuntimeException re ? re : new IllegalStateException(e);
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    private void deleteBase() {
        try (var s = Files.walk(base)) {
            s.sorted(java.util.Comparator.reverseOrder())
                    .forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort: a temp dir
        }
    }
}
