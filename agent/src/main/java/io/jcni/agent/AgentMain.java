package io.jcni.agent;

import io.jcni.daemon.Daemon;
import io.jcni.netlink.KernelException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.route.RouteNetlink;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Entry point of the commands that need the cluster store: {@code jcni agent}, {@code jcni cluster}
 * and {@code jcni demo --cluster}. {@code bin/jcni} sends those here, so that jetcd and its
 * dependencies are loaded only by them and never by the CLI's other commands or the plugins.
 * Exit codes as the CLI's: 0 success, 1 failure, 2 bad usage.
 */
public final class AgentMain {
    private AgentMain() {}

    public static void main(String[] args) {
        int code = run(args, System.out, System.err);
        System.out.flush();
        System.exit(code);
    }

    public static int run(String[] argv, PrintStream out, PrintStream err) {
        List<String> args = new ArrayList<>(Arrays.asList(argv));
        boolean trace = args.remove("--trace");
        boolean debug = args.remove("--debug");
        if (args.isEmpty()) {
            err.println("usage: jcni agent|cluster|demo --cluster ...");
            return 2;
        }
        String command = args.remove(0);
        try {
            return switch (command) {
                case "agent" -> agent(args, out, err, trace);
                case "cluster" -> new ClusterCommand(out, err, trace).run(args);
                case "demo" -> new ClusterDemo(out, err).run(args);
                default -> {
                    err.println("jcni: unknown command \"" + command + "\" (see jcni --help)");
                    yield 2;
                }
            };
        } catch (AgentOptions.UsageException e) {
            err.println("jcni " + command + ": " + e.getMessage());
            return 2;
        } catch (KernelException
                | IllegalStateException
                | IllegalArgumentException
                | LeaseStore.StoreUnavailableException e) {
            err.println("jcni " + command + ": " + e.getMessage());
            if (debug) {
                e.printStackTrace(err);
            }
            return 1;
        }
    }

    /** {@code jcni agent}: runs until SIGTERM/SIGINT. */
    static int agent(List<String> args, PrintStream out, PrintStream err, boolean trace) {
        AgentOptions o = AgentOptions.parse(args);
        if (o == null) {
            out.print(AgentOptions.USAGE);
            return 0;
        }
        AgentLog log = new AgentLog(err);
        Trace tracer = trace ? line -> log.detail("+ " + line) : Trace.OFF;
        RouteNetlink nl = RouteNetlink.open(tracer);
        Underlay underlay = Underlay.resolve(nl, o.iface, o.publicIp);
        log.info("starting on " + underlay.iface() + " " + underlay.publicIp()
                + (o.kubeSubnetMgr
                        ? ", Kubernetes mode: Node " + o.nodeName + ", network configuration " + o.netConf
                        : ", etcd " + String.join(",", o.etcdEndpoints) + " " + o.etcdPrefix));
        AgentMetrics metrics = o.metricsAddr == null ? null : new AgentMetrics();
        Daemon daemon = null;
        if (o.pluginSocket != null) {
            try {
                // served from the start: a restarted agent must not hold up pods while the store is away
                daemon = Daemon.start(o.pluginSocket, err, metrics == null ? Daemon.Observer.NONE : metrics);
                log.info("serving the CNI plugins on " + daemon.socket());
            } catch (IOException e) {
                log.warn("not serving the CNI plugins on " + o.pluginSocket + ": " + e.getMessage()
                        + " (the plugins run standalone)");
            }
        }
        Dataplane dataplane;
        LeaseStore store;
        try {
            dataplane = new Dataplane(nl, tracer, underlay.iface(), underlay.publicIp(), o.bridge);
            if (o.kubeSubnetMgr) {
                KubeLeaseStore kube = KubeLeaseStore.connect(kubeOptions(o, log));
                log.info("Kubernetes API server " + kube.server()
                        + (o.kubeconfig != null ? " (kubeconfig " + o.kubeconfig + ")" : ""));
                store = kube;
            } else {
                store = EtcdLeaseStore.connect(storeOptions(o, log));
            }
        } catch (RuntimeException e) {
            if (daemon != null) {
                daemon.close(); // removes the socket: the plugins fall back to their own JVM at once
            }
            throw e;
        }
        Agent agent = new Agent(
                store,
                dataplane,
                new Handoff(o.subnetFile, o.cniConfDir, o.bridge),
                underlay.publicIp(),
                o,
                log,
                metrics == null ? Agent.Observer.NONE : metrics);
        if (metrics != null) {
            try {
                metrics.serve(o.metricsAddr, agent::health, o.reconcileInterval);
                log.info("metrics on http://" + hostPort(metrics.address()) + "/metrics, health on /healthz");
            } catch (IOException | RuntimeException e) {
                log.warn("not serving metrics on " + hostPort(o.metricsAddr) + ": " + e.getMessage());
            }
        }
        Thread loop = Thread.ofPlatform().name("jcni-agent").start(agent);
        KernelWatch kernelWatch = null;
        try {
            kernelWatch = KernelWatch.start(null, underlay.iface(), agent::kernelChanged, dataplane.ownDeletions());
        } catch (KernelException e) {
            log.warn("not watching the kernel for changes (" + e.getMessage() + "): drift is repaired every "
                    + AgentLog.duration(o.reconcileInterval));
        }
        KernelWatch watching = kernelWatch;
        Daemon served = daemon;
        Runtime.getRuntime()
                .addShutdownHook(Thread.ofPlatform().name("jcni-agent-shutdown").unstarted(() -> {
                    agent.stop();
                    if (watching != null) {
                        watching.close();
                    }
                    try {
                        agent.awaitStopped(Duration.ofSeconds(10));
                    } catch (InterruptedException ignored) {
                        // exiting anyway
                    }
                    if (served != null) {
                        served.close();
                    }
                    if (metrics != null) {
                        metrics.close();
                    }
                    store.close();
                    log.info("stopped; the data plane and the hand-off stay in place");
                }));
        try {
            loop.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }

    static KubeLeaseStore.Options kubeOptions(AgentOptions o, AgentLog log) {
        return new KubeLeaseStore.Options(
                o.nodeName, o.netConf, o.kubeconfig, Duration.ofSeconds(10), log::info, log::warn);
    }

    private static String hostPort(java.net.InetSocketAddress a) {
        String host =
                a.getAddress() == null ? a.getHostString() : a.getAddress().getHostAddress();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
    }

    static EtcdLeaseStore.Options storeOptions(AgentOptions o, AgentLog log) {
        return new EtcdLeaseStore.Options(
                o.etcdEndpoints,
                o.etcdPrefix,
                o.etcdCaFile,
                o.etcdCertFile,
                o.etcdKeyFile,
                Duration.ofSeconds(5),
                log::warn);
    }
}
