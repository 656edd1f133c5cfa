package io.jcni.cli;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.daemon.Daemon;
import io.jcni.testkit.Commands;
import io.jcni.testkit.Jars;
import io.jcni.testkit.Json;
import io.jcni.testkit.TestNames;
import io.jcni.testkit.TestNetns;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code jcni install} into temp directories, and the installed {@code jcni-loopback} executed
 * as a container runtime executes a CNI plugin. The test JVM's class path is not an installed
 * layout (module classes are directories, and cli/target/lib does not exist before
 * {@code package}), so the jars to install are built here from the test's own class path and
 * handed over with {@code --from}.
 */
class InstallCommandTest {
    static final List<String> NAMES = List.of("jcni-bridge", "jcni-host-local", "jcni-loopback", "jcni-portmap");
    /** The namespaces of the installed plugins' ADDs: deleted after each test, also when it failed. */
    @AutoClose
    final TestNetns namespaces = new TestNetns();

    @TempDir
    static Path shared;

    static Path from;

    /** The runtime jars, as a package would lay them out. */
    @BeforeAll
    static void buildJarSource() throws IOException {
        from = Jars.fromClassPath(Files.createDirectory(shared.resolve("from")));
    }

    static CliRunner install(Path bin, Path lib, String... more) {
        List<String> args = new ArrayList<>(
                List.of("install", "--dir", bin.toString(), "--lib-dir", lib.toString(), "--from", from.toString()));
        args.addAll(List.of(more));
        return CliRunner.run(args.toArray(new String[0]));
    }

    static final Map<String, String> MAINS = Map.of(
            "jcni-bridge",
            "io.jcni.plugins.bridge.BridgeMain",
            "jcni-host-local",
            "io.jcni.plugins.hostlocal.HostLocalMain",
            "jcni-loopback",
            "io.jcni.plugins.loopback.LoopbackMain",
            "jcni-portmap",
            "io.jcni.plugins.portmap.PortmapMain");
    static final String JAVA = Jars.java();

    static byte[] clientBinary() throws IOException {
        try (var in = InstallCommandTest.class.getResourceAsStream("/io/jcni/daemon/jcni-client")) {
            assertNotNull(in, "the daemon module's build compiles the native client into its classes");
            return in.readAllBytes();
        }
    }

    @Test
    void writesTheNativeClientWithItsStandaloneSidecarAndTheJars(@TempDir Path tmp) throws IOException {
        Path bin = tmp.resolve("opt/cni/bin"), lib = tmp.resolve("opt/jcni/lib");
        CliRunner r = install(bin, lib);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("daemon socket /run/jcni/jcni.sock"), r.out());
        byte[] client = clientBinary();
        List<String> expected = new ArrayList<>();
        for (String n : NAMES) {
            Path exe = bin.resolve(n);
            assertTrue(Files.isRegularFile(exe), n);
            assertEquals("rwxr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(exe)), n);
            assertArrayEquals(client, Files.readAllBytes(exe), n + " is the native client");
            Path sidecar = bin.resolve("." + n + ".exec");
            assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(sidecar)), n);
            List<String> lines = Files.readAllLines(sidecar).stream()
                    .filter(l -> !l.startsWith("#"))
                    .toList();
            assertEquals(
                    List.of(
                            "socket /run/jcni/jcni.sock",
                            "argv " + JAVA,
                            "argv --enable-native-access=ALL-UNNAMED",
                            "argv -XX:+UseSerialGC",
                            "argv -XX:TieredStopAtLevel=1",
                            "argv -XX:-UsePerfData",
                            "argv -Xlog:disable",
                            "argv -Xlog:all=warning:stderr",
                            "argv -XX:AOTCache=" + lib + "/jcni.aot",
                            "argv -cp",
                            "argv " + lib + "/*",
                            "argv " + MAINS.get(n),
                            "version-reply {\"cniVersion\":\"@V@\",\"supportedVersions\":[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]}"),
                    lines);
            expected.add(n);
            expected.add("." + n + ".exec");
        }
        expected.sort(null);
        try (Stream<Path> s = Files.list(bin)) {
            assertEquals(
                    expected, s.map(p -> p.getFileName().toString()).sorted().toList(), "no temp files left");
        }
        assertTrue(Files.isRegularFile(lib.resolve("jcni.aot")), "AOT cache built");
        try (Stream<Path> s = Files.list(lib)) {
            assertEquals(
                    List.of(),
                    s.filter(p -> p.getFileName().toString().endsWith(".tmp")
                                    || p.getFileName().toString().endsWith(".config"))
                            .toList(),
                    "no training leftovers");
        }
        try (Stream<Path> s = Files.list(from)) {
            for (Path jar : s.toList()) {
                Path copy = lib.resolve(jar.getFileName());
                assertArrayEquals(Files.readAllBytes(jar), Files.readAllBytes(copy), jar.toString());
                assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(copy)));
            }
        }
        CliRunner other = install(bin, lib, "--socket", "/run/other/x.sock");
        assertEquals(0, other.code(), other.err());
        assertTrue(Files.readString(bin.resolve(".jcni-bridge.exec")).contains("\nsocket /run/other/x.sock\n"));
        assertEquals(2, install(bin, lib, "--socket", "relative.sock").code());
    }

    @Test
    void scriptsOptionWritesShLaunchersAndDropsTheSidecars(@TempDir Path tmp) throws IOException {
        Path bin = tmp.resolve("opt/cni/bin"), lib = tmp.resolve("opt/jcni/lib");
        assertEquals(0, install(bin, lib).code());
        CliRunner r = install(bin, lib, "--scripts");
        assertEquals(0, r.code(), r.err());
        for (String n : NAMES) {
            Path exe = bin.resolve(n);
            assertEquals("rwxr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(exe)), n);
            String text = Files.readString(exe);
            assertTrue(text.startsWith("#!/bin/sh\n"), text);
            String exec =
                    text.lines().filter(l -> l.startsWith("exec ")).findFirst().orElseThrow();
            assertEquals(
                    "exec '" + JAVA + "' --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -XX:TieredStopAtLevel=1"
                            + " -XX:-UsePerfData -Xlog:disable -Xlog:all=warning:stderr '-XX:AOTCache=" + lib
                            + "/jcni.aot'"
                            + " -cp '" + lib + "/*' " + MAINS.get(n) + " \"$@\"",
                    exec);
        }
        try (Stream<Path> s = Files.list(bin)) {
            assertEquals(
                    NAMES,
                    s.map(p -> p.getFileName().toString()).sorted().toList(),
                    "sidecars of the client install removed");
        }
    }

    @Test
    void withoutANativeClientInTheJarsItWritesScripts(@TempDir Path tmp) throws IOException {
        Path noClient = Files.createDirectory(tmp.resolve("from"));
        try (Stream<Path> s = Files.list(from)) {
            for (Path jar : s.toList()) {
                if (!jar.getFileName().toString().startsWith("jcni-daemon")) {
                    Files.copy(jar, noClient.resolve(jar.getFileName()));
                }
            }
        }
        Path bin = tmp.resolve("bin");
        CliRunner r = CliRunner.run(
                "install",
                "--dir",
                bin.toString(),
                "--lib-dir",
                tmp.resolve("lib").toString(),
                "--from",
                noClient.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("no native client"), r.out());
        assertTrue(Files.readString(bin.resolve("jcni-loopback")).startsWith("#!/bin/sh\n"));
    }

    @Test
    void reinstallOverwritesAndDropsStaleJarsOnlyFromItsOwnLibDir(@TempDir Path tmp) throws IOException {
        Path bin = tmp.resolve("bin"),
                lib = tmp.resolve("lib"),
                shared = Files.createDirectories(tmp.resolve("shared"));
        Files.writeString(shared.resolve("someone-elses.jar"), "x");
        assertEquals(0, install(bin, shared).code());
        assertTrue(Files.exists(shared.resolve("someone-elses.jar")), "a directory jcni did not create keeps its jars");

        assertEquals(0, install(bin, lib).code());
        byte[] good = Files.readAllBytes(bin.resolve("jcni-loopback"));
        Files.writeString(bin.resolve("jcni-loopback"), "#!/bin/sh\nexit 42\n");
        Files.setPosixFilePermissions(bin.resolve("jcni-bridge"), PosixFilePermissions.fromString("rw-------"));
        Files.writeString(lib.resolve("jcni-netlink-0.0.1-old.jar"), "stale");
        CliRunner again = install(bin, lib);
        assertEquals(0, again.code(), again.err());
        assertArrayEquals(good, Files.readAllBytes(bin.resolve("jcni-loopback")));
        assertTrue(Files.isExecutable(bin.resolve("jcni-bridge")));
        assertFalse(Files.exists(lib.resolve("jcni-netlink-0.0.1-old.jar")), "stale jar of an earlier install removed");
    }

    @Test
    void printChangesNothing(@TempDir Path tmp) {
        Path bin = tmp.resolve("bin"), lib = tmp.resolve("lib");
        CliRunner r = install(bin, lib, "--print");
        assertEquals(0, r.code(), r.err());
        for (String n : NAMES) {
            assertTrue(r.out().contains(bin.resolve(n).toString()), r.out());
        }
        assertTrue(r.out().contains("io.jcni.plugins.loopback.LoopbackMain"), r.out());
        // jcni-plugins.jar when the test runs on class directories, jcni-plugins-<version>.jar after package
        assertTrue(r.out().contains(lib.resolve("jcni-plugins").toString()), r.out());
        assertFalse(Files.exists(bin));
        assertFalse(Files.exists(lib));
    }

    /** The files the print says an install leaves, with their modes: the targets of its "install -m MODE SOURCE TARGET" lines. */
    static Map<String, String> printedFiles(String print) {
        Map<String, String> files = new TreeMap<>();
        for (String line : print.lines().toList()) {
            String[] w = line.split(" ");
            if (w.length >= 5 && w[0].equals("install") && w[1].equals("-m")) {
                files.put(w[4], w[2]);
            }
        }
        return files;
    }

    /** Every file below {@code root}, with its mode in octal. */
    static Map<String, String> filesBelow(Path root) throws IOException {
        Map<String, String> files = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                files.put(p.toString(), String.format("%04o", (Integer) Files.getAttribute(p, "unix:mode") & 07777));
            }
        }
        return files;
    }

    /** What is there below {@code root}: each path's kind, mode, size, inode and modification time. */
    static Map<String, String> snapshot(Path root) throws IOException {
        Map<String, String> all = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.toList()) {
                Map<String, Object> a = Files.readAttributes(
                        p, "unix:mode,size,ino,lastModifiedTime", java.nio.file.LinkOption.NOFOLLOW_LINKS);
                all.put(p.toString(), new TreeMap<>(a).toString());
            }
        }
        return all;
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "--scripts --no-aot-cache"})
    void printListsExactlyTheFilesAnInstallWritesAndWritesNothing(String options, @TempDir Path tmp)
            throws IOException {
        Path target = tmp.resolve("target");
        Path bin = target.resolve("bin"), lib = target.resolve("lib");
        List<String> more = options.isEmpty() ? List.of() : List.of(options.split(" "));
        String before = System.getProperty("jcni.home");
        System.setProperty("jcni.home", JvmOptionsTest.ROOT.toString()); // so that jvm-options.env is copied too
        try {
            List<String> print = new ArrayList<>(more);
            print.add("--print");
            CliRunner printed = install(bin, lib, print.toArray(new String[0]));
            assertEquals(0, printed.code(), printed.err());
            assertFalse(Files.exists(target), "--print made nothing");
            Map<String, String> planned = printedFiles(printed.out());
            assertEquals(
                    "0644",
                    planned.get(lib.resolve(InstallCommand.JVM_OPTIONS_FILE).toString()),
                    printed.out());
            assertEquals("0755", planned.get(bin.resolve("jcni-bridge").toString()), printed.out());
            assertEquals(!options.isEmpty(), planned.get(lib.resolve("jcni.aot").toString()) == null, printed.out());

            CliRunner applied = install(bin, lib, more.toArray(new String[0]));
            assertEquals(0, applied.code(), applied.err());
            assertEquals(planned, filesBelow(target), "what --print listed is exactly what the install wrote");

            Map<String, String> installed = snapshot(target);
            // another plan than the one installed: applied, it would change files
            List<String> other = options.isEmpty()
                    ? List.of("--print", "--scripts", "--no-aot-cache")
                    : List.of("--print", "--socket", "/run/other.sock");
            CliRunner again = install(bin, lib, other.toArray(new String[0]));
            assertEquals(0, again.code(), again.err());
            assertEquals(installed, snapshot(target), "--print over an install changes nothing");
        } finally {
            if (before == null) {
                System.clearProperty("jcni.home");
            } else {
                System.setProperty("jcni.home", before);
            }
        }
    }

    @Test
    void badInputIsOneLineAndExitOne(@TempDir Path tmp) throws IOException {
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        Path lib = tmp.resolve("lib");
        for (Path bad : List.of(file, file.resolve("sub"))) {
            CliRunner r = install(bad, lib);
            assertEquals(1, r.code(), r.err());
            assertEquals(1, r.err().lines().count(), r.err());
            assertTrue(r.err().startsWith("jcni: --dir " + bad + ":"), r.err());
            assertTrue(r.err().contains("not a directory"), r.err());
            assertEquals("", r.out());
            assertFalse(Files.exists(lib), "nothing is written when the input is bad");
        }
        CliRunner noPlugins = CliRunner.run(
                "install",
                "--dir",
                tmp.resolve("bin").toString(),
                "--lib-dir",
                lib.toString(),
                "--from",
                Files.createDirectory(tmp.resolve("empty")).toString());
        assertEquals(1, noPlugins.code());
        assertEquals(1, noPlugins.err().lines().count(), noPlugins.err());
        assertTrue(noPlugins.err().contains("no jar holds io.jcni.plugins."), noPlugins.err());

        CliRunner usage = CliRunner.run("install", "--bogus");
        assertEquals(2, usage.code());
        assertEquals(1, usage.err().lines().count(), usage.err());
        assertEquals(2, CliRunner.run("install", "--dir").code());
    }

    // ---- the installed executable, run as a container runtime runs it ----

    /** The daemon socket the installed client is pointed at (null: scripts, no variable). */
    static String jcniSocket;

    static Commands.Result exec(Path exe, Map<String, String> cniEnv, String stdin) {
        Map<String, String> env = new HashMap<>(); // a runtime passes the CNI_* variables and little else
        env.put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        if (jcniSocket != null) {
            env.put("JCNI_SOCKET", jcniSocket); // not the machine's daemon, if one runs
        }
        env.putAll(cniEnv);
        Commands.Result r = Commands.of(exe.toString())
                .clearEnv()
                .env(env)
                .stdin(stdin)
                .separateErr()
                .timeout(Duration.ofSeconds(60))
                .result();
        assertNotEquals(Commands.TIMED_OUT, r.code(), () -> "plugin did not exit: " + r);
        return r;
    }

    static Map<String, String> cni(String command, String netns) {
        Map<String, String> env = new HashMap<>();
        env.put("CNI_COMMAND", command);
        env.put("CNI_CONTAINERID", "ctr1");
        env.put("CNI_NETNS", netns);
        env.put("CNI_IFNAME", "lo");
        env.put("CNI_PATH", "/opt/cni/bin");
        return env;
    }

    @SuppressWarnings("unchecked")
    static boolean loUp(String ns) {
        Map<String, Object> lo =
                Json.objects(Commands.ip(ns, "link", "show", "lo")).get(0);
        return ((List<Object>) lo.get("flags")).contains("UP");
    }

    /** scripts: sh launchers; standalone: the client with no daemon (the JVM path); daemon: the client through a daemon. */
    @ParameterizedTest
    @ValueSource(strings = {"scripts", "standalone", "daemon"})
    @SuppressWarnings("unchecked")
    void installedLoopbackWorksAsACniPlugin(String mode, @TempDir Path tmp) throws Exception {
        Path bin = tmp.resolve("bin"), lib = tmp.resolve("lib");
        assertEquals(0, (mode.equals("scripts") ? install(bin, lib, "--scripts") : install(bin, lib)).code());
        Path exe = bin.resolve("jcni-loopback");
        String ns = "jit" + TestNames.RUN + "lo" + mode.charAt(0);
        String path = "/run/netns/" + ns;
        String conf = "{\"cniVersion\": \"1.1.0\", \"name\": \"lonet\", \"type\": \"jcni-loopback\"}";
        jcniSocket =
                mode.equals("scripts") ? null : tmp.resolve("run/jcni.sock").toString();
        Daemon daemon = mode.equals("daemon") ? Daemon.start(Path.of(jcniSocket), System.err) : null;
        namespaces.create(ns);
        try {
            assertFalse(loUp(ns));
            Commands.Result add = exec(exe, cni("ADD", path), conf);
            assertEquals(0, add.code(), add.out() + add.err());
            Map<String, Object> r = (Map<String, Object>) Json.parse(add.out());
            assertEquals("1.1.0", r.get("cniVersion"));
            assertEquals(
                    List.of(Map.of("name", "lo", "mac", "00:00:00:00:00:00", "sandbox", path)), r.get("interfaces"));
            assertEquals(
                    List.of(
                            Map.of("interface", 0L, "address", "127.0.0.1/8"),
                            Map.of("interface", 0L, "address", "::1/128")),
                    r.get("ips"));
            assertTrue(loUp(ns), "lo is up after ADD through the installed executable");

            Commands.Result check = exec(exe, cni("CHECK", path), conf);
            assertEquals(0, check.code(), check.out() + check.err());

            Commands.Result del = exec(exe, cni("DEL", path), conf);
            assertEquals(0, del.code(), del.out() + del.err());
            assertEquals("", del.out());
            assertFalse(loUp(ns));

            Commands.Result down = exec(exe, cni("CHECK", path), conf);
            assertEquals(1, down.code(), down.out());
            Map<String, Object> e = (Map<String, Object>) Json.parse(down.out());
            assertEquals(7L, e.get("code"));
            assertEquals("loopback interface is down", e.get("msg"));

            Commands.Result version = exec(exe, Map.of("CNI_COMMAND", "VERSION"), "{\"cniVersion\": \"0.4.0\"}");
            assertEquals(0, version.code(), version.err());
            Map<String, Object> v = (Map<String, Object>) Json.parse(version.out());
            assertEquals("0.4.0", v.get("cniVersion"));
            assertEquals(List.of("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"), v.get("supportedVersions"));
            if (daemon != null) {
                assertEquals(5, daemon.served(), "every call went through the daemon");
            }
        } finally {
            if (daemon != null) {
                daemon.close();
            }
            jcniSocket = null;
        }
    }

    // ---- the AOT cache: accepted by the JVM, rebuilt with the jars ----

    /** A copy of the installed executable that runs with -XX:AOTMode=on: the JVM then fails instead of running without the cache. */
    static Path strict(Path exe, Path dir) throws IOException {
        String text = Files.readString(exe);
        assertTrue(text.contains(" '-XX:AOTCache="), text);
        Path copy = dir.resolve(exe.getFileName() + "-aotmode-on");
        Files.writeString(copy, text.replace(" '-XX:AOTCache=", " -XX:AOTMode=on '-XX:AOTCache="));
        Files.setPosixFilePermissions(copy, PosixFilePermissions.fromString("rwxr-xr-x"));
        return copy;
    }

    static final String VERSION_OUT =
            "{\"cniVersion\":\"1.1.0\",\"supportedVersions\":[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]}";

    @Test
    @SuppressWarnings("unchecked")
    void installedAotCacheIsAcceptedByEveryPlugin(@TempDir Path tmp) throws Exception {
        Path bin = tmp.resolve("bin"), lib = tmp.resolve("lib");
        CliRunner r = install(bin, lib, "--scripts");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("AOT cache " + lib.resolve("jcni.aot")), r.out());
        for (String n : NAMES) {
            Commands.Result v =
                    exec(strict(bin.resolve(n), tmp), Map.of("CNI_COMMAND", "VERSION"), "{\"cniVersion\": \"1.1.0\"}");
            assertEquals(0, v.code(), n + ": the JVM rejected the AOT cache: " + v.out() + v.err());
            assertEquals(VERSION_OUT, v.out().strip(), n);
            assertEquals("", v.err(), n);
        }
        // a real ADD/DEL through the strict loopback: the cache is taken on the path a runtime uses
        String ns = "jit" + TestNames.RUN + "aot";
        namespaces.create(ns);
        Path loopback = strict(bin.resolve("jcni-loopback"), tmp);
        String conf = "{\"cniVersion\": \"1.1.0\", \"name\": \"lonet\", \"type\": \"jcni-loopback\"}";
        Commands.Result add = exec(loopback, cni("ADD", "/run/netns/" + ns), conf);
        assertEquals(0, add.code(), add.out() + add.err());
        assertTrue(loUp(ns));
        assertEquals(0, exec(loopback, cni("DEL", "/run/netns/" + ns), conf).code());
        // and the check has teeth: a damaged cache makes the strict executable fail (not run without it)
        Path bad = Files.write(
                tmp.resolve("bad.aot"), java.util.Arrays.copyOf(Files.readAllBytes(lib.resolve("jcni.aot")), 4096));
        Path broken = tmp.resolve("broken");
        Files.writeString(
                broken,
                Files.readString(strict(bin.resolve("jcni-loopback"), tmp))
                        .replace(lib.resolve("jcni.aot").toString(), bad.toString()));
        Files.setPosixFilePermissions(broken, PosixFilePermissions.fromString("rwxr-xr-x"));
        Commands.Result rejected = exec(broken, Map.of("CNI_COMMAND", "VERSION"), "{}");
        assertNotEquals(0, rejected.code(), rejected.out());
        assertFalse(rejected.out().contains("supportedVersions"), rejected.out());
    }

    @Test
    void reinstallWithAChangedJarRebuildsTheCache(@TempDir Path tmp) throws Exception {
        Path src = Files.createDirectory(tmp.resolve("from"));
        try (Stream<Path> s = Files.list(from)) {
            for (Path jar : s.toList()) {
                Files.copy(jar, src.resolve(jar.getFileName()));
            }
        }
        Path bin = tmp.resolve("bin"), lib = tmp.resolve("lib");
        List<String> args = List.of(
                "install", "--scripts", "--dir", bin.toString(), "--lib-dir", lib.toString(), "--from", src.toString());
        assertEquals(0, CliRunner.run(args.toArray(new String[0])).code());
        Path cache = lib.resolve("jcni.aot");
        Object firstKey = Files.readAttributes(cache, java.nio.file.attribute.BasicFileAttributes.class)
                .fileKey();
        byte[] first = Files.readAllBytes(cache);

        // "rebuild" the plugins jar: same classes plus one more entry, so its size and time change
        Path plugins;
        try (Stream<Path> s = Files.list(src)) {
            plugins = s.filter(p -> p.getFileName().toString().startsWith("jcni-plugins"))
                    .findFirst()
                    .orElseThrow();
        }
        Path rebuilt = tmp.resolve("rebuilt.jar");
        try (var in = new java.util.jar.JarInputStream(Files.newInputStream(plugins));
                JarOutputStream out = new JarOutputStream(Files.newOutputStream(rebuilt))) {
            for (JarEntry e; (e = in.getNextJarEntry()) != null; ) {
                out.putNextEntry(new JarEntry(e.getName()));
                in.transferTo(out);
                out.closeEntry();
            }
            out.putNextEntry(new JarEntry("META-INF/jcni-rebuilt-" + System.nanoTime()));
            out.closeEntry();
        }
        Files.move(rebuilt, plugins, java.nio.file.StandardCopyOption.REPLACE_EXISTING);

        CliRunner again = CliRunner.run(args.toArray(new String[0]));
        assertEquals(0, again.code(), again.err());
        assertTrue(Files.isRegularFile(cache));
        Object secondKey = Files.readAttributes(cache, java.nio.file.attribute.BasicFileAttributes.class)
                .fileKey();
        assertNotEquals(firstKey, secondKey, "a new cache file was written");
        assertFalse(java.util.Arrays.equals(first, Files.readAllBytes(cache)), "the cache describes the new jar");
        Commands.Result v = exec(
                strict(bin.resolve("jcni-bridge"), tmp),
                Map.of("CNI_COMMAND", "VERSION"),
                "{\"cniVersion\": \"1.1.0\"}");
        assertEquals(0, v.code(), "the rebuilt cache is accepted: " + v.out() + v.err());
        assertEquals(VERSION_OUT, v.out().strip());
    }

    @Test
    void noAotCacheOptionLeavesItOut(@TempDir Path tmp) throws IOException {
        Path bin = tmp.resolve("bin"), lib = tmp.resolve("lib");
        CliRunner r = install(bin, lib, "--scripts", "--no-aot-cache");
        assertEquals(0, r.code(), r.err());
        assertFalse(Files.exists(lib.resolve("jcni.aot")));
        assertFalse(Files.readString(bin.resolve("jcni-bridge")).contains("AOTCache"));
    }
}
