package io.jcni.cli;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.PluginRequest;
import io.jcni.cni.Skeleton;
import io.jcni.testkit.Commands;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The native client answers VERSION by itself, byte for byte as the plugins do, from the reply
 * {@code jcni install} writes into its sidecar. The sidecar here has no standalone command and
 * names a socket nobody listens on: an answer can only come from the client itself, and a
 * request it does not answer ends in its "no standalone path" error.
 */
class ClientVersionTest {
    static Path dir;
    static Path client;

    @BeforeAll
    static void install() throws IOException {
        dir = Files.createTempDirectory(Path.of("/tmp"), "jcni-cv-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        client = dir.resolve("jcni-bridge");
        try (InputStream in =
                ClientVersionTest.class.getClassLoader().getResourceAsStream(InstallCommand.CLIENT_ENTRY)) {
            assertNotNull(in, "the daemon's jar carries the compiled client");
            Files.copy(in, client);
        }
        Files.setPosixFilePermissions(client, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(
                dir.resolve(InstallCommand.sidecarName("jcni-bridge")),
                InstallCommand.sidecar(
                        "jcni-bridge", dir.resolve("nobody-listens.sock").toString(), List.of()));
    }

    @AfterAll
    static void remove() throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** The client with only CNI_COMMAND in its environment; its stdout apart from stderr. */
    static Commands.Result run(String command, String stdin) {
        Commands.Result r = Commands.of(client.toString())
                .clearEnv()
                .env("CNI_COMMAND", command)
                .stdin(stdin)
                .separateErr()
                .timeout(Duration.ofSeconds(10))
                .result();
        assertNotEquals(Commands.TIMED_OUT, r.code(), () -> "the client did not exit: " + r);
        return r;
    }

    @Test
    void versionAnswersAreTheSkeletonsOwnBytes() throws Exception {
        for (String v : List.of("1.1.0", "1.0.0", "0.4.0", "0.3.1", "0.3.0", "0.2.0", "9.9.9-rc1", "2.0.0+build_7")) {
            String stdin = "{\"cniVersion\":\"" + v + "\"}";
            Commands.Result r = run("VERSION", stdin);
            byte[] expected = Skeleton.version(
                            new PluginRequest(Map.of("CNI_COMMAND", "VERSION"), stdin.getBytes(StandardCharsets.UTF_8)))
                    .stdout();
            assertEquals(0, r.code(), v);
            assertEquals(
                    new String(expected, StandardCharsets.UTF_8), new String(r.stdout(), StandardCharsets.UTF_8), v);
            assertArrayEquals(expected, r.stdout(), v);
        }
    }

    @Test
    void otherRequestsGoToThePlugin() throws Exception {
        for (String stdin : List.of(
                "",
                "{}",
                "{\"cniVersion\": \"1.0.0\"}",
                "{\"cniVersion\":\"1.0.0\",\"name\":\"x\"}",
                "{\"cniVersion\":\"a\\\"b\"}",
                "{\"cniVersion\":\"\"}",
                "{\"cniVersion\":\"" + "1".repeat(40) + "\"}")) {
            Commands.Result r = run("VERSION", stdin);
            assertEquals(1, r.code(), stdin);
            assertTrue(new String(r.stdout(), StandardCharsets.UTF_8).contains("no standalone path"), stdin);
        }
        Commands.Result add = run("ADD", "{\"cniVersion\":\"1.0.0\"}");
        assertEquals(1, add.code());
        assertTrue(new String(add.stdout(), StandardCharsets.UTF_8).contains("no standalone path"));
    }
}
