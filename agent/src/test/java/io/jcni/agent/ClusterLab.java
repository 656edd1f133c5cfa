package io.jcni.agent;

import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.probe.Ping;
import io.jcni.netlink.route.LinkSpec;
import io.jcni.netlink.route.Route;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.testkit.TestNames;
import io.jcni.testkit.TestNetns;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;

/**
 * A small cluster in namespaces, for the dataplane's tests: an underlay namespace with a bridge
 * ({@code 198.18.0.0/24}), three node namespaces each with a veth {@code eth0} on it
 * ({@code 198.18.0.11-13}), a pod bridge {@code jcni0} and one pod ({@code 10.244.N.2/24}, default
 * route via {@code 10.244.N.1}), and an "outside" namespace on the underlay ({@code 198.18.0.200})
 * that has no route to the pods. Every namespace is named {@code jdp-<run>-…} and removed by
 * {@link #close()}, even when creating the lab failed half-way.
 */
final class ClusterLab implements AutoCloseable {
    static final String UNDERLAY_BRIDGE = "jdp-br";
    static final String POD_BRIDGE = "jcni0";
    static final IpAddress OUTSIDE_IP = IpAddress.parse("198.18.0.200");

    /** {@code jdp-<run><n>}: this lab's, apart from other labs of this JVM and of others. */
    final String prefix = TestNames.unique("jdp-");

    private final TestNetns namespaces = new TestNetns();
    private final List<AutoCloseable> handles = new ArrayList<>();
    final List<Node> nodes = new ArrayList<>();
    NetNs outside;
    String outsideName;
    /** A namespace with an underlay only (a lone bridge {@code eth0}, 198.18.1.1/24) and no pod bridge. */
    NetNs lone;

    String loneName;

    /** One node: its namespace, its dataplane, its pod. */
    record Node(
            int index,
            String name,
            NetNs ns,
            RouteNetlink nl,
            Dataplane dataplane,
            IpAddress publicIp,
            IpPrefix subnet,
            String podName,
            NetNs pod,
            IpAddress podIp) {}

    ClusterLab() {
        try {
            build();
        } catch (RuntimeException | Error e) {
            try {
                close();
            } catch (RuntimeException left) {
                e.addSuppressed(left); // what was left behind, after why
            }
            throw e;
        }
    }

    private String ns(String what) {
        String name = prefix + "-" + what;
        namespaces.create(name);
        return name;
    }

    private NetNs open(String name) {
        return keep(NetNs.openNamed(name));
    }

    private <T extends AutoCloseable> T keep(T handle) {
        handles.add(handle);
        return handle;
    }

    /** A link name of ours on the underlay, at most 15 bytes. */
    private String linkName(String what) {
        return TestNames.fitsLink(prefix + "-" + what);
    }

    private void build() {
        NetNs underlay = open(ns("under"));
        RouteNetlink u = keep(RouteNetlink.open(underlay, Trace.OFF));
        u.links().add(LinkSpec.bridge(UNDERLAY_BRIDGE).up());

        for (int i = 1; i <= 3; i++) {
            String nodeName = ns("node" + i);
            NetNs node = open(nodeName);
            RouteNetlink nl = keep(RouteNetlink.open(node, Trace.OFF));
            IpAddress publicIp = IpAddress.parse("198.18.0.1" + i);
            attach(u, node, nl, linkName("u" + i), new IpPrefix(publicIp, 24));
            nl.links().add(LinkSpec.bridge(POD_BRIDGE).up());

            String podName = ns("pod" + i);
            NetNs pod = open(podName);
            IpPrefix subnet = IpPrefix.parse("10.244." + i + ".0/24");
            IpAddress podIp = IpAddress.parse("10.244." + i + ".2");
            nl.links()
                    .add(LinkSpec.veth(linkName("v" + i), "eth0")
                            .peerNetns(pod)
                            .master(POD_BRIDGE)
                            .up());
            try (RouteNetlink p = RouteNetlink.open(pod, Trace.OFF)) {
                p.links().setUp("lo");
                p.links().setUp("eth0");
                p.addresses().add("eth0", new IpPrefix(podIp, 24));
                p.routes().add(Route.defaultVia(IpAddress.parse("10.244." + i + ".1")));
            }
            Dataplane dp = keep(new Dataplane(nl, Trace.OFF, "eth0", publicIp, POD_BRIDGE));
            nodes.add(new Node(i, nodeName, node, nl, dp, publicIp, subnet, podName, pod, podIp));
        }

        outsideName = ns("outside");
        outside = open(outsideName);
        try (RouteNetlink o = RouteNetlink.open(outside, Trace.OFF)) {
            attach(u, outside, o, linkName("uo"), new IpPrefix(OUTSIDE_IP, 24));
        }

        loneName = ns("lone");
        lone = open(loneName);
        try (RouteNetlink l = RouteNetlink.open(lone, Trace.OFF)) {
            l.links().setUp("lo");
            l.links()
                    .add(LinkSpec.bridge("eth0")
                            .up()); // any link with an address: dummy may be missing from the kernel
            l.addresses().add("eth0", IpPrefix.parse("198.18.1.1/24"));
        }
    }

    /** A veth from the underlay bridge to {@code eth0} in {@code ns}, with {@code address}, up. */
    private static void attach(
            RouteNetlink underlay, NetNs ns, RouteNetlink inside, String portName, IpPrefix address) {
        underlay.links()
                .add(LinkSpec.veth(portName, "eth0")
                        .peerNetns(ns)
                        .master(UNDERLAY_BRIDGE)
                        .up());
        inside.links().setUp("lo");
        inside.links().setUp("eth0");
        inside.addresses().add("eth0", address);
    }

    Node node(int index) {
        return nodes.get(index - 1);
    }

    /** Whether an ICMP echo from {@code from} to {@code to} is answered, retrying until {@code deadlineMillis}. */
    static boolean pings(NetNs from, IpAddress to, long deadlineMillis) {
        long end = System.nanoTime() + deadlineMillis * 1_000_000L;
        do {
            if (Ping.once(from, to, 1000) >= 0) {
                return true;
            }
        } while (System.nanoTime() < end);
        return false;
    }

    /**
     * Opens a TCP connection from {@code client} to {@code serverIp} in {@code server} and returns the
     * source address the server saw: the pod's own, or the node's when it was masqueraded.
     */
    static IpAddress sourceSeenBy(NetNs server, IpAddress serverIp, NetNs client) {
        // Created on a thread inside the namespace, the listening socket stays there.
        ServerSocket listener = server.run(() -> {
            try {
                ServerSocket s = new ServerSocket();
                s.bind(new InetSocketAddress(InetAddress.getByName("0.0.0.0"), 0));
                return s;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        try (listener) {
            listener.setSoTimeout(10_000);
            int port = listener.getLocalPort();
            client.run(() -> {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress(InetAddress.getByAddress(serverIp.bytes()), port), 5000);
                    return null;
                } catch (IOException e) {
                    throw new UncheckedIOException("connect to " + serverIp + ":" + port, e);
                }
            });
            try (Socket accepted = listener.accept()) {
                return IpAddress.of(accepted.getInetAddress().getAddress());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        for (int i = handles.size() - 1; i >= 0; i--) {
            try {
                handles.get(i).close();
            } catch (Exception ignored) {
                // keep cleaning
            }
        }
        namespaces.close();
    }
}
