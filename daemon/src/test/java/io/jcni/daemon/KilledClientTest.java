package io.jcni.daemon;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.Invocation;
import io.jcni.cni.Plugin;
import io.jcni.cni.Result;
import io.jcni.plugins.testing.PluginFixture;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A runtime kills a plugin that takes too long (containerd and CRI-O kill the plugin process when
 * the call's context ends) and then DELs the pod. With the daemon, the process killed is only
 * the native client: the daemon goes on with the request. The runtime's next request for that
 * container — the DEL — must not overtake it, or the ADD finishes after the DEL and leaves its
 * pod's veth, address and NAT elements behind for good. And a request whose client died while it
 * waited for an earlier one of its container is not run at all: its runtime has already seen it
 * fail.
 */
class KilledClientTest {
    static final byte[] CONF = "{\"cniVersion\": \"1.0.0\", \"name\": \"killednet\", \"type\": \"marker\"}"
            .getBytes(StandardCharsets.UTF_8);

    final List<AutoCloseable> cleanup = new ArrayList<>();
    final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
    final PrintStream log = new PrintStream(logBytes, true, StandardCharsets.UTF_8);

    @AfterEach
    void cleanUp() {
        MarkerPlugin.release.countDown();
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            try {
                cleanup.get(i).close();
            } catch (Exception ignored) {
                // keep cleaning
            }
        }
    }

    /** ADD marks the container as attached (after waiting for {@link #release}), DEL unmarks it. */
    static final class MarkerPlugin implements Plugin {
        static final Set<String> attached = ConcurrentHashMap.newKeySet();
        static final AtomicInteger adds = new AtomicInteger();
        static volatile CountDownLatch entered = new CountDownLatch(1);
        static volatile CountDownLatch release = new CountDownLatch(0);

        public String name() {
            return "marker";
        }

        public Set<String> knownArgs() {
            return Set.of();
        }

        public Result add(Invocation inv) {
            adds.incrementAndGet();
            entered.countDown();
            try {
                assertTrue(release.await(60, TimeUnit.SECONDS));
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            attached.add(inv.containerId());
            return Result.empty();
        }

        public void del(Invocation inv) {
            attached.remove(inv.containerId());
        }

        public void check(Invocation inv) {}

        public void gc(Invocation inv) {}

        public void status(Invocation inv) {}
    }

    Daemon start() throws IOException {
        Path base = Files.createTempDirectory(Path.of("/tmp"), "jcni-killed-");
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
        cleanup.add(() -> {
            try (var s = Files.walk(base)) {
                s.sorted(java.util.Comparator.reverseOrder())
                        .forEach(p -> p.toFile().delete());
            }
        });
        Map<String, Supplier<Plugin>> plugins = Map.of("marker", MarkerPlugin::new);
        Daemon d = Daemon.start(base.resolve("run/jcni.sock"), plugins, log);
        cleanup.add(d);
        return d;
    }

    /** The client as a runtime starts it, not waited for: the test kills it. */
    Process startClient(ClientProcess c, Daemon d, Map<String, String> env) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(c.exe("jcni-marker").toString());
        pb.environment().clear();
        pb.environment().put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        pb.environment().put("JCNI_SOCKET", d.socket().toString());
        pb.environment().putAll(env);
        pb.redirectErrorStream(true);
        Process p = pb.start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(CONF);
        }
        cleanup.add(p::destroyForcibly);
        return p;
    }

    static void kill(Process p) throws InterruptedException {
        p.destroyForcibly(); // SIGKILL
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    }

    static void await(String what, java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("never happened: " + what);
            }
            Thread.sleep(5);
        }
    }

    @Test
    void theDelAfterAKilledAddWaitsForThatAdd() throws Exception {
        Daemon d = start();
        ClientProcess c = new ClientProcess(false, "jcni-marker");
        cleanup.add(c);
        PluginFixture f = new PluginFixture("kc");
        cleanup.add(f);
        String ns = f.netns("p");
        MarkerPlugin.attached.clear();
        MarkerPlugin.entered = new CountDownLatch(1);
        MarkerPlugin.release = new CountDownLatch(1);

        Process add = startClient(c, d, PluginFixture.env("ADD", "c1", ns, "eth0"));
        assertTrue(MarkerPlugin.entered.await(60, TimeUnit.SECONDS), "the ADD runs in the daemon");
        kill(add); // the runtime gives up on the ADD: its plugin process is killed

        // ... and DELs the pod, as after any failed ADD
        var del = CompletableFuture.supplyAsync(
                () -> c.run("jcni-marker", PluginFixture.env("DEL", "c1", ns, "eth0"), CONF, d.socket()),
                r -> Thread.ofPlatform().start(r));
        await("the DEL waits for the ADD still running for the killed client", () -> d.waiting() == 1);
        assertFalse(del.isDone(), "the DEL did not overtake the ADD");
        MarkerPlugin.release.countDown();
        ClientProcess.Run r = del.get(60, TimeUnit.SECONDS);
        assertEquals(0, r.code(), r.outText() + r.err());
        assertEquals(Set.of(), MarkerPlugin.attached, "the DEL ran after the ADD and undid it");
    }

    @Test
    void aRequestWhoseClientDiedWhileItWaitedIsNotRun() throws Exception {
        Daemon d = start();
        ClientProcess c = new ClientProcess(false, "jcni-marker");
        cleanup.add(c);
        PluginFixture f = new PluginFixture("kw");
        cleanup.add(f);
        String ns = f.netns("p");
        MarkerPlugin.attached.clear();
        MarkerPlugin.adds.set(0);
        MarkerPlugin.entered = new CountDownLatch(1);
        MarkerPlugin.release = new CountDownLatch(1);

        Process first = startClient(c, d, PluginFixture.env("ADD", "c2", ns, "eth0"));
        assertTrue(MarkerPlugin.entered.await(60, TimeUnit.SECONDS));
        kill(first);
        Process second = startClient(c, d, PluginFixture.env("ADD", "c2", ns, "eth0"));
        await("the second ADD waits for the first", () -> d.waiting() == 1);
        kill(second); // its runtime sees it fail; running it later would attach a pod no one will DEL
        MarkerPlugin.release.countDown();
        ClientProcess.Run del = c.run("jcni-marker", PluginFixture.env("DEL", "c2", ns, "eth0"), CONF, d.socket());
        assertEquals(0, del.code(), del.outText() + del.err());
        await("every request done", () -> d.active() == 0);
        assertEquals(1, MarkerPlugin.adds.get(), "the ADD of the client that died waiting never ran");
        assertEquals(Set.of(), MarkerPlugin.attached);
        assertTrue(
                logBytes.toString(StandardCharsets.UTF_8).contains("its caller exited while it waited"),
                logBytes.toString(StandardCharsets.UTF_8));
    }
}
