package io.jcni.e2e;

import io.jcni.cli.Main;
import io.jcni.netlink.KernelException;
import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.nft.NftElement;
import io.jcni.netlink.nft.Nftables;
import io.jcni.netlink.ns.NamedNetns;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.route.Link;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.netlink.sys.Errno;
import io.jcni.runtime.CniRuntime;
import io.jcni.runtime.ConfException;
import io.jcni.runtime.NetworkConfigList;
import io.jcni.testkit.Commands;
import io.jcni.testkit.Jars;
import io.jcni.testkit.TestNames;
import io.jcni.testkit.TestNetns;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The soak test's world: a run id, the names made from it ({@code jsk-<run>…}: network, bridge,
 * namespaces, container IDs), a private directory with jcni installed into it (native clients
 * with their standalone path), the network configuration, the libcni cache and the IPAM data
 * directory, the resident daemon as a separate process ({@code jcni daemon}), what the kernel and
 * the files hold for the network, and the removal of all of it.
 *
 * <p>The pod subnet is 10.213.0.0/16, which nothing else uses; the world refuses to start when
 * the host routes or holds any address of it, or when a name of this run exists already.
 */
final class SoakWorld implements AutoCloseable {
    static final String SUBNET = "10.213.0.0/16";
    static final String GATEWAY = "10.213.0.1";
    /** host-local's pool: twice the pods, so addresses are handed out again and again. */
    static final String RANGE_START = "10.213.0.10", RANGE_END = "10.213.0.49";

    static final String IFNAME = "eth0";
    /** The nftables sets and maps the bridge (table jcni) and portmap (table jcni_hostport) fill, per pod. */
    static final Map<String, List<String>> NFT_SETS = Map.of(
            "jcni", List.of("pods4", "pods6", "local4", "local6"),
            "jcni_hostport",
                    List.of("ports4", "hostip4", "ports6", "hostip6", "masq4", "masq6", "masqall4", "masqall6"));

    final String run;
    /** {@code jsk-<run>}: the network's name, and the start of every other name this run makes. */
    final String prefix;

    final String network;
    final String bridge;
    final Path dir, bin, lib, conf, cache, dataDir, socket, daemonLog;
    NetworkConfigList net;
    private final Map<String, Boolean> tablesBefore = new TreeMap<>();
    private final String ipForwardBefore;
    private Process daemon;
    private boolean closed;

    private SoakWorld(String run) throws IOException {
        this.run = run;
        this.prefix = "jsk-" + run;
        this.network = prefix;
        this.bridge = prefix + "-br";
        refuseIfTaken();
        for (String t : NFT_SETS.keySet()) {
            tablesBefore.put(t, tableExists(t));
        }
        ipForwardBefore =
                Files.readString(Path.of("/proc/sys/net/ipv4/ip_forward")).strip();
        dir = Files.createTempDirectory(Path.of("/tmp"), prefix + "-");
        bin = dir.resolve("bin");
        lib = dir.resolve("lib");
        conf = Files.createDirectories(dir.resolve("conf"));
        cache = dir.resolve("cache");
        dataDir = dir.resolve("ipam");
        // a directory that does not exist yet: the daemon creates it 0700, as /run/jcni
        socket = dir.resolve("run/jcni.sock");
        daemonLog = dir.resolve("daemon.log");
    }

    /** A new world with a fresh run id; everything it made is removed again if setting it up fails. */
    static SoakWorld create() throws IOException, ConfException {
        SoakWorld w = new SoakWorld(TestNames.unique(""));
        try {
            w.install();
            Files.writeString(w.conf.resolve("10-soak.conflist"), w.conflist());
            w.net = CniRuntime.loadNetwork(w.conf, w.network);
            return w;
        } catch (IOException | ConfException | RuntimeException e) {
            w.close();
            throw e;
        }
    }

    private void refuseIfTaken() {
        String routes = witness("ip", "-4", "route", "show", "table", "all");
        String addrs = witness("ip", "-4", "-o", "addr", "show");
        if (routes.contains("10.213.") || addrs.contains("10.213.")) {
            throw new IllegalStateException(
                    "the soak's pod subnet " + SUBNET + " is in use on this host:\n" + routes + addrs);
        }
        for (Link l : hostLinks()) {
            throw new IllegalStateException("link " + l.name() + " exists: run id " + run + " is taken");
        }
        for (String ns : NamedNetns.list()) {
            if (ns.startsWith(prefix)) {
                throw new IllegalStateException("namespace " + ns + " exists: run id " + run + " is taken");
            }
        }
    }

    /** {@code jcni install} (in-process) from this test's class path, with this run's socket. */
    private void install() throws IOException {
        Path jars = Jars.fromClassPath(Files.createDirectories(dir.resolve("jars")));
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = Main.run(
                new String[] {
                    "install",
                    "--dir",
                    bin.toString(),
                    "--lib-dir",
                    lib.toString(),
                    "--from",
                    jars.toString(),
                    "--socket",
                    socket.toString(),
                    "--no-aot-cache"
                },
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        if (code != 0) {
            throw new IllegalStateException("jcni install failed: " + out + err);
        }
    }

    /**
     * bridge (gateway, masquerade, host-local from a small pool of the /16) and portmap with the
     * portMappings capability. 1.1.0, so that GC reaches the plugins.
     */
    String conflist() {
        return """
                {
                  "cniVersion": "1.1.0",
                  "name": "%s",
                  "plugins": [
                    {
                      "type": "jcni-bridge",
                      "bridge": "%s",
                      "isGateway": true,
                      "ipMasq": true,
                      "hairpinMode": true,
                      "ipam": {
                        "type": "host-local",
                        "dataDir": "%s",
                        "ranges": [[{"subnet": "%s", "rangeStart": "%s", "rangeEnd": "%s", "gateway": "%s"}]]
                      }
                    },
                    {
                      "type": "jcni-portmap",
                      "capabilities": {"portMappings": true}
                    }
                  ]
                }
                """.formatted(network, bridge, dataDir, SUBNET, RANGE_START, RANGE_END, GATEWAY);
    }

    /**
     * A pod's port mapping: bound to the gateway address on this run's bridge (hostIP), so that
     * the DNAT rule can only ever match traffic to an address of the soak's own subnet.
     */
    static Map<String, Object> portMapping(int hostPort) {
        return Map.of("hostPort", hostPort, "containerPort", 8080, "protocol", "tcp", "hostIP", GATEWAY);
    }

    CniRuntime runtime() {
        // JCNI_SOCKET as well as the sidecar: whatever the environment says, never a node's real daemon
        return CniRuntime.builder()
                .cniPath(List.of(bin.toString()))
                .cacheDir(cache)
                .timeout(java.time.Duration.ofMinutes(5))
                .environment(Map.of("JCNI_SOCKET", socket.toString()))
                .build();
    }

    // ---- the daemon, a process of its own: jcni daemon --socket … ----

    /** Starts {@code jcni daemon} and waits until its socket is in place (it is renamed there once it serves). */
    synchronized void startDaemon() throws IOException, InterruptedException {
        if (daemon != null && daemon.isAlive()) {
            throw new IllegalStateException("the daemon runs already");
        }
        String java = Jars.java();
        ProcessBuilder pb = new ProcessBuilder(
                java,
                "--enable-native-access=ALL-UNNAMED",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-cp",
                lib.resolve("*").toString(),
                "io.jcni.cli.Main",
                "daemon",
                "--socket",
                socket.toString());
        pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(daemonLog.toFile()));
        Process p = pb.start();
        daemon = p;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS) || socketIsStale()) {
            if (!p.isAlive()) {
                throw new IllegalStateException("jcni daemon exited " + p.exitValue() + ":\n" + daemonLogTail());
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("jcni daemon did not serve within 120 s:\n" + daemonLogTail());
            }
            p.waitFor(20, TimeUnit.MILLISECONDS);
        }
    }

    /** The socket a killed daemon left stays until the next one replaces it: only a connectable one counts. */
    private boolean socketIsStale() {
        try (var ch = java.nio.channels.SocketChannel.open(java.net.UnixDomainSocketAddress.of(socket))) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    /** kill -9 of the daemon; returns once the process is gone. */
    synchronized void killDaemon() throws InterruptedException {
        if (daemon != null) {
            daemon.destroyForcibly();
            if (!daemon.waitFor(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the daemon survived kill -9 for 60 s");
            }
        }
    }

    /** SIGTERM: the daemon finishes the requests in flight, then exits (kill -9 after 150 s). */
    synchronized void stopDaemon() throws InterruptedException {
        if (daemon != null && daemon.isAlive()) {
            daemon.destroy();
            if (!daemon.waitFor(150, TimeUnit.SECONDS)) {
                daemon.destroyForcibly();
                daemon.waitFor(60, TimeUnit.SECONDS);
            }
        }
    }

    String daemonLogTail() {
        try {
            List<String> lines = Files.readAllLines(daemonLog);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no daemon log: " + e + ")";
        }
    }

    // ---- what the kernel and the files hold for this network ----

    String containerId(int slot, int cycle) {
        return prefix + "-" + slot + "-" + cycle;
    }

    /** The owner a tag names ({@code <network>/<containerID>/<ifname>}): the container ID, or null for another network's. */
    String ownerOf(String comment) {
        if (comment == null || !comment.startsWith(network + "/")) {
            return null;
        }
        String rest = comment.substring(network.length() + 1);
        int slash = rest.lastIndexOf('/');
        return slash < 0 ? rest : rest.substring(0, slash);
    }

    /** Reservations of the network: address → the container ID in the file (its first line). */
    Map<String, String> reservations() {
        Map<String, String> out = new TreeMap<>();
        for (String name : dataFiles()) {
            if (name.equals("lock") || name.startsWith("last_reserved_ip") || name.startsWith(".")) {
                continue;
            }
            try {
                String text = Files.readString(dataDir.resolve(network).resolve(name));
                int cr = text.indexOf('\r');
                out.put(name, cr < 0 ? text.strip() : text.substring(0, cr));
            } catch (java.nio.file.NoSuchFileException gone) {
                // released between the listing and the read
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return out;
    }

    /** Every file in the network's IPAM directory (temp files of killed writers included). */
    List<String> dataFiles() {
        Path d = dataDir.resolve(network);
        if (!Files.isDirectory(d)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One nftables element of this network: where it is, its text, its owner's container ID. */
    record Element(String table, String set, String text, String owner) {}

    /** This network's elements (by their comment) in the bridge's and portmap's tables, read through netlink. */
    List<Element> elements() {
        return settled(this::readElements);
    }

    private List<Element> readElements() {
        List<Element> out = new ArrayList<>();
        try (Nftables nft = Nftables.open(Trace.OFF)) {
            for (var t : NFT_SETS.entrySet()) {
                for (String set : t.getValue()) {
                    List<NftElement> els;
                    try {
                        els = nft.elements(Nftables.INET, t.getKey(), set);
                    } catch (NoSuchObjectException none) {
                        continue;
                    }
                    for (NftElement e : els) {
                        String owner = ownerOf(e.comment());
                        if (owner != null) {
                            out.add(new Element(t.getKey(), set, e.toString(), owner));
                        }
                    }
                }
            }
        }
        return out;
    }

    /** Host links of this run: tagged with this network's alias, on the bridge, or named after the run (the bridge excepted). */
    List<Link> hostLinks() {
        return settled(this::readHostLinks);
    }

    private List<Link> readHostLinks() {
        try (RouteNetlink host = RouteNetlink.open(Trace.OFF)) {
            List<Link> all = host.links().list();
            int br = all.stream()
                    .filter(l -> l.name().equals(bridge))
                    .mapToInt(Link::index)
                    .findFirst()
                    .orElse(-1);
            List<Link> out = new ArrayList<>();
            for (Link l : all) {
                boolean tagged = l.alias() != null && l.alias().startsWith("jcni " + network + "/");
                if (!l.name().equals(bridge)
                        && (tagged || l.masterIndex() == br || l.name().startsWith(prefix))) {
                    out.add(l);
                }
            }
            return out;
        }
    }

    /** The container ID a host link's alias names, or null. */
    String ownerOfLink(Link l) {
        return l.alias() == null || !l.alias().startsWith("jcni ")
                ? null
                : ownerOf(l.alias().substring(5));
    }

    /** libcni cache files ({@code <network>-<containerID>-<ifname>}). */
    List<String> cacheFiles() {
        Path d = cache.resolve("results");
        if (!Files.isDirectory(d)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Link names inside a pod's namespace, or null when the namespace is gone. */
    static List<String> podLinks(String path) {
        if (!Files.exists(Path.of(path))) {
            return null;
        }
        return settled(() -> {
            try (NetNs ns = NetNs.open(path);
                    RouteNetlink in = RouteNetlink.open(ns, Trace.OFF)) {
                return in.links().list().stream().map(Link::name).sorted().toList();
            }
        });
    }

    /**
     * A read of the kernel's state, repeated while its dump is interrupted by concurrent changes:
     * with 20 pods coming and going (and other tests of the machine) links change all the time,
     * and a dump interrupted 8 times in a row is given up with EAGAIN. Bounded by a minute.
     */
    static <T> T settled(java.util.function.Supplier<T> read) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            try {
                return read.get();
            } catch (KernelException e) {
                if (e.errno() != Errno.EAGAIN || System.nanoTime() > deadline) {
                    throw e;
                }
                // a little apart, so the next try does not meet the same burst of changes
                java.util.concurrent.locks.LockSupport.parkNanos(
                        ThreadLocalRandom.current().nextLong(1_000_000, 20_000_000));
            }
        }
    }

    /**
     * A command's stdout, run again while it says its dump was interrupted (iproute2 prints that
     * on stderr and goes on with what it got) or fails; bounded by a minute.
     */
    static String witness(String... cmd) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            Commands.Result r = Commands.of(cmd)
                    .separateErr()
                    .timeout(Duration.ofSeconds(60))
                    .result();
            if (r.code() == Commands.TIMED_OUT) {
                throw new IllegalStateException("timed out: " + String.join(" ", cmd));
            }
            if (r.code() == 0 && !r.err().contains("nterrupted")) {
                return r.out();
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(String.join(" ", cmd) + " exited " + r.code() + ": " + r.err());
            }
            java.util.concurrent.locks.LockSupport.parkNanos(
                    ThreadLocalRandom.current().nextLong(1_000_000, 50_000_000));
        }
    }

    /**
     * Everything of this network the host still holds, seen by iproute2 and nft rather than by
     * jcni's own netlink code: links tagged or named after the run or on the bridge, and any
     * mention of the network's tags or its subnet in the whole ruleset.
     */
    List<String> witnessedLeftovers() {
        List<String> out = new ArrayList<>();
        for (Map<String, Object> l : io.jcni.testkit.Json.objects(witness("ip", "-j", "-d", "link", "show"))) {
            String name = String.valueOf(l.get("ifname"));
            String alias = String.valueOf(l.get("ifalias"));
            if (!name.equals(bridge)
                    && (name.startsWith(prefix)
                            || alias.startsWith("jcni " + network + "/")
                            || bridge.equals(l.get("master")))) {
                out.add("ip link: " + name + " (alias " + alias + ", master " + l.get("master") + ")");
            }
        }
        String json = witness("nft", "-j", "list", "ruleset");
        if (json.contains("\"" + network + "/") || json.contains("10.213.")) {
            out.add("nft -j list ruleset still names the network or its subnet:\n" + witness("nft", "list", "ruleset"));
        }
        return out;
    }

    // ---- removal ----

    /** Removes everything this run made, whatever state it is in; safe to call twice. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<String> problems = new ArrayList<>();
        try {
            killDaemon();
        } catch (RuntimeException | InterruptedException e) {
            problems.add("daemon: " + e);
        }
        // plugin processes of this run still running (a failed test may leave some): they are ours
        ProcessHandle.current()
                .descendants()
                .filter(h -> environOf(h).contains("\0CNI_CONTAINERID=" + prefix))
                .forEach(ProcessHandle::destroyForcibly);
        try (TestNetns pods = new TestNetns()) {
            pods.adoptExisting(prefix);
        } catch (RuntimeException e) {
            problems.add("netns: " + e.getMessage());
        }
        try (RouteNetlink host = RouteNetlink.open(Trace.OFF)) {
            for (Link l : hostLinks()) {
                host.links().deleteIfExists(l.name());
            }
            host.links().deleteIfExists(bridge);
        } catch (RuntimeException e) {
            problems.add("links: " + e.getMessage());
        }
        removeElements(problems);
        if (ipForwardBefore.equals("0")) {
            try {
                Files.writeString(Path.of("/proc/sys/net/ipv4/ip_forward"), "0");
            } catch (IOException e) {
                problems.add("ip_forward: " + e);
            }
        }
        if (dir != null) {
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            } catch (IOException e) {
                problems.add(dir + ": " + e);
            }
        }
        if (!problems.isEmpty()) {
            System.err.println("[soak] cleanup problems: " + problems);
        }
    }

    /**
     * This network's elements, by their comment; then each of the two tables, if this run made it
     * (it did not exist before) and it holds no element of anyone any more. Another test of the
     * same machine starting to use a table between that look and the deletion would lose it: the
     * window is one netlink round trip, and the plugins recreate their table on their next ADD.
     */
    private void removeElements(List<String> problems) {
        try (Nftables nft = Nftables.open(Trace.OFF)) {
            for (var t : NFT_SETS.entrySet()) {
                for (String set : t.getValue()) {
                    List<NftElement> els;
                    try {
                        els = settled(() -> nft.elements(Nftables.INET, t.getKey(), set));
                    } catch (NoSuchObjectException none) {
                        continue;
                    }
                    for (NftElement e : els) {
                        if (ownerOf(e.comment()) == null) {
                            continue;
                        }
                        try {
                            var b = nft.batch();
                            if (e.keyEnd() != null) {
                                b.deleteRangeElement(Nftables.INET, t.getKey(), set, e.key(), e.keyEnd(), e.toString());
                            } else {
                                b.deleteElement(Nftables.INET, t.getKey(), set, e.key(), e.toString());
                            }
                            b.commit();
                        } catch (RuntimeException x) {
                            problems.add("nft element " + e + ": " + x.getMessage());
                        }
                    }
                }
                if (!tablesBefore.get(t.getKey()) && tableExists(t.getKey()) && elementCount(nft, t.getKey()) == 0) {
                    try {
                        nft.batch().deleteTable(Nftables.INET, t.getKey()).commit();
                    } catch (RuntimeException x) {
                        problems.add("nft table " + t.getKey() + ": " + x.getMessage());
                    }
                }
            }
        } catch (RuntimeException e) {
            problems.add("nft: " + e.getMessage());
        }
    }

    /** A process's environment as {@code \0K=V\0K=V\0} (empty when it is gone or unreadable). */
    static String environOf(ProcessHandle h) {
        try {
            return "\0"
                    + new String(
                            Files.readAllBytes(Path.of("/proc", Long.toString(h.pid()), "environ")),
                            StandardCharsets.UTF_8)
                    + "\0";
        } catch (IOException gone) {
            return "";
        }
    }

    private static int elementCount(Nftables nft, String table) {
        int n = 0;
        for (String set : NFT_SETS.get(table)) {
            try {
                n += settled(() -> nft.elements(Nftables.INET, table, set)).size();
            } catch (NoSuchObjectException none) {
                // a set the table does not have
            }
        }
        return n;
    }

    private static boolean tableExists(String table) {
        return settled(() -> {
            try (Nftables nft = Nftables.open(Trace.OFF)) {
                return nft.tables().stream()
                        .anyMatch(t -> t.family() == Nftables.INET && t.name().equals(table));
            }
        });
    }
}
