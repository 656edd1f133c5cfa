package io.jcni.daemon;

import io.jcni.testkit.Commands;
import io.jcni.testkit.Jars;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The native client as a runtime runs it: a directory (0755, so that nobody can run it too) with
 * the compiled client copied under plugin names, each with a {@code .<name>.exec} sidecar whose
 * standalone command is this build's plugins on a fresh JVM, as {@code jcni install} writes it.
 */
final class ClientProcess implements AutoCloseable {
    /** Where the daemon module's build put the compiled client. */
    static Path compiledClient() {
        var url = ClientProcess.class.getResource("/io/jcni/daemon/jcni-client");
        if (url == null) {
            throw new AssertionError("no compiled client on the class path (the build runs cc in process-classes)");
        }
        return Path.of(java.net.URI.create(url.toString()));
    }

    static final Map<String, String> MAINS = Map.of(
            "jcni-bridge",
            "io.jcni.plugins.bridge.BridgeMain",
            "jcni-host-local",
            "io.jcni.plugins.hostlocal.HostLocalMain",
            "jcni-loopback",
            "io.jcni.plugins.loopback.LoopbackMain");

    final Path dir;

    /** @param sidecars whether to write the standalone path (without it a failed daemon call is an error) */
    ClientProcess(boolean sidecars, String... names) {
        try {
            dir = Files.createTempDirectory(Path.of("/tmp"), "jcni-client-");
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            for (String n : names) {
                Path exe = dir.resolve(n);
                Files.copy(compiledClient(), exe);
                Files.setPosixFilePermissions(exe, PosixFilePermissions.fromString("rwxr-xr-x"));
                if (sidecars && MAINS.containsKey(n)) {
                    Files.writeString(dir.resolve("." + n + ".exec"), sidecar(MAINS.get(n)));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The standalone command, as InstallCommand.standaloneCommand makes it, on the test's class path. */
    static String sidecar(String mainClass) {
        List<String> argv = Jars.javaCommand(
                List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData", "-Xshare:auto"), mainClass);
        StringBuilder b = new StringBuilder("# test sidecar\n");
        argv.forEach(a -> b.append("argv ").append(a).append('\n'));
        return b.toString();
    }

    Path exe(String name) {
        return dir.resolve(name);
    }

    record Run(int code, byte[] out, String err) {
        String outText() {
            return new String(out, StandardCharsets.UTF_8);
        }
    }

    /** Runs {@code name} with exactly {@code env} (plus PATH and JCNI_SOCKET), {@code stdin} fed from a thread. */
    Run run(String name, Map<String, String> env, byte[] stdin, Path socket, String... prefix) {
        List<String> cmd = new ArrayList<>(List.of(prefix));
        cmd.add(exe(name).toString());
        // the client reads at most MAX_STDIN + 1 bytes, then the pipe breaks: as with a runtime, that is no error
        Commands.Result r = Commands.of(cmd)
                .clearEnv()
                .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
                .env("JCNI_SOCKET", socket.toString())
                .env(env)
                .stdin(stdin)
                .separateErr()
                .timeout(Duration.ofSeconds(120))
                .result();
        if (r.code() == Commands.TIMED_OUT || r.code() == Commands.NOT_STARTED) {
            throw new AssertionError(name + " did not exit: " + r);
        }
        return new Run(r.code(), r.stdout(), r.err());
    }

    @Override
    public void close() {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // temp dir
        }
    }
}
