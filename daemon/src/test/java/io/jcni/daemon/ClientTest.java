package io.jcni.daemon;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.PluginRequest;
import io.jcni.cni.PluginResponse;
import io.jcni.cni.Skeleton;
import io.jcni.cni.json.Json;
import io.jcni.plugins.bridge.Bridge;
import io.jcni.plugins.bridge.BridgeBadInputCases;
import io.jcni.plugins.bridge.BridgeBadInputCases.Case;
import io.jcni.plugins.testing.PluginFixture;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The native client's two paths against the in-process plugin: (a) client → daemon, (b) client
 * with no daemon → the standalone JVM (stdin replayed), (c) {@link Skeleton#handle} as the exec'd
 * plugin calls it (stdin cut at MAX_STDIN + 1 bytes, as PluginMain reads it). On every row of the
 * bridge's bad-input matrix the three give the same exit code and the same stdout bytes, and leave
 * the host as they found it. Then a real ADD/CHECK/DEL through the client, and the fallback when
 * the daemon is stopped in the middle of a run.
 */
class ClientTest {
    static PluginFixture f;
    static BridgeBadInputCases cases;
    static ClientProcess clients;
    static Path socketDir;
    static Path socket;
    static Path noDaemon;
    static Daemon daemon;
    static String baseIp;
    static final ByteArrayOutputStream LOG = new ByteArrayOutputStream();

    @BeforeAll
    static void setUp() throws Exception {
        f = new PluginFixture("cl");
        Path regularFile = Files.writeString(f.dataDir.resolve("not-a-netns"), "x");
        Path directory = Files.createDirectory(f.dataDir.resolve("a-dir"));
        cases = new BridgeBadInputCases(f, regularFile, directory);
        clients = new ClientProcess(true, "jcni-bridge");
        socketDir = Files.createTempDirectory(Path.of("/tmp"), "jcni-client-test-");
        socket = socketDir.resolve("jcni.sock");
        noDaemon = socketDir.resolve("no-daemon.sock");
        daemon = Daemon.start(socket, new PrintStream(LOG, true, StandardCharsets.UTF_8));
        String baseNs = f.netns("base");
        baseIp = BridgeBadInputCases.firstIp(
                cases.run(PluginFixture.env("ADD", "base", baseNs, "eth0"), cases.validConfig()));
    }

    @AfterAll
    static void tearDown() {
        if (daemon != null) {
            daemon.close();
        }
        if (clients != null) {
            clients.close();
        }
        if (f != null) {
            f.close();
        }
        if (socketDir != null) {
            socketDir.resolve("jcni.sock").toFile().delete();
            socketDir.toFile().delete();
        }
    }

    /** What the exec'd JVM plugin computes: PluginMain reads at most MAX_STDIN + 1 bytes, then Skeleton.handle. */
    static PluginResponse inProcess(Map<String, String> env, byte[] stdin) {
        byte[] read = Arrays.copyOf(stdin, Math.min(stdin.length, Skeleton.MAX_STDIN + 1));
        return Skeleton.handle(new Bridge(), new PluginRequest(env, read));
    }

    /** A success's output differs between runs only in its addresses and MACs. */
    static String masked(byte[] out) {
        return new String(out, StandardCharsets.UTF_8)
                .replaceAll("\"(mac|address|gateway)\": \"[^\"]*\"", "\"$1\": \"*\"");
    }

    record State(List<String> links, List<String> reservations, List<String> nat, List<String> nsLinks) {
        static State of(String ns) {
            return new State(f.hostLinks(), f.reservations(), f.natElements(), PluginFixture.nsLinks(ns));
        }
    }

    @TestFactory
    Stream<DynamicTest> badInputMatrixIsByteIdenticalOnAllPaths() {
        List<Case> table = cases.table();
        assertTrue(table.size() >= 80, "the whole matrix: " + table.size());
        int[] n = {0};
        return table.stream()
                .map(c -> DynamicTest.dynamicTest(c.toString(), () -> runCase(c, "c" + Integer.toString(n[0]++, 36))));
    }

    private static void runCase(Case c, String tag) {
        String ns = f.netns(tag);
        c.setup().accept(ns);
        Map<String, String> env = BridgeBadInputCases.requestEnv(c, "bad" + tag, ns, baseIp);
        State before = State.of(ns);
        long served = daemon.served();

        PluginResponse local = inProcess(env, c.stdin());
        delIfAdded(c, env, local.exitCode());
        ClientProcess.Run viaDaemon = clients.run("jcni-bridge", env, c.stdin(), socket);
        delIfAdded(c, env, viaDaemon.code());
        assertEquals(served + 1, daemon.served(), "(a) went through the daemon");
        ClientProcess.Run viaJvm = clients.run("jcni-bridge", env, c.stdin(), noDaemon);
        delIfAdded(c, env, viaJvm.code());
        assertEquals(served + 1, daemon.served(), "(b) did not touch the daemon");

        assertEquals(c.code() == 0 ? 0 : 1, local.exitCode(), () -> c.name() + ": " + local.stdoutText());
        assertEquals(
                local.exitCode(),
                viaDaemon.code(),
                () -> c.name() + " (a) client->daemon: " + viaDaemon.outText() + viaDaemon.err());
        assertEquals(
                local.exitCode(),
                viaJvm.code(),
                () -> c.name() + " (b) client->JVM: " + viaJvm.outText() + viaJvm.err());
        if (c.code() == 0) {
            assertEquals(masked(local.stdout()), masked(viaDaemon.out()), c.name() + " (a)");
            assertEquals(masked(local.stdout()), masked(viaJvm.out()), c.name() + " (b)");
        } else {
            assertEquals(local.stdoutText(), viaDaemon.outText(), c.name() + " (a) client->daemon");
            assertArrayEquals(local.stdout(), viaDaemon.out(), c.name() + " (a) bytes");
            assertEquals(local.stdoutText(), viaJvm.outText(), c.name() + " (b) client->JVM");
            assertArrayEquals(local.stdout(), viaJvm.out(), c.name() + " (b) bytes");
        }
        assertEquals(local.stderr(), viaDaemon.err(), c.name() + " (a) stderr");
        assertEquals(before, State.of(ns), c.name() + ": nothing left behind by any path");
    }

    private static void delIfAdded(Case c, Map<String, String> env, int code) {
        if (c.code() == 0 && code == 0) {
            Map<String, String> del = new HashMap<>(env);
            del.put("CNI_COMMAND", "DEL");
            PluginResponse r = Skeleton.handle(new Bridge(), new PluginRequest(del, c.stdin()));
            assertEquals(0, r.exitCode(), r.stdoutText());
        }
    }

    @Test
    void realAddCheckDelThroughTheClient() throws Exception {
        String ns = f.netns("real");
        String conf = cases.validConfig();
        byte[] stdin = conf.getBytes(StandardCharsets.UTF_8);
        Map<String, String> env = PluginFixture.env("ADD", "real", ns, "eth1");
        for (Path sock : List.of(socket, noDaemon)) {
            long served = daemon.served();
            ClientProcess.Run add = clients.run("jcni-bridge", env, stdin, sock);
            assertEquals(0, add.code(), add.outText() + add.err());
            @SuppressWarnings("unchecked")
            Map<String, Object> result = (Map<String, Object>) Json.parse(add.out());
            assertEquals("1.0.0", result.get("cniVersion"));
            assertTrue(PluginFixture.nsLinks(ns).contains("eth1"), "eth1 in the pod");
            @SuppressWarnings("unchecked")
            Map<String, Object> withPrev = (Map<String, Object>) Json.parse(stdin);
            withPrev.put("prevResult", result);
            Map<String, String> check = new HashMap<>(env);
            check.put("CNI_COMMAND", "CHECK");
            ClientProcess.Run chk =
                    clients.run("jcni-bridge", check, Json.write(withPrev).getBytes(StandardCharsets.UTF_8), sock);
            assertEquals(0, chk.code(), chk.outText() + chk.err());
            Map<String, String> del = new HashMap<>(env);
            del.put("CNI_COMMAND", "DEL");
            ClientProcess.Run d =
                    clients.run("jcni-bridge", del, Json.write(withPrev).getBytes(StandardCharsets.UTF_8), sock);
            assertEquals(0, d.code(), d.outText() + d.err());
            assertEquals("", d.outText());
            assertEquals(List.of("lo"), PluginFixture.nsLinks(ns));
            assertEquals(sock.equals(socket) ? served + 3 : served, daemon.served(), "path " + sock);
        }
        assertEquals(
                List.of(baseIp),
                f.reservations().stream().filter(a -> a.startsWith("10.251.")).toList());
    }

    /** Paths relative to the runtime's working directory only mean something in a process started there. */
    @Test
    void relativeNetnsOrCniPathIsLeftToTheJvmPath() {
        for (Map<String, String> env : List.of(
                PluginFixture.env("ADD", "rel", "no-such-netns", "eth0"),
                Map.of("CNI_COMMAND", "VERSION", "CNI_PATH", "/usr/lib/cni:relative/bin"))) {
            byte[] stdin = cases.validConfig().getBytes(StandardCharsets.UTF_8);
            long served = daemon.served();
            ClientProcess.Run viaDaemonSocket = clients.run("jcni-bridge", env, stdin, socket);
            assertEquals(served + 1, daemon.served(), "the daemon answered 'not served'");
            ClientProcess.Run viaJvm = clients.run("jcni-bridge", env, stdin, noDaemon);
            assertEquals(viaJvm.code(), viaDaemonSocket.code());
            assertEquals(viaJvm.outText(), viaDaemonSocket.outText());
            assertTrue(
                    viaJvm.outText().contains(env.containsKey("CNI_NETNS") ? "\"code\": 3" : "supportedVersions"),
                    viaJvm.outText());
        }
    }

    /**
     * A daemon that dies after reading the whole request (no reply, or half a reply) may have
     * acted: the client reports "try again" (code 11) and does not run the request a second time
     * through the JVM. A daemon that closes the connection with the request unread never acted:
     * the client runs the JVM path with the stdin it already sent, replayed (VERSION echoes
     * stdin's cniVersion).
     */
    @Test
    void daemonDyingAfterTheRequestIsAnErrorBeforeItTheJvmPath() throws Exception {
        for (int partial : new int[] {-1, 0, 10}) {
            Path fake = socketDir.resolve("fake" + partial + ".sock");
            try (var server = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
                server.bind(java.net.UnixDomainSocketAddress.of(fake));
                var got = CompletableFuture.supplyAsync(
                        () -> {
                            try (var ch = server.accept()) {
                                if (partial < 0) {
                                    // closes with the request unread, as a daemon dropping a queued connection
                                    Thread.sleep(200);
                                    return null;
                                }
                                Protocol.Request req =
                                        Protocol.readRequest(java.nio.channels.Channels.newInputStream(ch));
                                byte[] reply = Protocol.reply(
                                        new PluginResponse("{}".getBytes(StandardCharsets.UTF_8), "", 0));
                                ch.write(java.nio.ByteBuffer.wrap(reply, 0, partial)); // then "dies"
                                return req;
                            } catch (java.io.IOException e) {
                                throw new java.io.UncheckedIOException(e);
                            } catch (InterruptedException e) {
                                throw new IllegalStateException(e);
                            }
                        },
                        r -> Thread.ofPlatform().start(r));
                byte[] stdin = "{\"cniVersion\": \"0.3.1\"}".getBytes(StandardCharsets.UTF_8);
                ClientProcess.Run r = clients.run("jcni-bridge", Map.of("CNI_COMMAND", "VERSION"), stdin, fake);
                Protocol.Request req = got.get();
                if (partial < 0) {
                    assertEquals(0, r.code(), r.outText() + r.err());
                    assertTrue(r.outText().startsWith("{\"cniVersion\":\"0.3.1\",\"supportedVersions\""), r.outText());
                } else {
                    assertEquals("bridge", req.plugin());
                    assertEquals("VERSION", req.env().get("CNI_COMMAND"));
                    assertArrayEquals(stdin, req.stdin());
                    assertEquals(1, r.code(), r.outText() + r.err());
                    assertTrue(r.outText().contains("\"code\": 11"), r.outText());
                    assertTrue(r.err().contains("no whole reply"), r.err());
                }
            } finally {
                Files.deleteIfExists(fake);
            }
        }
    }

    /**
     * Sequential ADD/DEL pairs through the client; the daemon is stopped while one is in flight.
     * Every call succeeds (those after the stop through the JVM path) and nothing is left.
     */
    @Test
    void daemonStoppedMidRunEveryCallStillSucceeds() throws Exception {
        Path sock = socketDir.resolve("midrun.sock");
        Daemon d = Daemon.start(sock, new PrintStream(LOG, true, StandardCharsets.UTF_8));
        PluginFixture g = new PluginFixture("cm");
        try {
            String conf =
                    "{\"cniVersion\": \"1.0.0\", \"name\": \"" + g.network + "\", \"type\": \"bridge\", \"bridge\": \""
                            + g.bridge
                            + "\", \"isGateway\": true, \"ipMasq\": true, \"ipam\": {\"type\": \"host-local\", \"dataDir\": \""
                            + g.dataDir + "\", \"ranges\": [[{\"subnet\": \"10.251." + g.octet + ".0/24\"}]]}}";
            byte[] stdin = conf.getBytes(StandardCharsets.UTF_8);
            int pairs = 10, stopAt = 4;
            List<String> nss = new ArrayList<>();
            CompletableFuture<Void> stopping = null;
            for (int i = 0; i < pairs; i++) {
                String ns = g.netns("m" + i);
                nss.add(ns);
                if (i == stopAt) {
                    // stop while this pair's ADD is on its way: it finishes in the daemon or falls back, never fails
                    stopping = CompletableFuture.runAsync(
                            d::close, r -> Thread.ofPlatform().start(r));
                }
                ClientProcess.Run add =
                        clients.run("jcni-bridge", PluginFixture.env("ADD", "mid" + i, ns, "eth0"), stdin, sock);
                assertEquals(0, add.code(), "ADD " + i + ": " + add.outText() + add.err());
                ClientProcess.Run del =
                        clients.run("jcni-bridge", PluginFixture.env("DEL", "mid" + i, ns, "eth0"), stdin, sock);
                assertEquals(0, del.code(), "DEL " + i + ": " + del.outText() + del.err());
                assertEquals(List.of("lo"), PluginFixture.nsLinks(ns), "pair " + i);
            }
            stopping.get();
            assertFalse(Files.exists(sock), "the daemon is gone");
            assertTrue(
                    d.served() >= 2L * stopAt && d.served() <= 2L * stopAt + 2,
                    "served before the stop: " + d.served());
            assertEquals(List.of(), g.reservations(), "no reservation left");
            assertEquals(List.of(), g.natElements(), "no NAT element left");
            assertEquals(
                    List.of(),
                    g.hostLinks().stream().filter(l -> l.endsWith("(veth)")).toList(),
                    "no veth left");
            for (String ns : nss) {
                assertEquals(List.of("lo"), PluginFixture.nsLinks(ns));
            }
        } finally {
            d.close();
            g.close();
        }
    }
}
