package io.jcni.cli;

import io.jcni.cni.PluginRequest;
import io.jcni.cni.Skeleton;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

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
        try (InputStream in = ClientVersionTest.class.getClassLoader().getResourceAsStream(InstallCommand.CLIENT_ENTRY)) {
            assertNotNull(in, "the daemon's jar carries the compiled client");
            Files.copy(in, client);
        }
        Files.setPosixFilePermissions(client, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(dir.resolve(InstallCommand.sidecarName("jcni-bridge")),
                InstallCommand.sidecar("jcni-bridge", dir.resolve("nobody-listens.sock").toString(), List.of()));
    }

    @AfterAll
    static void remove() throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    record Run(int exit, byte[] stdout) {}

    static Run run(String command, String stdin) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(client.toString());
        pb.environment().clear();
        pb.environment().put("CNI_COMMAND", command);
        pb.redirectError(ProcessBuilder.Redirect.DISCARD);
        Process p = pb.start();
        try (var out = p.getOutputStream()) {
            out.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        byte[] stdout = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        return new Run(p.exitValue(), stdout);
    }

    @Test
    void versionAnswersAreTheSkeletonsOwnBytes() throws Exception {
        for (String v : List.of("1.1.0", "1.0.0", "0.4.0", "0.3.1", "0.3.0", "0.2.0", "9.9.9-rc1", "2.0.0+build_7")) {
            String stdin = "{\"cniVersion\":\"" + v + "\"}";
            Run r = run("VERSION", stdin);
            byte[] expected = Skeleton.version(new PluginRequest(Map.of("CNI_COMMAND", "VERSION"),
                    stdin.getBytes(StandardCharsets.UTF_8))).stdout();
            assertEquals(0, r.exit(), v);
            assertEquals(new String(expected, StandardCharsets.UTF_8), new String(r.stdout(), StandardCharsets.UTF_8), v);
            assertArrayEquals(expected, r.stdout(), v);
        }
    }

    @Test
    void otherRequestsGoToThePlugin() throws Exception {
        for (String stdin : List.of("", "{}", "{\"cniVersion\": \"1.0.0\"}", "{\"cniVersion\":\"1.0.0\",\"name\":\"x\"}",
                "{\"cniVersion\":\"a\\\"b\"}", "{\"cniVersion\":\"\"}", "{\"cniVersion\":\"" + "1".repeat(40) + "\"}")) {
            Run r = run("VERSION", stdin);
            assertEquals(1, r.exit(), stdin);
            assertTrue(new String(r.stdout(), StandardCharsets.UTF_8).contains("no standalone path"), stdin);
        }
        Run add = run("ADD", "{\"cniVersion\":\"1.0.0\"}");
        assertEquals(1, add.exit());
        assertTrue(new String(add.stdout(), StandardCharsets.UTF_8).contains("no standalone path"));
    }
}
