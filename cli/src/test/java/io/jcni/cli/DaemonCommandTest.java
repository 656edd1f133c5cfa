package io.jcni.cli;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.PluginResponse;
import io.jcni.daemon.Protocol;
import io.jcni.testkit.Jars;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@code jcni daemon} as a process: serves on its socket, and SIGTERM stops it cleanly. */
class DaemonCommandTest {
    @Test
    void servesThenStopsOnSigtermRemovingTheSocket() throws Exception {
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "jcni-daemon-cmd-");
        Path socket = dir.resolve("run/jcni.sock");
        Process p = new ProcessBuilder(
                        Jars.javaCommand(List.of(), "io.jcni.cli.Main", "daemon", "--socket", socket.toString()))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(dir.resolve("stderr").toFile())
                .start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(socket) && p.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(Files.exists(socket), "the daemon made its socket");
            PluginResponse r;
            try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
                ch.write(ByteBuffer.wrap(Protocol.request(
                        "loopback",
                        Map.of("CNI_COMMAND", "VERSION"),
                        "{\"cniVersion\": \"0.4.0\"}".getBytes(StandardCharsets.UTF_8))));
                r = Protocol.readReply(Channels.newInputStream(ch));
            }
            assertEquals(0, r.exitCode(), r.stdoutText());
            assertTrue(r.stdoutText().startsWith("{\"cniVersion\":\"0.4.0\""), r.stdoutText());
            p.destroy(); // SIGTERM
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            String err = Files.readString(dir.resolve("stderr")); // destroy() closes the process's pipes
            assertTrue(err.contains("jcni daemon: serving bridge, host-local, loopback"), err);
            assertTrue(err.contains("jcni daemon: stopped after 1 requests"), err);
            assertFalse(Files.exists(socket), "socket removed on SIGTERM");
        } finally {
            p.destroyForcibly();
            Files.deleteIfExists(socket);
            Files.deleteIfExists(socket.getParent());
            Files.deleteIfExists(dir.resolve("stderr"));
            Files.deleteIfExists(dir);
        }
    }

    @Test
    void badUsage() {
        assertEquals(2, CliRunner.run("daemon", "--bogus").code());
        assertEquals(2, CliRunner.run("daemon", "--socket").code());
        CliRunner help = CliRunner.run("daemon", "--help");
        assertEquals(0, help.code());
        assertTrue(help.out().contains("/run/jcni/jcni.sock"), help.out());
        assertTrue(
                List.of(Main.USAGE.split("\n")).stream().anyMatch(l -> l.trim().startsWith("daemon")),
                "listed in jcni --help");
    }
}
