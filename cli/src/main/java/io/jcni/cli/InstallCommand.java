package io.jcni.cli;

import io.jcni.cni.PluginRequest;
import io.jcni.cni.PluginResponse;
import io.jcni.cni.Skeleton;
import io.jcni.cni.io.AtomicFiles;
import io.jcni.cni.io.Processes;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ns.NamedNetns;
import io.jcni.plugins.PluginRegistry;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
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
 * re-installing simply replaces everything. What it does is decided first, as an
 * {@link InstallPlan}: {@code --print} prints that plan, an install applies the same one.
 *
 * <p>What it writes must not be replaceable by anyone but root: a target directory that is a
 * symlink, or that (or an ancestor without the sticky bit) is writable by group or others, is
 * refused before anything is written. Directories and files get explicit modes (0755, 0644 and
 * 0755 for executables) whatever the caller's umask.
 *
 * <p>Then a JDK AOT cache ({@code <lib-dir>/jcni.aot}) is built by a training run
 * ({@code io.jcni.plugins.AotTraining}: every plugin's verbs against a scratch namespace and
 * bridge) with exactly the standalone path's JVM options and class path, and the standalone
 * command names it with {@code -XX:AOTCache}. The old cache is removed before any jar is replaced
 * and the new one is renamed into place only after a successful training run, so a cache never
 * describes other jars than the installed ones (JDK-8377932: a stale cache may run old classes).
 * The training runs in a network namespace of its own, created for it and removed after it
 * ({@code nsenter --net=}), so its scratch bridge, nftables objects and sysctls never exist in
 * the host's namespace, and it is killed after {@link #TRAINING_TIMEOUT}.
 */
final class InstallCommand {
    static final String USAGE = """
            Usage: jcni install [--dir DIR] [--lib-dir DIR] [--from DIR] [--socket PATH] [--scripts] [--no-aot-cache] [--print]

            Installs %s as CNI plugins.

              --dir DIR       where the plugin executables go (default /opt/cni/bin)
              --lib-dir DIR   where the runtime jars go (default /opt/jcni/lib); jars left there
                              by an earlier 'jcni install' and no longer needed are removed
              --from DIR      where the jars come from (default: the build's cli/target/lib)
              --socket PATH   the daemon socket the executables use (default /run/jcni/jcni.sock;
                              the JCNI_SOCKET environment variable overrides it)
              --scripts       sh scripts that always start a JVM, instead of the native client
              --no-aot-cache  do not build the JDK AOT cache (LIB-DIR/jcni.aot); without it each
                              plugin start is ~40%% slower. Building it needs root and nsenter: the
                              training run works in a network namespace of its own (scratch pod,
                              bridge, nftables), removed afterwards; it is killed after 5 minutes
              --print         only print what would be done, step by step; changes nothing

            The executables forward each call to 'jcni daemon'; when no daemon answers they run
            the plugin in a JVM of their own (same results), on the Java this command runs on:
              %s
            DIR and LIB-DIR must not be symlinks nor writable by group or others (nor any
            parent without the sticky bit); directories are made 0755, jars 0644, executables
            0755, whatever the umask.
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

    /** One executable per plugin of the registry. */
    static final List<PluginExe> PLUGINS = PluginRegistry.ALL.stream()
            .map(e -> new PluginExe(e.executable(), e.mainClass()))
            .toList();

    /**
     * JVM options of the plugin executables (short-lived processes), chosen by measuring a real
     * bridge ADD: see docs/startup.md. The AOT training run uses exactly these. JVM log output
     * goes to stderr, never stdout (stdout is the CNI result: a rejected AOT cache logs errors).
     */
    static final List<String> JVM_OPTIONS = List.of(
            "--enable-native-access=ALL-UNNAMED",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-XX:-UsePerfData",
            "-Xlog:disable",
            "-Xlog:all=warning:stderr");

    /** The AOT cache in the lib dir, and the class the training run executes. */
    static final String AOT_CACHE = "jcni.aot";

    static final String TRAINING_MAIN = "io.jcni.plugins.AotTraining";
    /** How long the training run may take (it takes seconds; a hang must not hang the install). */
    static final Duration TRAINING_TIMEOUT = Duration.ofMinutes(5);
    /** The network namespace the training runs in; one per installing process. */
    static final String TRAINING_NETNS_PREFIX = "jcni-aot-train-";

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
                    out.print(USAGE.formatted(
                            String.join(
                                    ", ", PLUGINS.stream().map(PluginExe::file).toList()),
                            javaExecutable()));
                    return 0;
                }
                case "--print" -> print = true;
                case "--scripts" -> scripts = true;
                case "--socket" -> {
                    if (++i >= args.size()
                            || !args.get(i).startsWith("/")
                            || args.get(i).contains("\n")) {
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

        InstallPlan plan = plan(dir, libDir, jars, jvmOptionsFile(), aot, java, client, socket);
        if (print) {
            plan.print(out);
            return 0;
        }
        Path cache = plan.apply();
        List<String> files = new ArrayList<>();
        for (PluginExe p : PLUGINS) {
            files.add(p.file());
        }
        out.println("installed " + String.join(", ", files) + " in " + dir + " (" + jars.size() + " jars in "
                + libDir + ", java " + java + (client != null ? ", daemon socket " + socket : "")
                + (cache != null ? ", AOT cache " + cache : ", no AOT cache") + ")" + note);
        return 0;
    }

    /**
     * Everything an install does, in order: the directories; the old AOT cache removed before any
     * jar changes (a cache must never describe other jars); the jars, then the jars of an earlier
     * install that this one does not have; the marker; the JVM options file; the training; per
     * plugin the sidecar before the client (a client must never run without its standalone path),
     * or the script and no sidecar. {@code client} null: scripts.
     */
    static InstallPlan plan(
            Path dir,
            Path libDir,
            List<Path> jars,
            Path jvmOptions,
            boolean aot,
            Path java,
            byte[] client,
            String socket) {
        List<InstallPlan.Step> steps = new ArrayList<>();
        steps.add(new InstallPlan.Step(
                libDir,
                0755,
                new InstallPlan.Content.Directory("--lib-dir"),
                "the lib dir and its missing parents, each 0755, then checked again as --lib-dir is"));
        steps.add(new InstallPlan.Step(
                dir,
                0755,
                new InstallPlan.Content.Directory("--dir"),
                "the plugin dir and its missing parents, each 0755, then checked again as --dir is"));
        for (String old : List.of(AOT_CACHE, AOT_CACHE + ".config")) {
            steps.add(new InstallPlan.Step(
                    libDir.resolve(old),
                    0,
                    new InstallPlan.Content.Removal(),
                    "the old AOT cache, before any jar changes: a cache must never describe other jars"));
        }
        List<String> names = new ArrayList<>();
        for (Path jar : jars) {
            names.add(jar.getFileName().toString());
            steps.add(new InstallPlan.Step(
                    libDir.resolve(jar.getFileName()), 0644, new InstallPlan.Content.CopyOf(jar), "a runtime jar"));
        }
        for (Path stale : staleJars(libDir, names)) {
            steps.add(new InstallPlan.Step(
                    stale,
                    0,
                    new InstallPlan.Content.Removal(),
                    "a jar of an earlier install that this one does not have"));
        }
        steps.add(new InstallPlan.Step(
                libDir.resolve(MARKER),
                0644,
                new InstallPlan.Content.Text("jars installed by jcni install\n"),
                "marks the lib dir as jcni install's: a re-install may remove the jars it no longer has"));
        if (jvmOptions != null) {
            steps.add(new InstallPlan.Step(
                    libDir.resolve(JVM_OPTIONS_FILE),
                    0644,
                    new InstallPlan.Content.CopyOf(jvmOptions),
                    "the daemon's and the agent's JVM options (their systemd unit's EnvironmentFile=)"));
        }
        Path cache = aot ? libDir.resolve(AOT_CACHE) : null;
        if (aot) {
            steps.add(new InstallPlan.Step(
                    cache,
                    0644,
                    new InstallPlan.Content.Training(java, libDir, trainingNetns(), TRAINING_TIMEOUT),
                    "the JDK AOT cache, from a training run in a network namespace of its own, killed after "
                            + TRAINING_TIMEOUT.toSeconds()
                            + " s; if it fails, what follows is written without -XX:AOTCache"));
        }
        for (PluginExe p : PLUGINS) {
            List<String> withCache = standaloneCommand(java, libDir, cache, p.mainClass());
            List<String> without = standaloneCommand(java, libDir, null, p.mainClass());
            Path exe = dir.resolve(p.file()), sidecar = dir.resolve(sidecarName(p.file()));
            if (client != null) {
                steps.add(
                        new InstallPlan.Step(
                                sidecar,
                                0644,
                                new InstallPlan.Content.Text(
                                        sidecar(p.file(), socket, withCache), sidecar(p.file(), socket, without)),
                                p.file()
                                        + "'s standalone path, read by its client; written first: a client must never run without it"));
                steps.add(new InstallPlan.Step(
                        exe,
                        0755,
                        new InstallPlan.Content.Bytes("jcni-client", client),
                        p.file() + ": the native client (" + CLIENT_ENTRY + " in the jars), forwarding to the daemon"));
            } else {
                steps.add(new InstallPlan.Step(
                        exe,
                        0755,
                        new InstallPlan.Content.Text(
                                script(java, libDir, cache, p.mainClass()), script(java, libDir, null, p.mainClass())),
                        p.file() + ": a sh script that runs " + p.mainClass() + " in a JVM"));
                steps.add(new InstallPlan.Step(
                        sidecar, 0, new InstallPlan.Content.Removal(), "the sidecar of an earlier client install"));
            }
        }
        return new InstallPlan(steps);
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

    /** Where the training writes the cache before it is renamed into place. */
    static Path trainingOutput(Path libDir) {
        return libDir.resolve("." + AOT_CACHE + ".tmp");
    }

    static String trainingNetns() {
        return TRAINING_NETNS_PREFIX + Long.toString(ProcessHandle.current().pid(), 36);
    }

    /** {@code command} run inside the named network namespace {@code netns}. */
    static List<String> inNetns(String netns, List<String> command) {
        List<String> cmd = new ArrayList<>();
        cmd.add(NSENTER);
        cmd.add("--net=" + NamedNetns.pathOf(netns));
        cmd.add("--");
        cmd.addAll(command);
        return cmd;
    }

    /** util-linux nsenter: setns(2) and exec, so the training JVM is born in the namespace. */
    static final String NSENTER = Files.isExecutable(Path.of("/usr/bin/nsenter")) ? "/usr/bin/nsenter" : "/bin/nsenter";

    /**
     * Runs the training into a temp file and renames it to {@code jcni.aot}; returns its path, or
     * null (with a warning on stderr, the install still succeeds) if the training failed or took
     * longer than {@code timeout}. The training runs in the fresh network namespace
     * {@code netns}, which is removed afterwards with everything the training left in it.
     */
    static Path buildCache(Path java, Path libDir, String netns, Duration timeout) {
        Path cache = libDir.resolve(AOT_CACHE);
        Path tmp = trainingOutput(libDir);
        Path log = null;
        Process p = null;
        boolean created = false;
        try {
            Files.deleteIfExists(tmp);
            if (!Files.isExecutable(Path.of(NSENTER))) {
                System.err.println(
                        "jcni: warning: AOT cache not built (no nsenter to run the training in a namespace of its own); "
                                + "the plugins run without it");
                return null;
            }
            NamedNetns.create(netns, Trace.OFF);
            created = true;
            log = Files.createTempFile("jcni-aot-training-", ".log");
            ProcessBuilder pb = new ProcessBuilder(inNetns(netns, trainingCommand(java, libDir, tmp)));
            pb.redirectErrorStream(true);
            pb.redirectOutput(log.toFile());
            pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            p = pb.start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                kill(p);
                System.err.println("jcni: warning: AOT cache not built (training run killed after "
                        + timeout.toSeconds() + " s); the plugins run without it. Training output:\n"
                        + Files.readString(log).strip());
                Files.deleteIfExists(tmp);
                return null;
            }
            int code = p.exitValue();
            if (code != 0 || !Files.isRegularFile(tmp)) {
                System.err.println("jcni: warning: AOT cache not built (training run exit " + code
                        + "); the plugins run without it. Training output:\n"
                        + Files.readString(log).strip());
                Files.deleteIfExists(tmp);
                return null;
            }
            AtomicFiles.moveIntoPlace(tmp, cache, "rw-r--r--");
            return cache;
        } catch (IOException | RuntimeException e) {
            System.err.println(
                    "jcni: warning: AOT cache not built (" + e.getMessage() + "); the plugins run without it");
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } finally {
            if (p != null && p.isAlive()) {
                kill(p);
            }
            if (p != null) {
                removeTrainingPod(p.pid());
            }
            if (created) {
                try {
                    NamedNetns.delete(netns, Trace.OFF);
                } catch (RuntimeException e) {
                    System.err.println(
                            "jcni: warning: cannot delete the training namespace " + netns + ": " + e.getMessage());
                }
            }
            if (log != null) {
                try {
                    Files.deleteIfExists(log);
                } catch (IOException ignored) {
                    // a temp file
                }
            }
        }
    }

    /** Kills the training and everything it started, and waits until they are gone. */
    private static void kill(Process p) {
        Processes.killTree(p, Duration.ofSeconds(30));
    }

    /**
     * The pod namespace a killed training left: its bind mount under /run/netns outlives the
     * training's own namespace. The training names it after its pid (see AotTraining).
     */
    private static void removeTrainingPod(long trainingPid) {
        String pod = "jcni-aot-" + Long.toString(trainingPid % 46656, 36);
        try {
            if (NamedNetns.exists(pod)) {
                NamedNetns.delete(pod, Trace.OFF);
            }
        } catch (RuntimeException e) {
            System.err.println("jcni: warning: cannot delete the training's namespace " + pod + ": " + e.getMessage());
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
            cmd.append(a.indexOf('/') >= 0 || !a.matches("[A-Za-z0-9_.,:=+@%-]+") ? shQuote(a) : a)
                    .append(' ');
        }
        return "#!/bin/sh\n"
                + "# CNI plugin written by 'jcni install'; re-run it to update. Runs " + mainClass + ".\n"
                + "exec " + cmd + "\"$@\"\n";
    }

    /** The JVM options of the daemon and the agent, kept with the launcher and copied next to the jars. */
    static final String JVM_OPTIONS_FILE = "jvm-options.env";

    /** {@code <jcni.home>/bin/lib/jvm-options.env}, when this runs from a jcni checkout or image (bin/jcni sets jcni.home). */
    static Path jvmOptionsFile() {
        String home = System.getProperty("jcni.home");
        if (home == null || home.isEmpty()) {
            return null;
        }
        Path p = Path.of(home, "bin", "lib", JVM_OPTIONS_FILE);
        return Files.isRegularFile(p) ? p : null;
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
        b.append("# VERSION's answer, given by the client itself (the request's cniVersion replaces @V@).\n");
        b.append("version-reply ").append(versionReply()).append('\n');
        return b.toString();
    }

    /**
     * The plugins' VERSION answer with {@value #VERSION_MARK} for the request's cniVersion, made
     * by the same code that answers VERSION in the plugins, so the client's copy cannot differ.
     */
    static String versionReply() {
        String stdin = "{\"cniVersion\":\"" + VERSION_MARK + "\"}";
        PluginResponse r = Skeleton.version(
                new PluginRequest(Map.of("CNI_COMMAND", "VERSION"), stdin.getBytes(StandardCharsets.UTF_8)));
        String out = r.stdoutText();
        if (!out.endsWith("\n") || out.indexOf('\n') != out.length() - 1 || !out.contains(VERSION_MARK)) {
            throw new IllegalStateException("the VERSION answer is not one line holding the request's version: " + out);
        }
        return out.substring(0, out.length() - 1);
    }

    static final String VERSION_MARK = "@V@";

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
            return Path.of(src.getLocation().toURI())
                    .toAbsolutePath()
                    .getParent()
                    .resolve("lib");
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
            throw new IllegalStateException(
                    "--from " + from + ": not a directory (build with ./mvnw package, or give --from DIR)");
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
                    throw new IllegalStateException(
                            "--from " + from + ": " + jar.getFileName() + " is not a readable jar");
                }
            }
            if (!found) {
                throw new IllegalStateException("--from " + from + ": no jar holds " + p.mainClass()
                        + " (build with ./mvnw package, or give --from DIR)");
            }
        }
        return jars;
    }

    /**
     * The target must not be a symlink; it, or its nearest existing ancestor, must be a writable
     * directory; and nobody but its owner may replace what is installed: the target must not be
     * writable by group or others, nor any existing ancestor unless it has the sticky bit (as
     * {@code /tmp}, where others cannot rename or remove what is not theirs).
     */
    static void checkTarget(Path target, String option) {
        if (Files.isSymbolicLink(target)) {
            throw new IllegalStateException(
                    option + " " + target + ": is a symbolic link; give the directory it points to");
        }
        Path p = target;
        while (p != null && !Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            p = p.getParent();
        }
        if (p == null || !Files.isDirectory(p)) {
            throw new IllegalStateException(
                    option + " " + target + ": " + (p == null ? "no such directory" : p + " is not a directory"));
        }
        if (!Files.isWritable(p)) {
            throw new IllegalStateException(option + " " + target + ": " + p + " is not writable");
        }
        if (p.equals(target)) {
            int uid = uid(target, option, target);
            int mine = uid(target, option, Path.of("/proc/self"));
            if (uid != mine) {
                throw new IllegalStateException(
                        option + " " + target + ": is owned by uid " + uid + ", not by uid " + mine + " who installs");
            }
        }
        for (Path q = p; q != null; q = q.getParent()) {
            int mode;
            try {
                mode = (Integer) Files.getAttribute(q, "unix:mode");
            } catch (IOException | UnsupportedOperationException e) {
                throw new IllegalStateException(
                        option + " " + target + ": cannot read the mode of " + q + ": " + e.getMessage());
            }
            boolean sticky = (mode & 01000) != 0;
            if ((mode & 0022) != 0 && (q.equals(target) || !sticky)) {
                throw new IllegalStateException(option + " " + target + ": " + q + " is writable by "
                        + ((mode & 0022) == 0022 ? "group and others" : (mode & 0020) != 0 ? "its group" : "others")
                        + " (mode " + Integer.toOctalString(mode & 07777)
                        + "): anyone there could replace the plugins");
            }
        }
    }

    private static int uid(Path target, String option, Path p) {
        try {
            return (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        } catch (IOException | UnsupportedOperationException e) {
            throw new IllegalStateException(
                    option + " " + target + ": cannot read the owner of " + p + ": " + e.getMessage());
        }
    }

    /** Creates the missing directories of {@code dir}, each 0755 whatever the umask. */
    static void mkdirs(Path dir, String option) {
        List<Path> missing = new ArrayList<>();
        for (Path p = dir; p != null && !Files.exists(p, LinkOption.NOFOLLOW_LINKS); p = p.getParent()) {
            missing.add(0, p);
        }
        try {
            for (Path p : missing) {
                Files.createDirectory(p);
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
        } catch (IOException e) {
            throw new IllegalStateException(option + " " + dir + ": cannot create it (" + e + ")");
        }
    }

    static byte[] readAll(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + p + ": " + e.getMessage());
        }
    }

    /**
     * The jars of an earlier install in {@code libDir} that are not in {@code keep} (old versions);
     * none in a lib dir without the marker (a first install, or a directory shared with others).
     */
    private static List<Path> staleJars(Path libDir, List<String> keep) {
        List<Path> stale = new ArrayList<>();
        if (!Files.exists(libDir.resolve(MARKER))) {
            return stale;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(libDir, "*.jar")) {
            for (Path p : ds) {
                if (!keep.contains(p.getFileName().toString())) {
                    stale.add(p);
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("--lib-dir " + libDir + ": " + e.getMessage());
        }
        stale.sort(null);
        return stale;
    }
}
