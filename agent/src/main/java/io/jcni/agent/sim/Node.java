package io.jcni.agent.sim;

import io.jcni.cni.json.Json;
import io.jcni.cni.json.JsonException;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ns.NamedNetns;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.probe.Ping;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One simulated Kubernetes node: the network namespace {@code <prefix><name>} with {@code eth0}
 * on the underlay, and a private mount namespace, held by the node's "init" process, in which
 * {@code /etc/cni/net.d}, {@code /run/jcni} and {@code /var/lib/cni} are bind mounts of
 * {@code <baseDir>/<name>/{etc-cni-net.d,run-jcni,var-lib-cni}}. Whatever runs "on the node"
 * enters both namespaces of that process, so the agent's conflist, subnet.env and socket land in
 * the node's directories on the host. The mount namespace is a slave of the host's: pod
 * namespaces created later under {@code /run/netns} (a shared mount) are visible inside.
 *
 * <p>{@link SimulatedCluster#addNode} creates nodes; the cluster's {@code close()} removes them.
 */
public final class Node {
    /** The directories every node has of its own, as paths inside the node. */
    public static final String CNI_CONF_DIR = "/etc/cni/net.d", RUN_DIR = "/run/jcni", CNI_CACHE_DIR = "/var/lib/cni";
    /** Their host-side directories under the node's directory, in the same order. */
    static final String CNI_CONF_SUBDIR = "etc-cni-net.d", RUN_SUBDIR = "run-jcni", CNI_CACHE_SUBDIR = "var-lib-cni";
    /** How long an {@link #addPod}'s or {@link #removePod}'s {@code jcni add|del} may take. */
    public static final Duration CNI_TIMEOUT = Duration.ofSeconds(120);

    private final SimulatedCluster cluster;
    private final String name;
    private final int index;
    private final String netns;
    private final String underlayIp;
    private final Path dir;
    private final List<Process> processes = new ArrayList<>();
    private final List<Pod> pods = new ArrayList<>();
    private volatile Process init;

    Node(SimulatedCluster cluster, String name, int index, String netns, String underlayIp, Path dir) {
        this.cluster = cluster;
        this.name = name;
        this.index = index;
        this.netns = netns;
        this.underlayIp = underlayIp;
        this.dir = dir;
    }

    public String name() {
        return name;
    }

    public int index() {
        return index;
    }

    /** The node's network namespace, by name under {@code /run/netns}. */
    public String netns() {
        return netns;
    }

    /** Its address on the underlay ({@code eth0}), 198.18.0.(10+index) on the default underlay. */
    public String underlayIp() {
        return underlayIp;
    }

    /** {@code <baseDir>/<name>} on the host. */
    public Path dir() {
        return dir;
    }

    /** A path under the node's directory on the host. */
    public Path dir(String first, String... more) {
        return dir.resolve(Path.of(first, more));
    }

    /** The host side of the node's {@code /etc/cni/net.d}. */
    public Path cniConfDir() {
        return dir.resolve(CNI_CONF_SUBDIR);
    }

    /** The host side of the node's {@code /run/jcni}. */
    public Path runDir() {
        return dir.resolve(RUN_SUBDIR);
    }

    /** The host side of the node's {@code /var/lib/cni}. */
    public Path cniCacheDir() {
        return dir.resolve(CNI_CACHE_SUBDIR);
    }

    /** The host side of the node's {@code /run/jcni/jcni.sock}, the plugins' socket. */
    public Path socket() {
        return runDir().resolve("jcni.sock");
    }

    /** The pid of the process holding the node's mount namespace (its network namespace too). */
    public long initPid() {
        Process p = init;
        if (p == null) {
            throw new IllegalStateException("node " + name + " has no init process");
        }
        return p.pid();
    }

    /** Starts the init process and waits until its mounts are in place. */
    void start() {
        for (String sub : List.of(CNI_CONF_SUBDIR, RUN_SUBDIR, CNI_CACHE_SUBDIR)) {
            mkdirs(dir.resolve(sub));
        }
        for (String mountPoint : List.of(CNI_CONF_DIR, RUN_DIR, CNI_CACHE_DIR)) {
            mkdirs(Path.of(mountPoint)); // on the host: the bind mounts need a directory to cover
        }
        // exec sleep only after every mount succeeded: its name tells the mounts are done
        String script = "mount --bind \"$1\" " + CNI_CONF_DIR + " && mount --bind \"$2\" " + RUN_DIR
                + " && mount --bind \"$3\" " + CNI_CACHE_DIR + " && exec sleep infinity";
        List<String> cmd = List.of(
                "nsenter",
                "--net=" + NamedNetns.pathOf(netns),
                "--",
                "unshare",
                "--mount",
                "--propagation",
                "slave",
                "--",
                "sh",
                "-c",
                script,
                "node-init",
                cniConfDir().toString(),
                runDir().toString(),
                cniCacheDir().toString());
        Path log = dir.resolve("init.log");
        cluster.log("node " + name + ": " + Procs.shellJoin(cmd));
        try {
            init = new ProcessBuilder(cmd)
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .start();
        } catch (IOException e) {
            throw new IllegalStateException("node " + name + ": cannot start its init process: " + e.getMessage(), e);
        }
        Process p = init;
        Path comm = Path.of("/proc", Long.toString(p.pid()), "comm");
        boolean ready = Procs.await(() -> !p.isAlive() || "sleep".equals(readTrimmed(comm)), Duration.ofSeconds(20));
        if (!ready || !p.isAlive()) {
            String why = readTrimmed(log);
            Procs.kill(p);
            throw new IllegalStateException("node " + name + ": the init process "
                    + (ready ? "failed" : "did not get ready in 20 s") + (why.isEmpty() ? "" : ": " + why));
        }
        cluster.log("node " + name + ": init pid " + p.pid() + " holds the node's mounts");
    }

    private static String readTrimmed(Path p) {
        try {
            return Files.readString(p, StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            return "";
        }
    }

    private static void mkdirs(Path p) {
        try {
            Files.createDirectories(p);
        } catch (IOException e) {
            throw new IllegalStateException("cannot create " + p + ": " + e.getMessage(), e);
        }
    }

    private ProcessBuilder onNode(List<String> cmd, Map<String, String> env) {
        List<String> full = new ArrayList<>(
                List.of("nsenter", "--target", Long.toString(initPid()), "--net", "--mount", "--wd=" + dir, "--"));
        full.addAll(cmd);
        ProcessBuilder pb = new ProcessBuilder(full);
        if (env != null) {
            pb.environment().putAll(env);
        }
        return pb;
    }

    /**
     * Starts {@code cmd} on the node (in both of its namespaces; working directory {@link #dir()}),
     * with this JVM's environment plus {@code env}, stdout and stderr appended to {@code logFile}
     * (null: discarded), stdin empty. The process is this node's: the cluster's close() ends it.
     */
    public Process run(List<String> cmd, Map<String, String> env, Path logFile) {
        ProcessBuilder pb = onNode(cmd, env)
                .redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(
                        logFile == null
                                ? ProcessBuilder.Redirect.DISCARD
                                : ProcessBuilder.Redirect.appendTo(logFile.toFile()));
        Process p;
        synchronized (processes) {
            cluster.checkOpen();
            try {
                p = pb.start();
            } catch (IOException e) {
                throw new IllegalStateException("node " + name + ": cannot start " + cmd + ": " + e.getMessage(), e);
            }
            processes.removeIf(q -> !q.isAlive());
            processes.add(p);
        }
        cluster.log("node " + name + ": started pid " + p.pid() + ": " + Procs.shellJoin(cmd));
        return p;
    }

    /** Runs {@code cmd} on the node to completion (killed after {@code timeout}, which is an error). */
    public ExecResult exec(List<String> cmd, Duration timeout) {
        return exec(cmd, Map.of(), timeout);
    }

    /** Runs {@code cmd} on the node to completion with this JVM's environment plus {@code env}. */
    public ExecResult exec(List<String> cmd, Map<String, String> env, Duration timeout) {
        cluster.checkOpen();
        return Procs.exec(onNode(cmd, env), timeout);
    }

    /**
     * Starts a long-running process on the node, typically the agent ({@code java … io.jcni.agent…})
     * or {@code jcni daemon}: {@code command} is the full command line, its output goes to {@code log}.
     */
    public AgentProcess startAgent(List<String> command, Path log) {
        return new AgentProcess(this, run(command, Map.of(), log), log);
    }

    /** Like {@link #startAgent(List, Path)} with extra environment variables. */
    public AgentProcess startAgent(List<String> command, Map<String, String> env, Path log) {
        return new AgentProcess(this, run(command, env, log), log);
    }

    /**
     * Creates the pod namespace {@code <prefix><podName>} and attaches it to the node's network
     * {@value SimulatedCluster#NETWORK} by running, on the node,
     * {@code <jcniCommand> add jcni /run/netns/<netns> --container-id <netns> -o json}: the
     * conflist comes from the node's {@code /etc/cni/net.d}, the plugins from {@code CNI_PATH}
     * in {@code env}. The pod's IP is read from the printed result.
     *
     * @param jcniCommand how to run jcni's CLI, e.g. {@code java … io.jcni.cli.Main} or {@code /usr/bin/jcni}
     * @throws IllegalStateException when the add fails (the namespace is removed again)
     */
    public Pod addPod(String podName, List<String> jcniCommand, Map<String, String> env) {
        String ns = cluster.newNamespaceName(podName, "pod");
        cluster.createNamespace(ns);
        String containerId = ns;
        List<String> cmd = new ArrayList<>(jcniCommand);
        cmd.addAll(List.of(
                "add", SimulatedCluster.NETWORK, NamedNetns.pathOf(ns), "--container-id", containerId, "-o", "json"));
        String ip;
        try {
            ExecResult r = exec(cmd, env, CNI_TIMEOUT);
            if (!r.ok()) {
                throw new IllegalStateException("node " + name + ": jcni add for pod " + podName + " exited "
                        + r.exitCode() + ": " + r.output().strip());
            }
            ip = firstIpv4(r.stdout());
        } catch (RuntimeException e) {
            cluster.deleteNamespace(ns);
            throw e;
        }
        Pod pod = new Pod(podName, ns, containerId, ip, this, jcniCommand, env);
        synchronized (pods) {
            pods.add(pod);
        }
        cluster.log("node " + name + ": pod " + podName + " is " + ip + " (netns " + ns + ")");
        return pod;
    }

    /**
     * Runs {@code <jcniCommand> del jcni /run/netns/<netns> --container-id <id>} on the node, then
     * deletes the pod's namespace (also when the DEL failed, which is then reported).
     */
    public void removePod(Pod pod) {
        if (pod.node() != this) {
            throw new IllegalArgumentException(pod + " is not on node " + name);
        }
        List<String> cmd = new ArrayList<>(pod.jcniCommand);
        cmd.addAll(List.of(
                "del", SimulatedCluster.NETWORK, NamedNetns.pathOf(pod.netns()), "--container-id", pod.containerId()));
        ExecResult r;
        try {
            r = exec(cmd, pod.env, CNI_TIMEOUT);
        } finally {
            synchronized (pods) {
                pods.remove(pod);
            }
            cluster.deleteNamespace(pod.netns());
        }
        if (!r.ok()) {
            throw new IllegalStateException("node " + name + ": jcni del for pod " + pod.name() + " exited "
                    + r.exitCode() + ": " + r.output().strip());
        }
        cluster.log("node " + name + ": pod " + pod.name() + " removed");
    }

    /** The pods added here and not removed. */
    public List<Pod> pods() {
        synchronized (pods) {
            return List.copyOf(pods);
        }
    }

    /** One ICMP echo from the node's namespace to {@code ip}: true when it was answered within 2 s. */
    public boolean ping(String ip) {
        try (NetNs ns = NetNs.openNamed(netns)) {
            return Ping.once(ns, IpAddress.parse(ip), 2000) >= 0;
        }
    }

    /** The first IPv4 address of a CNI result ({@code ips[].address}), without its prefix length. */
    static String firstIpv4(String resultJson) {
        int start = resultJson.indexOf('{');
        if (start < 0) {
            throw new IllegalStateException("jcni add printed no result: " + resultJson.strip());
        }
        Map<String, Object> result;
        try {
            result = Json.parseObject(resultJson.substring(start).getBytes(StandardCharsets.UTF_8));
        } catch (JsonException e) {
            throw new IllegalStateException(
                    "jcni add printed no JSON result (" + e.getMessage() + "): " + resultJson.strip());
        }
        if (result.get("ips") instanceof List<?> ips) {
            for (Object o : ips) {
                if (o instanceof Map<?, ?> m && m.get("address") instanceof String a && a.indexOf(':') < 0) {
                    int slash = a.indexOf('/');
                    return slash < 0 ? a : a.substring(0, slash);
                }
            }
        }
        throw new IllegalStateException("the CNI result has no IPv4 address: " + resultJson.strip());
    }

    /** SIGTERM to every process started here, up to {@code grace} for all of them, then SIGKILL. */
    void stopProcesses(Duration grace) {
        List<Process> all;
        synchronized (processes) {
            all = new ArrayList<>(processes);
            processes.clear();
        }
        for (Process p : all) {
            p.destroy();
        }
        Procs.await(() -> all.stream().noneMatch(Process::isAlive), grace);
        for (Process p : all) {
            if (p.isAlive()) {
                Procs.kill(p);
            }
        }
    }

    /** Ends the init process: the node's mount namespace (and its bind mounts) goes with its last process. */
    void killInit() {
        Process p = init;
        if (p != null) {
            Procs.kill(p);
        }
    }

    @Override
    public String toString() {
        return "node " + name + " (" + underlayIp + ", netns " + netns + ")";
    }
}
