package io.jcni.plugins.portmap;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.PluginResponse;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ct.Conntrack;
import io.jcni.netlink.ns.NetNs;
import io.jcni.testkit.Commands;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Real connections through jcni-portmap: a pod on a jcni bridge serves TCP and UDP; the node
 * reaches it through the gateway address and 127.0.0.1, another pod through the gateway, the pod
 * itself through the node (hairpin); a hostIP mapping answers on its address only; DEL takes the
 * UDP conntrack entry with it. Everything runs in namespaces of the test's own.
 */
class PortmapTrafficTest {
    /** A TCP server in {@code pod} that answers each connection with the peer address it saw. */
    static ServerSocketChannel serve(NetNs pod, int port) {
        ServerSocketChannel server = pod.run(() -> {
            try {
                ServerSocketChannel s = ServerSocketChannel.open();
                s.bind(new InetSocketAddress("0.0.0.0", port));
                return s;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        Thread.ofPlatform().daemon().start(() -> {
            while (server.isOpen()) {
                try (SocketChannel c = server.accept()) {
                    InetSocketAddress peer = (InetSocketAddress) c.getRemoteAddress();
                    c.write(ByteBuffer.wrap(
                            ("seen " + peer.getAddress().getHostAddress() + "\n").getBytes(StandardCharsets.UTF_8)));
                } catch (IOException closed) {
                    return;
                }
            }
        });
        return server;
    }

    /** Connects from {@code ns} and returns the server's line, or the failure's class name. */
    static String connect(NetNs ns, String host, int port) {
        return ns.run(() -> {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(host, port), 3000);
                s.setSoTimeout(3000);
                byte[] buf = new byte[64];
                int n = s.getInputStream().read(buf);
                return n <= 0 ? "closed" : new String(buf, 0, n, StandardCharsets.UTF_8).trim();
            } catch (IOException e) {
                return e.getClass().getSimpleName();
            }
        });
    }

    @Test
    void tcpAndUdpThroughHostPorts() throws Exception {
        try (PortmapWorld w = new PortmapWorld("pt")) {
            String[] a = w.pod("a", "ca", "1.1.0");
            String[] b = w.pod("b", "cb", "1.1.0");
            String ipA = PortmapWorld.podAddress(a[1]), ipB = PortmapWorld.podAddress(b[1]);
            String gw = PortmapWorld.GATEWAY;
            String mappings = """
                    [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"},
                     {"hostPort": 9090, "containerPort": 80, "protocol": "tcp", "hostIP": "%s"},
                     {"hostPort": 5300, "containerPort": 53, "protocol": "udp"}]""".formatted(gw);
            String cfg = w.portmapConfig("1.1.0", mappings, "", a[1]);
            try (NetNs podA = NetNs.open(a[0]);
                    NetNs podB = NetNs.open(b[0]);
                    ServerSocketChannel server = serve(podA, 80)) {
                assertEquals("ConnectException", connect(w.node, gw, 8080), "nothing mapped yet");
                int rulesBefore = w.rules();

                PluginResponse add = w.portmap("ADD", "ca", a[0], cfg);
                assertEquals(0, add.exitCode(), add.stdoutText() + add.stderr());

                assertEquals("seen " + gw, connect(w.node, gw, 8080), "node → gateway:hostPort");
                assertEquals(
                        "seen " + gw, connect(w.node, "127.0.0.1", 8080), "node → 127.0.0.1:hostPort, masqueraded");
                assertEquals("seen " + ipB, connect(podB, gw, 8080), "another pod → gateway:hostPort");
                assertEquals(
                        "seen " + gw, connect(podA, gw, 8080), "the pod → its own hostPort through the node (hairpin)");
                assertEquals("seen " + gw, connect(w.node, gw, 9090), "hostIP mapping on its address");
                assertEquals(
                        "ConnectException",
                        connect(w.node, "127.0.0.1", 9090),
                        "hostIP mapping: not on other addresses");

                // UDP: a datagram to the host port reaches the pod and leaves a conntrack entry
                try (DatagramChannel udp = podA.run(() -> {
                    try {
                        return DatagramChannel.open().bind(new InetSocketAddress("0.0.0.0", 53));
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                })) {
                    udp.configureBlocking(false);
                    sendUdp(w, gw, 5300);
                    ByteBuffer got = ByteBuffer.allocate(16);
                    for (int i = 0; i < 100 && udp.receive(got) == null; i++) {
                        Thread.sleep(20);
                    }
                    assertEquals("ping", new String(got.array(), 0, got.position(), StandardCharsets.UTF_8));
                }
                assertEquals(1, udpEntries(w, 5300).size(), "conntrack has the UDP flow");
                if (hasConntrackTool()) {
                    assertTrue(w.inNode(() -> run("conntrack", "-L", "-p", "udp", "--orig-port-dst", "5300"))
                            .contains("dport=5300"));
                }

                PluginResponse del = w.portmap("DEL", "ca", a[0], cfg);
                assertEquals(0, del.exitCode(), del.stdoutText());
                assertEquals(List.of(), udpEntries(w, 5300), "DEL flushed the UDP conntrack entry");
                assertEquals(List.of(), w.elements());
                assertEquals(rulesBefore + 12, w.rules(), "only the shared rules remain");
                assertEquals("ConnectException", connect(w.node, gw, 8080), "unmapped after DEL");
                assertEquals("seen " + gw, connect(w.node, ipA, 80), "the pod itself still serves");

                // a UDP flow to the unmapped port (to the node itself) is stale once the port is mapped: ADD flushes it
                sendUdp(w, gw, 5300);
                assertEquals(1, udpEntries(w, 5300).size(), "conntrack has the unmapped flow");
                // again, with the table in place: one batch, same rule count
                assertEquals(0, w.portmap("ADD", "ca", a[0], cfg).exitCode());
                assertEquals(List.of(), udpEntries(w, 5300), "ADD flushed the stale UDP conntrack entry");
                assertEquals("seen " + gw, connect(w.node, gw, 8080));
                assertEquals(rulesBefore + 12, w.rules());
                assertEquals(
                        0,
                        w.portmap("DEL", "ca", "", w.portmapConfig("1.1.0", null, "", a[1]))
                                .exitCode());
                assertEquals(List.of(), w.elements());
            }
        }
    }

    private static void sendUdp(PortmapWorld w, String host, int port) {
        w.inNode(() -> {
            try (DatagramChannel c = DatagramChannel.open()) {
                c.send(ByteBuffer.wrap("ping".getBytes(StandardCharsets.UTF_8)), new InetSocketAddress(host, port));
                return null;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    private static List<Conntrack.Entry> udpEntries(PortmapWorld w, int port) {
        try (Conntrack ct = Conntrack.open(w.node, Trace.OFF)) {
            return ct.list(Conntrack.AF_INET).stream()
                    .filter(e -> e.original().protocol() == Conntrack.UDP
                            && e.original().dstPort() == port)
                    .toList();
        }
    }

    private static boolean hasConntrackTool() {
        for (String dir :
                System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin").split(":")) {
            if (new java.io.File(dir, "conntrack").canExecute()) {
                return true;
            }
        }
        return false;
    }

    private static String run(String... cmd) {
        return Commands.of(cmd).result().out();
    }
}
