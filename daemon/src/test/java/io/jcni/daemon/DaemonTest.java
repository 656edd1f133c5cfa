package io.jcni.daemon;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.CniError;
import io.jcni.cni.Invocation;
import io.jcni.cni.Plugin;
import io.jcni.cni.Result;
import io.jcni.plugins.bridge.Bridge;
import io.jcni.plugins.loopback.Loopback;
import io.jcni.plugins.testing.PluginFixture;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The daemon's socket, access control, parallelism and graceful shutdown, driven through the
 * native client (the executable a runtime runs). Each test has its own socket directory and
 * client directory, removed afterwards.
 */
class DaemonTest {
    static final byte[] SLOW_CONF =
            "{\"cniVersion\": \"1.0.0\", \"name\": \"slownet\"}".getBytes(StandardCharsets.UTF_8);

    final List<AutoCloseable> cleanup = new ArrayList<>();
    final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
    final PrintStream log = new PrintStream(logBytes, true, StandardCharsets.UTF_8);

    @AfterEach
    void cleanUp() throws Exception {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            try {
                cleanup.get(i).close();
            } catch (Exception ignored) {
                // keep cleaning
            }
        }
    }

    Path socketPath() throws IOException {
        Path base = Files.createTempDirectory(Path.of("/tmp"), "jcni-daemon-test-");
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x")); // nobody may traverse it
        cleanup.add(() -> {
            try (var s = Files.walk(base)) {
                s.sorted(java.util.Comparator.reverseOrder())
                        .forEach(p -> p.toFile().delete());
            }
        });
        return base.resolve("run/jcni/jcni.sock");
    }

    Daemon start(Path socket, Map<String, Supplier<Plugin>> plugins) throws IOException {
        Daemon d = Daemon.start(socket, plugins, log);
        cleanup.add(d);
        return d;
    }

    ClientProcess clients(boolean sidecars, String... names) {
        ClientProcess c = new ClientProcess(sidecars, names);
        cleanup.add(c);
        return c;
    }

    /** A plugin whose DEL waits: {@code entered} counts down on entry, then it waits for {@code release}; tracks concurrency. */
    static final class SlowPlugin implements Plugin {
        static final AtomicInteger running = new AtomicInteger();
        static final AtomicInteger maxRunning = new AtomicInteger();
        static volatile CountDownLatch entered = new CountDownLatch(1);
        static volatile CountDownLatch release = new CountDownLatch(0);
        static volatile long sleepMs;

        public String name() {
            return "slow";
        }

        public Set<String> knownArgs() {
            return Set.of();
        }

        public Result add(Invocation inv) {
            return Result.empty();
        }

        public void del(Invocation inv) throws CniError {
            int now = running.incrementAndGet();
            maxRunning.accumulateAndGet(now, Math::max);
            try {
                entered.countDown();
                release.await(60, TimeUnit.SECONDS);
                Thread.sleep(sleepMs);
            } catch (InterruptedException e) {
                throw new CniError(CniError.INTERNAL, "interrupted");
            } finally {
                running.decrementAndGet();
            }
        }

        public void check(Invocation inv) {}

        public void gc(Invocation inv) {}

        public void status(Invocation inv) {}
    }

    static Map<String, Supplier<Plugin>> slowAndLoopback() {
        Map<String, Supplier<Plugin>> m = new LinkedHashMap<>();
        m.put("slow", SlowPlugin::new);
        m.put("loopback", Loopback::new);
        return m;
    }

    static Map<String, String> slowDel(String container) {
        return Map.of("CNI_COMMAND", "DEL", "CNI_CONTAINERID", container, "CNI_IFNAME", "eth0");
    }

    static String perms(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void socketIs0600InA0700DirectoryAndIsRemovedOnClose() throws Exception {
        Path socket = socketPath();
        Daemon d = start(socket, slowAndLoopback());
        assertEquals("rwx------", perms(socket.getParent()));
        assertEquals("rw-------", perms(socket));
        assertTrue(
                Files.readAttributes(socket, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                        .isOther(),
                "a socket");

        IOException twice = assertThrows(IOException.class, () -> Daemon.start(socket, slowAndLoopback(), log));
        assertTrue(twice.getMessage().contains("another jcni daemon"), twice.getMessage());

        d.close();
        assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS), "socket removed");
        // a stale socket (a daemon killed -9) is replaced; an existing directory is never chmod'ed
        try (var ch = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            ch.bind(UnixDomainSocketAddress.of(socket));
        }
        Files.setPosixFilePermissions(socket.getParent(), PosixFilePermissions.fromString("rwxr-xr-x"));
        Daemon again = start(socket, slowAndLoopback());
        assertEquals("rwxr-xr-x", perms(socket.getParent()), "an existing directory keeps its mode");
        assertEquals("rw-------", perms(socket));
        again.close();

        Files.setPosixFilePermissions(socket.getParent(), PosixFilePermissions.fromString("rwxrwxrwx"));
        IOException open = assertThrows(IOException.class, () -> Daemon.start(socket, slowAndLoopback(), log));
        assertTrue(open.getMessage().contains("no one else can write"), open.getMessage());
    }

    @Test
    void requestsFromOtherUsersAreRefusedBySoPeercred() throws Exception {
        Path socket = socketPath();
        Daemon d = start(socket, slowAndLoopback());
        ClientProcess c = clients(false, "jcni-loopback");
        Map<String, String> version = Map.of("CNI_COMMAND", "VERSION");
        byte[] conf = "{\"cniVersion\": \"1.0.0\"}".getBytes(StandardCharsets.UTF_8);
        String[] asNobody = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};

        ClientProcess.Run root = c.run("jcni-loopback", version, conf, socket);
        assertEquals(0, root.code(), root.outText() + root.err());
        assertTrue(root.outText().contains("supportedVersions"), root.outText());
        assertEquals(1, d.served());

        // as installed, nobody cannot even reach the socket (0700 directory): connect fails, and
        // without a standalone path the client says the daemon is not reachable
        ClientProcess.Run blocked = c.run("jcni-loopback", version, conf, socket, asNobody);
        assertEquals(1, blocked.code(), blocked.outText());
        assertTrue(blocked.outText().contains("\"code\": 11"), blocked.outText());
        assertEquals(1, d.served());

        // opened up on purpose: the connection gets through and SO_PEERCRED refuses it
        Files.setPosixFilePermissions(socket.getParent(), PosixFilePermissions.fromString("rwx--x--x"));
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw-rw-"));
        ClientProcess.Run refused = c.run("jcni-loopback", version, conf, socket, asNobody);
        assertEquals(1, refused.code(), refused.outText() + refused.err());
        assertTrue(refused.outText().contains("\"code\": 4"), refused.outText());
        assertTrue(refused.outText().contains("serves root only"), refused.outText());
        assertTrue(refused.outText().contains("nobody"), refused.outText());
        assertEquals(2, d.served());
        assertTrue(
                logBytes.toString(StandardCharsets.UTF_8).contains("refused a request for loopback from user nobody"),
                logBytes.toString(StandardCharsets.UTF_8));
    }

    @Test
    void theObserverHearsOfEveryAnsweredRequestWithItsCommandExitCodeAndTime() throws Exception {
        Path socket = socketPath();
        List<String> seen = java.util.Collections.synchronizedList(new ArrayList<>());
        Daemon d = Daemon.start(
                socket,
                slowAndLoopback(),
                log,
                Daemon.Limits.DEFAULT,
                (plugin, command, exitCode, nanos) ->
                        seen.add(plugin + " " + command + " " + exitCode + (nanos > 0 ? " timed" : " untimed")));
        cleanup.add(d);
        ClientProcess c = clients(false, "jcni-loopback");
        byte[] conf = "{\"cniVersion\": \"1.0.0\"}".getBytes(StandardCharsets.UTF_8);

        ClientProcess.Run ok = c.run("jcni-loopback", Map.of("CNI_COMMAND", "VERSION"), conf, socket);
        assertEquals(0, ok.code(), ok.outText() + ok.err());
        // an ADD without CNI_CONTAINERID: the skeleton's error, exit 1
        ClientProcess.Run bad = c.run("jcni-loopback", Map.of("CNI_COMMAND", "ADD"), conf, socket);
        assertEquals(1, bad.code(), bad.outText() + bad.err());
        assertEquals(List.of("loopback VERSION 0 timed", "loopback ADD 1 timed"), seen);
        assertEquals(2, d.served());
    }

    @Test
    void aThrowingObserverCostsNoReply() throws Exception {
        Path socket = socketPath();
        Daemon d = Daemon.start(
                socket, slowAndLoopback(), log, Daemon.Limits.DEFAULT, (plugin, command, exitCode, nanos) -> {
                    throw new IllegalStateException("metrics broke");
                });
        cleanup.add(d);
        ClientProcess.Run ok = clients(false, "jcni-loopback")
                .run(
                        "jcni-loopback",
                        Map.of("CNI_COMMAND", "VERSION"),
                        "{\"cniVersion\": \"1.0.0\"}".getBytes(StandardCharsets.UTF_8),
                        socket);
        assertEquals(0, ok.code(), ok.outText() + ok.err());
        assertTrue(ok.outText().contains("supportedVersions"), ok.outText());
    }

    @Test
    void requestsRunInParallel() throws Exception {
        Path socket = socketPath();
        start(socket, slowAndLoopback());
        ClientProcess c = clients(false, "jcni-slow");
        SlowPlugin.maxRunning.set(0);
        SlowPlugin.entered = new CountDownLatch(4);
        SlowPlugin.release = new CountDownLatch(1);
        SlowPlugin.sleepMs = 0;
        List<CompletableFuture<ClientProcess.Run>> runs = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            String id = "par" + i;
            runs.add(CompletableFuture.supplyAsync(
                    () -> c.run("jcni-slow", slowDel(id), SLOW_CONF, socket),
                    r -> Thread.ofPlatform().start(r)));
        }
        // all four are inside the plugin at once before any is let go
        assertTrue(SlowPlugin.entered.await(30, TimeUnit.SECONDS), "4 requests in the plugin at the same time");
        SlowPlugin.release.countDown();
        for (var r : runs) {
            ClientProcess.Run run = r.get(60, TimeUnit.SECONDS);
            assertEquals(0, run.code(), run.outText() + run.err());
        }
        assertEquals(4, SlowPlugin.maxRunning.get());
    }

    @Test
    void parallelBridgeAddsForDifferentContainers() throws Exception {
        Path socket = socketPath();
        Map<String, Supplier<Plugin>> plugins = Map.of("bridge", Bridge::new);
        Daemon d = start(socket, plugins);
        ClientProcess c = clients(false, "jcni-bridge");
        PluginFixture f = new PluginFixture("dp");
        cleanup.add(f);
        String conf = "{\"cniVersion\": \"1.0.0\", \"name\": \"" + f.network
                + "\", \"type\": \"bridge\", \"bridge\": \"" + f.bridge
                + "\", \"isGateway\": true, \"ipMasq\": true, \"ipam\": {\"type\": \"host-local\", \"dataDir\": \""
                + f.dataDir
                + "\", \"ranges\": [[{\"subnet\": \"10.251." + f.octet + ".0/24\"}]]}}";
        byte[] stdin = conf.getBytes(StandardCharsets.UTF_8);
        int n = 8;
        List<String> netns = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            netns.add(f.netns("p" + i));
        }
        List<CompletableFuture<ClientProcess.Run>> adds = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int k = i;
            adds.add(CompletableFuture.supplyAsync(
                    () -> c.run(
                            "jcni-bridge", PluginFixture.env("ADD", "ctr" + k, netns.get(k), "eth0"), stdin, socket),
                    r -> Thread.ofPlatform().start(r)));
        }
        Set<String> ips = new HashSet<>();
        for (var a : adds) {
            ClientProcess.Run r = a.get(120, TimeUnit.SECONDS);
            assertEquals(0, r.code(), r.outText() + r.err());
            var m = (Map<?, ?>) io.jcni.cni.json.Json.parse(r.out());
            ips.add(String.valueOf(((Map<?, ?>) ((List<?>) m.get("ips")).get(0)).get("address")));
        }
        assertEquals(n, ips.size(), "distinct addresses: " + ips);
        assertEquals(n, f.reservations().size());
        assertEquals(n, f.natElements().size());
        List<CompletableFuture<ClientProcess.Run>> dels = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int k = i;
            dels.add(CompletableFuture.supplyAsync(
                    () -> c.run(
                            "jcni-bridge", PluginFixture.env("DEL", "ctr" + k, netns.get(k), "eth0"), stdin, socket),
                    r -> Thread.ofPlatform().start(r)));
        }
        for (var del : dels) {
            ClientProcess.Run r = del.get(120, TimeUnit.SECONDS);
            assertEquals(0, r.code(), r.outText() + r.err());
        }
        assertEquals(2L * n, d.served(), "all through the daemon");
        assertEquals(List.of(), f.reservations());
        assertEquals(List.of(), f.natElements());
        for (String ns : netns) {
            assertEquals(List.of("lo"), PluginFixture.nsLinks(ns));
        }
    }

    @Test
    void gracefulShutdownFinishesTheRequestInFlight() throws Exception {
        Path socket = socketPath();
        Daemon d = start(socket, slowAndLoopback());
        ClientProcess c = clients(false, "jcni-slow", "jcni-loopback");
        SlowPlugin.entered = new CountDownLatch(1);
        SlowPlugin.release = new CountDownLatch(1);
        SlowPlugin.sleepMs = 300;
        var inFlight = CompletableFuture.supplyAsync(
                () -> c.run("jcni-slow", slowDel("inflight"), SLOW_CONF, socket),
                r -> Thread.ofPlatform().start(r));
        assertTrue(SlowPlugin.entered.await(30, TimeUnit.SECONDS));
        // a connection that never sends its request must not hold the shutdown up
        SocketChannel idle = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        cleanup.add(idle);
        long t0 = System.nanoTime();
        var closing =
                CompletableFuture.runAsync(d::close, r -> Thread.ofPlatform().start(r));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (Files.exists(socket, LinkOption.NOFOLLOW_LINKS) && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS), "socket removed at once: new clients fall back");
        assertFalse(closing.isDone(), "close waits for the request in flight");
        assertFalse(inFlight.isDone());
        // a new client now finds no daemon (no sidecar here: it says so)
        ClientProcess.Run late = c.run("jcni-loopback", Map.of("CNI_COMMAND", "VERSION"), new byte[0], socket);
        assertTrue(late.outText().contains("\"code\": 11"), late.outText());
        SlowPlugin.release.countDown();
        ClientProcess.Run r = inFlight.get(30, TimeUnit.SECONDS);
        assertEquals(0, r.code(), r.outText() + r.err());
        assertEquals("", r.outText());
        closing.get(30, TimeUnit.SECONDS);
        assertTrue(System.nanoTime() - t0 >= TimeUnit.MILLISECONDS.toNanos(300), "close returned after the request");
        assertEquals(0, d.active());
        assertEquals(-1, idle.read(java.nio.ByteBuffer.allocate(1)), "the idle connection was closed without a reply");
    }

    @Test
    void unknownPluginIsNotServedAndTheClientFallsBack() throws Exception {
        Path socket = socketPath();
        Daemon d = start(socket, slowAndLoopback());
        // the daemon has no bridge: the client runs the standalone JVM path (its sidecar)
        ClientProcess c = clients(true, "jcni-bridge");
        ClientProcess.Run r = c.run(
                "jcni-bridge",
                Map.of("CNI_COMMAND", "VERSION"),
                "{\"cniVersion\": \"0.4.0\"}".getBytes(StandardCharsets.UTF_8),
                socket);
        assertEquals(0, r.code(), r.outText() + r.err());
        assertTrue(r.outText().startsWith("{\"cniVersion\":\"0.4.0\""), r.outText());
        assertEquals(1, d.served(), "the daemon answered 'not served'");
    }

    Daemon start(Path socket, Map<String, Supplier<Plugin>> plugins, Daemon.Limits limits) throws IOException {
        Daemon d = Daemon.start(socket, plugins, log, limits);
        cleanup.add(d);
        return d;
    }

    /** A connection that has sent {@code request} whole (the test's Java client). */
    SocketChannel send(Path socket, byte[] request) throws IOException {
        SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        cleanup.add(ch);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(request);
        while (b.hasRemaining()) {
            ch.write(b);
        }
        return ch;
    }

    static byte[] request(String plugin, Map<String, String> env, byte[] stdin) {
        return io.jcni.daemon.Protocol.request(plugin, env, stdin);
    }

    static io.jcni.cni.PluginResponse reply(SocketChannel ch) throws IOException {
        return io.jcni.daemon.Protocol.readReply(java.nio.channels.Channels.newInputStream(ch));
    }

    static final byte[] VERSION = request(
            "loopback",
            Map.of("CNI_COMMAND", "VERSION"),
            "{\"cniVersion\": \"1.0.0\"}".getBytes(StandardCharsets.UTF_8));

    /** Waits for {@code condition}; a bound only against a hang, not a timing assertion. */
    static void await(String what, java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("never happened: " + what);
            }
            Thread.sleep(10);
        }
    }

    /** A plugin whose DEL logs 8 MiB: its reply does not fit in a socket buffer. */
    static final class ChattyPlugin implements Plugin {
        public String name() {
            return "chatty";
        }

        public Set<String> knownArgs() {
            return Set.of();
        }

        public Result add(Invocation inv) {
            return Result.empty();
        }

        public void del(Invocation inv) {
            String line = "x".repeat(1023);
            for (int i = 0; i < 8192; i++) {
                inv.log(line);
            }
        }

        public void check(Invocation inv) {}

        public void gc(Invocation inv) {}

        public void status(Invocation inv) {}
    }

    /**
     * A client that sends nothing, one that sends half a request, and one that never reads its
     * (large) reply: each is dropped at its deadline, and others are served meanwhile.
     */
    @Test
    void slowClientsAreDroppedAtTheirDeadlines() throws Exception {
        Path socket = socketPath();
        Map<String, Supplier<Plugin>> plugins = new LinkedHashMap<>(slowAndLoopback());
        plugins.put("chatty", ChattyPlugin::new);
        Daemon d = start(socket, plugins, new Daemon.Limits(4, 4, 500, 500, 30_000, () -> {}));
        SocketChannel silent = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        cleanup.add(silent);
        byte[] full = VERSION;
        SocketChannel half = send(socket, java.util.Arrays.copyOf(full, full.length / 2));
        SocketChannel deaf = send(socket, request("chatty", slowDel("deaf"), SLOW_CONF));
        // served while the three hang
        assertEquals(0, reply(send(socket, VERSION)).exitCode());
        await("the three slow connections dropped", () -> d.active() == 0);
        assertEquals(-1, silent.read(java.nio.ByteBuffer.allocate(1)), "the silent client was dropped without a reply");
        assertEquals(-1, half.read(java.nio.ByteBuffer.allocate(1)), "the half request was dropped without a reply");
        assertThrows(
                IOException.class,
                () -> {
                    java.nio.ByteBuffer sink = java.nio.ByteBuffer.allocate(1 << 20);
                    while (deaf.read(sink) >= 0) {
                        sink.clear();
                    }
                    throw new IOException("the reply ended: read to the end");
                },
                "the deaf client's reply was cut short");
        assertEquals(0, reply(send(socket, VERSION)).exitCode(), "still serving");
    }

    /**
     * 500 connections at once, every worker held by a DEL that waits: the workers and the queue
     * fill, every other caller gets a clear "busy" CNI error at once, and all the others are
     * answered once the DELs go on.
     */
    @Test
    void fiveHundredConnectionsAtOnceGetServedOrBusy() throws Exception {
        Path socket = socketPath();
        Daemon.Limits limits = Daemon.Limits.DEFAULT;
        Daemon d = start(socket, slowAndLoopback(), limits);
        SlowPlugin.entered = new CountDownLatch(limits.workers());
        SlowPlugin.release = new CountDownLatch(1);
        SlowPlugin.sleepMs = 0;
        int n = 500;
        List<SocketChannel> chans = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                chans.add(send(socket, request("slow", slowDel("many" + i), SLOW_CONF)));
            }
            int held = limits.workers() + limits.queue();
            assertTrue(SlowPlugin.entered.await(120, TimeUnit.SECONDS), "every worker in the plugin");
            await("the rest turned away", () -> d.busy() == n - held);
        } finally {
            SlowPlugin.release.countDown();
        }
        int ok = 0, busy = 0;
        for (SocketChannel ch : chans) {
            io.jcni.cni.PluginResponse r = reply(ch);
            if (r.exitCode() == 0) {
                ok++;
            } else {
                assertEquals(1, r.exitCode(), r.stdoutText());
                assertTrue(
                        r.stdoutText().contains("\"code\": 11")
                                && r.stdoutText().contains("busy"),
                        r.stdoutText());
                busy++;
            }
        }
        assertEquals(limits.workers() + limits.queue(), ok);
        assertEquals(n - ok, busy);
        await("all connections done", () -> d.active() == 0);
        assertEquals(0, reply(send(socket, VERSION)).exitCode(), "still serving");
    }

    /** An Error on the acceptor (a thread that cannot be created, say) costs that one connection only. */
    @Test
    void theAcceptorSurvivesAnError() throws Exception {
        Path socket = socketPath();
        AtomicInteger accepted = new AtomicInteger();
        start(socket, slowAndLoopback(), new Daemon.Limits(4, 4, 10_000, 10_000, 30_000, () -> {
            if (accepted.incrementAndGet() == 1) {
                throw new OutOfMemoryError("unable to create native thread (injected)");
            }
        }));
        // each call bounded only so that a dead acceptor fails the test instead of hanging it
        var first = CompletableFuture.supplyAsync(
                () -> {
                    try {
                        return reply(send(socket, VERSION));
                    } catch (IOException e) {
                        return null;
                    }
                },
                r -> Thread.ofPlatform().daemon().start(r));
        assertNull(first.get(120, TimeUnit.SECONDS), "the first connection is dropped without a reply");
        var second = CompletableFuture.supplyAsync(
                () -> {
                    try {
                        return reply(send(socket, VERSION));
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                },
                r -> Thread.ofPlatform().daemon().start(r));
        assertEquals(0, second.get(120, TimeUnit.SECONDS).exitCode(), "the next one is served");
        assertTrue(
                logBytes.toString(StandardCharsets.UTF_8).contains("injected"),
                logBytes.toString(StandardCharsets.UTF_8));
    }

    /**
     * Root is not enough: a caller without CAP_NET_ADMIN, or in another user namespace, is
     * refused; a caller in another mount namespace (paths mean something else there) is sent to
     * its standalone path.
     */
    @Test
    void callersNeedTheCapabilitiesAndTheDaemonsNamespaces() throws Exception {
        Path socket = socketPath();
        Daemon d = start(socket, slowAndLoopback());
        ClientProcess c = clients(false, "jcni-loopback");
        Map<String, String> version = Map.of("CNI_COMMAND", "VERSION");
        byte[] conf = "{\"cniVersion\": \"1.0.0\"}".getBytes(StandardCharsets.UTF_8);

        ClientProcess.Run noNetAdmin = c.run(
                "jcni-loopback",
                version,
                conf,
                socket,
                "setpriv",
                "--inh-caps=-net_admin",
                "--bounding-set=-net_admin");
        assertEquals(1, noNetAdmin.code(), noNetAdmin.outText() + noNetAdmin.err());
        assertTrue(
                noNetAdmin.outText().contains("\"code\": 4")
                        && noNetAdmin.outText().contains("lacks CAP_NET_ADMIN"),
                noNetAdmin.outText());

        ClientProcess.Run otherUserNs =
                c.run("jcni-loopback", version, conf, socket, "unshare", "--user", "--map-root-user");
        assertEquals(1, otherUserNs.code(), otherUserNs.outText() + otherUserNs.err());
        assertTrue(otherUserNs.outText().contains("another user namespace"), otherUserNs.outText());

        long served = d.served();
        ClientProcess.Run otherMountNs = c.run("jcni-loopback", version, conf, socket, "unshare", "--mount");
        assertEquals(served + 1, d.served(), "the daemon answered");
        assertEquals(1, otherMountNs.code(), otherMountNs.outText() + otherMountNs.err());
        assertTrue(
                otherMountNs.outText().contains("no standalone path"),
                "sent to the standalone path: " + otherMountNs.outText());

        ClientProcess.Run root = c.run("jcni-loopback", version, conf, socket);
        assertEquals(0, root.code(), root.outText() + root.err());
    }

    /** A relative IPAM dataDir would be relative to the daemon's working directory: refused. */
    @Test
    void relativeDataDirIsRefused() throws Exception {
        Path socket = socketPath();
        start(socket, slowAndLoopback());
        byte[] conf = ("{\"cniVersion\": \"1.0.0\", \"name\": \"jhdrel\", \"type\": \"slow\","
                        + " \"ipam\": {\"type\": \"host-local\", \"dataDir\": \"var/lib/cni\"}}")
                .getBytes(StandardCharsets.UTF_8);
        io.jcni.cni.PluginResponse r = reply(send(socket, request("slow", slowDel("rel"), conf)));
        assertEquals(1, r.exitCode(), r.stdoutText());
        assertTrue(r.stdoutText().contains("\"code\": 7") && r.stdoutText().contains("absolute"), r.stdoutText());
    }

    /** A socket named in an existing directory leaves that directory as it is; a symlinked directory is refused. */
    @Test
    void anExistingDirectoryIsNeverChmodded() throws Exception {
        Path base = socketPath().getParent().getParent().getParent(); // 0755, like /run
        Daemon d = start(base.resolve("x.sock"), slowAndLoopback());
        assertEquals("rwxr-xr-x", perms(base));
        d.close();
        Path real = Files.createDirectory(base.resolve("real"));
        Path link = Files.createSymbolicLink(base.resolve("link"), real);
        IOException e =
                assertThrows(IOException.class, () -> Daemon.start(link.resolve("x.sock"), slowAndLoopback(), log));
        assertTrue(e.getMessage().contains("not a link"), e.getMessage());
    }
}
