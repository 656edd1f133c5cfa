package io.jcni.daemon;

import io.jcni.cni.CniError;
import io.jcni.cni.Invocation;
import io.jcni.cni.Plugin;
import io.jcni.cni.Result;
import io.jcni.plugins.bridge.Bridge;
import io.jcni.plugins.loopback.Loopback;
import io.jcni.plugins.testing.PluginFixture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.channels.SocketChannel;
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

import static org.junit.jupiter.api.Assertions.*;

/**
 * The daemon's socket, access control, parallelism and graceful shutdown, driven through the
 * native client (the executable a runtime runs). Each test has its own socket directory and
 * client directory, removed afterwards.
 */
class DaemonTest {
    static final byte[] SLOW_CONF = "{\"cniVersion\": \"1.0.0\", \"name\": \"slownet\"}".getBytes(StandardCharsets.UTF_8);

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
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
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
        assertTrue(Files.readAttributes(socket, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther(), "a socket");

        IOException twice = assertThrows(IOException.class, () -> Daemon.start(socket, slowAndLoopback(), log));
        assertTrue(twice.getMessage().contains("another jcni daemon"), twice.getMessage());

        d.close();
        assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS), "socket removed");
        // a stale socket (a daemon killed -9) is replaced; the directory is tightened back to 0700
        try (var ch = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            ch.bind(UnixDomainSocketAddress.of(socket));
        }
        Files.setPosixFilePermissions(socket.getParent(), PosixFilePermissions.fromString("rwxr-xr-x"));
        Daemon again = start(socket, slowAndLoopback());
        assertEquals("rwx------", perms(socket.getParent()));
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
        assertTrue(logBytes.toString(StandardCharsets.UTF_8).contains("refused a request for loopback from user nobody"),
                logBytes.toString(StandardCharsets.UTF_8));
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
            runs.add(CompletableFuture.supplyAsync(() -> c.run("jcni-slow", slowDel(id), SLOW_CONF, socket),
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
        String conf = "{\"cniVersion\": \"1.0.0\", \"name\": \"" + f.network + "\", \"type\": \"bridge\", \"bridge\": \"" + f.bridge
                + "\", \"isGateway\": true, \"ipMasq\": true, \"ipam\": {\"type\": \"host-local\", \"dataDir\": \"" + f.dataDir
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
            adds.add(CompletableFuture.supplyAsync(() -> c.run("jcni-bridge",
                    PluginFixture.env("ADD", "ctr" + k, netns.get(k), "eth0"), stdin, socket), r -> Thread.ofPlatform().start(r)));
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
            dels.add(CompletableFuture.supplyAsync(() -> c.run("jcni-bridge",
                    PluginFixture.env("DEL", "ctr" + k, netns.get(k), "eth0"), stdin, socket), r -> Thread.ofPlatform().start(r)));
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
        var inFlight = CompletableFuture.supplyAsync(() -> c.run("jcni-slow", slowDel("inflight"), SLOW_CONF, socket),
                r -> Thread.ofPlatform().start(r));
        assertTrue(SlowPlugin.entered.await(30, TimeUnit.SECONDS));
        // a connection that never sends its request must not hold the shutdown up
        SocketChannel idle = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        cleanup.add(idle);
        long t0 = System.nanoTime();
        var closing = CompletableFuture.runAsync(d::close, r -> Thread.ofPlatform().start(r));
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
        ClientProcess.Run r = c.run("jcni-bridge", Map.of("CNI_COMMAND", "VERSION"), "{\"cniVersion\": \"0.4.0\"}"
                .getBytes(StandardCharsets.UTF_8), socket);
        assertEquals(0, r.code(), r.outText() + r.err());
        assertTrue(r.outText().startsWith("{\"cniVersion\":\"0.4.0\""), r.outText());
        assertEquals(1, d.served(), "the daemon answered 'not served'");
    }
}
