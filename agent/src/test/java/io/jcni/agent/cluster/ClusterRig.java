package io.jcni.agent.cluster;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.agent.Dataplane;
import io.jcni.agent.Handoff;
import io.jcni.agent.sim.AgentProcess;
import io.jcni.agent.sim.EtcdMembers;
import io.jcni.agent.sim.ExecResult;
import io.jcni.agent.sim.Node;
import io.jcni.agent.sim.Pod;
import io.jcni.agent.sim.SimulatedCluster;
import io.jcni.agent.sim.TestPlugins;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ns.NetNs;
import io.jcni.testkit.Commands;
import io.jcni.testkit.Json;
import io.jcni.testkit.TestNames;
import io.jcni.testkit.Witness;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BooleanSupplier;

/**
 * A simulated cluster for the agent's end-to-end tests: etcd members, nodes each running a real
 * {@code jcni agent} process with its default paths inside the node's mount namespace, the CNI
 * plugins installed once (the agent serves them on its socket), and pods made by {@code jcni add}
 * on their node with the conflist the agent wrote.
 */
final class ClusterRig implements AutoCloseable {
    static final String PREFIX = "jcl-";
    static final String RUN = PREFIX + TestNames.RUN;
    static final String ETCD_PREFIX = "/jcni.io/network";

    final SimulatedCluster sim;
    final Path base;
    Path cniBin;
    final Map<String, AgentProcess> agents = new ConcurrentHashMap<>();
    private final List<String> extraAgentArgs = new ArrayList<>();
    private final StringBuilder log = new StringBuilder();
    EtcdMembers etcd;

    private ClusterRig(String tag) throws IOException {
        base = Files.createTempDirectory(RUN + tag + "-");
        sim = SimulatedCluster.create(RUN + tag, base.resolve("sim"), Trace.OFF, line -> {
            synchronized (log) {
                log.append(line).append('\n');
            }
        });
    }

    /** A cluster named {@code tag} with {@code etcdMembers} members and the plugins installed. */
    static ClusterRig create(String tag, int etcdMembers) throws IOException {
        ClusterRig rig = new ClusterRig(tag);
        try {
            rig.cniBin = TestPlugins.install(rig.base);
            if (etcdMembers > 0) {
                rig.etcd = rig.sim.startEtcd(etcdMembers);
            }
            return rig;
        } catch (IOException | RuntimeException | Error e) {
            rig.close();
            throw e;
        }
    }

    /** Flags every agent of this rig gets, after the endpoints. */
    ClusterRig agentArgs(String... args) {
        extraAgentArgs.addAll(List.of(args));
        return this;
    }

    /** Writes the network configuration with etcdctl, as a person would. */
    void putConfig(String json) {
        etcd.etcdctl("put", ETCD_PREFIX + "/config", json);
    }

    static String config(String backend) {
        return "{\"Network\":\"10.244.0.0/16\",\"Backend\":{\"Type\":\"" + backend + "\"}}";
    }

    Node addNode(String name, int index) {
        return sim.addNode(name, index);
    }

    /** Starts (or restarts) the agent on {@code node} against the rig's etcd, or {@code endpoints}. */
    AgentProcess startAgent(Node node, String... moreArgs) {
        List<String> args = new ArrayList<>(
                List.of("agent", "--etcd-endpoints", etcd == null ? "http://198.18.0.9:2379" : etcd.endpoints()));
        args.addAll(extraAgentArgs);
        args.addAll(List.of(moreArgs));
        List<String> cmd =
                new ArrayList<>(SimulatedCluster.javaCommand("io.jcni.agent.AgentMain", args.toArray(new String[0])));
        // the options a node's agent ships with (the JVM's defaults would take a quarter of the machine)
        cmd.addAll(1, io.jcni.agent.JvmOptions.agent());
        Path logFile = base.resolve(node.name() + "-agent-" + System.nanoTime() + ".log");
        AgentProcess a = node.startAgent(cmd, logFile);
        agents.put(node.name(), a);
        return a;
    }

    AgentProcess agent(Node node) {
        return agents.get(node.name());
    }

    /** Waits until the agent on {@code node} has written its conflist. */
    void awaitReady(Node node, Duration within) {
        Path conflist = node.cniConfDir().resolve(Handoff.CONFLIST);
        AgentProcess a = agent(node);
        assertTrue(
                await(() -> Files.exists(conflist) || !a.alive(), within) && Files.exists(conflist),
                "agent on " + node.name() + " ready within " + within + "; its log:\n" + a.logText());
    }

    /** The pods {@code podsPerNode} on every node, made in parallel. */
    List<Pod> addPods(List<Node> nodes, int podsPerNode) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(Math.min(4, nodes.size() * podsPerNode));
        try {
            List<Future<Pod>> futures = new ArrayList<>();
            for (Node n : nodes) {
                for (int i = 1; i <= podsPerNode; i++) {
                    String name = n.name() + "p" + i;
                    futures.add(pool.submit(
                            () -> n.addPod(name, SimulatedCluster.javaCommand("io.jcni.cli.Main"), cniEnv())));
                }
            }
            List<Pod> pods = new ArrayList<>();
            for (Future<Pod> f : futures) {
                pods.add(f.get());
            }
            return pods;
        } finally {
            pool.shutdownNow();
        }
    }

    Map<String, String> cniEnv() {
        Map<String, String> env = new HashMap<>();
        env.put("CNI_PATH", cniBin.toString());
        return env;
    }

    /** Runs {@code jcni cluster ARGS} on {@code node} (the etcd endpoints added). */
    ExecResult cluster(Node node, String... args) {
        List<String> a = new ArrayList<>(List.of("cluster"));
        a.addAll(List.of(args));
        a.addAll(List.of("--etcd-endpoints", etcd.liveEndpoints()));
        return node.exec(
                SimulatedCluster.javaCommand("io.jcni.agent.AgentMain", a.toArray(new String[0])),
                Duration.ofSeconds(60));
    }

    /** The leases in etcd, subnet key name → value JSON, read with etcdctl. */
    Map<String, Map<String, Object>> leases() {
        String out = etcd.etcdctl("get", "--prefix", ETCD_PREFIX + "/subnets/");
        Map<String, Map<String, Object>> m = new HashMap<>();
        String[] lines = out.strip().split("\n");
        for (int i = 0; i + 1 < lines.length; i += 2) {
            String key = lines[i].substring(lines[i].lastIndexOf('/') + 1);
            m.put(key, Witness.map(Json.parse(lines[i + 1])));
        }
        return m;
    }

    /** The lease key name ({@code 10.244.3.0-24}) held by {@code node}, or null. */
    String leaseOf(Node node) {
        for (Map.Entry<String, Map<String, Object>> e : leases().entrySet()) {
            if (node.underlayIp().equals(e.getValue().get("PublicIP"))) {
                return e.getKey();
            }
        }
        return null;
    }

    /**
     * The lease key name held by {@code node} as its hand-off says (for when etcd cannot be asked):
     * the subnet of {@code JCNI_SUBNET} in the node's {@code subnet.env}.
     */
    String leaseOfCached(Node node) {
        try {
            for (String line : Files.readAllLines(node.runDir().resolve("subnet.env"))) {
                if (line.startsWith("JCNI_SUBNET=")) {
                    io.jcni.netlink.ip.IpPrefix p = io.jcni.netlink.ip.IpPrefix.parse(line.substring(12))
                            .network();
                    return p.address() + "-" + p.length();
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        throw new IllegalStateException("no JCNI_SUBNET in " + node.name() + "'s subnet.env");
    }

    /** {@code 10.244.3.0-24} → {@code 10.244.3.0/24}. */
    static String subnet(String keyName) {
        int dash = keyName.lastIndexOf('-');
        return keyName.substring(0, dash) + "/" + keyName.substring(dash + 1);
    }

    /** Routes of protocol 215 in {@code node}'s main table: destination → the route's JSON. */
    static Map<String, Map<String, Object>> agentRoutes(Node node) {
        Map<String, Map<String, Object>> m = new HashMap<>();
        for (Map<String, Object> o : Json.objects(Commands.ip(
                node.netns(), "-4", "route", "show", "proto", Integer.toString(Dataplane.ROUTE_PROTOCOL)))) {
            Map<String, Object> r = o;
            m.put((String) r.get("dst"), r);
        }
        return m;
    }

    /** Permanent neighbours on {@code node}'s VXLAN device: address → MAC. */
    static Map<String, String> vxlanNeighbours(Node node, int vni) {
        Map<String, String> m = new HashMap<>();
        if (!linkExists(node, Dataplane.vxlanDevice(vni))) {
            return m;
        }
        for (Map<String, Object> o :
                Json.objects(Commands.ip(node.netns(), "-4", "neigh", "show", "dev", Dataplane.vxlanDevice(vni)))) {
            Map<String, Object> n = o;
            if (n.get("lladdr") != null) {
                m.put((String) n.get("dst"), (String) n.get("lladdr"));
            }
        }
        return m;
    }

    /** Self FDB entries of {@code node}'s VXLAN device: MAC → remote. */
    static Map<String, String> vxlanFdb(Node node, int vni) {
        Map<String, String> m = new HashMap<>();
        if (!linkExists(node, Dataplane.vxlanDevice(vni))) {
            return m;
        }
        String out = Commands.run("bridge", "-n", node.netns(), "-j", "fdb", "show", "dev", Dataplane.vxlanDevice(vni));
        for (Map<String, Object> o : Json.objects(out)) {
            Map<String, Object> e = o;
            if (e.get("dst") != null) {
                m.put((String) e.get("mac"), (String) e.get("dst"));
            }
        }
        return m;
    }

    static boolean linkExists(Node node, String name) {
        return Json.objects(Commands.ip(node.netns(), "link", "show")).stream()
                .anyMatch(l -> name.equals(l.get("ifname")));
    }

    static String linkMac(Node node, String name) {
        return (String) Json.objects(Commands.ip(node.netns(), "link", "show", "dev", name))
                .getFirst()
                .get("address");
    }

    /** Where an agent serves its metrics and health by default (inside its node's namespace). */
    static final int METRICS_PORT = 9964;

    /** One HTTP GET inside {@code node}'s namespace to 127.0.0.1:{@code port}: the status code and the body. */
    static Http httpGet(Node node, int port, String path) {
        try (NetNs ns = NetNs.openNamed(node.netns())) {
            SocketChannel ch = ns.run(() -> {
                try {
                    return SocketChannel.open(new InetSocketAddress("127.0.0.1", port));
                } catch (IOException e) {
                    throw new UncheckedIOException("connect to 127.0.0.1:" + port + " on " + node.name(), e);
                }
            });
            try (ch) {
                ch.write(ByteBuffer.wrap(
                        ("GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").getBytes(StandardCharsets.US_ASCII)));
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                ByteBuffer buf = ByteBuffer.allocate(8192);
                while (ch.read(buf) >= 0) {
                    out.write(buf.array(), 0, buf.position());
                    buf.clear();
                }
                String text = out.toString(StandardCharsets.UTF_8);
                int status = Integer.parseInt(text.substring(text.indexOf(' ') + 1, text.indexOf(' ') + 4));
                int body = text.indexOf("\r\n\r\n");
                return new Http(status, body < 0 ? "" : text.substring(body + 4));
            } catch (IOException e) {
                throw new UncheckedIOException("GET " + path + " on " + node.name(), e);
            }
        }
    }

    record Http(int status, String body) {}

    private static final java.util.regex.Pattern SAMPLE =
            java.util.regex.Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[^}]*\\})?\\s+(\\S+)");

    /**
     * The agent's metrics on {@code node}: each series to its value, the series written
     * {@code name{a="1",b="2"}} with its labels in alphabetical order.
     */
    static Map<String, Double> metrics(Node node) {
        Http h = httpGet(node, METRICS_PORT, "/metrics");
        assertEquals(200, h.status(), h.body());
        Map<String, Double> m = new HashMap<>();
        for (String line : h.body().split("\n")) {
            java.util.regex.Matcher x = SAMPLE.matcher(line);
            if (!line.startsWith("#") && x.find()) {
                String labels = "";
                if (x.group(2) != null) {
                    String inside = x.group(2).substring(1, x.group(2).length() - 1);
                    java.util.TreeSet<String> sorted = new java.util.TreeSet<>(List.of(inside.split(",")));
                    labels = "{" + String.join(",", sorted) + "}";
                }
                m.put(x.group(1) + labels, Double.parseDouble(x.group(3)));
            }
        }
        return m;
    }

    static boolean await(BooleanSupplier condition, Duration within) {
        long deadline = System.nanoTime() + within.toNanos();
        while (true) {
            try {
                if (condition.getAsBoolean()) {
                    return true;
                }
            } catch (RuntimeException notYet) {
                // a witness that fails now may succeed later
            }
            if (System.nanoTime() > deadline) {
                return false;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
    }

    /** Removes what crashed runs of these tests left (clusters of running tests are spared). */
    static void removeStale() {
        SimulatedCluster.cleanupStale(PREFIX);
    }

    /** Fails when this run left a namespace behind (after removing it). */
    static void assertNothingLeft() {
        List<String> left = io.jcni.netlink.ns.NamedNetns.list().stream()
                .filter(n -> n.startsWith(RUN))
                .toList();
        SimulatedCluster.cleanupStale(RUN);
        assertEquals(List.of(), left, "namespaces left by this run");
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

    @Override
    public void close() {
        try {
            sim.close();
        } finally {
            try (var s = Files.walk(base)) {
                s.sorted(java.util.Comparator.reverseOrder())
                        .forEach(p -> p.toFile().delete());
            } catch (IOException ignored) {
                // best effort: a temp dir
            }
        }
    }
}
