package io.jcni.agent;

import io.jcni.agent.sim.AgentProcess;
import io.jcni.agent.sim.EtcdMembers;
import io.jcni.agent.sim.ExecResult;
import io.jcni.agent.sim.Node;
import io.jcni.agent.sim.Pod;
import io.jcni.agent.sim.SimulatedCluster;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ip.MacAddress;
import io.jcni.netlink.nft.NftChain;
import io.jcni.netlink.nft.NftRule;
import io.jcni.netlink.nft.Nftables;
import io.jcni.netlink.ns.NamedNetns;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.probe.Ping;
import io.jcni.netlink.probe.TcpProbe;
import io.jcni.netlink.route.FdbEntry;
import io.jcni.netlink.route.Link;
import io.jcni.netlink.route.Neighbour;
import io.jcni.netlink.route.Route;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.netlink.route.Rtnl;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * {@code jcni demo --cluster}: three Kubernetes nodes simulated on this machine ({@link SimulatedCluster}),
 * one etcd member on their underlay, a real {@code jcni agent} on each node and one pod per node
 * made by {@code jcni add} from the conflist the agent wrote; then the checks a cluster network
 * must pass: every pod pings every other pod across the nodes, a pod sees the other pod's own
 * address (no NAT) and the outside host sees the node's (masquerade). Each step is printed as the
 * {@code ip}/{@code bridge}/{@code etcdctl}/{@code nft} command that does the same, and what the
 * agent programmed is read back from the kernel through netlink.
 *
 * <p>Everything it creates is named with its prefix ({@value #PREFIX}) and lives in its
 * directory ({@value #ROOT}); both are removed at the end, on a failure and on SIGINT/SIGTERM,
 * unless {@code --keep} (then {@code --cleanup} removes them).
 */
public final class ClusterDemo {
    static final String USAGE = """
            Usage: jcni demo --cluster [--backend host-gw|vxlan|both] [--keep] [--slow MS]
                   jcni demo --cluster --cleanup      remove a cluster kept with --keep

              --backend B   host-gw, vxlan, or both (default): host-gw first, then vxlan, each on a
                            fresh cluster
              --keep        leave the (last) cluster running, and print how to look at it
              --slow MS     pause MS milliseconds after each step, to watch it happen

            Builds, as root, on this machine and nowhere else:
              namespaces  %1$sul (the underlay bridge ul0, 198.18.0.0/24, RFC 2544's lab range),
                          %1$sout (the outside host, 198.18.0.254), %1$se1 (etcd, 198.18.0.2),
                          %1$sn1..n3 (nodes, eth0 198.18.0.11-13, each with private
                          /etc/cni/net.d, /run/jcni, /var/lib/cni), %1$spod1..pod3 (pods)
              processes   etcd, and jcni agent on each node, inside those namespaces
              files       %2$s
            The host's own network namespace is never changed. Needs etcd and etcdctl
            (Debian: apt-get install etcd-server etcd-client).
            """;

    /** Starts the name of every namespace the demo creates. */
    static final String PREFIX = "jcni-cl-";
    /** Holds the plugins, the nodes' directories and etcd's data: a fixed place, so --cleanup finds a kept cluster. */
    static final Path ROOT = Path.of("/var/tmp/jcni-demo-cluster");

    static final String ETCD_PREFIX = "/jcni.io/network";
    static final String POD_NETWORK = "10.244.0.0/16";
    static final int NODES = 3;
    static final int VNI = 1;
    /** The port the TCP checks listen on, inside a pod's or the outside host's namespace. */
    static final int TCP_PORT = 8080;

    static final Duration AGENT_READY = Duration.ofSeconds(60);
    static final Duration CONVERGED = Duration.ofSeconds(15);
    private static final String HOST_GW = "host-gw", VXLAN = "vxlan";
    private static final String INDENT = "        ";

    private final PrintStream out;
    private final PrintStream err;
    private final String prefix;
    private final Path root;
    /** How to run jcni's CLI (null: {@code <jcni.home>/bin/jcni}). */
    private final List<String> cliOverride;
    /** Where {@code jcni install} takes the jars from (null: the CLI's default, the build's). */
    private final Path installFrom;

    private final Trace trace;
    private final List<String> simLog = Collections.synchronizedList(new ArrayList<>());
    private final List<Long> startedPids = Collections.synchronizedList(new ArrayList<>());
    private final List<Check> checks = new ArrayList<>();
    private final CountDownLatch finished = new CountDownLatch(1);
    private volatile SimulatedCluster current;
    private volatile boolean interrupted;
    private long slowMillis;
    private int stepNumber;

    public ClusterDemo(PrintStream out, PrintStream err) {
        this(out, err, PREFIX, ROOT, null, null);
    }

    /**
     * For tests: another prefix and directory, and the CLI given as a command (e.g.
     * {@code SimulatedCluster.javaCommand("io.jcni.cli.Main")}) with the jars to install from.
     */
    ClusterDemo(PrintStream out, PrintStream err, String prefix, Path root, List<String> cli, Path installFrom) {
        this.out = out;
        this.err = err;
        this.prefix = prefix;
        this.root = root.toAbsolutePath().normalize();
        this.cliOverride = cli == null ? null : List.copyOf(cli);
        this.installFrom = installFrom;
        this.trace = new Trace() {
            @Override
            public void command(String commandLine) {
                out.println(INDENT + "$ " + commandLine);
            }
        };
    }

    /** One check's outcome, for the summary. */
    record Check(String backend, String what, boolean ok) {}

    /** The user stopped the demo (SIGINT/SIGTERM): what is running is being removed. */
    private static final class Interrupted extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Interrupted() {
            super("interrupted");
        }
    }

    /** The pids of every process the demo started (etcd, the nodes' init processes, the agents), for tests. */
    List<Long> startedPids() {
        synchronized (startedPids) {
            return List.copyOf(startedPids);
        }
    }

    /** Exit codes as the CLI's: 0 every check passed, 1 a check or a step failed, 2 bad usage. */
    public int run(List<String> args) {
        List<String> backends = List.of(HOST_GW, VXLAN);
        boolean keep = false;
        boolean cleanup = false;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            switch (a) {
                case "--cluster" -> {}
                case "--keep" -> keep = true;
                case "--cleanup" -> cleanup = true;
                case "--help", "-h" -> {
                    out.printf(USAGE, prefix, root);
                    return 0;
                }
                case "--backend" -> {
                    String b = i + 1 < args.size() ? args.get(++i) : "";
                    switch (b) {
                        case HOST_GW -> backends = List.of(HOST_GW);
                        case VXLAN -> backends = List.of(VXLAN);
                        case "both" -> backends = List.of(HOST_GW, VXLAN);
                        default -> {
                            return usageError("--backend takes host-gw, vxlan or both, not \"" + b + "\"");
                        }
                    }
                }
                case "--slow" -> {
                    String ms = i + 1 < args.size() ? args.get(++i) : "";
                    try {
                        slowMillis = Long.parseLong(ms);
                    } catch (NumberFormatException e) {
                        slowMillis = -1;
                    }
                    if (slowMillis < 0) {
                        return usageError("--slow takes a number of milliseconds, not \"" + ms + "\"");
                    }
                }
                default -> {
                    return usageError("unexpected argument \"" + a + "\"");
                }
            }
        }
        if (cleanup) {
            return cleanupKept();
        }
        List<String> cli;
        try {
            cli = cliCommand();
            preflight();
        } catch (IllegalStateException e) {
            err.println("jcni demo --cluster: " + e.getMessage());
            return 1;
        }
        boolean keepNow = keep;
        Thread hook = Thread.ofPlatform().name("jcni-cluster-demo-interrupted").unstarted(() -> {
            interrupted = true;
            err.println();
            err.println("Interrupted: removing what the demo created.");
            SimulatedCluster c = current;
            if (c != null) {
                // ends the processes, so whatever the main thread waits for returns at once
                closeQuietly(c);
            }
            try {
                finished.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException ignored) {
                // exiting anyway
            }
            // the main thread may have been creating a namespace while the cluster closed
            sweep();
        });
        Runtime.getRuntime().addShutdownHook(hook);
        boolean kept = false;
        try {
            intro(backends);
            installPlugins(cli);
            for (int i = 0; i < backends.size(); i++) {
                boolean last = i == backends.size() - 1;
                runBackend(backends.get(i), cli, keepNow && last);
                if (interrupted) {
                    throw new Interrupted();
                }
            }
            boolean pass = summary(backends);
            kept = keepNow && current != null;
            if (kept) {
                printKept(current, backends.getLast(), cli);
                // as after this JVM exits: --cleanup (here or in another process) must see it as nobody's
                current.abandon();
            }
            return pass ? 0 : 1;
        } catch (Interrupted e) {
            return 1;
        } catch (RuntimeException e) {
            err.println("jcni demo --cluster: " + e.getMessage());
            return 1;
        } finally {
            if (!kept) {
                SimulatedCluster c = current;
                if (c != null) {
                    closeCluster(c);
                }
                sweep();
            }
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs: it waited for 'finished' and sweeps once more
            }
        }
    }

    private int usageError(String message) {
        err.println("jcni demo --cluster: " + message + " (see jcni demo --cluster --help)");
        return 2;
    }

    /** {@code <jcni.home>/bin/jcni}, which bin/jcni names as {@code -Djcni.home}, or the override. */
    private List<String> cliCommand() {
        if (cliOverride != null) {
            return cliOverride;
        }
        String home = System.getProperty("jcni.home");
        if (home == null || home.isBlank()) {
            throw new IllegalStateException(
                    "cannot find jcni's CLI (jcni.home is not set): run it as bin/jcni demo --cluster");
        }
        Path jcni = Path.of(home, "bin", "jcni");
        if (!Files.isExecutable(jcni)) {
            throw new IllegalStateException(
                    jcni + " is not there: run it as bin/jcni demo --cluster from jcni's directory");
        }
        return List.of(jcni.toString());
    }

    /** Stops before creating anything when a tool is missing or a previous demo is still there. */
    private void preflight() {
        if (!root()) {
            throw new IllegalStateException(
                    "run it as root: it creates network namespaces and starts etcd and an agent in them");
        }
        for (String tool : List.of("etcd", "etcdctl")) {
            if (onPath(tool) == null) {
                throw new IllegalStateException(
                        tool + " is not installed; the demo runs a local etcd. On Debian or Ubuntu: "
                                + "apt-get install etcd-server etcd-client");
            }
        }
        List<String> left = namespacesWithPrefix();
        if (!left.isEmpty()) {
            throw new IllegalStateException("namespaces of an earlier demo are still there (" + String.join(", ", left)
                    + "; kept with --keep?): remove them with: bin/jcni demo --cluster --cleanup");
        }
        if (Files.exists(root)) {
            throw new IllegalStateException(root + " already exists (a demo kept with --keep?): remove it with: "
                    + "bin/jcni demo --cluster --cleanup");
        }
    }

    /** Whether the effective uid is 0: without root the first namespace would fail, after the plugins were installed. */
    private static boolean root() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.UTF_8)) {
                if (line.startsWith("Uid:")) {
                    return line.substring(4).trim().split("\\s+")[1].equals("0");
                }
            }
        } catch (IOException | RuntimeException e) {
            // cannot tell: let the kernel say no
        }
        return true;
    }

    private static Path onPath(String tool) {
        String path = System.getenv("PATH");
        for (String dir : (path == null ? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" : path)
                .split(File.pathSeparator)) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, tool);
            if (Files.isExecutable(p) && !Files.isDirectory(p)) {
                return p;
            }
        }
        return null;
    }

    private List<String> namespacesWithPrefix() {
        return NamedNetns.list().stream()
                .filter(n -> n.startsWith(prefix))
                .sorted()
                .toList();
    }

    // ---- the story ----

    private void intro(List<String> backends) {
        out.println("jcni demo --cluster: three Kubernetes nodes on this machine, each running jcni agent, and pods");
        out.println("on them reaching each other across the nodes, over " + String.join(", then ", backends) + ".");
        out.println("Each node is a network namespace on a shared underlay, as kind makes them with containers.");
        out.println(
                "Lines starting with $ are the equivalent commands: jcni changes the network through netlink itself.");
    }

    private void installPlugins(List<String> cli) {
        header("The CNI plugins, installed once for every node (the agent serves them on its socket)");
        Path cniBin = root.resolve("cni-bin"), lib = root.resolve("lib");
        List<String> args = new ArrayList<>(
                List.of("install", "--dir", cniBin.toString(), "--lib-dir", lib.toString(), "--no-aot-cache"));
        if (installFrom != null) {
            args.addAll(List.of("--from", installFrom.toString()));
        }
        cmd("jcni " + String.join(" ", args));
        try {
            Files.createDirectories(root);
        } catch (IOException e) {
            throw new IllegalStateException("cannot create " + root + ": " + e.getMessage(), e);
        }
        List<String> command = new ArrayList<>(cli);
        command.addAll(args);
        ExecResult r = execOnHost(command, Duration.ofSeconds(120));
        if (!r.ok()) {
            throw new IllegalStateException(
                    "jcni install exited " + r.exitCode() + ": " + r.output().strip());
        }
    }

    private void runBackend(String backend, List<String> cli, boolean keepIt) {
        stepNumber = 0;
        out.println();
        out.println("======== " + backend + ": "
                + (backend.equals(HOST_GW)
                        ? "a route per peer node, via the peer's address on the shared underlay"
                        : "a VXLAN overlay (device " + Dataplane.vxlanDevice(VNI)
                                + "), a route, a neighbour and an FDB entry per peer")
                + " ========");
        List<Check> before = List.copyOf(checks);
        SimulatedCluster sim = null;
        try {
            step("The underlay: one L2 segment for the nodes (bridge " + SimulatedCluster.UNDERLAY_BRIDGE + ", "
                    + SimulatedCluster.UNDERLAY_SUBNET + ") and an 'outside' host at " + SimulatedCluster.OUTSIDE_IP
                    + ", every node's default gateway");
            simLog.clear();
            sim = SimulatedCluster.create(prefix, root.resolve("sim"), trace, this::simLine);
            current = sim;
            checkInterrupted();

            step("etcd: one member, in a namespace of its own on the underlay");
            EtcdMembers etcd = sim.startEtcd(1);
            startedPids.add(etcd.pid(1));
            note("etcd is healthy at " + etcd.endpoints()
                    + " (the host's own namespace is not on the underlay: it cannot reach it)");

            step("The pod network's configuration, written to etcd in flannel's format");
            String config = "{\"Network\":\"" + POD_NETWORK + "\",\"Backend\":{\"Type\":\"" + backend + "\"}}";
            cmd(etcdctlLine(sim, etcd, "put " + ETCD_PREFIX + "/config '" + config + "'"));
            etcd.etcdctl("put", ETCD_PREFIX + "/config", config);

            step(
                    "Three nodes: a network namespace each, eth0 on the underlay, and their own /etc/cni/net.d, /run/jcni, /var/lib/cni");
            List<Node> nodes = new ArrayList<>();
            for (int i = 1; i <= NODES; i++) {
                Node n = sim.addNode("n" + i, i);
                startedPids.add(n.initPid());
                nodes.add(n);
            }

            step(
                    "jcni agent on every node: it leases the node a subnet, routes to the others, then writes the conflist");
            Map<Node, AgentProcess> agents = new LinkedHashMap<>();
            long started = System.currentTimeMillis();
            for (Node n : nodes) {
                agents.put(n, startAgent(n, etcd));
            }
            Map<Node, IpPrefix> subnets = new LinkedHashMap<>();
            for (Node n : nodes) {
                awaitReady(n, agents.get(n));
                IpPrefix subnet = subnetOf(n);
                subnets.put(n, subnet);
                note(String.format(
                        "%s (%s): subnet %s, ready %.1f s after its start (it wrote %s/%s)",
                        n.name(),
                        n.underlayIp(),
                        subnet,
                        readyMillis(n, started) / 1000.0,
                        Node.CNI_CONF_DIR,
                        Handoff.CONFLIST));
            }

            step("The leases in etcd: one key per node, kept alive by its agent");
            cmd(etcdctlLine(sim, etcd, "get --prefix " + ETCD_PREFIX + "/subnets/"));
            String[] kv = etcd.etcdctl("get", "--prefix", ETCD_PREFIX + "/subnets/")
                    .strip()
                    .split("\n");
            for (int i = 0; i + 1 < kv.length; i += 2) {
                out.println(INDENT + kv[i] + "  " + kv[i + 1]);
            }

            Node n1 = nodes.getFirst();
            List<Node> peers = nodes.subList(1, nodes.size());
            boolean vxlan = backend.equals(VXLAN);
            awaitProgrammed(n1, peers, subnets, vxlan);
            step("What the agent on " + n1.name() + " changed (its log: each change as the command that makes it)");
            printAgentLog(agents.get(n1));

            step("What " + n1.name() + "'s kernel holds now, read back through netlink");
            showNode(n1, peers, subnets, vxlan);

            step("One pod per node, made by jcni add with the conflist the agent wrote (as kubelet's runtime would)");
            List<Pod> pods = new ArrayList<>();
            Map<String, String> env = Map.of("CNI_PATH", root.resolve("cni-bin").toString());
            for (Node n : nodes) {
                String podName = "pod" + n.name().substring(1);
                Pod p = n.addPod(podName, cli, env);
                cmd("nsenter --target " + n.initPid() + " --net --mount -- env CNI_PATH=" + env.get("CNI_PATH")
                        + " jcni add " + SimulatedCluster.NETWORK + " " + NamedNetns.pathOf(prefix + podName)
                        + " --container-id " + p.containerId());
                note(p.name() + " on " + n.name() + ": " + p.ip() + " (from " + subnets.get(n) + ", by " + n.name()
                        + "'s agent serving jcni-bridge and jcni-host-local on " + Node.RUN_DIR + "/jcni.sock)");
                pods.add(p);
            }
            checkInterrupted();

            step("jcni cluster status on " + n1.name());
            clusterStatus(n1, etcd);

            checks(backend, sim, n1, peers, subnets, pods, vxlan);
        } catch (Interrupted e) {
            throw e;
        } catch (RuntimeException e) {
            if (interrupted) {
                throw new Interrupted();
            }
            err.println("jcni demo --cluster: " + backend + ": " + e.getMessage());
            checks.add(new Check(backend, "the " + backend + " cluster was built (" + e.getMessage() + ")", false));
            diagnose(sim);
        }
        if (checks.stream().skip(before.size()).anyMatch(c -> !c.ok())) {
            diagnose(sim);
        }
        if (sim != null && !keepIt) {
            out.println();
            out.println("Removing the " + backend + " cluster (run with --keep to look at it instead):");
            closeCluster(sim);
        }
    }

    private AgentProcess startAgent(Node n, EtcdMembers etcd) {
        String[] agentArgs = {"agent", "--etcd-endpoints", etcd.endpoints(), "--ip-masq"};
        List<String> command = new ArrayList<>(SimulatedCluster.javaCommand(AgentMain.class.getName(), agentArgs));
        // the options a node's agent ships with (the JVM's defaults would take a quarter of the machine per node)
        command.addAll(1, JvmOptions.agent());
        AgentProcess a = n.startAgent(command, n.dir("agent.log"));
        startedPids.add(a.pid());
        cmd("nsenter --target " + n.initPid() + " --net --mount -- jcni " + String.join(" ", agentArgs) + " &");
        note("pid " + a.pid() + " on " + n.name() + ", log " + a.log());
        return a;
    }

    private void awaitReady(Node n, AgentProcess agent) {
        Path conflist = n.cniConfDir().resolve(Handoff.CONFLIST);
        long deadline = System.nanoTime() + AGENT_READY.toNanos();
        while (!Files.exists(conflist)) {
            checkInterrupted();
            if (!agent.alive()) {
                throw new IllegalStateException(
                        "the agent on " + n.name() + " exited " + agent.exitCode() + ":\n" + tail(agent.logText(), 20));
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("the agent on " + n.name() + " did not write its conflist within "
                        + AGENT_READY.toSeconds() + " s:\n" + tail(agent.logText(), 20));
            }
            sleep(50);
        }
    }

    /** When the agent wrote the node's conflist, in milliseconds after {@code startedMillis}: the moment it called the node ready. */
    private static long readyMillis(Node n, long startedMillis) {
        try {
            return Files.getLastModifiedTime(n.cniConfDir().resolve(Handoff.CONFLIST))
                            .toMillis()
                    - startedMillis;
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the conflist of " + n.name() + ": " + e.getMessage(), e);
        }
    }

    /** The node's subnet from its {@code subnet.env} (JCNI_SUBNET is the bridge's address in it). */
    private static IpPrefix subnetOf(Node n) {
        Path env = n.runDir().resolve("subnet.env");
        try {
            for (String line : Files.readAllLines(env, StandardCharsets.UTF_8)) {
                if (line.startsWith("JCNI_SUBNET=")) {
                    return IpPrefix.parse(
                                    line.substring("JCNI_SUBNET=".length()).trim())
                            .network();
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + env + ": " + e.getMessage(), e);
        }
        throw new IllegalStateException(env + " names no JCNI_SUBNET");
    }

    /** Waits (bounded) until {@code n1} has its entries for every peer: the checks then judge what is there. */
    private void awaitProgrammed(Node n1, List<Node> peers, Map<Node, IpPrefix> subnets, boolean vxlan) {
        long deadline = System.nanoTime() + CONVERGED.toNanos();
        while (System.nanoTime() - deadline < 0) {
            checkInterrupted();
            NodeView v = view(n1);
            boolean done = peers.stream().allMatch(p -> v.routeTo(subnets.get(p)) != null)
                    && (!vxlan || v.neighbours.size() >= peers.size() && v.fdb.size() >= peers.size());
            if (done) {
                return;
            }
            sleep(100);
        }
    }

    private void printAgentLog(AgentProcess agent) {
        for (String line : agent.logText().split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            // "2025-01-01T10:00:00.123Z jcni agent: message" -> "message"; details stay indented
            int at = line.indexOf(" jcni agent: ");
            out.println(INDENT + (at >= 0 ? line.substring(at + " jcni agent: ".length()) : line.strip()));
        }
    }

    /** What a node's kernel holds of the agent's making, read through netlink. */
    private record NodeView(
            List<Route> routes,
            Link vxlanDevice,
            List<Neighbour> neighbours,
            List<FdbEntry> fdb,
            List<NftChain> chains,
            List<NftRule> rules) {
        Route routeTo(IpPrefix subnet) {
            return routes.stream()
                    .filter(r -> r.destination().equals(subnet))
                    .findFirst()
                    .orElse(null);
        }
    }

    private static NodeView view(Node n) {
        return inNetns(n.netns(), ns -> {
            String dev = Dataplane.vxlanDevice(VNI);
            try (RouteNetlink nl = RouteNetlink.open(ns, Trace.OFF);
                    Nftables nft = Nftables.open(ns, Trace.OFF)) {
                List<Route> routes = nl.routes().list(Rtnl.AF_INET, Rtnl.RT_TABLE_MAIN).stream()
                        .filter(r -> r.protocol() == Dataplane.ROUTE_PROTOCOL)
                        .toList();
                Optional<Link> device = nl.links().find(dev);
                List<Neighbour> neighbours = device.isEmpty()
                        ? List.of()
                        : nl.neighbours().list(dev).stream()
                                .filter(x -> x.mac() != null && x.address().isV4())
                                .toList();
                List<FdbEntry> fdb = device.isEmpty()
                        ? List.of()
                        : nl.neighbours().listFdb(dev).stream()
                                .filter(e -> e.isSelf() && e.dst() != null)
                                .toList();
                boolean table = nft.tables().stream()
                        .anyMatch(t -> t.family() == Nftables.INET && t.name().equals(Dataplane.NFT_TABLE));
                List<NftChain> chains = table ? nft.chains(Nftables.INET, Dataplane.NFT_TABLE) : List.of();
                List<NftRule> rules = new ArrayList<>();
                for (NftChain c : chains) {
                    rules.addAll(nft.rules(Nftables.INET, Dataplane.NFT_TABLE, c.name()));
                }
                return new NodeView(routes, device.orElse(null), neighbours, fdb, chains, rules);
            }
        });
    }

    private static <T> T inNetns(String netns, Function<NetNs, T> work) {
        try (NetNs ns = NetNs.openNamed(netns)) {
            return work.apply(ns);
        }
    }

    private void showNode(Node n1, List<Node> peers, Map<Node, IpPrefix> subnets, boolean vxlan) {
        NodeView v = view(n1);
        String ipn = "ip -n " + n1.netns() + " ";
        cmd(ipn + "route show proto " + Dataplane.ROUTE_PROTOCOL);
        for (Route r : v.routes) {
            out.println(INDENT + "  " + r.toIpArgs());
        }
        if (vxlan) {
            String dev = Dataplane.vxlanDevice(VNI);
            cmd(ipn + "-d link show " + dev);
            Link d = v.vxlanDevice;
            if (d == null) {
                out.println(INDENT + "  (no device " + dev + ")");
            } else {
                Link.VxlanInfo x = d.vxlan();
                out.println(INDENT + "  " + dev + ": mtu " + d.mtu() + " link/ether " + d.mac()
                        + (x == null
                                ? ""
                                : " vxlan id " + x.vni() + " local " + x.local() + " dstport " + x.port()
                                        + (x.learning() ? "" : " nolearning")));
            }
            cmd(ipn + "neigh show dev " + dev);
            for (Neighbour nb : v.neighbours) {
                out.println(INDENT + "  " + nb.address() + " lladdr " + nb.mac() + " "
                        + nb.stateName().toUpperCase(java.util.Locale.ROOT));
            }
            cmd("bridge -n " + n1.netns() + " fdb show dev " + dev);
            for (FdbEntry e : v.fdb) {
                out.println(
                        INDENT + "  " + e.mac() + " dst " + e.dst() + " self" + (e.isPermanent() ? " permanent" : ""));
            }
        }
        cmd("ip netns exec " + n1.netns() + " nft list table inet " + Dataplane.NFT_TABLE);
        for (NftChain c : v.chains) {
            out.println(INDENT + "  chain " + c.name()
                    + (c.hook() == null
                            ? ""
                            : " { type " + c.hook().type() + " hook " + c.hook().hook() + " priority "
                                    + c.hook().priority() + " }"));
            for (NftRule r : v.rules) {
                if (r.chain().equals(c.name())) {
                    out.println(INDENT + "    rule: " + r.comment());
                }
            }
        }
        if (v.chains.isEmpty()) {
            out.println(INDENT + "  (no table)");
        }
    }

    private void clusterStatus(Node n1, EtcdMembers etcd) {
        cmd("nsenter --target " + n1.initPid() + " --net --mount -- jcni cluster status --etcd-endpoints "
                + etcd.endpoints());
        ExecResult r = n1.exec(
                SimulatedCluster.javaCommand(
                        AgentMain.class.getName(), "cluster", "status", "--etcd-endpoints", etcd.endpoints()),
                Duration.ofSeconds(60));
        for (String line : r.stdout().strip().split("\n")) {
            out.println(INDENT + "  " + line);
        }
        if (!r.ok()) {
            out.println(INDENT + "  (exited " + r.exitCode() + ": " + r.stderr().strip() + ")");
        }
    }

    // ---- the checks ----

    private void checks(
            String backend,
            SimulatedCluster sim,
            Node n1,
            List<Node> peers,
            Map<Node, IpPrefix> subnets,
            List<Pod> pods,
            boolean vxlan) {
        out.println();
        out.println("Checks (" + backend + "):");
        checkInterrupted();
        NodeView v = view(n1);
        List<String> missing = new ArrayList<>();
        for (Node p : peers) {
            Route r = v.routeTo(subnets.get(p));
            if (r == null) {
                missing.add("no route to " + subnets.get(p));
            } else if (!vxlan && !IpAddress.parse(p.underlayIp()).equals(r.gateway())) {
                missing.add("route to " + subnets.get(p) + " is via " + r.gateway() + ", not " + p.underlayIp());
            }
        }
        report(
                backend,
                n1.name() + " routes each peer's subnet (proto " + Dataplane.ROUTE_PROTOCOL + ")"
                        + (vxlan ? " through " + Dataplane.vxlanDevice(VNI) : " via the peer's address"),
                missing);
        if (vxlan) {
            List<String> wrong = new ArrayList<>();
            for (Node p : peers) {
                IpAddress gw = subnets.get(p).address();
                MacAddress vtep = inNetns(p.netns(), ns -> {
                    try (RouteNetlink nl = RouteNetlink.open(ns, Trace.OFF)) {
                        return nl.links()
                                .find(Dataplane.vxlanDevice(VNI))
                                .map(Link::mac)
                                .orElse(null);
                    }
                });
                boolean neigh = v.neighbours.stream()
                        .anyMatch(x -> x.address().equals(gw) && x.mac().equals(vtep) && x.isPermanent());
                boolean fdb = v.fdb.stream()
                        .anyMatch(e -> e.mac().equals(vtep) && e.dst().equals(IpAddress.parse(p.underlayIp())));
                if (!neigh) {
                    wrong.add("no permanent neighbour " + gw + " -> " + vtep);
                }
                if (!fdb) {
                    wrong.add("no FDB entry " + vtep + " -> " + p.underlayIp());
                }
            }
            report(backend, n1.name() + " has each peer's neighbour (its VTEP MAC) and FDB entry (its address)", wrong);
        }
        pingMatrix(backend, sim, pods);
        out.println(INDENT + "$ ip netns exec " + pods.get(1).netns() + " nc -l "
                + pods.get(1).ip() + " " + TCP_PORT + " &  ip netns exec "
                + pods.get(0).netns() + " nc " + pods.get(1).ip() + " " + TCP_PORT);
        for (int i = 0; i < pods.size(); i++) {
            Pod client = pods.get(i), server = pods.get(i < pods.size() - 1 ? i + 1 : 0);
            checkInterrupted();
            String seen = peerSeen(server.netns(), server.ip(), client.netns());
            boolean ok = client.ip().equals(seen);
            report(
                    backend,
                    ok,
                    String.format(
                                    "%s sees %s's own address %s over TCP (no NAT between pods)",
                                    server.name(), client.name(), client.ip())
                            + (ok ? "" : ": it saw " + (seen == null ? "no connection" : seen)));
        }
        out.println(INDENT + "$ ip netns exec " + sim.outsideNetns() + " nc -l " + SimulatedCluster.OUTSIDE_IP + " "
                + TCP_PORT + " &  ip netns exec " + pods.get(0).netns() + " nc " + SimulatedCluster.OUTSIDE_IP + " "
                + TCP_PORT);
        for (Pod p : pods) {
            checkInterrupted();
            String seen = peerSeen(sim.outsideNetns(), SimulatedCluster.OUTSIDE_IP, p.netns());
            boolean ok = p.node().underlayIp().equals(seen);
            report(
                    backend,
                    ok,
                    String.format(
                                    "the outside host sees %s as its node %s's address %s (masquerade)",
                                    p.name(), p.node().name(), p.node().underlayIp())
                            + (ok ? "" : ": it saw " + (seen == null ? "no connection" : seen)));
        }
    }

    private static String peerSeen(String serverNetns, String serverIp, String clientNetns) {
        try (NetNs server = NetNs.openNamed(serverNetns);
                NetNs client = NetNs.openNamed(clientNetns)) {
            return TcpProbe.peerSeen(server, IpAddress.parse(serverIp), TCP_PORT, client, 3000);
        }
    }

    /** Every pod pings every other pod: a table of round-trip times. */
    private void pingMatrix(String backend, SimulatedCluster sim, List<Pod> pods) {
        String[][] cells = new String[pods.size()][pods.size()];
        List<String> failed = new ArrayList<>();
        int pairs = 0;
        for (int i = 0; i < pods.size(); i++) {
            for (int j = 0; j < pods.size(); j++) {
                if (i == j) {
                    cells[i][j] = "-";
                    continue;
                }
                checkInterrupted();
                pairs++;
                Pod from = pods.get(i), to = pods.get(j);
                // the first echo may wait for the path to settle (ARP on the bridges, the peers' routes)
                long micros = -1;
                if (sim.awaitPing(from, to.ip(), Duration.ofSeconds(10))) {
                    micros = rtt(from, to);
                    cells[i][j] = micros >= 0 ? String.format("%.3f ms", micros / 1000.0) : "ok";
                } else {
                    cells[i][j] = "FAIL";
                    failed.add(from.name() + " -> " + to.name());
                }
            }
        }
        out.println(INDENT + "$ ip netns exec " + pods.get(0).netns() + " ping -c1 "
                + pods.get(1).ip() + "    (and so on for every pair)");
        StringBuilder head = new StringBuilder(String.format(INDENT + "  %-16s", "from \\ to"));
        for (Pod p : pods) {
            head.append(String.format("%-24s", p.name() + " " + p.ip()));
        }
        out.println(head.toString().stripTrailing());
        for (int i = 0; i < pods.size(); i++) {
            StringBuilder row = new StringBuilder(String.format(
                    INDENT + "  %-16s",
                    pods.get(i).name() + " (" + pods.get(i).node().name() + ")"));
            for (int j = 0; j < pods.size(); j++) {
                row.append(String.format("%-24s", cells[i][j]));
            }
            out.println(row.toString().stripTrailing());
        }
        report(
                backend,
                failed.isEmpty(),
                "every pod pings every other pod across the nodes (" + (pairs - failed.size()) + " of " + pairs
                        + " pairs)" + (failed.isEmpty() ? "" : ": no answer " + String.join(", ", failed)));
    }

    /** One echo's round-trip time in microseconds, after the path settled; -1 if it was lost. */
    private static long rtt(Pod from, Pod to) {
        try (NetNs ns = NetNs.openNamed(from.netns())) {
            return Ping.once(ns, IpAddress.parse(to.ip()), 2000);
        }
    }

    private void report(String backend, String what, List<String> problems) {
        report(backend, problems.isEmpty(), what + (problems.isEmpty() ? "" : ": " + String.join("; ", problems)));
    }

    private void report(String backend, boolean ok, String what) {
        checks.add(new Check(backend, what, ok));
        out.println("  " + (ok ? "ok  " : "FAIL") + "  " + what);
        out.flush();
    }

    private boolean summary(List<String> backends) {
        out.println();
        out.println("Summary:");
        int failedTotal = 0;
        for (String b : backends) {
            List<Check> mine =
                    checks.stream().filter(c -> c.backend().equals(b)).toList();
            long passed = mine.stream().filter(Check::ok).count();
            failedTotal += (int) (mine.size() - passed);
            out.printf("  %-8s %d of %d checks passed%n", b, passed, mine.size());
            for (Check c : mine) {
                if (!c.ok()) {
                    out.println("           FAIL  " + c.what());
                }
            }
        }
        boolean pass = failedTotal == 0 && !checks.isEmpty();
        out.println(
                pass
                        ? "PASS: pods on three nodes reached each other by their own addresses over "
                                + String.join(" and ", backends) + ", and the outside saw their nodes' addresses."
                        : "FAIL: " + failedTotal + " check(s) failed (see above).");
        return pass;
    }

    // ---- --keep and --cleanup ----

    private void printKept(SimulatedCluster sim, String backend, List<String> cli) {
        Node n1 = sim.node("n1");
        List<Pod> pods = new ArrayList<>();
        sim.nodes().forEach(n -> pods.addAll(n.pods()));
        String jcni = cliOverride == null ? cli.getFirst() : "jcni";
        out.println();
        out.println("Kept the " + backend + " cluster running. Look at it with:");
        out.println("  ip netns exec " + n1.netns() + " ip route show proto " + Dataplane.ROUTE_PROTOCOL);
        if (backend.equals(VXLAN)) {
            out.println("  ip -n " + n1.netns() + " neigh show dev " + Dataplane.vxlanDevice(VNI) + "; bridge -n "
                    + n1.netns() + " fdb show dev " + Dataplane.vxlanDevice(VNI));
        }
        out.println("  ip netns exec " + n1.netns() + " nft list table inet " + Dataplane.NFT_TABLE);
        if (pods.size() >= 2) {
            out.println("  ip netns exec " + pods.get(0).netns() + " ping -c3 "
                    + pods.get(1).ip());
        }
        out.println("  nsenter --target " + n1.initPid() + " --net --mount -- " + jcni
                + " cluster status --etcd-endpoints " + sim.etcd().endpoints());
        out.println("  ip netns exec " + sim.etcd().netns(1) + " etcdctl --endpoints "
                + sim.etcd().endpoints() + " get --prefix " + ETCD_PREFIX + "/");
        out.println("  less " + n1.dir("agent.log") + "      (each node's agent log)");
        out.println("Remove it with: bin/jcni demo --cluster --cleanup");
    }

    /** {@code --cleanup}: the kept cluster's namespaces (and every process in them), then its directory. */
    private int cleanupKept() {
        out.println("Removing a kept cluster demo (namespaces " + prefix + "*, " + root + "):");
        List<String> failures = new ArrayList<>();
        if (namespacesWithPrefix().isEmpty()) {
            out.println("  no namespace " + prefix + "* is there");
        }
        try {
            SimulatedCluster.cleanupStale(prefix, trace);
        } catch (RuntimeException e) {
            failures.add(e.getMessage());
        }
        List<String> live = namespacesWithPrefix();
        if (!live.isEmpty()) {
            failures.add("still there (a demo running right now?): " + String.join(", ", live));
        }
        try {
            if (Files.exists(root)) {
                cmd("rm -r " + root);
                deleteTree(root);
            }
        } catch (IOException | RuntimeException e) {
            failures.add("rm -r " + root + ": " + e.getMessage());
        }
        for (String f : failures) {
            err.println("jcni demo --cluster: cleanup: " + f);
        }
        out.println(failures.isEmpty() ? "Done." : "Done, with failures (see above).");
        return failures.isEmpty() ? 0 : 1;
    }

    // ---- removal ----

    private void closeCluster(SimulatedCluster sim) {
        try {
            sim.close();
        } catch (RuntimeException e) {
            err.println("jcni demo --cluster: " + e.getMessage());
        } finally {
            if (current == sim) {
                current = null;
            }
        }
    }

    private static void closeQuietly(SimulatedCluster sim) {
        try {
            sim.close();
        } catch (RuntimeException ignored) {
            // the sweep that follows removes what is left
        }
    }

    /**
     * What a cluster closed mid-way could leave: namespaces with the prefix (and processes in
     * them) and the demo's directory. Only this demo's names: a live cluster of another process
     * with the same prefix is spared by cleanupStale.
     */
    private void sweep() {
        try {
            SimulatedCluster.cleanupStale(prefix, trace);
        } catch (RuntimeException e) {
            err.println("jcni demo --cluster: cleanup: " + e.getMessage());
        }
        try {
            deleteTree(root);
        } catch (IOException | RuntimeException e) {
            err.println("jcni demo --cluster: cleanup: rm -r " + root + ": " + e.getMessage());
        }
    }

    /** rm -r without following symbolic links; a missing directory is fine. */
    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    // ---- output and plumbing ----

    private static final Pattern ETCD_STARTED = Pattern.compile("etcd e\\d+: pid \\d+: (.*)");
    private static final Pattern NODE_INIT = Pattern.compile("node [a-z0-9-]+: (nsenter .*)");

    /** The simulation's log: kept for a failure's diagnosis; the etcd and node-init command lines are part of the story. */
    private void simLine(String line) {
        simLog.add(line);
        Matcher m = ETCD_STARTED.matcher(line);
        if (!m.matches()) {
            m = NODE_INIT.matcher(line);
        }
        if (m.matches()) {
            cmd(m.group(1) + " &");
        }
    }

    private void header(String title) {
        out.println();
        out.println(title);
        out.flush();
    }

    private void step(String title) {
        if (slowMillis > 0 && stepNumber > 0) {
            sleep(slowMillis);
        }
        checkInterrupted();
        stepNumber++;
        header(stepNumber + ". " + title);
    }

    private void cmd(String commandLine) {
        out.println(INDENT + "$ " + commandLine);
    }

    private void note(String text) {
        out.println(INDENT + "  " + text);
    }

    private void checkInterrupted() {
        if (interrupted || Thread.currentThread().isInterrupted()) {
            throw new Interrupted();
        }
    }

    private void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Interrupted();
        }
    }

    /** On a failure: the end of each agent's log and of the simulation's. */
    private void diagnose(SimulatedCluster sim) {
        if (sim == null) {
            return;
        }
        for (Node n : sim.nodes()) {
            Path log = n.dir("agent.log");
            try {
                if (Files.exists(log)) {
                    err.println("---- the end of " + n.name() + "'s agent log (" + log + "):");
                    err.println(tail(Files.readString(log, StandardCharsets.UTF_8), 15));
                }
            } catch (IOException ignored) {
                // best effort
            }
        }
        synchronized (simLog) {
            err.println("---- the simulation's log:");
            err.println(tail(String.join("\n", simLog), 15));
        }
    }

    private static String tail(String text, int lines) {
        String[] all = text.strip().split("\n");
        return String.join("\n", java.util.Arrays.copyOfRange(all, Math.max(0, all.length - lines), all.length));
    }

    private static String etcdctlLine(SimulatedCluster sim, EtcdMembers etcd, String args) {
        return "ip netns exec " + etcd.netns(1) + " etcdctl --endpoints " + etcd.endpoints() + " " + args;
    }

    /** Runs {@code command} on the host (not in a node): output captured, killed after {@code timeout}. */
    private static ExecResult execOnHost(List<String> command, Duration timeout) {
        ProcessBuilder pb =
                new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + command.getFirst() + ": " + e.getMessage(), e);
        }
        StringBuilder stdout = new StringBuilder(), stderr = new StringBuilder();
        Thread o = Thread.ofVirtual().start(() -> drain(p.getInputStream(), stdout));
        Thread e = Thread.ofVirtual().start(() -> drain(p.getErrorStream(), stderr));
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor();
            }
            o.join();
            e.join();
        } catch (InterruptedException ie) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new Interrupted();
        }
        return new ExecResult(p.exitValue(), stdout.toString(), stderr.toString());
    }

    private static void drain(InputStream in, StringBuilder to) {
        try (in) {
            String s = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            synchronized (to) {
                to.append(s);
            }
        } catch (IOException ignored) {
            // the process was killed: keep what was read
        }
    }
}
