package io.jcni.cli;

import io.jcni.netlink.KernelException;
import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ns.NamedNetns;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.ns.Sysctl;
import io.jcni.netlink.probe.Ping;
import io.jcni.netlink.probe.TcpProbe;
import io.jcni.netlink.route.Address;
import io.jcni.netlink.route.LinkSpec;
import io.jcni.netlink.route.Route;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.netlink.route.Rtnl;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code jcni demo}: the eight steps of pod networking, live, each printed as the command that
 * does the same. Two pods on a bridge, masquerade through nftables, and a third namespace as the
 * "outside world" that proves the NAT. Everything it creates carries the names below and lives
 * in documentation-only address blocks, so it cannot collide with a real network.
 */
final class DemoCommand {
    static final String USAGE = """
            Usage: jcni demo [--keep] [--slow MS]   build, check and (unless --keep) remove the demo
                   jcni demo --cleanup                remove a demo kept with --keep

              --slow MS   pause MS milliseconds after each step, to watch it happen

            Builds, as root, on this host:
              namespaces  jcni-demo-pod1, jcni-demo-pod2 (pods), jcni-demo-out (the outside host)
              bridge      jcnidemo0 198.51.100.1/24 (pods 198.51.100.11, .12 on eth0)
              outside     jcnid-out 203.0.113.1/24 <-> 203.0.113.100 in jcni-demo-out
              NAT         nft table ip jcni_demo (masquerade of the pods' addresses)
              sysctl      net.ipv4.ip_forward=1 (restored to its old value on cleanup)
            The address blocks are RFC 5737 documentation ranges (TEST-NET-2 and TEST-NET-3).
            """;

    static final String POD1 = "jcni-demo-pod1", POD2 = "jcni-demo-pod2", OUTSIDE = "jcni-demo-out";
    static final String BRIDGE = "jcnidemo0", VETH1 = "jcnid-pod1", VETH2 = "jcnid-pod2", VETH_OUT = "jcnid-out";
    static final String NFT_TABLE = "jcni_demo", NFT_SET = "pods", NFT_CHAIN = "postrouting";
    static final IpPrefix POD_NET = IpPrefix.parse("198.51.100.0/24");
    static final IpPrefix OUT_NET = IpPrefix.parse("203.0.113.0/24");
    static final IpAddress GATEWAY = IpAddress.parse("198.51.100.1");
    static final IpAddress POD1_IP = IpAddress.parse("198.51.100.11"), POD2_IP = IpAddress.parse("198.51.100.12");
    static final IpAddress NODE_OUT_IP = IpAddress.parse("203.0.113.1"), OUTSIDE_IP = IpAddress.parse("203.0.113.100");
    static final int OUTSIDE_PORT = 8080;
    /** Saved ip_forward so that --cleanup after --keep can restore it. */
    static final Path STATE = Path.of("/run/jcni/demo.ip_forward");

    private final PrintStream out;
    private final PrintStream err;
    private final Object lock = new Object();
    private final AtomicBoolean cleaned = new AtomicBoolean();
    private volatile boolean interrupted;
    private final Trace trace;
    private long slowMillis;

    DemoCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
        this.trace = new Trace() {
            @Override
            public void command(String commandLine) {
                out.println("        $ " + commandLine);
            }
        };
    }

    int run(List<String> args) {
        boolean keep = false;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            switch (a) {
                case "--keep" -> keep = true;
                case "--slow" -> {
                    try {
                        slowMillis = Long.parseLong(i + 1 < args.size() ? args.get(++i) : "");
                    } catch (NumberFormatException e) {
                        throw new Main.UsageException("--slow needs a number of milliseconds");
                    }
                }
                case "--cleanup" -> {
                    out.println("Removing the jcni demo:");
                    cleanup();
                    out.println("Done.");
                    return 0;
                }
                case "--help" -> {
                    out.print(USAGE);
                    return 0;
                }
                default -> throw new Main.UsageException("unexpected argument \"" + a + "\" (see jcni demo --help)");
            }
        }
        refuseClashes();
        Thread hook = Thread.ofPlatform().unstarted(new Runnable() {
            @Override
            public void run() {
                interrupted = true;
                // Said before taking the lock: the main thread may be cleaning up already, and
                // then this hook only waits for it (the JVM must not halt half-way through).
                err.println();
                err.println("Interrupted: removing what the demo created.");
                synchronized (lock) {
                    if (!cleaned.get()) {
                        cleanup();
                    }
                }
            }
        });
        Runtime.getRuntime().addShutdownHook(hook);
        boolean ok = false;
        try {
            build();
            ok = check();
            return ok ? 0 : 1;
        } catch (RuntimeException e) {
            err.println("jcni demo: " + e.getMessage());
            return 1;
        } finally {
            synchronized (lock) {
                if (keep) {
                    cleaned.set(true); // the hook must not remove a kept demo on normal exit
                    out.println();
                    out.println("Kept for inspection (e.g. 'ip netns exec " + POD1 + " ip addr', 'nft list table ip "
                            + NFT_TABLE + "'). Remove it with: jcni demo --cleanup");
                } else if (!cleaned.get()) {
                    out.println();
                    out.println("Cleaning up (run with --keep to inspect instead):");
                    cleanup();
                }
            }
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // already running: it sees 'cleaned' and does nothing more
            }
        }
    }

    /** Stops early if a previous demo is still there or our address blocks are in use here. */
    private void refuseClashes() {
        for (String ns : new String[] {POD1, POD2, OUTSIDE}) {
            if (NamedNetns.exists(ns)) {
                throw new IllegalStateException(
                        "namespace " + ns + " already exists (a kept demo?); remove it with: jcni demo --cleanup");
            }
        }
        try (RouteNetlink host = RouteNetlink.open(Trace.OFF)) {
            for (String l : new String[] {BRIDGE, VETH1, VETH2, VETH_OUT}) {
                if (host.links().find(l).isPresent()) {
                    throw new IllegalStateException(
                            "interface " + l + " already exists (a kept demo?); remove it with: jcni demo --cleanup");
                }
            }
            for (Route r : host.routes().list(Rtnl.AF_INET, 0)) {
                if (!r.isDefault()
                        && r.table() != Rtnl.RT_TABLE_LOCAL
                        && (r.destination().overlaps(POD_NET) || r.destination().overlaps(OUT_NET))) {
                    throw new IllegalStateException("this host already routes " + r.destination()
                            + ", which overlaps the demo's " + POD_NET + " / " + OUT_NET + "; not touching it");
                }
            }
        }
    }

    private void step(String title) {
        if (slowMillis > 0) {
            try {
                Thread.sleep(slowMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (interrupted) {
            throw new IllegalStateException("interrupted");
        }
        out.println();
        out.println(title);
        out.flush();
    }

    private void build() {
        out.println("jcni demo: pod networking in eight steps. Each line starting with $ is the command that");
        out.println("makes the same change; jcni made it through netlink/nftables directly.");
        synchronized (lock) {
            step("1. Create a network namespace for each pod (and one for an 'outside' host)");
            for (String ns : new String[] {POD1, POD2, OUTSIDE}) {
                NamedNetns.create(ns, trace);
            }
        }
        try (NetNs pod1 = NetNs.openNamed(POD1);
                NetNs pod2 = NetNs.openNamed(POD2);
                NetNs outside = NetNs.openNamed(OUTSIDE);
                RouteNetlink host = RouteNetlink.open(trace);
                RouteNetlink in1 = RouteNetlink.open(pod1, trace);
                RouteNetlink in2 = RouteNetlink.open(pod2, trace);
                RouteNetlink inOut = RouteNetlink.open(outside, trace)) {
            synchronized (lock) {
                step("2. Create a bridge on the host, with the pods' gateway address");
                host.links().add(LinkSpec.bridge(BRIDGE));
                host.addresses().add(BRIDGE, new IpPrefix(GATEWAY, 24));
            }
            synchronized (lock) {
                step("3+4. Create a veth pair (a virtual cable) per pod, one end born inside the pod as eth0");
                host.links().add(LinkSpec.veth(VETH1, "eth0").peerNetns(pod1));
                host.links().add(LinkSpec.veth(VETH2, "eth0").peerNetns(pod2));
            }
            synchronized (lock) {
                step("5. Attach the host ends to the bridge");
                host.links().setMaster(VETH1, BRIDGE);
                host.links().setMaster(VETH2, BRIDGE);
            }
            synchronized (lock) {
                step("6. Assign the pods' addresses");
                in1.addresses().add("eth0", new IpPrefix(POD1_IP, 24));
                in2.addresses().add("eth0", new IpPrefix(POD2_IP, 24));
            }
            synchronized (lock) {
                step("7. Bring the interfaces up, then give each pod a default route through the bridge");
                for (RouteNetlink in : new RouteNetlink[] {in1, in2}) {
                    in.links().setUp("lo");
                    in.links().setUp("eth0");
                }
                host.links().setUp(VETH1);
                host.links().setUp(VETH2);
                host.links().setUp(BRIDGE);
                in1.routes().add(Route.defaultVia(GATEWAY));
                in2.routes().add(Route.defaultVia(GATEWAY));
            }
            synchronized (lock) {
                step("8. Enable forwarding and NAT (IP masquerade) for pod traffic leaving the node");
                String old = Sysctl.read(null, "net.ipv4.ip_forward");
                saveForwarding(old);
                Sysctl.ensure(null, "net.ipv4.ip_forward", "1", trace);
                DemoNat.enable(trace);
            }
            synchronized (lock) {
                step("The 'outside' host: a namespace behind the node, with no route back to the pods");
                host.links().add(LinkSpec.veth(VETH_OUT, "eth0").peerNetns(outside));
                host.addresses().add(VETH_OUT, new IpPrefix(NODE_OUT_IP, 24));
                host.links().setUp(VETH_OUT);
                inOut.addresses().add("eth0", new IpPrefix(OUTSIDE_IP, 24));
                inOut.links().setUp("lo");
                inOut.links().setUp("eth0");
            }
            out.println();
            out.println("What each pod now has (read back from the kernel):");
            describe(POD1, in1);
            describe(POD2, in2);
        }
    }

    private void describe(String name, RouteNetlink in) {
        StringBuilder addrs = new StringBuilder();
        for (Address a : in.addresses().list("eth0")) {
            if (a.prefix().isV4()) {
                addrs.append(addrs.isEmpty() ? "" : ", ").append(a.prefix());
            }
        }
        String gw = "";
        for (Route r : in.routes().list(Rtnl.AF_INET, Rtnl.RT_TABLE_MAIN)) {
            if (r.isDefault()) {
                gw = "default via " + r.gateway();
            }
        }
        out.printf(
                "    %-15s eth0 %-15s %s, state %s%n",
                name, addrs, gw, in.links().get("eth0").operStateName());
    }

    private boolean check() {
        out.println();
        out.println("Checks:");
        boolean ok = true;
        try (NetNs pod1 = NetNs.openNamed(POD1);
                NetNs pod2 = NetNs.openNamed(POD2);
                NetNs outside = NetNs.openNamed(OUTSIDE)) {
            ok &= ping(pod1, POD1, POD2_IP, "pod1 -> pod2 over the bridge");
            ok &= ping(pod2, POD2, POD1_IP, "pod2 -> pod1 over the bridge");
            ok &= ping(pod1, POD1, GATEWAY, "pod1 -> its gateway (the bridge)");
            ok &= natCheck(pod1, outside);
        }
        out.println();
        out.println(ok ? "All checks passed." : "Some checks FAILED (see above).");
        return ok;
    }

    private boolean ping(NetNs from, String fromName, IpAddress to, String what) {
        long micros = Ping.once(from, to, 2000);
        if (micros < 0) {
            out.printf("  FAIL  %-38s no echo reply from %s%n", what, to);
            out.println("        $ ip netns exec " + fromName + " ping -c1 " + to);
            return false;
        }
        out.printf("  ok    %-38s echo reply from %s in %.3f ms%n", what, to, micros / 1000.0);
        out.println("        $ ip netns exec " + fromName + " ping -c1 " + to);
        return true;
    }

    /** A TCP connection pod1 -> outside: the outside host must see the node's address, not the pod's. */
    private boolean natCheck(NetNs pod, NetNs outside) {
        String what = "pod1 -> outside host (TCP)";
        String seen = TcpProbe.peerSeen(outside, OUTSIDE_IP, OUTSIDE_PORT, pod, 3000);
        out.println("        $ ip netns exec " + OUTSIDE + " nc -l " + OUTSIDE_IP + " " + OUTSIDE_PORT
                + " &  ip netns exec " + POD1 + " nc " + OUTSIDE_IP + " " + OUTSIDE_PORT);
        if (seen == null) {
            out.printf("  FAIL  %-38s no connection (is forwarding blocked by a host firewall?)%n", what);
            return false;
        }
        boolean natted = seen.equals(NODE_OUT_IP.toString());
        out.printf(
                "  %s  %-38s the outside host saw the connection come from %s%n", natted ? "ok  " : "FAIL", what, seen);
        out.println(
                natted
                        ? "        that is the node's address, not the pod's " + POD1_IP
                                + ": masquerade (NAT) rewrote it"
                        : "        expected the node's address " + NODE_OUT_IP + ": masquerade did not apply");
        return natted;
    }

    private static void saveForwarding(String value) {
        try {
            Files.createDirectories(STATE.getParent());
            if (!Files.exists(STATE)) {
                Files.writeString(STATE, value + "\n");
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot write " + STATE + ": " + e.getMessage(), e);
        }
    }

    /**
     * Removes everything the demo may have created, whatever state it is in; keeps going past
     * failures and reports them all at the end.
     */
    void cleanup() {
        cleaned.set(true);
        List<String> failures = new ArrayList<>();
        try {
            DemoNat.disable(trace);
        } catch (RuntimeException e) {
            failures.add(e.getMessage());
        }
        try (RouteNetlink host = RouteNetlink.open(trace)) {
            for (String l : new String[] {VETH1, VETH2, VETH_OUT, BRIDGE}) {
                try {
                    host.links().deleteIfExists(l);
                } catch (KernelException e) {
                    failures.add(e.getMessage());
                }
            }
        }
        for (String ns : new String[] {POD1, POD2, OUTSIDE}) {
            try {
                NamedNetns.delete(ns, trace);
            } catch (NoSuchObjectException gone) {
                // never created, or already removed
            } catch (KernelException e) {
                failures.add(e.getMessage());
            }
        }
        try {
            if (Files.exists(STATE)) {
                Sysctl.ensure(
                        null, "net.ipv4.ip_forward", Files.readString(STATE).trim(), trace);
                Files.delete(STATE);
            }
        } catch (IOException | RuntimeException e) {
            failures.add("restore net.ipv4.ip_forward: " + e.getMessage());
        }
        for (String f : failures) {
            err.println("jcni demo: cleanup: " + f);
        }
    }
}
