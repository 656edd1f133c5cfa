package io.jcni.cli;

import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.route.LinkSpec;
import io.jcni.netlink.route.Route;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.testkit.Commands;
import io.jcni.testkit.Jars;
import io.jcni.testkit.TestNames;
import io.jcni.testkit.TestNetns;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * A node of its own for the inspect/doctor/graph tests: a network namespace {@code jin-<run><L>-node}
 * with an uplink veth to an "outside" namespace (10.214.N.0/24, default route through it), jcni's
 * plugins installed from the test class path behind a {@code jcni daemon} running inside the
 * node, a network (jcni-bridge with host-local, ipMasq, mtu 1400, then portmap and loopback) in a
 * configuration directory of its own, and pods made by the {@code jcni pod create} code path run
 * inside the node. Every name starts with {@code jin-} and the run id, every address is in
 * 10.214.0.0/16, nothing is sent outside these namespaces, and {@link #close} removes it all.
 */
final class TestNode implements AutoCloseable {

    final String prefix;
    final String node, out, uplink, bridge, network;
    final int base;
    final IpPrefix uplinkNet, podNet;
    final Path root, netconf, bin, lib, cache, ipam, run, socket, subnetFile;
    final List<String> pods = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final TestNetns namespaces = new TestNetns();
    NetNs nodeNs;

    /** {@code letter} keeps the names and subnets of two test classes apart. */
    TestNode(char letter) throws Exception {
        prefix = "jin-" + TestNames.RUN + letter;
        node = prefix + "-node";
        out = prefix + "-out";
        uplink = prefix + "up";
        bridge = prefix + "br";
        network = prefix + "net";
        base = 10 * (letter - 'a' + 1);
        uplinkNet = IpPrefix.parse("10.214." + base + ".0/24");
        podNet = IpPrefix.parse("10.214." + (base + 1) + ".0/24");
        root = Files.createTempDirectory(prefix);
        netconf = Files.createDirectory(root.resolve("net.d"));
        bin = root.resolve("bin");
        lib = root.resolve("lib");
        cache = root.resolve("cache");
        ipam = root.resolve("ipam");
        run = Files.createDirectory(root.resolve("run"));
        socket = run.resolve("jcni.sock");
        subnetFile = run.resolve("subnet.env");
        try {
            setUp();
        } catch (Exception | Error e) {
            try {
                close();
            } catch (RuntimeException left) {
                e.addSuppressed(left); // what was left behind, after why
            }
            throw e;
        }
    }

    private void setUp() throws Exception {
        Path from = Jars.fromClassPath(Files.createDirectory(root.resolve("from")));
        CliRunner install = CliRunner.run(
                "install",
                "--dir",
                bin.toString(),
                "--lib-dir",
                lib.toString(),
                "--from",
                from.toString(),
                "--socket",
                socket.toString(),
                "--no-aot-cache");
        if (install.code() != 0) {
            throw new IllegalStateException("install: " + install.out() + install.err());
        }
        namespaces.create(node);
        namespaces.create(out);
        nodeNs = NetNs.openNamed(node);
        closeables.add(nodeNs);
        try (NetNs o = NetNs.openNamed(out);
                RouteNetlink inNode = RouteNetlink.open(nodeNs, Trace.OFF);
                RouteNetlink inOut = RouteNetlink.open(o, Trace.OFF)) {
            inNode.links().add(LinkSpec.veth(uplink, "eth0").peerNetns(o).up());
            inNode.links().setUp("lo");
            inOut.links().setUp("lo");
            inOut.links().setUp("eth0");
            inNode.addresses().add(uplink, new IpPrefix(ip(2), 24));
            inOut.addresses().add("eth0", new IpPrefix(ip(1), 24));
            inNode.routes().add(Route.defaultVia(ip(1)));
        }
        Files.writeString(netconf.resolve("10-" + network + ".conflist"), """
                {"cniVersion": "1.0.0", "name": "%s", "plugins": [
                  {"type": "jcni-bridge", "bridge": "%s", "isGateway": true, "ipMasq": true, "mtu": 1400, "hairpinMode": true,
                   "ipam": {"type": "jcni-host-local", "dataDir": "%s", "ranges": [[{"subnet": "%s"}]]}},
                  {"type": "jcni-portmap", "capabilities": {"portMappings": true}},
                  {"type": "jcni-loopback"}]}""".formatted(network, bridge, ipam, podNet));
        startIn(nodeNs, run.resolve("daemon.log"), "io.jcni.cli.Main", "daemon", "--socket", socket.toString());
        Process daemon = processes.get(processes.size() - 1);
        waitFor("the daemon's socket", () -> {
            if (!daemon.isAlive()) {
                throw new IllegalStateException("the daemon exited: " + read(run.resolve("daemon.log")));
            }
            return Files.exists(socket);
        });
    }

    /** An address in the uplink's subnet (.1 the outside, .2 the node). */
    IpAddress ip(int host) {
        return IpAddress.parse("10.214." + base + "." + host);
    }

    /** Starts {@code java -cp <test class path> MAIN ARGS} inside {@code ns}; killed at close. */
    Process startIn(NetNs ns, Path log, String main, String... args) {
        return startIn(ns, log, Jars.javaCommand(List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"), main, args));
    }

    /**
     * Starts {@code cmd} inside {@code ns} under a shell that kills it when its stdin closes: when
     * this JVM ends, however it ends, nothing it started keeps running.
     */
    Process startIn(NetNs ns, Path log, List<String> cmd) {
        List<String> wrapped =
                new ArrayList<>(List.of("sh", "-c", "\"$@\" & child=$!; cat >/dev/null; kill $child", "sh"));
        wrapped.addAll(cmd);
        Process p = ns.run(() -> {
            try {
                // the child is born in the namespace of the thread that starts it
                return new ProcessBuilder(wrapped)
                        .redirectErrorStream(true)
                        .redirectOutput(log.toFile())
                        .start();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        processes.add(p);
        return p;
    }

    /** Runs the CLI on a thread inside the node's namespace (the plugins it executes start there too). */
    CliRunner cli(String... args) {
        return nodeNs.run(() -> CliRunner.run(args));
    }

    /** The options every command here needs to find this node's state. */
    String[] with(String... args) {
        List<String> l = new ArrayList<>(List.of(args));
        l.addAll(List.of(
                "--netconf", netconf.toString(), "--cni-path", bin.toString(), "--cache-dir", cache.toString()));
        return l.toArray(new String[0]);
    }

    /** inspect/doctor/graph against this node, from outside it (--netns). */
    String[] view(String... args) {
        List<String> l = new ArrayList<>(List.of(with(args)));
        l.addAll(List.of("--netns", node, "--socket", socket.toString(), "--subnet-file", subnetFile.toString()));
        return l.toArray(new String[0]);
    }

    /** {@code jcni pod create NAME --network NET [--cap JSON]} inside the node; returns the pod's name. */
    String pod(String suffix, String cap) {
        String name = prefix + "-" + suffix;
        pods.add(name);
        List<String> args = new ArrayList<>(List.of("pod", "create", name, "--network", network));
        if (cap != null) {
            args.addAll(List.of("--cap", cap));
        }
        CliRunner r = cli(with(args.toArray(new String[0])));
        if (r.code() != 0) {
            throw new IllegalStateException("pod create " + name + ": " + r.out() + r.err());
        }
        return name;
    }

    /** {@code ip -n NODE ARGS} (a witness). */
    String ipNode(String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip", "-n", node));
        cmd.addAll(List.of(args));
        return Commands.run(cmd.toArray(new String[0]));
    }

    static String read(Path f) {
        try {
            return Files.readString(f);
        } catch (IOException e) {
            return e.toString();
        }
    }

    static void waitFor(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20); // polling a condition with a deadline, not a fixed wait
        }
    }

    @Override
    public void close() {
        for (Process p : processes) {
            try {
                p.getOutputStream().close(); // the wrapper kills its command
            } catch (IOException ignored) {
                // already gone
            }
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            try {
                p.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (int i = closeables.size() - 1; i >= 0; i--) {
            try {
                closeables.get(i).close();
            } catch (Exception ignored) {
                // keep cleaning
            }
        }
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temp dir left behind
        }
        // the pods, the node (its bridge, veths and nft tables go with it), the outside; last, as it fails if one is
        // left
        namespaces.adoptExisting(prefix + "-");
        namespaces.close();
    }

    /** Closed with the node (before its namespaces go). */
    <T extends AutoCloseable> T closeLater(T c) {
        closeables.add(c);
        return c;
    }
}
