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
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * {@code jcni daemon}: a resident JVM serving plugin requests on a Unix socket — the same
 * {@link Skeleton#handle} an exec'd plugin runs, so the semantics, the {@code flock}s and the
 * on-disk state are the same and a node may mix both paths at any moment. The wire format is
 * {@link Protocol}; who may call and which requests are served is {@link Callers} (and
 * docs/security.md).
 *
 * <p>Access: the socket is 0600 (root's) in a directory no one else can write to, and every
 * request's peer is checked ({@code SO_PEERCRED}, then its /proc entries): uid 0 with
 * CAP_NET_ADMIN and CAP_SYS_ADMIN in the daemon's user namespace. Others get a CNI error.
 *
 * <p>Threads: one platform thread accepts and never blocks on a client; a fixed pool of
 * {@link Limits#workers} platform threads reads, runs and answers requests, with at most
 * {@link Limits#queue} accepted connections waiting for a worker. Beyond that a caller gets a
 * "busy" CNI error (code 11, try again later) at once: falling back to the standalone path
 * would start one JVM per waiting call on a node that is already overloaded. Not virtual
 * threads: plugins block in native code (FFM downcalls such as {@code flock} on a network's
 * IPAM lock, netlink {@code recv}), which pins a virtual thread to its carrier; with as many
 * carriers as cores, a few requests waiting for a lock held by another virtual thread that
 * cannot get a carrier would deadlock. Namespace work ({@code setns}) runs on NetNs's own
 * platform threads.
 *
 * <p>Order: the requests of one container for one plugin run one at a time, in the order they
 * came, and one whose caller has exited before it could start is not run (see {@link #inTurn}).
 *
 * <p>Deadlines: a worker gives a client {@link Limits#requestTimeoutMs} to send its whole
 * request and {@link Limits#replyTimeoutMs} to take its reply; then the connection is shut
 * down and the worker moves on. Delegated plugins have their own deadline (see
 * {@code Delegate}). The acceptor survives any exception, an Error included: it drops that
 * one connection and goes on.
 *
 * <p>Shutdown ({@link #close}, the CLI calls it on SIGTERM): stop accepting, remove the socket
 * (new clients fall back to the standalone path at once), drop connections whose request has
 * not started (queued ones are closed unread, so their clients see a reset and fall back; those
 * already read get a "not served" reply and fall back), and wait for the requests in flight to
 * finish and get their replies.
 */
public final class Daemon implements AutoCloseable {
    public static final Path DEFAULT_SOCKET = Path.of("/run/jcni/jcni.sock");

    /**
     * How much the daemon takes on. {@code onAccept} runs on the acceptor for each connection
     * (tests inject faults there).
     */
    record Limits(
            int workers,
            int queue,
            long requestTimeoutMs,
            long replyTimeoutMs,
            long drainTimeoutMs,
            Runnable onAccept) {
        static final Limits DEFAULT = new Limits(64, 192, 10_000, 10_000, 120_000, () -> {});
    }

    /**
     * Told about each request the daemon answered, on the worker that served it, after the
     * reply was computed: the agent counts and times them for its metrics, so the daemon needs no
     * metrics library of its own. It must be quick and must not throw (what it throws is dropped).
     */
    @FunctionalInterface
    public interface Observer {
        Observer NONE = (plugin, command, exitCode, nanos) -> {};

        /**
         * @param plugin   the plugin asked for ({@code jcni-bridge}, …)
         * @param command  its {@code CNI_COMMAND} ({@code ADD}, {@code DEL}, …), null when the request had none
         * @param exitCode the plugin's exit code (0 success, 1 a CNI error object), or
         *                 {@link Protocol#NOT_SERVED} when the client was sent to its standalone path
         * @param nanos    from the whole request read to the reply ready
         */
        void answered(String plugin, String command, int exitCode, long nanos);
    }

    private final Path socket;
    private final UnixSocket server;
    private final Map<String, Supplier<Plugin>> plugins;
    private final PrintStream log;
    private final Limits limits;
    private final Observer observer;
    private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
    private final ThreadPoolExecutor workers;
    private final ScheduledExecutorService timer;
    private final AtomicBoolean closing = new AtomicBoolean();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final AtomicLong served = new AtomicLong();
    private final AtomicLong busy = new AtomicLong();
    private final Thread acceptor;
    /** Per (plugin, container ID): the request running and those waiting for it. Guarded by itself. */
    private final Map<String, Turn> turns = new HashMap<>();

    private final AtomicInteger waiting = new AtomicInteger();

    private Daemon(
            Path socket,
            UnixSocket server,
            Map<String, Supplier<Plugin>> plugins,
            PrintStream log,
            Limits limits,
            Observer observer) {
        this.socket = socket;
        this.server = server;
        this.plugins = plugins;
        this.log = log;
        this.limits = limits;
        this.observer = observer;
        this.timer = Executors.newSingleThreadScheduledExecutor(
                r -> Thread.ofPlatform().daemon().name("jcni-daemon-timer").unstarted(r));
        this.workers = new ThreadPoolExecutor(
                limits.workers(),
                limits.workers(),
                0,
                TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(limits.queue()),
                Thread.ofPlatform().daemon().name("jcni-daemon-worker-", 0).factory());
        this.acceptor = Thread.ofPlatform().name("jcni-daemon-accept").unstarted(this::acceptLoop);
    }

    /** Binds the socket with every plugin of {@link Plugins#all} and starts serving. */
    public static Daemon start(Path socket, PrintStream log) throws IOException {
        return start(socket, Plugins.all(), log);
    }

    /** Like {@link #start(Path, PrintStream)}, telling {@code observer} about every request answered. */
    public static Daemon start(Path socket, PrintStream log, Observer observer) throws IOException {
        return start(socket, Plugins.all(), log, Limits.DEFAULT, observer);
    }

    public static Daemon start(Path socket, Map<String, Supplier<Plugin>> plugins, PrintStream log) throws IOException {
        return start(socket, plugins, log, Limits.DEFAULT);
    }

    static Daemon start(Path socket, Map<String, Supplier<Plugin>> plugins, PrintStream log, Limits limits)
            throws IOException {
        return start(socket, plugins, log, limits, Observer.NONE);
    }

    static Daemon start(
            Path socket, Map<String, Supplier<Plugin>> plugins, PrintStream log, Limits limits, Observer observer)
            throws IOException {
        socket = socket.toAbsolutePath().normalize();
        prepareDirectory(socket.getParent());
        removeStaleSocket(socket);
        // bound and listening under a temporary name, 0600, warmed up, then renamed into place: a
        // client either finds no socket (and falls back) or a daemon ready to answer quickly
        Path tmp = socket.resolveSibling(".jcni-" + ProcessHandle.current().pid() + ".sock");
        Files.deleteIfExists(tmp);
        UnixSocket server = UnixSocket.listen(tmp, 128);
        try {
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
            warmUp(plugins);
            Files.move(tmp, socket, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            server.close();
            Files.deleteIfExists(tmp);
            throw e;
        }
        Daemon d = new Daemon(socket, server, plugins, log, limits, observer);
        d.acceptor.start();
        return d;
    }

    public Path socket() {
        return socket;
    }

    public Set<String> pluginNames() {
        return plugins.keySet();
    }

    /** Requests answered so far (refusals and "not served" included, "busy" not). */
    public long served() {
        return served.get();
    }

    /** Connections turned away because every worker was taken and the queue was full. */
    public long busy() {
        return busy.get();
    }

    /** Connections queued, being read or run right now. */
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
        server.shutdown(UnixSocket.SHUT_RDWR); // wakes the acceptor
        try {
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            log.println("jcni daemon: removing " + socket + ": " + e);
        }
        try {
            acceptor.join();
            server.close();
            // queued, never read: closed with the request unread, the client sees a reset and falls back
            List<Runnable> queued = new ArrayList<>();
            workers.getQueue().drainTo(queued);
            for (Runnable r : queued) {
                if (r instanceof Work w) {
                    w.connection.socket.close();
                    connections.remove(w.connection);
                }
            }
            // being read: no more input; a request already in the socket is still read, then "not served"
            for (Connection c : connections) {
                c.stopReading();
            }
            workers.shutdown();
            if (!workers.awaitTermination(limits.drainTimeoutMs(), TimeUnit.MILLISECONDS)) {
                log.println("jcni daemon: a request did not finish within " + limits.drainTimeoutMs()
                        + " ms; exiting anyway");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            timer.shutdownNow();
            lingering.forEach(UnixSocket::close);
            stopped.countDown();
        }
    }

    /** The acceptor: survives every exception; a failure costs the one connection it happened on. */
    private void acceptLoop() {
        while (!closing.get()) {
            UnixSocket s = null;
            Connection c = null;
            try {
                s = server.accept();
                limits.onAccept().run();
                c = new Connection(s);
                connections.add(c);
                try {
                    workers.execute(new Work(c));
                } catch (RejectedExecutionException full) {
                    connections.remove(c);
                    refuseBusy(s);
                }
            } catch (Throwable t) {
                if (closing.get()) {
                    return;
                }
                if (c != null) {
                    connections.remove(c);
                }
                if (s != null) {
                    s.close();
                }
                try {
                    log.println("jcni daemon: accept: " + t);
                    // a persistent failure (EMFILE, no memory for a thread) must not spin a core
                    Thread.sleep(s == null ? 50 : 0);
                } catch (Throwable ignored) {
                    // keep accepting
                }
            }
        }
    }

    /**
     * The "busy" reply, written without waiting (it fits in any socket buffer). The connection
     * stays open a moment longer ({@link #BUSY_LINGER_MS}), unread: a client still sending its
     * request must not get EPIPE (it would fall back to the standalone path) but read the reply.
     */
    private void refuseBusy(UnixSocket s) {
        busy.incrementAndGet();
        try {
            CniError e = new CniError(
                    CniError.TRY_AGAIN_LATER,
                    "jcni daemon busy: try again later",
                    limits.workers() + " requests running and " + limits.queue() + " waiting");
            s.writeNow(Protocol.reply(new PluginResponse(Json.writeIndentedBytes(e.toJson(CniVersion.LATEST)), "", 1)));
            s.shutdown(UnixSocket.SHUT_WR);
            if (lingering.size() < MAX_LINGERING) {
                lingering.add(s);
                timer.schedule(
                        () -> {
                            if (lingering.remove(s)) {
                                s.close();
                            }
                        },
                        BUSY_LINGER_MS,
                        TimeUnit.MILLISECONDS);
                return;
            }
        } catch (IOException | RuntimeException ignored) {
            // the client sees the connection end before a reply and falls back: nothing was done for it
        }
        s.close();
    }

    static final long BUSY_LINGER_MS = 1000;
    /** Bounds the descriptors held by turned-away connections under a flood. */
    static final int MAX_LINGERING = 1024;

    private final Set<UnixSocket> lingering = ConcurrentHashMap.newKeySet();

    /** A queued connection, so that shutdown can tell it from other tasks. */
    private final class Work implements Runnable {
        final Connection connection;

        Work(Connection connection) {
            this.connection = connection;
        }

        @Override
        public void run() {
            serve(connection);
        }
    }

    /** One connection: read the request, check the peer, run the plugin, write the reply. */
    private void serve(Connection c) {
        ScheduledFuture<?> deadline = timer.schedule(c::expire, limits.requestTimeoutMs(), TimeUnit.MILLISECONDS);
        try (UnixSocket s = c.socket) {
            Protocol.Request req = Protocol.readRequest(s.input());
            deadline.cancel(false);
            long t0 = System.nanoTime();
            PluginResponse response = respond(c, req);
            if (response == null) {
                return; // too slow: no reply, the connection is dropped
            }
            observe(req, response, System.nanoTime() - t0);
            served.incrementAndGet(); // before the reply: whoever saw the reply sees the count
            deadline = timer.schedule(c::expire, limits.replyTimeoutMs(), TimeUnit.MILLISECONDS);
            s.writeAll(Protocol.reply(response));
        } catch (IOException e) {
            if (!c.expired) {
                log.println("jcni daemon: request dropped: " + e);
            }
        } catch (RuntimeException | Error e) {
            log.println("jcni daemon: request failed: " + e);
        } finally {
            deadline.cancel(false);
            connections.remove(c);
        }
    }

    private void observe(Protocol.Request req, PluginResponse response, long nanos) {
        try {
            observer.answered(req.plugin(), req.env().get("CNI_COMMAND"), response.exitCode(), nanos);
        } catch (RuntimeException ignored) {
            // metrics must never cost a pod its reply
        }
    }

    private PluginResponse respond(Connection c, Protocol.Request req) throws IOException {
        UnixSocket.Peer peer = c.socket.peer();
        int pidfd = c.socket.peerPidfd();
        try {
            String refused = Callers.refusal(peer);
            if (refused == null && pidfd >= 0 && !UnixSocket.alive(pidfd)) {
                refused = "the calling process exited before it could be checked";
            }
            if (refused != null) {
                log.println("jcni daemon: refused a request for " + req.plugin()
                        + (peer.uid() != 0 ? " from user " + Callers.userName(peer.uid()) : ": " + refused));
                return error(
                        CniError.INVALID_ENVIRONMENT,
                        "permission denied: the jcni daemon serves root only"
                                + " (uid 0 with CAP_NET_ADMIN and CAP_SYS_ADMIN in the daemon's user namespace)",
                        refused);
            }
            if (!c.start()) {
                // shutting down or too slow; the whole request was read, so say "not served": the client falls back
                return c.expired ? null : notServed();
            }
            if (!Callers.sameView(peer.pid())
                    || Callers.relativePaths(req.env())
                    || Callers.selfPath(req.env())
                    || !plugins.containsKey(req.plugin())) {
                return notServed();
            }
            String dataDir = Callers.ipamDataDir(req.stdin());
            if (dataDir != null && !dataDir.startsWith("/")) {
                return error(
                        CniError.INVALID_NETWORK_CONFIG,
                        "ipam.dataDir must be an absolute path",
                        "\"" + dataDir + "\" would be relative to the daemon's working directory, not the runtime's");
            }
            return inTurn(
                    req,
                    pidfd,
                    () -> Skeleton.handle(plugins.get(req.plugin()).get(), new PluginRequest(req.env(), req.stdin())));
        } finally {
            UnixSocket.closeFd(pidfd);
        }
    }

    /**
     * Runs the requests of one container for one plugin one at a time, in the order they came.
     * A runtime that gives up on a call kills the plugin process, which here is only the client:
     * the daemon goes on with its request, and the runtime's next call for that container (the
     * DEL after a failed ADD) must not overtake it, or the ADD would finish after the DEL and
     * leave its pod's veth, address and NAT elements behind. A request whose caller has exited by
     * the time it may start is not run: its runtime has seen it fail and acts on that. Requests
     * without a container ID (VERSION, GC, STATUS) do not wait.
     */
    private PluginResponse inTurn(Protocol.Request req, int pidfd, Supplier<PluginResponse> run) {
        String container = req.env().getOrDefault("CNI_CONTAINERID", "");
        if (container.isEmpty()) {
            return run.get();
        }
        String key = req.plugin() + "\0" + container;
        Turn turn;
        synchronized (turns) {
            turn = turns.computeIfAbsent(key, k -> new Turn());
            turn.users++;
        }
        try {
            boolean mine = turn.lock.tryLock();
            if (!mine) {
                waiting.incrementAndGet();
                try {
                    mine = turn.lock.tryLock(TURN_TIMEOUT_MS, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    waiting.decrementAndGet();
                }
            }
            if (!mine) {
                return error(
                        CniError.TRY_AGAIN_LATER,
                        "an earlier request for container " + container + " is still running: try again later",
                        "waited " + TURN_TIMEOUT_MS / 1000 + " s for it");
            }
            try {
                if (pidfd >= 0 && !UnixSocket.alive(pidfd)) {
                    String verb = req.env().getOrDefault("CNI_COMMAND", "");
                    log.println("jcni daemon: " + req.plugin() + " " + verb + " for " + container
                            + " not run: its caller exited while it waited");
                    return error(
                            CniError.TRY_AGAIN_LATER,
                            "not run: the calling process exited before the request could start",
                            "");
                }
                return run.get();
            } finally {
                turn.lock.unlock();
            }
        } finally {
            synchronized (turns) {
                if (--turn.users == 0) {
                    turns.remove(key);
                }
            }
        }
    }

    /** Longer than any one request takes, shorter than the client's 300 s wait for its reply. */
    static final long TURN_TIMEOUT_MS = 240_000;

    /** The requests of one (plugin, container) being run or waiting; removed when none is left. */
    private static final class Turn {
        /** Fair: the waiting requests run in the order they came. */
        final ReentrantLock lock = new ReentrantLock(true);

        int users;
    }

    /** Requests waiting for an earlier request of the same container (and plugin) to finish. */
    public int waiting() {
        return waiting.get();
    }

    private static PluginResponse notServed() {
        return new PluginResponse(new byte[0], "", Protocol.NOT_SERVED);
    }

    private static PluginResponse error(int code, String msg, String details) {
        CniError e = new CniError(code, msg, details);
        return new PluginResponse(Json.writeIndentedBytes(e.toJson(CniVersion.LATEST)), "", 1);
    }

    /** A connection and its state: waiting for its request (may be dropped) or started (runs to the end). */
    private final class Connection {
        final UnixSocket socket;
        private boolean started;
        volatile boolean expired;

        Connection(UnixSocket socket) {
            this.socket = socket;
        }

        synchronized boolean start() {
            if (expired || closing.get()) {
                return false;
            }
            started = true;
            return true;
        }

        /** A deadline passed: wake the worker; it drops the connection. */
        void expire() {
            expired = true;
            socket.shutdown(UnixSocket.SHUT_RDWR);
        }

        /** Shutdown: no more input for a request that has not started; what was sent is still read. */
        synchronized void stopReading() {
            if (!started) {
                socket.shutdown(UnixSocket.SHUT_RD);
            }
        }
    }

    /**
     * The socket's directory. A missing one is created 0700 (missing parents 0755). An existing
     * one is used as it is, never chmod'ed (a {@code --socket /run/x.sock} must not change
     * /run): it must be a real directory owned by root that no one else can write to. Every
     * directory above it must be root's and not writable by others unless sticky (as /tmp),
     * so no one else can swap the socket's directory.
     */
    static void prepareDirectory(Path dir) throws IOException {
        Path existing = dir;
        List<Path> missing = new ArrayList<>();
        while (!Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
            missing.addFirst(existing);
            existing = existing.getParent();
        }
        checkAncestors(existing.toRealPath());
        for (Path m : missing) {
            Files.createDirectory(m);
            // the mode at creation is cut by the umask: set it on what was just made, nothing else
            Files.setPosixFilePermissions(
                    m, PosixFilePermissions.fromString(m.equals(dir) ? "rwx------" : "rwxr-xr-x"));
        }
        if (!missing.isEmpty()) {
            return;
        }
        PosixFileAttributes a = Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        Set<PosixFilePermission> p = a.permissions();
        if (!a.isDirectory()
                || !a.owner().getName().equals("root")
                || p.contains(PosixFilePermission.OTHERS_WRITE)
                || p.contains(PosixFilePermission.GROUP_WRITE)) {
            throw new IOException(dir + " must be a directory (not a link) of root that no one else can write to;"
                    + " or name a socket in a directory that does not exist yet, and the daemon creates it 0700");
        }
    }

    private static void checkAncestors(Path real) throws IOException {
        for (Path p = real; p != null; p = p.getParent()) {
            PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            Set<PosixFilePermission> perms = a.permissions();
            boolean othersWrite =
                    perms.contains(PosixFilePermission.OTHERS_WRITE) || perms.contains(PosixFilePermission.GROUP_WRITE);
            if (!a.owner().getName().equals("root") || (othersWrite && !sticky(p))) {
                throw new IOException(p + " must be root's, and no one else can write to it unless it is sticky (/tmp):"
                        + " the socket's directory would not be safe under it");
            }
        }
    }

    private static boolean sticky(Path p) throws IOException {
        return ((Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 01000) != 0;
    }

    /** A socket left by a daemon that died is removed; a live one means another daemon is serving. */
    private static void removeStaleSocket(Path socket) throws IOException {
        if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!Files.readAttributes(socket, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                .isOther()) {
            throw new IOException(socket + " exists and is not a socket");
        }
        try (java.nio.channels.SocketChannel probe =
                java.nio.channels.SocketChannel.open(java.net.UnixDomainSocketAddress.of(socket))) {
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
            Skeleton.handle(
                    p.get(),
                    new PluginRequest(
                            Map.of(
                                    "CNI_COMMAND",
                                    "ADD",
                                    "CNI_CONTAINERID",
                                    "warmup",
                                    "CNI_NETNS",
                                    "/nonexistent",
                                    "CNI_IFNAME",
                                    "eth0"),
                            "{\"cniVersion\":\"1.0.0\"}".getBytes()));
        }
    }
}
