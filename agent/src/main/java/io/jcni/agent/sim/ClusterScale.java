package io.jcni.agent.sim;

import io.jcni.agent.Dataplane;
import io.jcni.agent.JvmOptions;
import io.jcni.agent.Lease;
import io.jcni.cni.io.AtomicFiles;
import io.jcni.cni.json.Json;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.route.FdbEntry;
import io.jcni.netlink.route.Neighbour;
import io.jcni.netlink.route.Route;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.netlink.route.Rtnl;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The cluster scale benchmark ({@code bench/cluster-scale.sh}): one real {@code jcni agent} on a
 * simulated node against an etcd holding 1000, then 5000 leases of fake peers.
 *
 * <ul>
 *   <li>The leases are written by {@link LeaseWriter}'s {@code fill} (flannel's format, the fake
 *       peers of {@link LeaseWriter#fake}: public IPs in 198.19.0.0/16, for vxlan a VTEP MAC each)
 *       into a network of 10.244.0.0/16 cut into /29s, so that 5000 nodes fit.</li>
 *   <li>For each count a fresh node ({@code eth0} on the sim's underlay; for host-gw also
 *       198.19.255.254/16 on {@code eth0}, so that every fake peer is on a connected subnet, as
 *       host-gw needs) starts an agent with {@link JvmOptions#agent()}; the benchmark polls the node's
 *       kernel through netlink every 10 ms until every peer's route (vxlan: and its neighbour and
 *       FDB entry) is there. The node before it is stopped first (its lease stays, as a peer).</li>
 *   <li>At the largest count: the agent's RSS, its CPU over an idle period, by thread; then
 *       single new leases, each put, timed until its route is in the kernel (an {@code ip route get}
 *       through netlink every 0.5 ms: the scale nodes have no default route, so only the peer's
 *       route answers), and deleted again.</li>
 * </ul>
 * Namespaces are named {@code jsc-<run id>…} and removed at the end, on error and on Ctrl-C; the
 * fake peers exist only as kernel entries inside the node's namespace, nothing is sent to them.
 */
public final class ClusterScale {
    static final String PREFIX = "jsc-";
    static final int SUBNET_LEN = 29, VNI = 1;
    static final String HOST_GW_UNDERLAY = "198.19.255.254/16";
    static final Duration PROGRAM_TIMEOUT = Duration.ofSeconds(180);
    static final Duration SAMPLE_TIMEOUT = Duration.ofSeconds(10);

    private final List<String> backends;
    private final List<Integer> counts;
    private final int samples, idleSeconds;
    private final Path out, work;
    private final boolean jfr;
    private final String run = Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0x10000));
    private final long clockTicks =
            Long.parseLong(Procs.exec(new ProcessBuilder("getconf", "CLK_TCK"), Duration.ofSeconds(5))
                    .stdout()
                    .trim());
    private volatile SimulatedCluster current;

    private ClusterScale(
            List<String> backends,
            List<Integer> counts,
            int samples,
            int idleSeconds,
            Path out,
            Path work,
            boolean jfr) {
        this.backends = backends;
        this.counts = counts;
        this.samples = samples;
        this.idleSeconds = idleSeconds;
        this.out = out;
        this.work = work;
        this.jfr = jfr;
    }

    public static void main(String[] args) throws Exception {
        List<String> backends = List.of("vxlan", "host-gw");
        List<Integer> counts = List.of(1000, 5000);
        int samples = 50, idle = 30;
        Path out = null, work = null;
        boolean jfr = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--backends" -> backends = List.of(args[++i].split(","));
                case "--counts" ->
                    counts = List.of(args[++i].split(",")).stream()
                            .map(Integer::parseInt)
                            .toList();
                case "--samples" -> samples = Integer.parseInt(args[++i]);
                case "--idle" -> idle = Integer.parseInt(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--work" -> work = Path.of(args[++i]);
                case "--jfr" -> jfr = true;
                default -> {
                    System.err.println(
                            "usage: ClusterScale --out FILE --work DIR [--backends vxlan,host-gw] [--counts 1000,5000]"
                                    + " [--samples 50] [--idle 30] [--jfr]");
                    System.exit(2);
                }
            }
        }
        if (out == null || work == null) {
            System.err.println("cluster-scale: --out and --work are required");
            System.exit(2);
        }
        ClusterScale b = new ClusterScale(backends, counts, samples, idle, out, work, jfr);
        Thread hook = new Thread(b::closeCurrent);
        Runtime.getRuntime().addShutdownHook(hook);
        b.run();
    }

    private static void say(String s) {
        System.err.println("cluster-scale: " + s);
    }

    private void run() throws Exception {
        long started = System.nanoTime();
        Map<String, Object> res = new LinkedHashMap<>();
        res.put("cpus", (long) Runtime.getRuntime().availableProcessors());
        res.put("load_start", Files.readString(Path.of("/proc/loadavg")).trim());
        res.put("agent_jvm_options", String.join(" ", JvmOptions.agent()));
        res.put("subnet_len", (long) SUBNET_LEN);
        Map<String, Object> per = new LinkedHashMap<>();
        for (String backend : backends) {
            per.put(backend, runBackend(backend));
        }
        res.put("backends", per);
        res.put("load_end", Files.readString(Path.of("/proc/loadavg")).trim());
        res.put("duration_s", ClusterBench.round((System.nanoTime() - started) / 1e9, 1));
        AtomicFiles.write(
                out, (Json.writeIndented(res) + "\n").getBytes(StandardCharsets.UTF_8), "rw-r--r--", "rwxr-xr-x");
        say("written: " + out);
    }

    private void closeCurrent() {
        SimulatedCluster sim = current;
        current = null;
        if (sim != null) {
            try {
                sim.close();
            } catch (RuntimeException e) {
                System.err.println("cluster-scale: cleanup: " + e.getMessage());
            }
        }
    }

    private Map<String, Object> runBackend(String backend) throws Exception {
        boolean vxlan = backend.equals("vxlan");
        String prefix = PREFIX + run + (vxlan ? "v" : "h");
        PrintWriter simLog = new PrintWriter(
                Files.newBufferedWriter(work.resolve(backend + "-sim.log"), StandardCharsets.UTF_8), true);
        SimulatedCluster sim = SimulatedCluster.create(prefix, work.resolve("sim-" + backend), Trace.OFF, line -> {
            synchronized (simLog) {
                simLog.println(line);
            }
        });
        current = sim;
        Map<String, Object> r = new LinkedHashMap<>();
        try {
            EtcdMembers etcd = sim.startEtcd(1);
            etcd.etcdctl(
                    "put",
                    ClusterBench.ETCD_PREFIX + "/config",
                    "{\"Network\":\"10.244.0.0/16\",\"SubnetLen\":" + SUBNET_LEN + ",\"Backend\":{\"Type\":\"" + backend
                            + "\",\"VNI\":" + VNI + "}}");
            List<Node> nodes = new ArrayList<>();
            try (ClusterBench.LeaseWriterProcess writer = new ClusterBench.LeaseWriterProcess(etcd)) {
                AgentProcess agent = null;
                Node node = null;
                for (int k = 0; k < counts.size(); k++) {
                    int n = counts.get(k);
                    boolean last = k == counts.size() - 1;
                    if (agent != null) {
                        agent.stop(); // its lease stays: one of the n peers
                    }
                    long[] fill =
                            writer.command("fill " + (n - nodes.size()) + " " + SUBNET_LEN + (vxlan ? " " + VNI : ""));
                    say(backend + ": " + (n - nodes.size()) + " fake leases in etcd (fill took "
                            + Math.round((fill[1] - fill[0]) / 1e6) + " ms); starting an agent on a new node");
                    node = sim.addNode("s" + k, k + 1);
                    prepare(node, vxlan);
                    nodes.add(node);
                    List<String> cmd = new ArrayList<>(SimulatedCluster.javaCommand(
                            "io.jcni.agent.AgentMain",
                            "agent",
                            "--etcd-endpoints",
                            etcd.endpoints(),
                            "--iface",
                            "eth0"));
                    List<String> jvm = new ArrayList<>(JvmOptions.agent());
                    if (jfr && last) {
                        jvm.add("-XX:StartFlightRecording=filename=" + work.resolve(backend + "-agent.jfr")
                                + ",settings=profile,dumponexit=true");
                    }
                    cmd.addAll(1, jvm);
                    Path log = work.resolve(backend + "-agent-" + n + ".log");
                    long t0 = System.nanoTime();
                    agent = node.startAgent(cmd, log);
                    Map<String, Object> c = new LinkedHashMap<>();
                    c.put("peers", (long) n);
                    c.putAll(awaitProgrammed(node, agent, n, vxlan, t0));
                    agent.awaitLog(
                            " changes in ",
                            Duration.ofSeconds(30)); // the pass is logged once it ended: after its last change
                    c.put("passes", passes(agent));
                    say(backend + ": " + n + " peers: " + c);
                    if (last) {
                        c.put("steady", steady(backend, agent));
                        c.put("new_lease", newLeases(backend, writer, node, nodes, agent, vxlan));
                    }
                    r.put(Integer.toString(n), c);
                }
                if (agent != null) {
                    agent.stop();
                }
            }
            return r;
        } finally {
            boolean interrupted = Thread.interrupted();
            closeCurrent();
            say(backend + ": cluster removed");
            simLog.close();
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** No default route (so that a route lookup answers only through a peer's route); for host-gw the fake peers' /16 on eth0. */
    static void prepare(Node node, boolean vxlan) {
        try (NetNs ns = NetNs.openNamed(node.netns());
                RouteNetlink nl = RouteNetlink.open(ns, Trace.OFF)) {
            for (Route r : nl.routes().list(Rtnl.AF_INET, Rtnl.RT_TABLE_MAIN)) {
                if (r.destination().length() == 0) {
                    nl.routes().delete(r);
                }
            }
            if (!vxlan) {
                nl.addresses().add("eth0", IpPrefix.parse(HOST_GW_UNDERLAY));
            }
        }
    }

    /** Counts of what the kernel holds for peers: routes of the agent, permanent neighbours and FDB entries of the VXLAN device. */
    static int[] count(RouteNetlink nl, boolean vxlan) {
        int routes = 0, neigh = 0, fdb = 0;
        for (Route r : nl.routes().list(Rtnl.AF_INET, Rtnl.RT_TABLE_MAIN)) {
            if (r.protocol() == Dataplane.ROUTE_PROTOCOL) {
                routes++;
            }
        }
        if (vxlan && nl.links().find(Dataplane.vxlanDevice(VNI)).isPresent()) {
            for (Neighbour n : nl.neighbours().list(Dataplane.vxlanDevice(VNI))) {
                if (n.isPermanent() && n.address().isV4()) {
                    neigh++;
                }
            }
            for (FdbEntry e : nl.neighbours().listFdb(Dataplane.vxlanDevice(VNI))) {
                if (e.isPermanent() && !e.isMaster() && e.dst() != null) {
                    fdb++;
                }
            }
        }
        return new int[] {routes, neigh, fdb};
    }

    /** Polls the node every 10 ms until {@code n} peers are programmed: ms from the agent's start to each kind complete. */
    private Map<String, Object> awaitProgrammed(Node node, AgentProcess agent, int n, boolean vxlan, long t0) {
        Map<String, Object> m = new LinkedHashMap<>();
        try (NetNs ns = NetNs.openNamed(node.netns());
                RouteNetlink nl = RouteNetlink.open(ns, Trace.OFF)) {
            long first = 0;
            long deadline = t0 + PROGRAM_TIMEOUT.toNanos();
            while (true) {
                int[] c = count(nl, vxlan);
                long now = System.nanoTime();
                if (first == 0 && c[0] > 0) {
                    first = now;
                }
                if (c[0] >= n && (!vxlan || (c[1] >= n && c[2] >= n))) {
                    m.put("start_to_first_route_ms", ClusterBench.round((first - t0) / 1e6, 1));
                    m.put("start_to_all_programmed_ms", ClusterBench.round((now - t0) / 1e6, 1));
                    m.put("first_to_all_programmed_ms", ClusterBench.round((now - first) / 1e6, 1));
                    return m;
                }
                if (now > deadline || !agent.alive()) {
                    throw new IllegalStateException("not all " + n + " peers programmed (routes, neighbours, fdb: "
                            + c[0] + ", " + c[1] + ", " + c[2] + "); the agent's log: " + agent.log());
                }
                LockSupport.parkNanos(10_000_000);
            }
        }
    }

    private static final Pattern PASS =
            Pattern.compile("jcni agent: (.*): ([0-9]+) peers, ([0-9]+) changes in ([0-9.]+) ms");

    /** The agent's passes so far, from its log: reason, peers, changes, ms. */
    private static List<Object> passes(AgentProcess agent) {
        List<Object> l = new ArrayList<>();
        for (String line : agent.logText().split("\n")) {
            Matcher m = PASS.matcher(line);
            if (m.find()) {
                Map<String, Object> p = new LinkedHashMap<>();
                p.put("reason", m.group(1).length() > 60 ? m.group(1).substring(0, 60) + "…" : m.group(1));
                p.put("peers", Long.parseLong(m.group(2)));
                p.put("changes", Long.parseLong(m.group(3)));
                p.put("ms", Double.parseDouble(m.group(4)));
                l.add(p);
            }
        }
        return l;
    }

    /** RSS and CPU over the idle period (by thread), after 5 s to settle. */
    private Map<String, Object> steady(String backend, AgentProcess agent) throws IOException {
        ClusterBench.sleep(5000);
        long pid = ClusterBench.javaPid(agent);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("rss_kib", ClusterBench.status(pid, "VmRSS"));
        m.put("rss_anon_kib", ClusterBench.status(pid, "RssAnon"));
        m.put("hwm_kib", ClusterBench.status(pid, "VmHWM"));
        long c0 = ClusterBench.cpuTicks(pid);
        Map<Long, ClusterBench.ThreadTicks> th0 = ClusterBench.threadTicks(pid);
        long t0 = System.nanoTime();
        say(backend + ": RSS " + m + "; CPU over " + idleSeconds + " s idle ...");
        ClusterBench.sleep(idleSeconds * 1000L);
        double elapsed = (System.nanoTime() - t0) / 1e9;
        long c1 = ClusterBench.cpuTicks(pid);
        Map<Long, ClusterBench.ThreadTicks> th1 = ClusterBench.threadTicks(pid);
        m.put("idle_seconds", ClusterBench.round(elapsed, 1));
        m.put("idle_cpu_ms", ClusterBench.round((c1 - c0) * 1000.0 / clockTicks, 1));
        Map<String, Long> byName = new LinkedHashMap<>();
        for (Map.Entry<Long, ClusterBench.ThreadTicks> e : th1.entrySet()) {
            ClusterBench.ThreadTicks b = th0.get(e.getKey());
            long d = e.getValue().ticks() - (b == null ? 0 : b.ticks());
            if (d > 0) {
                byName.merge(e.getValue().name(), d, Long::sum);
            }
        }
        Map<String, Object> threads = new LinkedHashMap<>();
        byName.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .limit(6)
                .forEach(e -> threads.put(e.getKey(), ClusterBench.round(e.getValue() * 1000.0 / clockTicks, 1)));
        m.put("idle_cpu_ms_by_thread", threads);
        m.put("drift_passes_meanwhile", (long) (idleSeconds / 10));
        say(backend + ": steady state: " + m);
        return m;
    }

    /** Single new leases with every other peer present: put → route in the kernel, and delete → gone. */
    private Map<String, Object> newLeases(
            String backend,
            ClusterBench.LeaseWriterProcess writer,
            Node node,
            List<Node> nodes,
            AgentProcess agent,
            boolean vxlan)
            throws Exception {
        Set<IpPrefix> taken = new HashSet<>();
        for (Node n : nodes) {
            taken.add(ClusterBench.nodeSubnet(n));
        }
        List<Double> ackToRoute = new ArrayList<>(),
                putToRoute = new ArrayList<>(),
                ack = new ArrayList<>(),
                pass = new ArrayList<>(),
                delToGone = new ArrayList<>();
        String device = vxlan ? Dataplane.vxlanDevice(VNI) : "eth0";
        int index = (1 << (SUBNET_LEN - 16)) - 2; // the bottom of the network, far from the fills at the top
        try (NetNs ns = NetNs.openNamed(node.netns());
                RouteNetlink nl = RouteNetlink.open(ns, Trace.OFF)) {
            for (int s = 0; s <= samples; s++) { // sample 0 warms up
                Lease l;
                do {
                    l = LeaseWriter.fake(index--, SUBNET_LEN, vxlan ? VNI : 0);
                } while (taken.contains(l.subnet()));
                IpAddress probe = l.subnet().address().next();
                String put = "put " + l.subnet() + " " + l.publicIp() + (vxlan ? " " + l.vtepMac() + " " + VNI : "");
                long[] t = writer.command(put);
                long at = awaitDevice(nl, probe, device, t[0]);
                if (at < 0) {
                    throw new IllegalStateException(
                            backend + ": " + l.subnet() + " not routed within " + SAMPLE_TIMEOUT);
                }
                double passMs = ClusterBench.passMillis(agent, "node " + l.publicIp() + " joined with " + l.subnet());
                long[] d = writer.command("del " + l.subnet());
                long gone = awaitDevice(nl, probe, null, d[0]);
                if (gone < 0) {
                    throw new IllegalStateException(
                            backend + ": " + l.subnet() + " still routed " + SAMPLE_TIMEOUT + " after its delete");
                }
                if (s == 0) {
                    continue;
                }
                ack.add((t[1] - t[0]) / 1e6);
                putToRoute.add((at - t[0]) / 1e6);
                ackToRoute.add(Math.max(0, at - t[1]) / 1e6);
                pass.add(passMs);
                delToGone.add((gone - d[1]) / 1e6);
            }
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("etcd_put_ack_ms", dist(ack));
        m.put("put_sent_to_route_ms", dist(putToRoute));
        m.put("put_ack_to_route_ms", dist(ackToRoute));
        m.put("agent_pass_ms", dist(pass));
        m.put("delete_ack_to_gone_ms", dist(delToGone));
        say(backend + ": new lease with all peers present: put ack → route p50/p99 "
                + ((Map<?, ?>) m.get("put_ack_to_route_ms")).get("p50") + " / "
                + ((Map<?, ?>) m.get("put_ack_to_route_ms")).get("p99") + " ms; pass p50 "
                + ((Map<?, ?>) m.get("agent_pass_ms")).get("p50") + " ms");
        return m;
    }

    /** Polls {@code ip route get probe} every 0.5 ms until its device is {@code device} (null: no route): the nanoTime, or -1. */
    private static long awaitDevice(RouteNetlink nl, IpAddress probe, String device, long since) {
        long deadline = since + SAMPLE_TIMEOUT.toNanos();
        while (true) {
            String d = nl.routes().outputDevice(probe);
            long now = System.nanoTime();
            if (java.util.Objects.equals(d, device)) {
                return now;
            }
            if (now > deadline) {
                return -1;
            }
            LockSupport.parkNanos(500_000);
        }
    }

    /** p50, p90, p99 (nearest rank), max and every sample, in ms. */
    private static Map<String, Object> dist(List<Double> v) {
        Map<String, Object> m = ClusterBench.dist(v);
        List<Double> s = new ArrayList<>(v);
        java.util.Collections.sort(s);
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : m.entrySet()) {
            out.put(e.getKey(), e.getValue());
            if (e.getKey().equals("p90")) {
                out.put("p99", s.isEmpty() ? null : ClusterBench.round(ClusterBench.rank(s, 0.99), 2));
            }
        }
        return out;
    }
}
