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
 *
 * <p>Then a JDK AOT cache ({@code <lib-dir>/jcni.aot}) is built by a training run
 * ({@code io.jcni.plugins.AotTraining}: every plugin's verbs against a scratch namespace and
 * bridge) with exactly the standalone path's JVM options and class path, and the standalone
 * command names it with {@code -XX:AOTCache}. The old cache is removed before any jar is replaced
 * and the new one is renamed into place only after a successful training run, so a cache never
 * describes other jars than the installed ones (JDK-8377932: a stale cache may run old classes).
 */
final class InstallCommand {
    static final String USAGE = """
            Usage: jcni install [--dir DIR] [--lib-dir DIR] [--from DIR] [--socket PATH] [--scripts] [--no-aot-cache] [--print]

            Installs jcni-bridge, jcni-host-local and jcni-loopback as CNI plugins.

              --dir DIR       where the plugin executables go (default /opt/cni/bin)
              --lib-dir DIR   where the runtime jars go (default /opt/jcni/lib); jars left there
                              by an earlier 'jcni install' and no longer needed are removed
              --from DIR      where the jars come from (default: the build's cli/target/lib)
              --socket PATH   the daemon socket the executables use (default /run/jcni/jcni.sock;
                              the JCNI_SOCKET environment variable overrides it)
              --scripts       sh scripts that always start a JVM, instead of the native client
              --no-aot-cache  do not build the JDK AOT cache (LIB-DIR/jcni.aot); without it each
                              plugin start is ~40%% slower. Building it needs root: the training
                              run attaches a scratch namespace to a scratch bridge and removes both
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
     * JVM options of the plugin executables (short-lived processes), chosen by measuring a real
     * bridge ADD: see docs/startup.md. The AOT training run uses exactly these. JVM log output
     * goes to stderr, never stdout (stdout is the CNI result: a rejected AOT cache logs errors).
     */
    static final List<String> JVM_OPTIONS = List.of("--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-XX:-UsePerfData", "-Xlog:disable", "-Xlog:all=warning:stderr");

    /** The AOT cache in the lib dir, and the class the training run executes. */
    static final String AOT_CACHE = "jcni.aot";
    static final String TRAINING_MAIN = "io.jcni.plugins.AotTraining";

    /**
     * The standalone path's command line for one plugin: java, JVM options, the AOT cache (when
     * built), class path, main class.
     */
    static List<String> standaloneCommand(Path java, Path libDir, Path aotCache, String mainClass) {
        List<String> cmd = new ArrayList<>();
        cmd.add(java.toString());
        cmd.addAll(JVM_OPTIONS);
        if (aotCache != null) {
            cmd.add("-XX:AOTCache=" + aotCache);
        }
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
        boolean aot = true;
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
                case "--no-aot-cache" -> aot = false;
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
            Path cache = aot ? libDir.resolve(AOT_CACHE) : null;
            if (aot) {
                out.println(String.join(" ", trainingCommand(java, libDir, cache)));
            }
            for (PluginExe p : PLUGINS) {
                if (client != null) {
                    out.println("install -m 0755 jcni-client " + dir.resolve(p.file()));
                    out.println("install -m 0644 /dev/stdin " + dir.resolve(sidecarName(p.file())) + " <<'EOF'");
                    out.print(sidecar(p.file(), socket, standaloneCommand(java, libDir, cache, p.mainClass())));
                } else {
                    out.println("install -m 0755 /dev/stdin " + dir.resolve(p.file()) + " <<'EOF'");
                    out.print(script(java, libDir, cache, p.mainClass()));
                }
                out.println("EOF");
            }
            return 0;
        }

        mkdirs(libDir, "--lib-dir");
        mkdirs(dir, "--dir");
        deleteCache(libDir); // before any jar changes: a cache must never describe other jars
        List<String> names = new ArrayList<>();
        for (Path jar : jars) {
            writeAtomically(libDir, jar.getFileName().toString(), readAll(jar), "rw-r--r--");
            names.add(jar.getFileName().toString());
        }
        removeStaleJars(libDir, names);
        writeAtomically(libDir, MARKER, "jars installed by jcni install\n".getBytes(StandardCharsets.UTF_8), "rw-r--r--");
        Path cache = aot ? buildCache(java, libDir) : null;
        for (PluginExe p : PLUGINS) {
            if (client != null) {
                // the sidecar first: a client must never run without its standalone path
                writeAtomically(dir, sidecarName(p.file()), sidecar(p.file(), socket, standaloneCommand(java, libDir, cache, p.mainClass()))
                        .getBytes(StandardCharsets.UTF_8), "rw-r--r--");
                writeAtomically(dir, p.file(), client, "rwxr-xr-x");
            } else {
                writeAtomically(dir, p.file(), script(java, libDir, cache, p.mainClass()).getBytes(StandardCharsets.UTF_8), "rwxr-xr-x");
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
                + libDir + ", java " + java + (client != null ? ", daemon socket " + socket : "")
                + (cache != null ? ", AOT cache " + cache : ", no AOT cache") + ")" + note);
        return 0;
    }

    /** The training run: the plugin JVM options, the plugin class path, -XX:AOTCacheOutput. */
    static List<String> trainingCommand(Path java, Path libDir, Path output) {
        List<String> cmd = new ArrayList<>();
        cmd.add(java.toString());
        cmd.addAll(JVM_OPTIONS);
        cmd.add("-XX:AOTCacheOutput=" + output);
        cmd.add("-cp");
        cmd.add(libDir.resolve("*").toString());
        cmd.add(TRAINING_MAIN);
        return cmd;
    }

    /**
     * Runs the training into a temp file and renames it to {@code jcni.aot}; returns its path, or
     * null (with a warning on stderr, the install still succeeds) if the training failed.
     */
    private static Path buildCache(Path java, Path libDir) {
        Path cache = libDir.resolve(AOT_CACHE);
        Path tmp = libDir.resolve("." + AOT_CACHE + ".tmp");
        try {
            Files.deleteIfExists(tmp);
            ProcessBuilder pb = new ProcessBuilder(trainingCommand(java, libDir, tmp));
            pb.redirectErrorStream(true);
            pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            Process p = pb.start();
            byte[] log = p.getInputStream().readAllBytes();
            int code = p.waitFor();
            if (code != 0 || !Files.isRegularFile(tmp)) {
                System.err.println("jcni: warning: AOT cache not built (training run exit " + code
                        + "); the plugins run without it. Training output:\n" + new String(log, StandardCharsets.UTF_8).strip());
                Files.deleteIfExists(tmp);
                return null;
            }
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
            Files.move(tmp, cache, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return cache;
        } catch (IOException e) {
            System.err.println("jcni: warning: AOT cache not built (" + e.getMessage() + "); the plugins run without it");
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private static void deleteCache(Path libDir) {
        try {
            Files.deleteIfExists(libDir.resolve(AOT_CACHE));
            Files.deleteIfExists(libDir.resolve(AOT_CACHE + ".config"));
        } catch (IOException e) {
            throw new IllegalStateException("--lib-dir " + libDir + ": cannot remove the old AOT cache: " + e.getMessage());
        }
    }

    /**
     * The --scripts executable for one plugin: {@link #standaloneCommand} as a sh script.
     * Paths (and anything unusual) are single-quoted, so the shell neither splits them nor expands the class path's
     * {@code *} (java does that).
     */
    static String script(Path java, Path libDir, Path aotCache, String mainClass) {
        StringBuilder cmd = new StringBuilder();
        for (String a : standaloneCommand(java, libDir, aotCache, mainClass)) {
            // anything holding a path is quoted: the shell must neither split it nor expand lib/*
            cmd.append(a.indexOf('/') >= 0 || !a.matches("[A-Za-z0-9_.,:=+@%-]+") ? shQuote(a) : a).append(' ');
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
