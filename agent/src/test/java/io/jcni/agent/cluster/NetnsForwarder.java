package io.jcni.agent.cluster;

import io.jcni.netlink.ns.NetNs;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP relay from a listening address inside a network namespace to an address in this
 * process's own (the host's loopback): how the simulated nodes reach a server that runs in the
 * test's JVM without any link between their namespaces and the host. The listening socket is
 * created by a thread that entered the namespace ({@link NetNs#run}), the outgoing ones by this
 * process's threads, so every packet stays inside namespaces the test made or on the host's
 * loopback. {@link #pause} closes the listener and every connection (the server is "lost": new
 * connections are refused), {@link #resume} listens again.
 */
final class NetnsForwarder implements AutoCloseable {
    private final NetNs netns;
    private final InetSocketAddress listen;
    private final InetSocketAddress target;
    private final Set<SocketChannel> open = ConcurrentHashMap.newKeySet();
    private volatile ServerSocketChannel server;

    NetnsForwarder(NetNs netns, InetSocketAddress listen, InetSocketAddress target) {
        this.netns = netns;
        this.listen = listen;
        this.target = target;
    }

    /** Listens (again). */
    synchronized void resume() {
        if (server != null) {
            return;
        }
        ServerSocketChannel s = netns.run(() -> {
            try {
                ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.INET);
                ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
                ch.bind(listen, 64);
                return ch;
            } catch (IOException e) {
                throw new UncheckedIOException("listen on " + listen + " in " + netns, e);
            }
        });
        server = s;
        Thread.ofPlatform().daemon().name("fwd-accept " + listen).start(() -> accept(s));
    }

    /** Stops listening and cuts every connection. */
    synchronized void pause() {
        ServerSocketChannel s = server;
        server = null;
        if (s != null) {
            closeQuietly(s);
        }
        for (SocketChannel c : open) {
            closeQuietly(c);
        }
        open.clear();
    }

    private void accept(ServerSocketChannel s) {
        while (s.isOpen()) {
            SocketChannel in;
            try {
                in = s.accept();
            } catch (IOException closed) {
                return;
            }
            SocketChannel out;
            try {
                out = SocketChannel.open(target);
            } catch (IOException e) {
                closeQuietly(in);
                continue;
            }
            open.add(in);
            open.add(out);
            java.util.concurrent.atomic.AtomicInteger running = new java.util.concurrent.atomic.AtomicInteger(2);
            Thread.ofPlatform().daemon().name("fwd-up").start(() -> pump(in, out, running));
            Thread.ofPlatform().daemon().name("fwd-down").start(() -> pump(out, in, running));
        }
    }

    /** Copies one direction; the second direction to end (or the first to fail) closes both. */
    private void pump(SocketChannel from, SocketChannel to, java.util.concurrent.atomic.AtomicInteger running) {
        ByteBuffer buf = ByteBuffer.allocate(16 * 1024);
        boolean failed = false;
        try {
            while (from.read(buf) >= 0) {
                buf.flip();
                while (buf.hasRemaining()) {
                    to.write(buf);
                }
                buf.clear();
            }
            to.shutdownOutput();
        } catch (IOException ended) {
            failed = true;
        } finally {
            if (running.decrementAndGet() == 0 || failed) {
                closeQuietly(from);
                closeQuietly(to);
                open.remove(from);
                open.remove(to);
            }
        }
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    @Override
    public void close() {
        pause();
    }
}
