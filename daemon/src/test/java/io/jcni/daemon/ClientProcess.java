package io.jcni.daemon;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
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

    static final Map<String, String> MAINS = Map.of("jcni-bridge", "io.jcni.plugins.bridge.BridgeMain",
            "jcni-host-local", "io.jcni.plugins.hostlocal.HostLocalMain",
            "jcni-loopback", "io.jcni.plugins.loopback.LoopbackMain");

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
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> argv = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
                "-Xshare:auto", "-cp", cp, mainClass));
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
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().clear();
        pb.environment().put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        pb.environment().put("JCNI_SOCKET", socket.toString());
        pb.environment().putAll(env);
        try {
            Process p = pb.start();
            Thread feeder = Thread.ofPlatform().start(() -> {
                try (OutputStream in = p.getOutputStream()) {
                    in.write(stdin);
                } catch (IOException ignored) {
                    // the client reads at most MAX_STDIN + 1 bytes, then the pipe breaks: as with a runtime
                }
            });
            byte[] err;
            byte[] out;
            var errReader = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return p.getErrorStream().readAllBytes();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }, r -> Thread.ofPlatform().start(r));
            out = p.getInputStream().readAllBytes();
            err = errReader.join();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError(name + " did not exit");
            }
            feeder.join();
            return new Run(p.exitValue(), out, new String(err, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
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
