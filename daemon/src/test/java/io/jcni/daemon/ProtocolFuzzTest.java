package io.jcni.daemon;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.CniError;
import io.jcni.cni.Invocation;
import io.jcni.cni.Plugin;
import io.jcni.cni.PluginResponse;
import io.jcni.cni.Result;
import io.jcni.testkit.Fuzz;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.PrintStream;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Fuzzes the daemon's wire protocol on both sides: {@link Protocol#readRequest} (the daemon) and
 * {@link Protocol#readReply} (the Java client) on random, truncated and mutated frames must
 * either decode or refuse with an {@link IOException}; valid messages round-trip unchanged; and a
 * running daemon fed the same frames answers or closes the connection — never hangs, never lets
 * an exception escape the connection handler — and keeps serving.
 */
class ProtocolFuzzTest {
    /** Parses the configuration as the skeleton does and never touches the kernel. */
    static final class InertPlugin implements Plugin {
        @Override
        public String name() {
            return "jhf-fuzz";
        }

        @Override
        public Set<String> knownArgs() {
            return Set.of();
        }

        @Override
        public Result add(Invocation inv) throws CniError {
            inv.prevResult();
            return Result.empty();
        }

        @Override
        public void del(Invocation inv) throws CniError {
            inv.prevResult();
        }

        @Override
        public void check(Invocation inv) throws CniError {
            inv.prevResult();
        }

        @Override
        public void gc(Invocation inv) {}

        @Override
        public void status(Invocation inv) {}
    }

    static final String CONF =
            "{\"cniVersion\":\"1.1.0\",\"name\":\"jhf-net\",\"type\":\"jhf-fuzz\",\"ipam\":{\"dataDir\":\"/x\"}}";

    Path dir;
    Daemon daemon;

    @AfterEach
    void stop() throws IOException {
        if (daemon != null) {
            daemon.close();
        }
        if (dir != null) {
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    static Map<String, String> env(Random r) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("CNI_COMMAND", Fuzz.pick(r, new String[] {"VERSION", "DEL", "GC", "STATUS", "ADD", "x"}));
        env.put("CNI_CONTAINERID", "jhf-c" + r.nextInt(100));
        env.put("CNI_IFNAME", "eth0");
        env.put("CNI_NETNS", Fuzz.pick(r, new String[] {"", "/nonexistent/jhf-fuzz"}));
        for (int n = r.nextInt(3); n > 0; n--) {
            String k = Fuzz.wellFormedText(r, 6).replace("=", "").replace("\u0000", "");
            if (!k.isEmpty()) {
                env.put(k, Fuzz.wellFormedText(r, 12));
            }
        }
        return env;
    }

    /** A valid request frame, or a truncated or byte-mutated one, or random bytes (with or without the magic). */
    static byte[] frame(Random r) {
        byte[] valid = Protocol.request(
                r.nextInt(8) == 0 ? Fuzz.wellFormedText(r, 8) : "jhf-fuzz",
                env(r),
                r.nextBoolean() ? CONF.getBytes(StandardCharsets.UTF_8) : Fuzz.bytes(r, 64));
        return switch (r.nextInt(5)) {
            case 0 -> valid;
            case 1 -> java.util.Arrays.copyOf(valid, r.nextInt(valid.length));
            case 2, 3 -> Fuzz.mutateBytes(r, valid);
            default -> {
                ByteArrayOutputStream b = new ByteArrayOutputStream();
                if (r.nextBoolean()) {
                    b.writeBytes(Protocol.REQUEST_MAGIC);
                }
                b.writeBytes(Fuzz.bytes(r, 64));
                yield b.toByteArray();
            }
        };
    }

    @Test
    void requestsRoundTrip() {
        Fuzz.run("request round trip", 500, r -> {
            String plugin = Fuzz.wellFormedText(r, 20);
            while (plugin.getBytes(StandardCharsets.UTF_8).length > Protocol.MAX_NAME) {
                plugin = plugin.substring(0, plugin.length() / 2);
            }
            Map<String, String> env = env(r);
            byte[] stdin = Fuzz.bytes(r, 300);
            Protocol.Request back =
                    Protocol.readRequest(new ByteArrayInputStream(Protocol.request(plugin, env, stdin)));
            assertEquals(plugin, back.plugin());
            assertEquals(env, back.env());
            assertArrayEquals(stdin, back.stdin());
        });
    }

    @Test
    void repliesRoundTrip() {
        Fuzz.run("reply round trip", 500, r -> {
            PluginResponse sent = new PluginResponse(Fuzz.bytes(r, 300), Fuzz.wellFormedText(r, 40), r.nextInt());
            PluginResponse got = Protocol.readReply(new ByteArrayInputStream(Protocol.reply(sent)));
            assertArrayEquals(sent.stdout(), got.stdout());
            assertEquals(sent.stderr(), got.stderr());
            assertEquals(sent.exitCode(), got.exitCode());
        });
    }

    @Test
    void badRequestFramesAreRefused() {
        Fuzz.run("readRequest on bad frames", 2000, r -> {
            byte[] f = frame(r);
            try {
                Protocol.Request req = Protocol.readRequest(new ByteArrayInputStream(f));
                assertNotNull(req.plugin());
            } catch (Protocol.ProtocolException | EOFException refused) {
                // a clean refusal
            }
        });
    }

    @Test
    void badReplyFramesAreRefused() {
        Fuzz.run("readReply on bad frames", 2000, r -> {
            byte[] valid = Protocol.reply(new PluginResponse(Fuzz.bytes(r, 100), Fuzz.text(r, 4), r.nextInt(3) - 1));
            byte[] f = switch (r.nextInt(3)) {
                case 0 -> java.util.Arrays.copyOf(valid, r.nextInt(valid.length));
                case 1 -> Fuzz.mutateBytes(r, valid);
                default -> Fuzz.bytes(r, 64);
            };
            try {
                assertNotNull(Protocol.readReply(new ByteArrayInputStream(f)));
            } catch (Protocol.ProtocolException | EOFException refused) {
                // a clean refusal
            }
        });
    }

    @Test
    void daemonRefusesBadFramesAndKeepsServing() throws Exception {
        dir = Files.createTempDirectory(Path.of("/tmp"), "jhf-fuzz-daemon");
        Path socket = dir.resolve("run/jhf.sock");
        ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
        PrintStream log = new PrintStream(logBytes, true, StandardCharsets.UTF_8);
        daemon = Daemon.start(socket, Map.of("jhf-fuzz", InertPlugin::new), log);
        Fuzz.run("daemon on bad frames", 150, r -> {
            byte[] reply = exchange(socket, frame(r));
            if (reply.length > 0) {
                PluginResponse resp = Protocol.readReply(new ByteArrayInputStream(reply));
                assertTrue(
                        resp.exitCode() == 0 || resp.exitCode() == 1 || resp.exitCode() == Protocol.NOT_SERVED,
                        () -> "exit code " + resp.exitCode());
                assertFalse(resp.stdoutText().contains("\"code\": " + CniError.INTERNAL), resp::stdoutText);
            }
            String logged = logBytes.toString(StandardCharsets.UTF_8);
            assertFalse(logged.contains("request failed"), logged);
        });
        // still serving
        byte[] reply = exchange(
                socket,
                Protocol.request("jhf-fuzz", Map.of("CNI_COMMAND", "VERSION"), CONF.getBytes(StandardCharsets.UTF_8)));
        PluginResponse version = Protocol.readReply(new ByteArrayInputStream(reply));
        assertEquals(0, version.exitCode(), version.stdoutText());
        assertTrue(version.stdoutText().contains("supportedVersions"), version.stdoutText());
    }

    /** Sends a frame, half-closes, and reads until the daemon closes; a daemon that never does fails the test. */
    static byte[] exchange(Path socket, byte[] frame) throws Exception {
        return CompletableFuture.supplyAsync(() -> {
                    try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
                        ByteBuffer out = ByteBuffer.wrap(frame);
                        while (out.hasRemaining()) {
                            ch.write(out);
                        }
                        ch.shutdownOutput();
                        ByteArrayOutputStream in = new ByteArrayOutputStream();
                        ByteBuffer buf = ByteBuffer.allocate(8192);
                        while (ch.read(buf) >= 0) {
                            in.write(buf.array(), 0, buf.position());
                            buf.clear();
                        }
                        return in.toByteArray();
                    } catch (IOException e) {
                        // a peer reset on a refused frame is a clean refusal too
                        return new byte[0];
                    }
                })
                .get(60, TimeUnit.SECONDS);
    }

    /** A peer that announces a huge reply and sends nothing costs the reader what arrived, not what was announced. */
    @Test
    void anAnnouncedLengthIsNotAllocatedBeforeTheBytesArrive() {
        ByteArrayOutputStream frame = new ByteArrayOutputStream();
        frame.writeBytes(Protocol.REPLY_MAGIC);
        frame.writeBytes(new byte[] {0, 0, 0, 0}); // exit code
        frame.writeBytes(new byte[] {0x03, (byte) 0xff, (byte) 0xff, (byte) 0xff}); // stdout: 64 MiB - 1
        frame.writeBytes(new byte[] {0, 0, 0, 0});
        frame.writeBytes("only this".getBytes(StandardCharsets.UTF_8));
        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        assertThrows(EOFException.class, () -> Protocol.readReply(new ByteArrayInputStream(frame.toByteArray())));
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertTrue(allocated < 4 << 20, () -> "reading a truncated reply allocated " + allocated + " bytes");
    }
}
