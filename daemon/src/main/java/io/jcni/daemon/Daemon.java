package io.jcni.daemon;

import io.jcni.cni.CniError;
import io.jcni.cni.CniVersion;
import io.jcni.cni.Plugin;
import io.jcni.cni.PluginRequest;
import io.jcni.cni.PluginResponse;
import io.jcni.cni.Skeleton;
import io.jcni.cni.json.Json;
import io.jcni.netlink.Trace;
import io.jcni.netlink.nft.Nftables;
import io.jcni.netlink.route.RouteNetlink;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;

import java.io.IOException;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * {@code jcni daemon}: a resident JVM serving plugin requests on a Unix socket — the same
 * {@link Skeleton#handle} an exec'd plugin runs, so the semantics, the {@code flock}s and the
 * on-disk state are the same and a node may mix both paths at any moment. The wire format is
 * {@link Protocol}.
 *
 * <p>Access: the socket's directory is 0700 and the socket 0600 (root's), and every request's
 * peer is checked with {@code SO_PEERCRED}: only uid 0 is served; others get a CNI error.
 *
 * <p>Threads: one platform thread accepts; each connection gets its own <em>platform</em>
 * thread (at most {@link #MAX_CONNECTIONS} at once, then accepting waits). Not virtual threads:
 * plugins block in native code (FFM downcalls such as {@code flock} on a network's IPAM lock,
 * netlink {@code recv}), which pins a virtual thread to its carrier; with as many carriers as
 * cores, a few requests waiting for a lock held by another virtual thread that cannot get a
 * carrier would deadlock. Namespace work ({@code setns}) runs on NetNs's own platform threads.
 *
 * <p>Shutdown ({@link #close}, the CLI calls it on SIGTERM): stop accepting, remove the socket
 * (new clients fall back to the standalone path at once), drop connections whose request has
 * not started (their clients fall back too: nothing was done for them), and wait for the
 * requests in flight to finish and get their replies.
 */
public final class Daemon implements AutoCloseable {
    public static final Path DEFAULT_SOCKET = Path.of("/run/jcni/jcni.sock");
    static final int MAX_CONNECTIONS = 512;
    /** A client must send its whole request within this time. */
    static final long REQUEST_TIMEOUT_MS = 10_000;
    /** How long shutdown waits for requests in flight. */
    static final long DRAIN_TIMEOUT_MS = 120_000;

    private final Path socket;
    private final ServerSocketChannel server;
    private final Map<String, Supplier<Plugin>> plugins;
    private final PrintStream log;
    private final UserPrincipal root;
    private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
    private final Semaphore slots = new Semaphore(MAX_CONNECTIONS);
    private final ScheduledExecutorService timer;
    private final AtomicBoolean closing = new AtomicBoolean();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final AtomicLong served = new AtomicLong();
    private final Thread acceptor;

    private Daemon(Path socket, ServerSocketChannel server, Map<String, Supplier<Plugin>> plugins, PrintStream log,
            UserPrincipal root) {
        this.socket = socket;
        this.server = server;
        this.plugins = plugins;
        this.log = log;
        this.root = root;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name("jcni-daemon-timer").unstarted(r));
        this.acceptor = Thread.ofPlatform().name("jcni-daemon-accept").unstarted(this::acceptLoop);
    }

    /** Binds the socket with every plugin of {@link Plugins#all} and starts serving. */
    public static Daemon start(Path socket, PrintStream log) throws IOException {
        return start(socket, Plugins.all(), log);
    }

    public static Daemon start(Path socket, Map<String, Supplier<Plugin>> plugins, PrintStream log) throws IOException {
        socket = socket.toAbsolutePath().normalize();
        UserPrincipal root = FileSystems.getDefault().getUserPrincipalLookupService().lookupPrincipalByName("root");
        prepareDirectory(socket.getParent());
        removeStaleSocket(socket);
        // bound and listening under a temporary name, 0600, warmed up, then renamed into place: a
        // client either finds no socket (and falls back) or a daemon ready to answer quickly
        Path tmp = socket.resolveSibling(".jcni-" + ProcessHandle.current().pid() + ".sock");
        Files.deleteIfExists(tmp);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(tmp), 128);
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
            warmUp(plugins);
            Files.move(tmp, socket, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            server.close();
            Files.deleteIfExists(tmp);
            throw e;
        }
        Daemon d = new Daemon(socket, server, plugins, log, root);
        d.acceptor.start();
        return d;
    }

    public Path socket() {
        return socket;
    }

    public Set<String> pluginNames() {
        return plugins.keySet();
    }

    /** Requests answered so far (refusals and "not served" included). */
    public long served() {
        return served.get();
    }

    /** Requests being read or run right now. */
    public int active() {
        return connections.size();
    }

    /** Blocks until {@link #close} has finished. */
    public void awaitStopped() throws InterruptedException {
        stopped.await();
    }

    /** Graceful shutdown; idempotent; returns when the requests in flight have been answered. */
    @Override
    public void close() {
        if (!closing.compareAndSet(false, true)) {
            try {
                stopped.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return;
        }
        try {
            server.close();
        } catch (IOException e) {
            log.println("jcni daemon: closing the socket: " + e);
        }
        try {
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            log.println("jcni daemon: removing " + socket + ": " + e);
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DRAIN_TIMEOUT_MS);
        try {
            acceptor.join();
            for (Connection c : connections) {
                c.closeIfWaiting();
            }
            for (Connection c : connections) {
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0 || !c.thread.join(java.time.Duration.ofMillis(left))) {
                    log.println("jcni daemon: a request did not finish within " + DRAIN_TIMEOUT_MS + " ms; exiting anyway");
                    break;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            timer.shutdownNow();
            stopped.countDown();
        }
    }

    private void acceptLoop() {
        while (!closing.get()) {
            try {
                slots.acquire();
                SocketChannel ch;
                try {
                    ch = server.accept();
                } catch (IOException | RuntimeException e) {
                    slots.release();
                    throw e;
                }
                Connection c = new Connection(ch);
                connections.add(c);
                c.thread = Thread.ofPlatform().daemon().name("jcni-daemon-request").unstarted(() -> serve(c));
                c.thread.start();
            } catch (ClosedChannelException e) {
                return; // close(): stop accepting
            } catch (InterruptedException e) {
                return;
            } catch (IOException e) {
                log.println("jcni daemon: accept: " + e);
            }
        }
    }

    /** One connection: read the request, check the peer, run the plugin, write the reply. */
    private void serve(Connection c) {
        ScheduledFuture<?> timeout = timer.schedule(c::closeIfWaiting, REQUEST_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        try (SocketChannel ch = c.channel) {
            Protocol.Request req = Protocol.readRequest(Channels.newInputStream(ch));
            UnixDomainPrincipal peer = ch.getOption(ExtendedSocketOptions.SO_PEERCRED);
            PluginResponse response;
            if (!root.equals(peer.user())) {
                log.println("jcni daemon: refused a request for " + req.plugin() + " from user " + peer.user().getName());
                response = refusal(peer);
            } else if (!c.start()) {
                return; // shutting down, or too slow: no reply, the client falls back (nothing was done)
            } else {
                Supplier<Plugin> plugin = relativePaths(req.env()) ? null : plugins.get(req.plugin());
                response = plugin == null ? new PluginResponse(new byte[0], "", Protocol.NOT_SERVED)
                        : Skeleton.handle(plugin.get(), new PluginRequest(req.env(), req.stdin()));
            }
            timeout.cancel(false);
            served.incrementAndGet(); // before the reply: whoever saw the reply sees the count
            ByteBuffer reply = ByteBuffer.wrap(Protocol.reply(response));
            while (reply.hasRemaining()) {
                ch.write(reply);
            }
        } catch (IOException e) {
            if (!c.closedByUs) {
                log.println("jcni daemon: request dropped: " + e);
            }
        } finally {
            timeout.cancel(false);
            connections.remove(c);
            slots.release();
        }
    }

    /**
     * A relative CNI_NETNS or CNI_PATH entry means "relative to the runtime's working directory",
     * which only a process started there has: such requests are left to the standalone path.
     */
    static boolean relativePaths(Map<String, String> env) {
        String netns = env.getOrDefault("CNI_NETNS", "");
        if (!netns.isEmpty() && !netns.startsWith("/")) {
            return true;
        }
        for (String dir : env.getOrDefault("CNI_PATH", "").split(":")) {
            if (!dir.isEmpty() && !dir.startsWith("/")) {
                return true;
            }
        }
        return false;
    }

    /** What a peer other than root gets: a CNI error, exit 1. */
    private static PluginResponse refusal(UnixDomainPrincipal peer) {
        CniError e = new CniError(CniError.INVALID_ENVIRONMENT, "permission denied: the jcni daemon serves root only",
                "the request came from user " + peer.user().getName());
        return new PluginResponse(Json.writeIndentedBytes(e.toJson(CniVersion.LATEST)), "", 1);
    }

    /** A connection and its state: waiting for its request (may be dropped) or started (runs to the end). */
    private final class Connection {
        final SocketChannel channel;
        Thread thread;
        private boolean started;
        volatile boolean closedByUs;

        Connection(SocketChannel channel) {
            this.channel = channel;
        }

        synchronized boolean start() {
            if (closedByUs || closing.get()) {
                return false;
            }
            started = true;
            return true;
        }

        synchronized void closeIfWaiting() {
            if (!started) {
                closedByUs = true;
                try {
                    channel.close();
                } catch (IOException ignored) {
                    // closing
                }
            }
        }
    }

    /**
     * The socket's directory: created 0700 if missing; an existing one must be ours and not
     * writable by others (then it is set to 0700), so nobody else can replace the socket.
     */
    static void prepareDirectory(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
            return;
        }
        PosixFileAttributes a = Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (!a.isDirectory()) {
            throw new IOException(dir + " is not a directory");
        }
        UserPrincipal me = Files.getOwner(Path.of("/proc/self"));
        Set<PosixFilePermission> p = a.permissions();
        if (!a.owner().equals(me) || p.contains(PosixFilePermission.OTHERS_WRITE) || p.contains(PosixFilePermission.GROUP_WRITE)) {
            throw new IOException(dir + " must be a directory of " + me.getName()
                    + " that no one else can write to (the socket's directory is made 0700)");
        }
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    }

    /** A socket left by a daemon that died is removed; a live one means another daemon is serving. */
    private static void removeStaleSocket(Path socket) throws IOException {
        if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!Files.readAttributes(socket, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther()) {
            throw new IOException(socket + " exists and is not a socket");
        }
        try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            throw new IOException("another jcni daemon is serving " + socket);
        } catch (java.net.ConnectException stale) {
            Files.deleteIfExists(socket);
        }
    }

    /** The first request should not pay for class loading and the FFM linker: do that now. */
    private static void warmUp(Map<String, Supplier<Plugin>> plugins) {
        try (RouteNetlink rt = RouteNetlink.open(Trace.OFF)) {
            rt.links().list();
        } catch (RuntimeException ignored) {
            // best effort
        }
        try (Nftables nft = Nftables.open(Trace.OFF)) {
            nft.sets(Nftables.INET, "jcni");
        } catch (RuntimeException ignored) {
            // no table yet
        }
        for (Supplier<Plugin> p : plugins.values()) {
            Skeleton.handle(p.get(), new PluginRequest(Map.of("CNI_COMMAND", "ADD", "CNI_CONTAINERID", "warmup",
                    "CNI_NETNS", "/nonexistent", "CNI_IFNAME", "eth0"), "{\"cniVersion\":\"1.0.0\"}".getBytes()));
        }
    }
}
