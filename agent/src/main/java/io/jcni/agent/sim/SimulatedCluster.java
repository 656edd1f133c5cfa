package io.jcni.agent.sim;

import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ns.NamedNetns;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.probe.Ping;
import io.jcni.netlink.probe.TcpProbe;
import io.jcni.netlink.route.LinkSpec;
import io.jcni.netlink.route.Route;
import io.jcni.netlink.route.RouteNetlink;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Kubernetes nodes on one machine, as kind simulates them with containers, for the cluster demo,
 * the cluster tests and the benchmark. Everything it creates is named with the caller's prefix
 * and removed by {@link #close()}:
 * <ul>
 *   <li>the underlay: namespace {@code <prefix>ul} holding the bridge {@value #UNDERLAY_BRIDGE}
 *       (the "switch"), subnet {@value #UNDERLAY_SUBNET} (an RFC 2544 lab range), or another /24
 *       of 198.18.0.0/15 given to {@link #create(String, Path, Trace, Consumer, String)};</li>
 *   <li>the outside host: namespace {@code <prefix>out} at {@value #OUTSIDE_IP} (.254 of the
 *       underlay), every node's default gateway, with no route to any pod network: a pod reaching
 *       it must be masqueraded, so it sees the node's address ({@link #peerSeenByOutside});</li>
 *   <li>nodes ({@link #addNode}): namespace {@code <prefix><name>}, {@code eth0} at
 *       198.18.0.(10+index), a private mount namespace for the CNI directories;</li>
 *   <li>etcd ({@link #startEtcd}): members in {@code <prefix>e<i>} at 198.18.0.(1+i);</li>
 *   <li>more hosts ({@link #addHost}): namespace {@code <prefix><name>} at an address of the
 *       caller's, for servers the nodes reach over the underlay;</li>
 *   <li>pods ({@link Node#addPod}): namespaces {@code <prefix><pod>};</li>
 *   <li>files: everything under {@code baseDir}, which must be new (or empty).</li>
 * </ul>
 * Every network change goes through jcni's netlink layer and is reported to the {@link Trace} as
 * the equivalent {@code ip} command; processes started are reported to the log.
 *
 * <p>Names under the prefix are reserved: nodes and pods may not be called {@code ul},
 * {@code out} or {@code e<number>}. While a cluster is open it keeps a descriptor on its
 * underlay namespace; {@link #cleanupStale} uses that to tell a live cluster from a crashed one.
 */
public final class SimulatedCluster implements AutoCloseable {
    public static final String UNDERLAY_BRIDGE = "ul0";
    public static final String UNDERLAY_SUBNET = "198.18.0.0/24";
    public static final String OUTSIDE_IP = "198.18.0.254";
    /** The CNI network name pods are added to (the agent's conflist is named so). */
    public static final String NETWORK = "jcni";
    /** Node indexes 0..243 give underlay addresses .10–.253. */
    public static final int MAX_NODE_INDEX = 243;
    /** How long close() gives processes on the nodes to exit after SIGTERM. */
    static final Duration STOP_GRACE = Duration.ofSeconds(5);

    private static final Pattern PREFIX = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{2,63}");
    private static final Pattern MEMBER = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
    private static final Pattern RESERVED = Pattern.compile("ul|out|e[0-9]+");

    private final String prefix;
    /** The underlay's first three octets, {@code 198.18.0}: every address on it is this plus a host number. */
    private final String underlayNet;

    private final Path baseDir;
    private final Trace trace;
    private final Consumer<String> log;
    /** Namespaces created, in order of creation (deleted in reverse). */
    private final Set<String> namespaces = new LinkedHashSet<>();

    private final List<Node> nodes = new ArrayList<>();
    private final Set<Integer> nodeIndexes = new HashSet<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile NetNs underlayHandle;
    private volatile EtcdMembers etcd;

    private SimulatedCluster(String prefix, String underlayNet, Path baseDir, Trace trace, Consumer<String> log) {
        this.prefix = prefix;
        this.underlayNet = underlayNet;
        this.baseDir = baseDir;
        this.trace = trace;
        this.log = log;
    }

    /**
     * Builds the underlay and the outside host.
     *
     * @param prefix  starts every namespace's name (3–64 characters of {@code [A-Za-z0-9._-]});
     *                no namespace may exist with it already
     * @param baseDir the simulation's files; must not exist or be empty; deleted by close()
     * @param trace   receives every network change as an {@code ip} command ({@link Trace#OFF}: none)
     * @param log     receives one line per process started and per step ({@code s -> {}}: none)
     */
    public static SimulatedCluster create(String prefix, Path baseDir, Trace trace, Consumer<String> log) {
        return create(prefix, baseDir, trace, log, UNDERLAY_SUBNET);
    }

    /**
     * Like {@link #create(String, Path, Trace, Consumer)} on the underlay {@code underlay}, a /24 of
     * the RFC 2544 lab range 198.18.0.0/15 ({@code 198.18.2.0/24}): simulations on different
     * underlays cannot be mistaken for each other in a log or a trace.
     */
    public static SimulatedCluster create(
            String prefix, Path baseDir, Trace trace, Consumer<String> log, String underlay) {
        IpPrefix u = underlay == null ? null : IpPrefix.parse(underlay);
        if (u == null
                || !u.isV4()
                || u.length() != 24
                || !u.network().equals(u)
                || !IpPrefix.parse("198.18.0.0/15").contains(u.address())) {
            throw new IllegalArgumentException("a simulation's underlay is a /24 of 198.18.0.0/15, not " + underlay);
        }
        String a = u.address().toString();
        String net = a.substring(0, a.lastIndexOf('.'));
        if (prefix == null || !PREFIX.matcher(prefix).matches()) {
            throw new IllegalArgumentException(
                    "a simulation prefix is 3-64 characters of [A-Za-z0-9._-], not \"" + prefix + "\"");
        }
        baseDir = baseDir.toAbsolutePath().normalize();
        if (baseDir.getNameCount() < 2) {
            throw new IllegalArgumentException(
                    "refusing " + baseDir + " as the simulation's directory: close() deletes it");
        }
        requireNewDirectory(baseDir);
        SimulatedCluster c = new SimulatedCluster(prefix, net, baseDir, trace, log);
        try {
            c.build();
            return c;
        } catch (RuntimeException | Error e) {
            try {
                c.close();
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    private static void requireNewDirectory(Path dir) {
        try {
            if (Files.exists(dir)) {
                try (Stream<Path> s = Files.list(dir)) {
                    if (s.findAny().isPresent()) {
                        throw new IllegalArgumentException(dir
                                + " is not empty: the simulation needs a directory of its own (close() deletes it)");
                    }
                }
            }
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IllegalStateException("cannot create " + dir + ": " + e.getMessage(), e);
        }
    }

    private void build() {
        String ul = underlayNetns();
        createNamespace(ul);
        underlayHandle = NetNs.openNamed(ul);
        try (RouteNetlink in = RouteNetlink.open(underlayHandle, trace)) {
            in.links().setUp("lo");
            in.links().add(LinkSpec.bridge(UNDERLAY_BRIDGE).up());
        }
        createNamespace(outsideNetns());
        attachToUnderlay(outsideNetns(), "vout", outsideIp(), false);
        log("underlay " + ul + " (bridge " + UNDERLAY_BRIDGE + ", " + underlaySubnet() + "), outside host "
                + outsideNetns() + " at " + outsideIp());
    }

    public String prefix() {
        return prefix;
    }

    public Path baseDir() {
        return baseDir;
    }

    public Trace trace() {
        return trace;
    }

    /** The namespace holding the underlay bridge. */
    public String underlayNetns() {
        return prefix + "ul";
    }

    /** The outside host's namespace. */
    public String outsideNetns() {
        return prefix + "out";
    }

    /** The underlay's subnet, {@value #UNDERLAY_SUBNET} unless created with another. */
    public String underlaySubnet() {
        return underlayNet + ".0/24";
    }

    /** The outside host's address, .254 of the underlay. */
    public String outsideIp() {
        return underlayAddress(254);
    }

    /** Host number {@code host} on the underlay: 198.18.0.{@code host} on the default one. */
    public String underlayAddress(int host) {
        if (host < 1 || host > 254) {
            throw new IllegalArgumentException("a host on the underlay is 1..254, not " + host);
        }
        return underlayNet + "." + host;
    }

    /**
     * Adds node {@code name} (lower-case letters, digits, '-') with underlay address
     * 198.18.0.(10+{@code index}), and starts its init process. Returns once the node's mounts are
     * in place.
     */
    public Node addNode(String name, int index) {
        if (index < 0 || index > MAX_NODE_INDEX) {
            throw new IllegalArgumentException("a node index is 0.." + MAX_NODE_INDEX + ", not " + index);
        }
        String ns = newNamespaceName(name, "node");
        synchronized (nodes) {
            if (!nodeIndexes.add(index)) {
                throw new IllegalArgumentException("node index " + index + " is taken");
            }
        }
        try {
            createNamespace(ns);
        } catch (RuntimeException e) {
            synchronized (nodes) {
                nodeIndexes.remove(index);
            }
            throw e;
        }
        Node node = new Node(this, name, index, ns, underlayAddress(10 + index), baseDir.resolve(name));
        synchronized (nodes) {
            nodes.add(node); // from here on close() ends its processes, whatever fails below
        }
        attachToUnderlay(ns, "vn" + index, node.underlayIp(), true);
        node.start();
        return node;
    }

    public List<Node> nodes() {
        synchronized (nodes) {
            return List.copyOf(nodes);
        }
    }

    /** The node called {@code name}. */
    public Node node(String name) {
        for (Node n : nodes()) {
            if (n.name().equals(name)) {
                return n;
            }
        }
        throw new IllegalArgumentException("no node " + name);
    }

    /**
     * Adds a host {@code name} (lower-case letters, digits, '-') to the underlay: the namespace
     * {@code <prefix><name>} with {@code eth0} at {@link #underlayAddress(int) host number}
     * {@code host}, no default route. For a server the nodes must reach (an API server); the caller
     * runs what it likes inside and close() removes the namespace.
     *
     * @return the namespace's name
     */
    public String addHost(String name, int host) {
        String ns = newNamespaceName(name, "host");
        String ip = underlayAddress(host);
        createNamespace(ns);
        attachToUnderlay(ns, "vh" + host, ip, false);
        log("host " + name + " (" + ns + ") at " + ip);
        return ns;
    }

    /**
     * Starts an etcd cluster of {@code members} (1..{@value EtcdMembers#MAX_MEMBERS}) members and
     * waits (up to 30 s) until it is healthy. Once per simulation.
     */
    public EtcdMembers startEtcd(int members) {
        if (members < 1 || members > EtcdMembers.MAX_MEMBERS) {
            throw new IllegalArgumentException("etcd members: 1.." + EtcdMembers.MAX_MEMBERS + ", not " + members);
        }
        EtcdMembers e;
        synchronized (this) {
            checkOpen();
            if (etcd != null) {
                throw new IllegalStateException("etcd is started already");
            }
            e = new EtcdMembers(this, members, baseDir.resolve("etcd"));
            etcd = e;
        }
        for (int i = 1; i <= members; i++) {
            e.attach(i);
        }
        for (int i = 1; i <= members; i++) {
            e.start(i);
        }
        e.waitHealthy(Duration.ofSeconds(30));
        log("etcd: " + members + " member(s) healthy at " + e.endpoints());
        return e;
    }

    /** The etcd cluster, or null before {@link #startEtcd}. */
    public EtcdMembers etcd() {
        return etcd;
    }

    // ---- probes ----

    /** One ICMP echo from {@code from}'s namespace to {@code ip}: true when answered within 2 s. */
    public boolean ping(Pod from, String ip) {
        return ping(from.netns(), ip);
    }

    /** One ICMP echo from the namespace {@code netns} to {@code ip}: true when answered within 2 s. */
    public boolean ping(String netns, String ip) {
        try (NetNs ns = NetNs.openNamed(netns)) {
            return Ping.once(ns, IpAddress.parse(ip), 2000) >= 0;
        }
    }

    /** Pings {@code ip} from {@code from} until answered (true) or {@code within} passed (false): for routes that converge. */
    public boolean awaitPing(Pod from, String ip, Duration within) {
        IpAddress to = IpAddress.parse(ip);
        try (NetNs ns = NetNs.openNamed(from.netns())) {
            return Procs.await(() -> Ping.once(ns, to, 500) >= 0, within);
        }
    }

    /**
     * A TCP connection from the namespace {@code clientNetns} to a server listening on
     * {@code serverIp} (any free port) inside {@code serverNetns}: the source address the server
     * saw, or null when no connection was made within 3 s.
     */
    public String peerSeenBy(String serverNetns, String serverIp, String clientNetns) {
        try (NetNs server = NetNs.openNamed(serverNetns);
                NetNs client = NetNs.openNamed(clientNetns)) {
            return TcpProbe.peerSeen(server, IpAddress.parse(serverIp), 0, client, 3000);
        }
    }

    /** The address pod {@code server} sees when {@code client} connects to it (the pod's own, without NAT). */
    public String peerSeenBy(Pod server, Pod client) {
        return peerSeenBy(server.netns(), server.ip(), client.netns());
    }

    /** The address the outside host sees when {@code client} connects to it: its node's with masquerade, else the pod's. */
    public String peerSeenByOutside(Pod client) {
        return peerSeenBy(outsideNetns(), outsideIp(), client.netns());
    }

    /**
     * A command line starting a JVM like this one (its java, its class path, native access
     * allowed) on {@code mainClass} with {@code args}: how tests and the demo run the agent, the
     * daemon or the CLI on a node. Under Maven's surefire, its test class path is used.
     */
    public static List<String> javaCommand(String mainClass, String... args) {
        String cp = System.getProperty("surefire.test.class.path", "");
        if (cp.isBlank()) {
            cp = System.getProperty("java.class.path");
        }
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                // native access for netlink; sun.misc.Unsafe for jetcd's protobuf (else a warning per start)
                "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow",
                "-cp",
                cp,
                mainClass));
        cmd.addAll(List.of(args));
        return cmd;
    }

    // ---- plumbing shared with Node and EtcdMembers ----

    void log(String line) {
        log.accept(line);
    }

    void checkOpen() {
        if (closed.get()) {
            throw new IllegalStateException("the simulation " + prefix + " is closed");
        }
    }

    /** {@code <prefix><name>} for a node or pod, refusing reserved and malformed names. */
    String newNamespaceName(String name, String what) {
        if (name == null || !MEMBER.matcher(name).matches()) {
            throw new IllegalArgumentException(
                    "a " + what + " name is lower-case letters, digits and '-' (at most 63), not \"" + name + "\"");
        }
        if (RESERVED.matcher(name).matches()) {
            throw new IllegalArgumentException(
                    "\"" + name + "\" is reserved (ul, out and e<N> are the simulation's own)");
        }
        return prefix + name;
    }

    /** Creates a named namespace and records it for close() (before creating: a half-made one is removed too). */
    void createNamespace(String ns) {
        synchronized (namespaces) {
            checkOpen();
            if (!namespaces.add(ns)) {
                throw new IllegalArgumentException("namespace " + ns + " is in this simulation already");
            }
        }
        try {
            NamedNetns.create(ns, trace);
        } catch (RuntimeException e) {
            synchronized (namespaces) {
                namespaces.remove(ns); // not ours to delete: it may exist from someone else
            }
            throw e;
        }
    }

    /** Deletes a namespace created by {@link #createNamespace} (a missing one is fine). */
    void deleteNamespace(String ns) {
        try {
            NamedNetns.delete(ns, trace);
        } catch (NoSuchObjectException gone) {
            // already removed
        } finally {
            synchronized (namespaces) {
                namespaces.remove(ns);
            }
        }
    }

    /**
     * A veth from the underlay bridge to {@code eth0} in {@code ns}, {@code eth0} at
     * {@code ip}/24, everything up; with {@code viaOutside}, a default route via the outside host.
     */
    void attachToUnderlay(String ns, String port, String ip, boolean viaOutside) {
        try (NetNs target = NetNs.openNamed(ns);
                RouteNetlink ul = RouteNetlink.open(underlayHandle, trace);
                RouteNetlink in = RouteNetlink.open(target, trace)) {
            ul.links()
                    .add(LinkSpec.veth(port, "eth0")
                            .peerNetns(target)
                            .master(UNDERLAY_BRIDGE)
                            .up());
            in.links().setUp("lo");
            in.addresses().add("eth0", new IpPrefix(IpAddress.parse(ip), 24));
            in.links().setUp("eth0");
            if (viaOutside) {
                in.routes().add(Route.defaultVia(IpAddress.parse(outsideIp())));
            }
        }
    }

    /**
     * Ends every process of the simulation (the nodes' processes get SIGTERM and a grace period,
     * then SIGKILL; etcd and the node inits SIGKILL), then any other process still inside one of
     * its namespaces, deletes the namespaces (their links go with them) and {@code baseDir}.
     * Safe after a partial creation or a failure, and a second time.
     *
     * @throws IllegalStateException listing what could not be removed
     */
    @Override
    public void close() {
        if (closed.getAndSet(true)) {
            return;
        }
        List<String> failures = new ArrayList<>();
        List<Node> all = nodes();
        List<Thread> stoppers = new ArrayList<>();
        for (Node n : all) {
            // each node's grace runs in parallel: closing 50 nodes must not take 50 graces
            stoppers.add(Thread.ofPlatform().name("sim-stop-" + n.name()).start(() -> n.stopProcesses(STOP_GRACE)));
        }
        for (Thread t : stoppers) {
            joinQuietly(t);
        }
        EtcdMembers e = etcd;
        if (e != null) {
            e.killAll();
        }
        for (Node n : all) {
            n.killInit();
        }
        List<String> names;
        synchronized (namespaces) {
            names = new ArrayList<>(namespaces);
        }
        int left = Procs.killInNamespaces(Procs.inodes(names), Duration.ofSeconds(10));
        if (left > 0) {
            failures.add(left + " process(es) inside the simulation's namespaces survived SIGKILL");
        }
        NetNs handle = underlayHandle;
        if (handle != null) {
            handle.close();
        }
        for (int i = names.size() - 1; i >= 0; i--) {
            try {
                deleteNamespace(names.get(i));
            } catch (RuntimeException ex) {
                failures.add("netns " + names.get(i) + ": " + ex.getMessage());
            }
        }
        try {
            Procs.deleteTree(baseDir);
        } catch (IOException | RuntimeException ex) {
            failures.add("rm -r " + baseDir + ": " + ex);
        }
        log("simulation " + prefix + " removed" + (failures.isEmpty() ? "" : " with failures: " + failures));
        if (!failures.isEmpty()) {
            throw new IllegalStateException("closing the simulation " + prefix + ": " + String.join("; ", failures));
        }
    }

    /**
     * Leaves the simulation running for someone to look at, and lets go of it: nothing is stopped
     * or removed, but the descriptor on the underlay namespace is closed, so {@link #cleanupStale}
     * sees a cluster nobody holds, as after this process exits. Closed from then on: close()
     * does nothing, {@code cleanupStale(prefix)} removes it.
     */
    public void abandon() {
        if (closed.getAndSet(true)) {
            return;
        }
        NetNs handle = underlayHandle;
        if (handle != null) {
            handle.close();
        }
        log("simulation " + prefix + " left running (remove it with cleanupStale)");
    }

    private static void joinQuietly(Thread t) {
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Removes what crashed simulations left: every namespace whose name starts with
     * {@code prefix} (and every process inside one), except those of clusters still open in some
     * process (their underlay namespace {@code <P>ul} is held open: every namespace starting
     * with such a {@code P} is spared). Their files stay (the base directory is the caller's).
     * Use a prefix no one else uses: this deletes namespaces.
     *
     * @return the namespaces removed
     */
    public static List<String> cleanupStale(String prefix, Trace trace) {
        if (prefix == null || !PREFIX.matcher(prefix).matches()) {
            throw new IllegalArgumentException(
                    "a simulation prefix is 3-64 characters of [A-Za-z0-9._-], not \"" + prefix + "\"");
        }
        List<String> candidates = new ArrayList<>();
        for (String n : NamedNetns.list()) {
            if (n.startsWith(prefix)) {
                candidates.add(n);
            }
        }
        List<String> live = new ArrayList<>();
        for (String n : candidates) {
            if (n.endsWith("ul") && Procs.heldOpen(n)) {
                live.add(n.substring(0, n.length() - 2));
            }
        }
        List<String> stale = new ArrayList<>();
        for (String n : candidates) {
            if (live.stream().noneMatch(n::startsWith)) {
                stale.add(n);
            }
        }
        Procs.killInNamespaces(Procs.inodes(stale), Duration.ofSeconds(10));
        List<String> removed = new ArrayList<>();
        for (String n : stale) {
            try {
                NamedNetns.delete(n, trace);
                removed.add(n);
            } catch (NoSuchObjectException gone) {
                // removed meanwhile
            }
        }
        return removed;
    }

    /** {@link #cleanupStale(String, Trace)} without a trace. */
    public static List<String> cleanupStale(String prefix) {
        return cleanupStale(prefix, Trace.OFF);
    }

    @Override
    public String toString() {
        return "simulation " + prefix + " (" + nodes().size() + " nodes, " + baseDir + ")";
    }
}
