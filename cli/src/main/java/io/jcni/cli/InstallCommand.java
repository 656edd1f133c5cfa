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
 * runtime jars go into the lib dir; each plugin becomes a small sh script in the CNI bin dir that
 * execs the JDK found at install time on {@code <lib-dir>/*}. Every file is written to a temp
 * name in its directory and renamed into place, so a runtime never executes a half-written file
 * and re-installing simply replaces everything.
 */
final class InstallCommand {
    static final String USAGE = """
            Usage: jcni install [--dir DIR] [--lib-dir DIR] [--from DIR] [--print]

            Installs jcni-bridge, jcni-host-local and jcni-loopback as CNI plugins.

              --dir DIR       where the plugin executables go (default /opt/cni/bin)
              --lib-dir DIR   where the runtime jars go (default /opt/jcni/lib); jars left there
                              by an earlier 'jcni install' and no longer needed are removed
              --from DIR      where the jars come from (default: the build's cli/target/lib)
              --print         only print what would be done

            The executables run the Java this command runs on:
              %s
            Re-run jcni install after upgrading the JDK or jcni; re-installing overwrites.
            """;

    static final String DEFAULT_DIR = "/opt/cni/bin";
    static final String DEFAULT_LIB_DIR = "/opt/jcni/lib";
    /** Marks a lib dir as written by jcni install, so stale jars may be removed from it on re-install. */
    static final String MARKER = ".jcni-lib";

    /** One installed executable: its file name and entry point. */
    record PluginExe(String file, String mainClass) {}

    static final List<PluginExe> PLUGINS = List.of(
            new PluginExe("jcni-bridge", "io.jcni.plugins.bridge.BridgeMain"),
            new PluginExe("jcni-host-local", "io.jcni.plugins.hostlocal.HostLocalMain"),
            new PluginExe("jcni-loopback", "io.jcni.plugins.loopback.LoopbackMain"),
            new PluginExe("jcni-portmap", "io.jcni.plugins.portmap.PortmapMain"));

    /** JVM options of the plugin executables: short-lived processes, see docs/startup.md. */
    static final List<String> JVM_OPTIONS = List.of("--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData", "-Xshare:auto");

    private final PrintStream out;

    InstallCommand(PrintStream out) {
        this.out = out;
    }

    int run(List<String> args) {
        Path dir = Path.of(DEFAULT_DIR);
        Path libDir = Path.of(DEFAULT_LIB_DIR);
        Path from = null;
        boolean print = false;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            switch (a) {
                case "--help", "-h" -> {
                    out.print(USAGE.formatted(javaExecutable()));
                    return 0;
                }
                case "--print" -> print = true;
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

        if (print) {
            out.println("mkdir -p " + libDir + " " + dir);
            for (Path jar : jars) {
                out.println("install -m 0644 " + jar + " " + libDir.resolve(jar.getFileName()));
            }
            for (PluginExe p : PLUGINS) {
                out.println("install -m 0755 /dev/stdin " + dir.resolve(p.file()) + " <<'EOF'");
                out.print(script(java, libDir, p.mainClass()));
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
            writeAtomically(dir, p.file(), script(java, libDir, p.mainClass()).getBytes(StandardCharsets.UTF_8), "rwxr-xr-x");
        }
        List<String> files = new ArrayList<>();
        for (PluginExe p : PLUGINS) {
            files.add(p.file());
        }
        out.println("installed " + String.join(", ", files) + " in " + dir + " (" + jars.size() + " jars in "
                + libDir + ", java " + java + ")");
        return 0;
    }

    /**
     * The executable for one plugin: the only place that knows what a plugin executable is.
     * Paths are single-quoted, so the shell neither splits them nor expands the class path's
     * {@code *} (java does that).
     */
    static String script(Path java, Path libDir, String mainClass) {
        return "#!/bin/sh\n"
                + "# CNI plugin written by 'jcni install'; re-run it to update. Runs " + mainClass + ".\n"
                + "exec " + shQuote(java.toString()) + " " + String.join(" ", JVM_OPTIONS)
                + " -cp " + shQuote(libDir.resolve("*").toString()) + " " + mainClass + " \"$@\"\n";
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
