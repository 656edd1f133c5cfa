package io.jcni.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarFile;

/**
 * {@code jcni install}: puts jcni's plugins where a container runtime looks for CNI plugins. The
 * runtime jars go into the lib dir; each plugin becomes a copy of the native client
 * ({@code native/jcni-client.c}, carried in the daemon's jar) named after it, which forwards the
 * request to {@code jcni daemon}, plus a sidecar {@code .<name>.exec} describing the standalone
 * path (the JDK found at install time on {@code <lib-dir>/*}) that the client execs when no
 * daemon answers. With {@code --scripts}, or when the jars hold no client, each plugin is a small
 * sh script that always runs the standalone path. Every file is written to a temp name in its
 * directory and renamed into place, so a runtime never executes a half-written file and
 * re-installing simply replaces everything.
 */
final class InstallCommand {
    static final String USAGE = """
            Usage: jcni install [--dir DIR] [--lib-dir DIR] [--from DIR] [--socket PATH] [--scripts] [--print]

            Installs jcni-bridge, jcni-host-local and jcni-loopback as CNI plugins.

              --dir DIR       where the plugin executables go (default /opt/cni/bin)
              --lib-dir DIR   where the runtime jars go (default /opt/jcni/lib); jars left there
                              by an earlier 'jcni install' and no longer needed are removed
              --from DIR      where the jars come from (default: the build's cli/target/lib)
              --socket PATH   the daemon socket the executables use (default /run/jcni/jcni.sock;
                              the JCNI_SOCKET environment variable overrides it)
              --scripts       sh scripts that always start a JVM, instead of the native client
              --print         only print what would be done

            The executables forward each call to 'jcni daemon'; when no daemon answers they run
            the plugin in a JVM of their own (same results), on the Java this command runs on:
              %s
            Re-run jcni install after upgrading the JDK or jcni; re-installing overwrites.
            """;

    static final String DEFAULT_DIR = "/opt/cni/bin";
    static final String DEFAULT_LIB_DIR = "/opt/jcni/lib";
    /** Marks a lib dir as written by jcni install, so stale jars may be removed from it on re-install. */
    static final String MARKER = ".jcni-lib";
    /** Where the native client is in the daemon's jar (compiled there by the daemon module's build). */
    static final String CLIENT_ENTRY = "io/jcni/daemon/jcni-client";
    static final String DEFAULT_SOCKET = "/run/jcni/jcni.sock";

    /** One installed executable: its file name and entry point. */
    record PluginExe(String file, String mainClass) {}

    static final List<PluginExe> PLUGINS = List.of(
            new PluginExe("jcni-bridge", "io.jcni.plugins.bridge.BridgeMain"),
            new PluginExe("jcni-host-local", "io.jcni.plugins.hostlocal.HostLocalMain"),
            new PluginExe("jcni-loopback", "io.jcni.plugins.loopback.LoopbackMain"),
            new PluginExe("jcni-portmap", "io.jcni.plugins.portmap.PortmapMain"));

    /**
     * JVM options of the standalone path (short-lived processes, see docs/startup.md): the one
     * place they are set, for the client's sidecar and for the --scripts launchers alike.
     */
    static final List<String> JVM_OPTIONS = List.of("--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData", "-Xshare:auto");

    /** The standalone path's command line for one plugin: java, JVM options, class path, main class. */
    static List<String> standaloneCommand(Path java, Path libDir, String mainClass) {
        List<String> cmd = new ArrayList<>();
        cmd.add(java.toString());
        cmd.addAll(JVM_OPTIONS);
        cmd.add("-cp");
        cmd.add(libDir.resolve("*").toString());
        cmd.add(mainClass);
        return cmd;
    }

    private final PrintStream out;

    InstallCommand(PrintStream out) {
        this.out = out;
    }

    int run(List<String> args) {
        Path dir = Path.of(DEFAULT_DIR);
        Path libDir = Path.of(DEFAULT_LIB_DIR);
        Path from = null;
        String socket = DEFAULT_SOCKET;
        boolean print = false;
        boolean scripts = false;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            switch (a) {
                case "--help", "-h" -> {
                    out.print(USAGE.formatted(javaExecutable()));
                    return 0;
                }
                case "--print" -> print = true;
                case "--scripts" -> scripts = true;
                case "--socket" -> {
                    if (++i >= args.size() || !args.get(i).startsWith("/") || args.get(i).contains("\n")) {
                        throw new Main.UsageException("--socket needs an absolute PATH");
                    }
                    socket = args.get(i);
                }
                case "--dir" -> dir = pathArg(args, ++i, a);
                case "--lib-dir" -> libDir = pathArg(args, ++i, a);
                case "--from" -> from = pathArg(args, ++i, a);
                default -> throw new Main.UsageException("unexpected argument \"" + a + "\" (see jcni install --help)");
            }
        }
        if (from == null) {
            from = defaultFrom();
        }
        Path java = javaExecutable();
        List<Path> jars = sourceJars(from);
        checkTarget(dir, "--dir");
        checkTarget(libDir, "--lib-dir");
        byte[] client = scripts ? null : clientBinary(jars);
        String note = client == null && !scripts ? " (no native client in the jars: sh scripts)" : "";
        for (String s : List.of(java.toString(), libDir.toString())) {
            if (s.contains("\n")) {
                throw new IllegalStateException("a path with a newline cannot be installed: " + s);
            }
        }

        if (print) {
            out.println("mkdir -p " + libDir + " " + dir);
            for (Path jar : jars) {
                out.println("install -m 0644 " + jar + " " + libDir.resolve(jar.getFileName()));
            }
            for (PluginExe p : PLUGINS) {
                if (client != null) {
                    out.println("install -m 0755 jcni-client " + dir.resolve(p.file()));
                    out.println("install -m 0644 /dev/stdin " + dir.resolve(sidecarName(p.file())) + " <<'EOF'");
                    out.print(sidecar(p.file(), socket, standaloneCommand(java, libDir, p.mainClass())));
                } else {
                    out.println("install -m 0755 /dev/stdin " + dir.resolve(p.file()) + " <<'EOF'");
                    out.print(script(java, libDir, p.mainClass()));
                }
                out.println("EOF");
            }
            return 0;
        }

        mkdirs(libDir, "--lib-dir");
        mkdirs(dir, "--dir");
        List<String> names = new ArrayList<>();
        for (Path jar : jars) {
            writeAtomically(libDir, jar.getFileName().toString(), readAll(jar), "rw-r--r--");
            names.add(jar.getFileName().toString());
        }
        removeStaleJars(libDir, names);
        writeAtomically(libDir, MARKER, "jars installed by jcni install\n".getBytes(StandardCharsets.UTF_8), "rw-r--r--");
        for (PluginExe p : PLUGINS) {
            if (client != null) {
                // the sidecar first: a client must never run without its standalone path
                writeAtomically(dir, sidecarName(p.file()), sidecar(p.file(), socket, standaloneCommand(java, libDir, p.mainClass()))
                        .getBytes(StandardCharsets.UTF_8), "rw-r--r--");
                writeAtomically(dir, p.file(), client, "rwxr-xr-x");
            } else {
                writeAtomically(dir, p.file(), script(java, libDir, p.mainClass()).getBytes(StandardCharsets.UTF_8), "rwxr-xr-x");
                try {
                    Files.deleteIfExists(dir.resolve(sidecarName(p.file()))); // of an earlier client install
                } catch (IOException e) {
                    throw new IllegalStateException("cannot remove " + dir.resolve(sidecarName(p.file())) + ": " + e.getMessage());
                }
            }
        }
        List<String> files = new ArrayList<>();
        for (PluginExe p : PLUGINS) {
            files.add(p.file());
        }
        out.println("installed " + String.join(", ", files) + " in " + dir + " (" + jars.size() + " jars in "
                + libDir + ", java " + java + (client != null ? ", daemon socket " + socket : "") + ")" + note);
        return 0;
    }

    /**
     * The --scripts executable for one plugin: {@link #standaloneCommand} as a sh script.
     * Paths (and anything unusual) are single-quoted, so the shell neither splits them nor expands the class path's
     * {@code *} (java does that).
     */
    static String script(Path java, Path libDir, String mainClass) {
        StringBuilder cmd = new StringBuilder();
        for (String a : standaloneCommand(java, libDir, mainClass)) {
            cmd.append(a.startsWith("/") || !a.matches("[A-Za-z0-9_.,:=+@%/-]+") ? shQuote(a) : a).append(' ');
        }
        return "#!/bin/sh\n"
                + "# CNI plugin written by 'jcni install'; re-run it to update. Runs " + mainClass + ".\n"
                + "exec " + cmd + "\"$@\"\n";
    }

    /** The standalone path's description next to a client: {@code .<file>.exec}. */
    static String sidecarName(String file) {
        return "." + file + ".exec";
    }

    /** The sidecar's text, read by native/jcni-client.c: "socket PATH" and one "argv ARG" line per argument. */
    static String sidecar(String file, String socket, List<String> command) {
        StringBuilder b = new StringBuilder();
        b.append("# ").append(file).append(" (jcni-client): written by 'jcni install'; re-run it to update.\n");
        b.append("# The daemon socket, and the standalone command run when no daemon answers.\n");
        b.append("socket ").append(socket).append('\n');
        for (String a : command) {
            b.append("argv ").append(a).append('\n');
        }
        return b.toString();
    }

    /** The native client from the jars (the daemon's jar carries it), or null when none holds it. */
    static byte[] clientBinary(List<Path> jars) {
        for (Path jar : jars) {
            try (JarFile jf = new JarFile(jar.toFile())) {
                var e = jf.getEntry(CLIENT_ENTRY);
                if (e != null) {
                    try (var in = jf.getInputStream(e)) {
                        return in.readAllBytes();
                    }
                }
            } catch (IOException e) {
                throw new IllegalStateException(jar + ": " + e.getMessage());
            }
        }
        return null;
    }

    static String shQuote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    static Path javaExecutable() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toAbsolutePath();
    }

    /** The lib dir next to the jar (or classes directory) this class was loaded from: cli/target/lib. */
    static Path defaultFrom() {
        try {
            var src = InstallCommand.class.getProtectionDomain().getCodeSource();
            if (src == null) {
                throw new IllegalStateException("cannot tell where jcni was started from; give --from DIR");
            }
            return Path.of(src.getLocation().toURI()).toAbsolutePath().getParent().resolve("lib");
        } catch (URISyntaxException e) {
            throw new IllegalStateException("cannot tell where jcni was started from; give --from DIR");
        }
    }

    private static Path pathArg(List<String> args, int i, String option) {
        if (i >= args.size() || args.get(i).isEmpty()) {
            throw new Main.UsageException(option + " needs a DIR");
        }
        return Path.of(args.get(i)).toAbsolutePath().normalize();
    }

    /** The jars in {@code from}, which must hold the plugins' entry points. */
    private static List<Path> sourceJars(Path from) {
        if (!Files.isDirectory(from)) {
            throw new IllegalStateException("--from " + from + ": not a directory (build with ./mvnw package, or give --from DIR)");
        }
        List<Path> jars = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(from, "*.jar")) {
            for (Path p : ds) {
                jars.add(p);
            }
        } catch (IOException e) {
            throw new IllegalStateException("--from " + from + ": " + e.getMessage());
        }
        jars.sort(null);
        for (PluginExe p : PLUGINS) {
            String entry = p.mainClass().replace('.', '/') + ".class";
            boolean found = false;
            for (Path jar : jars) {
                try (JarFile jf = new JarFile(jar.toFile())) {
                    found |= jf.getEntry(entry) != null;
                } catch (IOException e) {
                    throw new IllegalStateException("--from " + from + ": " + jar.getFileName() + " is not a readable jar");
                }
            }
            if (!found) {
                throw new IllegalStateException("--from " + from + ": no jar holds " + p.mainClass()
                        + " (build with ./mvnw package, or give --from DIR)");
            }
        }
        return jars;
    }

    /** The target, or its nearest existing ancestor, must be a writable directory. */
    private static void checkTarget(Path target, String option) {
        Path p = target;
        while (p != null && !Files.exists(p)) {
            p = p.getParent();
        }
        if (p == null || !Files.isDirectory(p)) {
            throw new IllegalStateException(option + " " + target + ": " + (p == null ? "no such directory" : p + " is not a directory"));
        }
        if (!Files.isWritable(p)) {
            throw new IllegalStateException(option + " " + target + ": " + p + " is not writable");
        }
    }

    private static void mkdirs(Path dir, String option) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IllegalStateException(option + " " + dir + ": cannot create it (" + e + ")");
        }
    }

    private static byte[] readAll(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + p + ": " + e.getMessage());
        }
    }

    /** Temp file in the same directory, permissions set, fsync'ed, renamed over the target. */
    private static void writeAtomically(Path dir, String name, byte[] content, String perms) {
        Path target = dir.resolve(name);
        Path tmp = null;
        try {
            tmp = Files.createTempFile(dir, "." + name + ".", ".tmp");
            try (var ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
                var buf = java.nio.ByteBuffer.wrap(content);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                ch.force(true);
            }
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString(perms));
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } catch (IOException e) {
            throw new IllegalStateException("cannot write " + target + ": " + e.getMessage());
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort
                }
            }
        }
    }

    /** A lib dir written by an earlier install loses jars the new install does not have (old versions). */
    private static void removeStaleJars(Path libDir, List<String> keep) {
        if (!Files.exists(libDir.resolve(MARKER))) {
            return; // not ours (first install, or a directory shared with others): remove nothing
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(libDir, "*.jar")) {
            for (Path p : ds) {
                if (!keep.contains(p.getFileName().toString())) {
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("--lib-dir " + libDir + ": " + e.getMessage());
        }
    }
}
