package io.jcni.agent.sim;

import io.jcni.netlink.ns.NamedNetns;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * An etcd cluster on the underlay: member {@code i} (1..n) runs in its own namespace
 * {@code <prefix>e<i>} at 198.18.0.(1+i), client port {@value #CLIENT_PORT}, peer port
 * {@value #PEER_PORT}, data in {@code <baseDir>/etcd/e<i>}, log in {@code <baseDir>/etcd/e<i>.log}.
 * Members can be stopped (SIGKILL, as a crash) and started again on the same data.
 * {@link SimulatedCluster#startEtcd} makes one.
 */
public final class EtcdMembers {
    public static final int CLIENT_PORT = 2379, PEER_PORT = 2380;
    /** At most 8 members: their addresses .2–.9 stay below the nodes' (.10 up). */
    public static final int MAX_MEMBERS = 8;
    /** Raft timing for fast recovery on one machine (etcd's defaults, 100/1000 ms, are for real networks). */
    static final int HEARTBEAT_MS = 50, ELECTION_MS = 500;

    private static final Duration ETCDCTL_TIMEOUT = Duration.ofSeconds(20);

    private final SimulatedCluster cluster;
    private final int size;
    private final Path dir;
    private final Process[] processes;

    EtcdMembers(SimulatedCluster cluster, int size, Path dir) {
        this.cluster = cluster;
        this.size = size;
        this.dir = dir;
        this.processes = new Process[size + 1];
    }

    public int size() {
        return size;
    }

    /** Member {@code i}'s namespace name. */
    public String netns(int i) {
        check(i);
        return cluster.prefix() + "e" + i;
    }

    /** Member {@code i}'s address, 198.18.0.(1+i). */
    public String ip(int i) {
        check(i);
        return cluster.underlayAddress(1 + i);
    }

    /** {@code http://198.18.0.(1+i):2379}. */
    public String endpoint(int i) {
        return "http://" + ip(i) + ":" + CLIENT_PORT;
    }

    /** Every member's client URL, comma-separated: what an agent's {@code --etcd-endpoints} takes. */
    public String endpoints() {
        StringJoiner j = new StringJoiner(",");
        for (int i = 1; i <= size; i++) {
            j.add(endpoint(i));
        }
        return j.toString();
    }

    /** The client URLs of the members running now. */
    public synchronized String liveEndpoints() {
        StringJoiner j = new StringJoiner(",");
        for (int i = 1; i <= size; i++) {
            if (running(i)) {
                j.add(endpoint(i));
            }
        }
        return j.toString();
    }

    public Path dataDir(int i) {
        check(i);
        return dir.resolve("e" + i);
    }

    public Path log(int i) {
        check(i);
        return dir.resolve("e" + i + ".log");
    }

    public synchronized boolean running(int i) {
        check(i);
        return processes[i] != null && processes[i].isAlive();
    }

    /** Member {@code i}'s pid, or -1 when stopped. */
    public synchronized long pid(int i) {
        return running(i) ? processes[i].pid() : -1;
    }

    /** Creates member {@code i}'s namespace on the underlay (once). */
    void attach(int i) {
        cluster.createNamespace(netns(i));
        cluster.attachToUnderlay(netns(i), "ve" + i, ip(i), false);
    }

    /**
     * Starts member {@code i} on its data directory. A first start bootstraps the cluster (state
     * "new"); later starts find the data directory and ignore the bootstrap flags, as etcd does.
     */
    public synchronized void start(int i) {
        cluster.checkOpen();
        if (running(i)) {
            throw new IllegalStateException("etcd member e" + i + " is running already");
        }
        StringJoiner initial = new StringJoiner(",");
        for (int k = 1; k <= size; k++) {
            initial.add("e" + k + "=http://" + ip(k) + ":" + PEER_PORT);
        }
        List<String> cmd = List.of(
                "nsenter",
                "--net=" + NamedNetns.pathOf(netns(i)),
                "--",
                "etcd",
                "--name",
                "e" + i,
                "--data-dir",
                dataDir(i).toString(),
                "--listen-client-urls",
                endpoint(i),
                "--advertise-client-urls",
                endpoint(i),
                "--listen-peer-urls",
                "http://" + ip(i) + ":" + PEER_PORT,
                "--initial-advertise-peer-urls",
                "http://" + ip(i) + ":" + PEER_PORT,
                "--initial-cluster",
                initial.toString(),
                "--initial-cluster-state",
                "new",
                "--initial-cluster-token",
                cluster.prefix(),
                "--heartbeat-interval",
                Integer.toString(HEARTBEAT_MS),
                "--election-timeout",
                Integer.toString(ELECTION_MS),
                "--logger",
                "zap",
                "--log-outputs",
                "stderr");
        try {
            Files.createDirectories(dir);
            processes[i] = new ProcessBuilder(cmd)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log(i).toFile()))
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start etcd member e" + i + ": " + e.getMessage(), e);
        }
        cluster.log("etcd e" + i + ": pid " + processes[i].pid() + ": " + Procs.shellJoin(cmd));
    }

    /** SIGKILLs member {@code i} (a crash); its data stays for {@link #start}. */
    public synchronized void stop(int i) {
        check(i);
        Process p = processes[i];
        if (p != null) {
            Procs.kill(p);
            processes[i] = null;
            cluster.log("etcd e" + i + ": killed");
        }
    }

    /**
     * Waits until every running member answers {@code etcdctl endpoint health} (which needs a
     * quorum: the check is a linearizable read).
     *
     * @throws IllegalStateException with the last answer when {@code within} passes first
     */
    public void waitHealthy(Duration within) {
        ExecResult[] last = new ExecResult[1];
        boolean ok = Procs.await(
                () -> {
                    if (liveEndpoints().isEmpty()) {
                        return false;
                    }
                    last[0] = tryEtcdctl("endpoint", "health");
                    return last[0].ok();
                },
                within);
        if (!ok) {
            throw new IllegalStateException("etcd not healthy within " + within.toSeconds() + " s"
                    + (last[0] == null
                            ? ": no member running"
                            : ": " + last[0].output().strip()));
        }
    }

    /** {@link #tryEtcdctl}, failing on a non-zero exit; returns stdout. */
    public String etcdctl(String... args) {
        ExecResult r = tryEtcdctl(args);
        if (!r.ok()) {
            throw new IllegalStateException("etcdctl " + String.join(" ", args) + " exited " + r.exitCode() + ": "
                    + r.output().strip());
        }
        return r.stdout();
    }

    /**
     * {@code etcdctl --endpoints <the running members> ARGS} (API v3) run inside the first running
     * member's namespace.
     */
    public ExecResult tryEtcdctl(String... args) {
        String from = null;
        synchronized (this) {
            for (int i = 1; i <= size && from == null; i++) {
                if (running(i)) {
                    from = netns(i);
                }
            }
        }
        if (from == null) {
            throw new IllegalStateException("no etcd member is running");
        }
        List<String> cmd = new ArrayList<>(List.of(
                "nsenter",
                "--net=" + NamedNetns.pathOf(from),
                "--",
                "etcdctl",
                "--endpoints",
                liveEndpoints(),
                "--dial-timeout",
                "2s",
                "--command-timeout",
                "5s"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().putAll(Map.of("ETCDCTL_API", "3"));
        return Procs.exec(pb, ETCDCTL_TIMEOUT);
    }

    /** Kills every member (the cluster's close). */
    synchronized void killAll() {
        for (int i = 1; i <= size; i++) {
            if (processes[i] != null) {
                Procs.kill(processes[i]);
                processes[i] = null;
            }
        }
    }

    private void check(int i) {
        if (i < 1 || i > size) {
            throw new IllegalArgumentException("etcd members are numbered 1.." + size + ", not " + i);
        }
    }
}
