package io.jcni.netlink.probe;

import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ns.NetNs;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

/**
 * One TCP connection between two namespaces, reporting the source address the server saw: the
 * proof of NAT (a masqueraded pod appears with its node's address) and of plain reachability.
 * The server's and the client's sockets are each created on a platform thread inside their
 * namespace ({@link NetNs#run}); sockets keep their namespace, so accepting and reading happen on
 * ordinary threads afterwards.
 */
public final class TcpProbe {
    private TcpProbe() {}

    /**
     * Listens in {@code server} on {@code listen}:{@code port} (0: any free port), connects to it
     * from {@code client} (null: the caller's namespace), and returns the remote address the
     * server saw (e.g. {@code "198.18.0.11"}), or null when no connection was made within
     * {@code timeoutMillis} (no route, refused, dropped). The server answers with one line so the
     * client knows the exchange completed both ways.
     *
     * @throws IllegalStateException when the server cannot listen (address not in that namespace, port taken)
     */
    public static String peerSeen(NetNs server, IpAddress listen, int port, NetNs client, int timeoutMillis) {
        ServerSocketChannel listener = server.run(new NetNs.Work<ServerSocketChannel>() {
            @Override
            public ServerSocketChannel run() {
                try {
                    ServerSocketChannel s = ServerSocketChannel.open();
                    s.bind(new InetSocketAddress(listen.toString(), port));
                    return s;
                } catch (IOException e) {
                    throw new IllegalStateException(
                            "cannot listen on " + listen + ":" + port + " in " + server + ": " + e.getMessage(), e);
                }
            }
        });
        int boundPort;
        try {
            boundPort = ((InetSocketAddress) listener.getLocalAddress()).getPort();
        } catch (IOException e) {
            closeQuietly(listener);
            throw new IllegalStateException("listening socket in " + server + ": " + e.getMessage(), e);
        }
        String[] seen = new String[1];
        Thread acceptor = Thread.ofPlatform().name("tcp-probe-accept").start(new Runnable() {
            @Override
            public void run() {
                try (SocketChannel c = listener.accept()) {
                    String peer = ((InetSocketAddress) c.getRemoteAddress())
                            .getAddress()
                            .getHostAddress();
                    seen[0] = peer;
                    c.write(ByteBuffer.wrap(("hello " + peer + "\n").getBytes(StandardCharsets.UTF_8)));
                } catch (IOException e) {
                    // the caller closed the listener: no connection came
                }
            }
        });
        NetNs.Work<Boolean> connect = new NetNs.Work<>() {
            @Override
            public Boolean run() {
                try (SocketChannel c = SocketChannel.open()) {
                    c.socket().connect(new InetSocketAddress(listen.toString(), boundPort), timeoutMillis);
                    c.socket().setSoTimeout(timeoutMillis);
                    return c.socket().getInputStream().read(new byte[128]) > 0;
                } catch (IOException e) { // refused, unreachable, timed out
                    return false;
                }
            }
        };
        boolean answered;
        try {
            answered = client == null ? connect.run() : client.run(connect);
        } finally {
            closeQuietly(listener); // unblocks the acceptor if the connection never came
            try {
                acceptor.join(timeoutMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return answered ? seen[0] : null;
    }

    private static void closeQuietly(ServerSocketChannel s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // nothing more to release
        }
    }
}
