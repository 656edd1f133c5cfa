package io.jcni.agent.sim;

import io.jcni.agent.Dataplane;
import io.jcni.agent.EtcdLeaseStore;
import io.jcni.agent.Handoff;
import io.jcni.cni.io.AtomicFiles;
import io.jcni.cni.json.Json;
import io.jcni.cni.json.JsonException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ip.MacAddress;
import io.jcni.netlink.ns.NamedNetns;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.route.FdbEntry;
import io.jcni.netlink.route.Neighbour;
import io.jcni.netlink.route.Route;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.netlink.route.Rtnl;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The cluster network's benchmark: for each backend (host-gw, then vxlan) a simulated cluster of
 * three nodes, each running a real agent, on a three-member etcd, and on it
 * <ol>
 *   <li><b>throughput</b>: iperf3 (TCP) from a pod on node 1 to a pod on node 2, against the same
 *       two nodes' {@code eth0} on the underlay, interleaved; with retransmits and the CPU time the
 *       whole machine spent per transferred Gbit;</li>
 *   <li><b>convergence</b>: from a new lease acknowledged by etcd (written by {@link LeaseWriter})
 *       to its route (vxlan: route, neighbour and FDB entry) present in each node's kernel, polled
 *       through netlink every millisecond; its removal likewise; and each agent's own pass time
 *       from its log;</li>
 *   <li><b>the agent's footprint</b>: RSS with three peers, and CPU time over an idle period.</li>
 * </ol>
 * Writes one JSON file, which {@code bench/report.py} renders. {@code bench/cluster.sh} runs it.
 * Everything lives in namespaces named {@value #PREFIX}…; they and their processes are removed at
 * the end, on failure and on Ctrl-C.
 *
 * <p>Usage: {@code ClusterBench --out FILE --work DIR --cni-bin DIR --cli-classpath CP [--quick]},
 * as root, with this module's class path (the agents and the lease writer run on it).
 */
public final class ClusterBench {
    /** Starts every namespace of a benchmark run; stale ones from a crashed run are removed at start. */
    static final String PREFIX = "jcb-";

    static final String ETCD_PREFIX = EtcdLeaseStore.Options.DEFAULT_PREFIX;
    static final int ETCD_MEMBERS = 3, VNI = 1;
    /** The agent's JVM as deploy/jcni.service runs it: serial GC, a 128 MB heap cap; thin stacks. */
    static final List<String> AGENT_JVM_FLAGS = io.jcni.agent.JvmOptions.agent();

    static final int IPERF_PORT = 5201;
    /** The bound of each wait for the kernel: a sample that takes longer is counted as timed out. */
    static final Duration CONVERGENCE_TIMEOUT = Duration.ofSeconds(10);

    private final boolean quick;
    private final Path out, work, cniBin;
    private final String cliClassPath;
    private final int iperfSeconds, iperfRepeats, samples, idleSeconds;
    private final String run =
            Integer.toString(ThreadLocalRandom.current().nextInt(36 * 36 * 36, 36 * 36 * 36 * 36), 36);
    private final long started = System.nanoTime();
    private final long clockTicks;
    private volatile SimulatedCluster current;
    private volatile boolean stopping;

    private ClusterBench(boolean quick, Path out, Path work, Path cniBin, String cliClassPath) {
        this.quick = quick;
        this.out = out;
        this.work = work;
        this.cniBin = cniBin;
        this.cliClassPath = cliClassPath;
        this.iperfSeconds = quick ? 3 : 10;
        this.iperfRepeats = quick ? 1 : 3;
        this.samples = quick ? 5 : 20;
        this.idleSeconds = quick ? 10 : 30;
        this.clockTicks = clockTicks();
    }

    public static void main(String[] args) {
        boolean quick = false;
        Path out = null, work = null, cniBin = null;
        String cliClassPath = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--quick")) {
                quick = true;
                continue;
            }
            if (i + 1 >= args.length) {
                usage("missing the value of " + a);
            }
            String v = args[++i];
            switch (a) {
                case "--out" -> out = Path.of(v).toAbsolutePath();
                case "--work" -> work = Path.of(v).toAbsolutePath();
                case "--cni-bin" -> cniBin = Path.of(v).toAbsolutePath();
                case "--cli-classpath" -> cliClassPath = v;
                default -> usage("unknown argument " + a);
            }
        }
        if (out == null || work == null || cniBin == null || cliClassPath == null) {
            usage("--out, --work, --cni-bin and --cli-classpath are required");
        }
        ClusterBench bench = new ClusterBench(quick, out, work, cniBin, cliClassPath);
        Thread main = Thread.currentThread();
        CountDownLatch finished = new CountDownLatch(1);
        // Ctrl-C or SIGTERM: the JVM halts once this hook returns, so it stops the run and waits
        // for the run's own cleanup (a cluster half built is removed by the code building it)
        Runtime.getRuntime()
                .addShutdownHook(Thread.ofPlatform().name("cluster-bench-stop").unstarted(() -> {
                    bench.stopping = true;
                    main.interrupt();
                    try {
                        finished.await(60, TimeUnit.SECONDS);
                    } catch (InterruptedException ignored) {
                        // closing below anyway
                    }
                    bench.closeCurrent();
                }));
        int code;
        try {
            bench.run();
            code = 0;
        } catch (Exception | Error e) {
            if (bench.stopping) {
                System.err.println("cluster-bench: stopped; removing what was made");
            } else {
                System.err.println("cluster-bench: FAILED: " + e);
                e.printStackTrace();
            }
            code = 1;
        } finally {
            bench.closeCurrent();
            finished.countDown();
        }
        System.exit(code);
    }

    private static void usage(String why) {
        System.err.println("ClusterBench: " + why
                + "\nusage: ClusterBench --out FILE --work DIR --cni-bin DIR --cli-classpath CP [--quick]");
        System.exit(2);
    }

    // ---------------------------------------------------------------- the run

    private void run() throws Exception {
        Map<String, Object> res = new LinkedHashMap<>();
        res.put("quick", quick);
        res.put("cpus", (long) Runtime.getRuntime().availableProcessors());
        res.put("kernel", System.getProperty("os.version"));
        res.put("java", Runtime.version().toString());
        res.put("load_start", loadAvg());
        res.put("uptime_start", uptime());
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("nodes", 3L);
        settings.put("etcd_members", (long) ETCD_MEMBERS);
        settings.put("agent_jvm_flags", String.join(" ", AGENT_JVM_FLAGS));
        settings.put("iperf_seconds", (long) iperfSeconds);
        settings.put("iperf_repeats", (long) iperfRepeats);
        settings.put("convergence_samples", (long) samples);
        settings.put("idle_seconds", (long) idleSeconds);
        settings.put(
                "cpu_accounting",
                "cpu_s_per_gbit: the iperf3 client's and server's CPU time (iperf3's "
                        + "cpu_utilization_percent host_total + remote_total, user + system, which holds the softirq work done in "
                        + "their context) plus the ksoftirqd threads' utime + stime over the run, per Gbit received; "
                        + "machine_cpu_s_per_gbit: busy jiffies of /proc/stat (user+nice+system+irq+softirq+steal, all CPUs) over "
                        + "the run, per Gbit, which counts every other job on the machine too (background_cpus: the machine's busy "
                        + "CPUs in the 3 s before the runs)");
        res.put("settings", settings);
        say("machine: " + res.get("cpus") + " CPUs, load " + String.join(" ", loadAvg()) + "; "
                + (quick ? "quick run" : "full run") + " (iperf3 " + iperfRepeats + " × " + iperfSeconds + " s, "
                + samples + " convergence samples, " + idleSeconds + " s idle)");
        List<String> stale = SimulatedCluster.cleanupStale(PREFIX);
        if (!stale.isEmpty()) {
            say("removed " + stale.size() + " namespaces a crashed run left: " + stale);
        }
        Map<String, Object> backends = new LinkedHashMap<>();
        for (String backend : List.of("host-gw", "vxlan")) {
            backends.put(backend, runBackend(backend));
        }
        res.put("backends", backends);
        res.put("load_end", loadAvg());
        res.put("uptime_end", uptime());
        res.put("duration_s", round((System.nanoTime() - started) / 1e9, 1));
        AtomicFiles.write(
                out, (Json.writeIndented(res) + "\n").getBytes(StandardCharsets.UTF_8), "rw-r--r--", "rwxr-xr-x");
        say("written: " + out + " (" + Math.round((System.nanoTime() - started) / 1e9) + " s)");
    }

    private Map<String, Object> runBackend(String backend) throws Exception {
        boolean vxlan = backend.equals("vxlan");
        String prefix = PREFIX + run + (vxlan ? "v" : "h");
        Path simLog = work.resolve(backend + "-sim.log");
        PrintWriter simLogWriter = new PrintWriter(Files.newBufferedWriter(simLog, StandardCharsets.UTF_8), true);
        say(backend + ": building the cluster (3 nodes, etcd with " + ETCD_MEMBERS + " members; namespaces " + prefix
                + "…, log " + simLog + ")");
        checkStopping();
        SimulatedCluster sim = SimulatedCluster.create(prefix, work.resolve("sim-" + backend), Trace.OFF, line -> {
            synchronized (simLogWriter) {
                simLogWriter.println(line);
            }
        });
        current = sim;
        try {
            EtcdMembers etcd = sim.startEtcd(ETCD_MEMBERS);
            etcd.etcdctl(
                    "put",
                    ETCD_PREFIX + "/config",
                    "{\"Network\":\"10.244.0.0/16\",\"Backend\":{\"Type\":\"" + backend + "\",\"VNI\":" + VNI + "}}");
            List<Node> nodes = List.of(sim.addNode("n1", 1), sim.addNode("n2", 2), sim.addNode("n3", 3));
            List<AgentProcess> agents = new ArrayList<>();
            for (Node n : nodes) {
                List<String> cmd = new ArrayList<>(SimulatedCluster.javaCommand(
                        "io.jcni.agent.AgentMain", "agent", "--etcd-endpoints", etcd.endpoints(), "--ip-masq"));
                cmd.addAll(1, AGENT_JVM_FLAGS);
                agents.add(n.startAgent(cmd, work.resolve(backend + "-agent-" + n.name() + ".log")));
            }
            for (int i = 0; i < nodes.size(); i++) {
                awaitReady(nodes.get(i), agents.get(i));
            }
            say(backend
                    + ": agents ready; adding a pod on n1 and on n2 (jcni add, served by the agents' plugin socket)");
            List<String> jcni = List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED",
                    "-XX:+UseSerialGC",
                    "-XX:TieredStopAtLevel=1",
                    "-cp",
                    cliClassPath,
                    "io.jcni.cli.Main");
            Map<String, String> env = Map.of("CNI_PATH", cniBin.toString());
            Pod p1 = nodes.get(0).addPod("n1p1", jcni, env);
            Pod p2 = nodes.get(1).addPod("n2p1", jcni, env);
            if (!sim.awaitPing(p1, p2.ip(), Duration.ofSeconds(10))) {
                throw new IllegalStateException(
                        backend + ": " + p1 + " does not reach " + p2 + "; agent logs in " + work);
            }
            say(backend + ": " + p1 + " reaches " + p2);

            Map<String, Object> r = new LinkedHashMap<>();
            r.put("throughput", throughput(backend, nodes.get(0), nodes.get(1), p1, p2));
            r.put("convergence", convergence(backend, etcd, nodes, agents, vxlan));
            r.put("agent", footprint(backend, etcd, nodes, agents, vxlan));
            return r;
        } finally {
            // an interrupt (Ctrl-C) must not cut short the waits of the cleanup
            boolean interrupted = Thread.interrupted();
            closeCurrent();
            say(backend + ": cluster removed");
            simLogWriter.close();
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Throws once Ctrl-C or SIGTERM asked the run to stop. */
    private void checkStopping() {
        if (stopping || Thread.currentThread().isInterrupted()) {
            throw new IllegalStateException("stopped");
        }
    }

    private void awaitReady(Node node, AgentProcess agent) {
        Path conflist = node.cniConfDir().resolve(Handoff.CONFLIST);
        boolean ready = Procs.await(() -> Files.exists(conflist) || !agent.alive(), Duration.ofSeconds(90));
        if (!ready || !Files.exists(conflist)) {
            throw new IllegalStateException("the agent on " + node.name()
                    + " did not write its conflist within 90 s; its log:\n" + agent.logText());
        }
    }

    /** Removes the running simulation (at its end, on failure, on Ctrl-C); a second call does nothing. */
    private void closeCurrent() {
        SimulatedCluster sim;
        synchronized (this) {
            sim = current;
            current = null;
        }
        if (sim != null) {
            try {
                sim.close();
            } catch (RuntimeException e) {
                System.err.println("cluster-bench: cleanup: " + e.getMessage());
            }
        }
    }

    // ---------------------------------------------------------------- throughput

    private Map<String, Object> throughput(String backend, Node n1, Node n2, Pod p1, Pod p2) {
        // What the rest of the machine burns meanwhile (other jobs share it): stated beside the figures.
        double background = busyCpuSeconds(Duration.ofSeconds(3)) / 3.0;
        Map<String, List<Map<String, Object>>> runs = new LinkedHashMap<>();
        runs.put("underlay", new ArrayList<>());
        runs.put("pod", new ArrayList<>());
        Process underlayServer = iperfServer(n2.netns(), n2.underlayIp());
        Process podServer = iperfServer(p2.netns(), p2.ip());
        try {
            for (int rep = 1; rep <= iperfRepeats; rep++) {
                checkStopping();
                List<String> order = new ArrayList<>(runs.keySet());
                Collections.shuffle(order); // neither path always runs on the warmer machine
                for (String kind : order) {
                    boolean pod = kind.equals("pod");
                    Map<String, Object> one = iperf(pod ? p1.netns() : n1.netns(), pod ? p2.ip() : n2.underlayIp());
                    runs.get(kind).add(one);
                    say(String.format(
                            "%s: iperf3 %s %d/%d: %.2f Gbit/s, %d retransmits, %.3f CPU s/Gbit",
                            backend,
                            pod ? "pod→pod" : "node→node (underlay)",
                            rep,
                            iperfRepeats,
                            (Double) one.get("gbps"),
                            (Long) one.get("retransmits"),
                            (Double) one.get("cpu_s_per_gbit")));
                }
            }
        } finally {
            Procs.kill(underlayServer);
            Procs.kill(podServer);
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("background_cpus", round(background, 3));
        for (Map.Entry<String, List<Map<String, Object>>> e : runs.entrySet()) {
            Map<String, Object> s = new LinkedHashMap<>();
            for (String field : List.of("gbps", "retransmits", "cpu_s_per_gbit", "machine_cpu_s_per_gbit")) {
                s.put(
                        field,
                        round(
                                median(e.getValue().stream()
                                        .map(m -> ((Number) m.get(field)).doubleValue())
                                        .toList()),
                                3));
            }
            s.put("runs", e.getValue());
            r.put(e.getKey(), s);
        }
        Map<?, ?> u = (Map<?, ?>) r.get("underlay"), p = (Map<?, ?>) r.get("pod");
        r.put("ratio_gbps", round((Double) p.get("gbps") / (Double) u.get("gbps"), 3));
        r.put("ratio_cpu_s_per_gbit", round((Double) p.get("cpu_s_per_gbit") / (Double) u.get("cpu_s_per_gbit"), 3));
        say(String.format(
                "%s: median pod→pod %.2f Gbit/s vs underlay %.2f Gbit/s: %.2f×",
                backend, (Double) p.get("gbps"), (Double) u.get("gbps"), (Double) r.get("ratio_gbps")));
        return r;
    }

    /** An iperf3 server in {@code netns}, bound to {@code ip}, listening once this returns. */
    private Process iperfServer(String netns, String ip) {
        Process p;
        try {
            p = new ProcessBuilder(
                            "ip", "netns", "exec", netns, "iperf3", "-s", "-B", ip, "-p", Integer.toString(IPERF_PORT))
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start iperf3 -s in " + netns + ": " + e.getMessage(), e);
        }
        boolean listening = Procs.await(
                () -> !p.isAlive()
                        || Procs.exec(
                                        new ProcessBuilder("ip", "netns", "exec", netns, "ss", "-ltnH"),
                                        Duration.ofSeconds(10))
                                .stdout()
                                .contains(ip + ":" + IPERF_PORT),
                Duration.ofSeconds(10));
        if (!listening || !p.isAlive()) {
            Procs.kill(p);
            throw new IllegalStateException("iperf3 -s in " + netns + " on " + ip + " did not start listening");
        }
        return p;
    }

    /**
     * One iperf3 TCP run from {@code netns} to the server at {@code ip}. Its CPU cost is what the two
     * iperf3 processes used (iperf3's own {@code cpu_utilization_percent}, user + system; with tick
     * accounting the softirq work done in their context, which is most of a veth's and a VXLAN
     * device's, is in their system time) plus what the ksoftirqd threads used meanwhile (the
     * softirq work deferred to them). The machine's busy time from /proc/stat is kept beside it,
     * but on a shared machine it counts every other job too.
     */
    private Map<String, Object> iperf(String netns, String ip) {
        long busy0 = busyJiffies(), soft0 = ksoftirqdTicks();
        ExecResult r = Procs.exec(
                new ProcessBuilder(
                        "ip",
                        "netns",
                        "exec",
                        netns,
                        "iperf3",
                        "-c",
                        ip,
                        "-p",
                        Integer.toString(IPERF_PORT),
                        "-t",
                        Integer.toString(iperfSeconds),
                        "-J"),
                Duration.ofSeconds(iperfSeconds + 60));
        long busy1 = busyJiffies(), soft1 = ksoftirqdTicks();
        Map<String, Object> j;
        try {
            j = Json.parseObject(r.stdout().getBytes(StandardCharsets.UTF_8));
        } catch (JsonException e) {
            throw new IllegalStateException(
                    "iperf3 -c " + ip + " in " + netns + " printed no JSON (exit " + r.exitCode() + "): " + r.output());
        }
        if (j.get("error") != null || !r.ok()) {
            throw new IllegalStateException(
                    "iperf3 -c " + ip + " in " + netns + ": " + j.get("error") + " (exit " + r.exitCode() + ")");
        }
        Map<?, ?> end = (Map<?, ?>) j.get("end");
        Map<?, ?> received = (Map<?, ?>) end.get("sum_received"), sent = (Map<?, ?>) end.get("sum_sent");
        Map<?, ?> cpu = (Map<?, ?>) end.get("cpu_utilization_percent");
        double seconds = num(received.get("seconds"));
        double gbit = num(received.get("bytes")) * 8 / 1e9;
        // percent of one CPU over the test, client (host) and server (remote)
        double iperfCpu = (num(cpu.get("host_total")) + num(cpu.get("remote_total"))) / 100 * seconds;
        double softirqCpu = (soft1 - soft0) / (double) clockTicks;
        double machineCpu = (busy1 - busy0) / (double) clockTicks;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("gbps", round(num(received.get("bits_per_second")) / 1e9, 3));
        m.put("retransmits", (long) num(sent.get("retransmits")));
        m.put("seconds", round(seconds, 3));
        m.put("gbit", round(gbit, 3));
        m.put("iperf_cpu_s", round(iperfCpu, 3));
        m.put("ksoftirqd_cpu_s", round(softirqCpu, 3));
        m.put("cpu_s_per_gbit", round((iperfCpu + softirqCpu) / gbit, 4));
        m.put("machine_cpu_s", round(machineCpu, 3));
        m.put("machine_cpu_s_per_gbit", round(machineCpu / gbit, 4));
        return m;
    }

    /** utime + stime of every ksoftirqd thread, in clock ticks. */
    private static long ksoftirqdTicks() {
        long sum = 0;
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path proc : procs) {
                if (comm(Long.parseLong(proc.getFileName().toString())).startsWith("ksoftirqd/")) {
                    try {
                        sum += cpuTicks(Long.parseLong(proc.getFileName().toString()));
                    } catch (IOException gone) {
                        // not for a kernel thread, but harmless
                    }
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot list /proc: " + e.getMessage(), e);
        }
        return sum;
    }

    /** Busy jiffies of all CPUs from the first line of /proc/stat (idle and iowait excluded). */
    private static long busyJiffies() {
        try {
            String[] f =
                    Files.readAllLines(Path.of("/proc/stat")).getFirst().trim().split("\\s+");
            // cpu user nice system idle iowait irq softirq steal (guest time is counted in user already)
            long busy = 0;
            for (int i : new int[] {1, 2, 3, 6, 7, 8}) {
                busy += Long.parseLong(f[i]);
            }
            return busy;
        } catch (IOException e) {
            throw new IllegalStateException("cannot read /proc/stat: " + e.getMessage(), e);
        }
    }

    /** CPU seconds the machine was busy over {@code d} (sleeping meanwhile). */
    private double busyCpuSeconds(Duration d) {
        long b0 = busyJiffies();
        sleep(d.toMillis());
        return (busyJiffies() - b0) / (double) clockTicks;
    }

    private static long clockTicks() {
        try {
            return Long.parseLong(Procs.exec(new ProcessBuilder("getconf", "CLK_TCK"), Duration.ofSeconds(5))
                    .stdout()
                    .trim());
        } catch (RuntimeException e) {
            return 100; // USER_HZ on every Linux architecture the JDK runs on
        }
    }

    // ---------------------------------------------------------------- convergence

    /** What one peer looks like on a node when programmed: its route, and for vxlan its neighbour and FDB entry. */
    private record Peer(IpPrefix subnet, IpAddress publicIp, MacAddress mac) {
        String putCommand() {
            return "put " + subnet + " " + publicIp + (mac == null ? "" : " " + mac + " " + VNI);
        }
    }

    private Map<String, Object> convergence(
            String backend, EtcdMembers etcd, List<Node> nodes, List<AgentProcess> agents, boolean vxlan)
            throws Exception {
        List<Peer> peers = fakePeers(nodes, samples + 1, vxlan);
        List<Double> toNode1 = new ArrayList<>(),
                toAll = new ArrayList<>(),
                removeAll = new ArrayList<>(),
                passNode1 = new ArrayList<>(),
                passAll = new ArrayList<>(),
                putAck = new ArrayList<>();
        int timeouts = 0;
        // the poller's own CPU: it shares the machine with the agents it waits for
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long pollCpu = 0, pollWall = 0;
        say(backend + ": convergence, " + samples + " leases (+1 warm-up) written by LeaseWriter in " + etcd.netns(1)
                + ", node kernels polled every 1 ms");
        List<RouteNetlink> handles = new ArrayList<>();
        List<NetNs> namespaces = new ArrayList<>();
        try (LeaseWriterProcess writer = new LeaseWriterProcess(etcd)) {
            openAll(nodes, namespaces, handles);
            for (int i = 0; i < peers.size(); i++) {
                checkStopping();
                boolean warmUp = i == 0;
                Peer peer = peers.get(i);
                long[] put = writer.command(peer.putCommand());
                long cpu0 = threads.getCurrentThreadCpuTime(), wall0 = System.nanoTime();
                long[] seen = awaitOnAll(handles, peer, true, put[1]);
                long cpu1 = threads.getCurrentThreadCpuTime(), wall1 = System.nanoTime();
                double[] passes = new double[nodes.size()];
                for (int k = 0; k < nodes.size(); k++) {
                    passes[k] = passMillis(agents.get(k), "joined with " + peer.subnet());
                }
                long[] del = writer.command("del " + peer.subnet());
                long cpu2 = threads.getCurrentThreadCpuTime(), wall2 = System.nanoTime();
                long[] gone = awaitOnAll(handles, peer, false, del[1]);
                if (warmUp) {
                    continue;
                }
                pollCpu += (cpu1 - cpu0) + (threads.getCurrentThreadCpuTime() - cpu2);
                pollWall += (wall1 - wall0) + (System.nanoTime() - wall2);
                boolean timedOut = seen == null || gone == null;
                if (timedOut) {
                    timeouts++;
                    say(backend + ": sample " + i + "/" + samples + ": TIMED OUT after "
                            + CONVERGENCE_TIMEOUT.toSeconds() + " s");
                    continue;
                }
                double first = (seen[0] - put[1]) / 1e6, last = 0, removed = 0;
                for (int k = 0; k < nodes.size(); k++) {
                    last = Math.max(last, (seen[k] - put[1]) / 1e6);
                    removed = Math.max(removed, (gone[k] - del[1]) / 1e6);
                }
                double slowestPass = 0;
                for (double p : passes) {
                    slowestPass = Math.max(slowestPass, p);
                }
                toNode1.add(first);
                toAll.add(last);
                removeAll.add(removed);
                putAck.add((put[1] - put[0]) / 1e6);
                if (passes[0] >= 0) {
                    passNode1.add(passes[0]);
                }
                if (allMeasured(passes)) {
                    passAll.add(slowestPass);
                }
                say(String.format(
                        "%s: sample %d/%d: put acked in %.1f ms; programmed on n1 %.1f ms, on all 3 %.1f ms later "
                                + "(n1's pass %.1f ms); removed from all %.1f ms after the delete",
                        backend, i, samples, (put[1] - put[0]) / 1e6, first, last, passes[0], removed));
                // a pause of random length: samples do not fall in step with the agents' 10 s drift check
                sleep(ThreadLocalRandom.current().nextLong(100, 400));
            }
        } finally {
            for (RouteNetlink h : handles) {
                h.close();
            }
            for (NetNs ns : namespaces) {
                ns.close();
            }
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("samples", (long) toNode1.size());
        r.put("timeouts", (long) timeouts);
        r.put("put_ack_ms", dist(putAck));
        r.put("to_node1_ms", dist(toNode1));
        r.put("to_all_nodes_ms", dist(toAll));
        r.put("agent_pass_node1_ms", dist(passNode1));
        r.put("agent_pass_slowest_node_ms", dist(passAll));
        r.put("removed_all_nodes_ms", dist(removeAll));
        r.put("poller_cpu_share", pollWall == 0 ? null : round((double) pollCpu / pollWall, 3));
        say(String.format(
                "%s: lease → programmed on n1: p50 %.1f ms, p90 %.1f ms, max %.1f ms; agent's pass p50 %.1f ms; "
                        + "the poller used %.0f%% of a CPU",
                backend,
                (Double) dist(toNode1).get("p50"),
                (Double) dist(toNode1).get("p90"),
                (Double) dist(toNode1).get("max"),
                (Double) dist(passNode1).get("p50"),
                pollWall == 0 ? 0.0 : 100.0 * pollCpu / pollWall));
        return r;
    }

    private static boolean allMeasured(double[] v) {
        for (double d : v) {
            if (d < 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * {@code count} leases no node holds: subnets from 10.244.250.0/24 down, fake public IPs from
     * 198.18.0.200 up (on the underlay, where no one answers: nothing is ever sent to them), VTEP
     * MACs locally administered.
     */
    private static List<Peer> fakePeers(List<Node> nodes, int count, boolean vxlan) throws IOException {
        Set<IpPrefix> taken = new HashSet<>();
        for (Node n : nodes) {
            taken.add(nodeSubnet(n));
        }
        List<Peer> out = new ArrayList<>();
        for (int third = 250; out.size() < count; third--) {
            IpPrefix subnet = IpPrefix.parse("10.244." + third + ".0/24");
            if (taken.contains(subnet)) {
                continue;
            }
            int k = out.size();
            MacAddress mac = vxlan ? MacAddress.parse(String.format("0a:6a:62:00:00:%02x", k + 1)) : null;
            out.add(new Peer(subnet, IpAddress.parse("198.18.0." + (200 + k)), mac));
        }
        return out;
    }

    /** The node's pod subnet, from the subnet.env its agent wrote ({@code JCNI_SUBNET=10.244.1.1/24}). */
    static IpPrefix nodeSubnet(Node n) throws IOException {
        for (String line : Files.readAllLines(n.runDir().resolve("subnet.env"))) {
            if (line.startsWith("JCNI_SUBNET=")) {
                return IpPrefix.parse(line.substring("JCNI_SUBNET=".length()).trim())
                        .network();
            }
        }
        throw new IllegalStateException(n.name() + ": no JCNI_SUBNET in its subnet.env");
    }

    /**
     * Polls every node's kernel every millisecond until {@code peer} is programmed ({@code present}:
     * all its objects) or gone ({@code !present}: none left) everywhere: the {@link System#nanoTime()}
     * at which each node was first seen so, or null when {@link #CONVERGENCE_TIMEOUT} passed first.
     */
    private static long[] awaitOnAll(List<RouteNetlink> nodes, Peer peer, boolean present, long since) {
        long[] at = new long[nodes.size()];
        int left = nodes.size();
        long deadline = since + CONVERGENCE_TIMEOUT.toNanos();
        while (left > 0) {
            for (int k = 0; k < nodes.size(); k++) {
                if (at[k] == 0 && reached(nodes.get(k), peer, present)) {
                    at[k] = System.nanoTime();
                    left--;
                }
            }
            if (left > 0) {
                if (System.nanoTime() - deadline > 0) {
                    return null;
                }
                if (Thread.currentThread().isInterrupted()) {
                    throw new IllegalStateException("stopped"); // parkNanos returns at once from now on
                }
                LockSupport.parkNanos(1_000_000);
            }
        }
        return at;
    }

    /**
     * Whether the node's kernel has all of {@code peer}'s objects ({@code present}) or none of them
     * ({@code !present}): its route (protocol {@link Dataplane#ROUTE_PROTOCOL}) and, for vxlan, its
     * neighbour and FDB entry. The route is read first and decides most polls alone: the agent
     * programs it last and removes it first, so the other two are read only when it could be done.
     */
    private static boolean reached(RouteNetlink nl, Peer peer, boolean present) {
        boolean route = false;
        for (Route r : nl.routes().list(Rtnl.AF_INET, Rtnl.RT_TABLE_MAIN)) {
            if (r.protocol() == Dataplane.ROUTE_PROTOCOL && peer.subnet().equals(r.destination())) {
                route = true;
                break;
            }
        }
        if (route != present) {
            return false;
        }
        if (peer.mac() == null) {
            return true;
        }
        String device = Dataplane.vxlanDevice(VNI);
        boolean neighbour = false, fdb = false;
        for (Neighbour n : nl.neighbours().list(device)) {
            if (peer.subnet().address().equals(n.address()) && peer.mac().equals(n.mac()) && n.isPermanent()) {
                neighbour = true;
                break;
            }
        }
        for (FdbEntry e : nl.neighbours().listFdb(device)) {
            if (peer.mac().equals(e.mac()) && peer.publicIp().equals(e.dst())) {
                fdb = true;
                break;
            }
        }
        return present ? neighbour && fdb : !neighbour && !fdb;
    }

    private static final Pattern PASS = Pattern.compile("changes in ([0-9.]+) ms");

    /**
     * The agent's own time for the pass that followed {@code reason}, from its log line
     * ({@code … joined with 10.244.250.0/24: 3 peers, 3 changes in 1.2 ms}, where several reasons
     * of one pass are listed with commas); -1 when the line did not appear within 5 s.
     */
    static double passMillis(AgentProcess agent, String reason) {
        double[] found = {-1};
        Procs.await(
                () -> {
                    for (String line : agent.logText().split("\n")) {
                        if (line.contains(reason + ":") || line.contains(reason + ",")) {
                            Matcher m = PASS.matcher(line);
                            if (m.find()) {
                                found[0] = Double.parseDouble(m.group(1));
                                return true;
                            }
                        }
                    }
                    return false;
                },
                Duration.ofSeconds(5));
        return found[0];
    }

    /** {@link LeaseWriter} running in etcd member 1's namespace, one command at a time. */
    static final class LeaseWriterProcess implements AutoCloseable {
        private final Process process;
        private final BufferedWriter in;
        private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

        LeaseWriterProcess(EtcdMembers etcd) throws IOException, InterruptedException {
            List<String> cmd = new ArrayList<>(List.of("nsenter", "--net=" + NamedNetns.pathOf(etcd.netns(1)), "--"));
            cmd.addAll(SimulatedCluster.javaCommand(LeaseWriter.class.getName(), etcd.endpoints(), ETCD_PREFIX));
            process = new ProcessBuilder(cmd)
                    .redirectError(ProcessBuilder.Redirect.INHERIT)
                    .start();
            in = new BufferedWriter(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8));
            Thread.ofVirtual().start(() -> {
                try (BufferedReader r =
                        new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String l = r.readLine(); l != null; l = r.readLine()) {
                        lines.add(l);
                    }
                } catch (IOException ignored) {
                    // the process ended
                }
            });
            String first = lines.poll(60, TimeUnit.SECONDS);
            if (!"ready".equals(first)) {
                close();
                throw new IllegalStateException("LeaseWriter did not get ready: " + first);
            }
        }

        /** Sends one command; returns the nanoTimes before the request and after etcd's answer. */
        long[] command(String command) throws IOException, InterruptedException {
            in.write(command + "\n");
            in.flush();
            String answer = lines.poll(300, TimeUnit.SECONDS); // a fill of thousands of leases takes a while
            if (answer == null || !answer.startsWith("ok ")) {
                throw new IllegalStateException(
                        "LeaseWriter: " + command + ": " + (answer == null ? "no answer in 300 s" : answer));
            }
            String[] w = answer.split(" ");
            return new long[] {Long.parseLong(w[1]), Long.parseLong(w[2])};
        }

        @Override
        public void close() {
            try {
                in.close(); // end of input ends it
            } catch (IOException ignored) {
                // gone already
            }
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    Procs.kill(process);
                }
            } catch (InterruptedException e) {
                Procs.kill(process);
                Thread.currentThread().interrupt();
            }
        }
    }

    /** A netlink handle on each node's namespace (the namespaces kept open beside them, for closing). */
    private static void openAll(List<Node> nodes, List<NetNs> namespaces, List<RouteNetlink> handles) {
        for (Node n : nodes) {
            NetNs ns = NetNs.openNamed(n.netns());
            namespaces.add(ns);
            handles.add(RouteNetlink.open(ns, Trace.OFF));
        }
    }

    // ---------------------------------------------------------------- the agent's footprint

    private Map<String, Object> footprint(
            String backend, EtcdMembers etcd, List<Node> nodes, List<AgentProcess> agents, boolean vxlan)
            throws Exception {
        // a third peer for every agent (two real nodes and this one), held while measuring
        Peer third = fakePeers(nodes, samples + 2, vxlan).getLast();
        List<RouteNetlink> handles = new ArrayList<>();
        List<NetNs> namespaces = new ArrayList<>();
        try (LeaseWriterProcess writer = new LeaseWriterProcess(etcd)) {
            openAll(nodes, namespaces, handles);
            long[] put = writer.command(third.putCommand());
            if (awaitOnAll(handles, third, true, put[1]) == null) {
                throw new IllegalStateException(backend + ": the third peer " + third.subnet()
                        + " was not programmed within " + CONVERGENCE_TIMEOUT.toSeconds() + " s");
            }
        } finally {
            for (RouteNetlink h : handles) {
                h.close();
            }
            for (NetNs ns : namespaces) {
                ns.close();
            }
        }
        sleep(2000);
        Map<String, Object> rss = new LinkedHashMap<>(),
                anon = new LinkedHashMap<>(),
                hwm = new LinkedHashMap<>(),
                cpu = new LinkedHashMap<>(),
                threads = new LinkedHashMap<>();
        long[] pids = new long[agents.size()];
        long[] ticks0 = new long[agents.size()];
        List<Map<Long, ThreadTicks>> threads0 = new ArrayList<>();
        for (int k = 0; k < agents.size(); k++) {
            pids[k] = javaPid(agents.get(k));
            rss.put(nodes.get(k).name(), status(pids[k], "VmRSS"));
            anon.put(nodes.get(k).name(), status(pids[k], "RssAnon"));
            hwm.put(nodes.get(k).name(), status(pids[k], "VmHWM"));
        }
        say(backend + ": agents' RSS with 3 peers (KiB): " + rss + "; measuring their CPU over " + idleSeconds
                + " s idle ...");
        long b0 = busyJiffies();
        for (int k = 0; k < agents.size(); k++) {
            ticks0[k] = cpuTicks(pids[k]);
            threads0.add(threadTicks(pids[k]));
        }
        long t0 = System.nanoTime();
        sleep(idleSeconds * 1000L);
        double elapsed = (System.nanoTime() - t0) / 1e9;
        for (int k = 0; k < agents.size(); k++) {
            cpu.put(nodes.get(k).name(), round((cpuTicks(pids[k]) - ticks0[k]) * 1000.0 / clockTicks, 1));
            threads.put(nodes.get(k).name(), busiestThreads(threads0.get(k), threadTicks(pids[k]), 5));
        }
        double background = (busyJiffies() - b0) / (double) clockTicks / elapsed;
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("peers", 3L);
        r.put("rss_kib", rss);
        r.put("rss_anon_kib", anon);
        r.put("hwm_kib", hwm);
        r.put("idle_seconds", round(elapsed, 1));
        r.put("idle_cpu_ms", cpu);
        r.put("idle_cpu_ms_by_thread", threads);
        r.put("machine_busy_cpus_meanwhile", round(background, 3));
        say(backend + ": agents' CPU over " + Math.round(elapsed) + " s idle (ms): " + cpu + "; n1's busiest threads: "
                + threads.get(nodes.getFirst().name()));
        return r;
    }

    record ThreadTicks(String name, long ticks) {}

    /** Every thread of {@code pid}: its name (/proc/PID/task/TID/comm, a Java thread's name cut to 15 characters) and CPU ticks. */
    static Map<Long, ThreadTicks> threadTicks(long pid) throws IOException {
        Map<Long, ThreadTicks> m = new LinkedHashMap<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path t : tasks) {
                try {
                    String stat = Files.readString(t.resolve("stat"));
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    m.put(
                            Long.parseLong(t.getFileName().toString()),
                            new ThreadTicks(
                                    Files.readString(t.resolve("comm")).trim(),
                                    Long.parseLong(f[11]) + Long.parseLong(f[12])));
                } catch (IOException exited) {
                    // the thread ended meanwhile
                }
            }
        }
        return m;
    }

    /** The {@code top} thread names that used the most CPU between two readings, in ms (threads of one name summed). */
    private Map<String, Object> busiestThreads(Map<Long, ThreadTicks> before, Map<Long, ThreadTicks> after, int top) {
        Map<String, Long> byName = new LinkedHashMap<>();
        for (Map.Entry<Long, ThreadTicks> e : after.entrySet()) {
            ThreadTicks b = before.get(e.getKey());
            long d = e.getValue().ticks() - (b == null ? 0 : b.ticks());
            if (d > 0) {
                byName.merge(e.getValue().name(), d, Long::sum);
            }
        }
        Map<String, Object> m = new LinkedHashMap<>();
        byName.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .limit(top)
                .forEach(e -> m.put(e.getKey(), round(e.getValue() * 1000.0 / clockTicks, 1)));
        return m;
    }

    /** The agent's JVM: the process started on the node is it (nsenter execs), or else its java descendant. */
    static long javaPid(AgentProcess agent) {
        if ("java".equals(comm(agent.pid()))) {
            return agent.pid();
        }
        return ProcessHandle.of(agent.pid()).stream()
                .flatMap(ProcessHandle::descendants)
                .filter(h -> "java".equals(comm(h.pid())))
                .findFirst()
                .orElseThrow(() -> new IllegalStateException("no java process under " + agent))
                .pid();
    }

    private static String comm(long pid) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(pid), "comm"))
                    .trim();
        } catch (IOException e) {
            return "";
        }
    }

    /** A field of /proc/PID/status in KiB ({@code VmRSS: 81234 kB}). */
    static long status(long pid, String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.substring(field.length() + 1).trim().split("\\s+")[0]);
            }
        }
        throw new IllegalStateException("no " + field + " in /proc/" + pid + "/status");
    }

    /** utime + stime of the process (all its threads), in clock ticks, from /proc/PID/stat. */
    static long cpuTicks(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        // the command name (field 2) may hold spaces: count the fields after its closing parenthesis
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]); // fields 14 and 15
    }

    // ---------------------------------------------------------------- plumbing

    /** p50, p90 (nearest rank), min, max and every sample, in ms. */
    static Map<String, Object> dist(List<Double> v) {
        Map<String, Object> m = new LinkedHashMap<>();
        List<Double> s = new ArrayList<>(v);
        Collections.sort(s);
        m.put("n", (long) s.size());
        m.put("p50", s.isEmpty() ? null : round(rank(s, 0.5), 2));
        m.put("p90", s.isEmpty() ? null : round(rank(s, 0.9), 2));
        m.put("min", s.isEmpty() ? null : round(s.getFirst(), 2));
        m.put("max", s.isEmpty() ? null : round(s.getLast(), 2));
        m.put("samples", v.stream().map(x -> (Object) round(x, 2)).toList());
        return m;
    }

    static double rank(List<Double> sorted, double p) {
        int i = (int) Math.ceil(p * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i)));
    }

    private static double median(List<Double> v) {
        List<Double> s = new ArrayList<>(v);
        Collections.sort(s);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    static double round(double v, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }

    private static double num(Object o) {
        return ((Number) o).doubleValue();
    }

    private static List<String> loadAvg() {
        try {
            return List.of(Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+"))
                    .subList(0, 3);
        } catch (IOException e) {
            return List.of();
        }
    }

    private static String uptime() {
        try {
            return Procs.exec(new ProcessBuilder("uptime"), Duration.ofSeconds(5))
                    .stdout()
                    .trim();
        } catch (RuntimeException e) {
            return "";
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private void say(String line) {
        System.err.printf("[%4ds] %s%n", Math.round((System.nanoTime() - started) / 1e9), line);
    }
}
