package io.jcni.deploy;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.jcni.testkit.Commands;
import io.jcni.testkit.TestNames;
import io.jcni.testkit.Trees;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The node image: deploy/image/build.sh builds it offline from this build's jars (tagged
 * {@code localhost/jcni:jdp-<run>}, in a podman store private to the test), the agent starts in it
 * and prints its help, it stays small, and its init container (install-cni, privileged, as the
 * DaemonSet runs it) puts plugins on "the node" (this host, in the test's own directories, mounted at
 * the same paths) that this host then runs on the copied Java runtime with the AOT cache built in
 * the container. The image holds the checkout's launcher and JVM options byte for byte. Every container runs with {@code --network none}. The image and the store are
 * removed at the end. Skipped, saying why, without root, podman or the build's jars.
 */
@Tag("e2e")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NodeImageTest {
    static final String RUN = TestNames.RUN;
    /**
     * What the image may weigh (uncompressed, as podman reports it): 63 MiB with the etcd client
     * alone, 105 MiB with the Kubernetes client, whose model jars for every API group (about 15 MB
     * of the 19 MB it adds) the agent does not use but the client's own classes refer to.
     */
    static final long MAX_IMAGE_BYTES = 120L << 20;

    final String tag = "localhost/jcni:jdp-" + RUN;
    final Path root = Manifest.root();
    Path dir;
    Map<String, String> env;
    String skipped;

    static void log(String msg) {
        System.out.println("[image] " + msg);
    }

    Commands.Result run(Duration timeout, List<String> cmd) {
        return Commands.of(cmd)
                .env(env == null ? Map.of() : env)
                .timeout(timeout)
                .result();
    }

    String ok(Duration timeout, String... cmd) {
        return run(timeout, List.of(cmd)).ok().out();
    }

    List<String> podman(String... args) {
        List<String> cmd = new ArrayList<>(List.of("podman"));
        cmd.addAll(List.of(args));
        return cmd;
    }

    @BeforeAll
    void buildTheImage() throws IOException {
        if (!"0".equals(run(Duration.ofSeconds(10), List.of("id", "-u")).out().strip())) {
            skipped = "needs root";
        } else {
            List<String> missing =
                    Commands.missing("podman", "runc", "conmon", "tar", "unzip", "busybox", "bash", "sha256sum");
            if (!missing.isEmpty()) {
                skipped = "not installed: " + missing
                        + " (apt-get install podman busybox-static unzip; .ci/run installs them)";
            } else if (!Files.isDirectory(root.resolve("cli/target/lib"))
                    || !Files.isDirectory(root.resolve("agent/target/lib"))) {
                skipped =
                        "the jars are not packaged (cli/target/lib, agent/target/lib): run ./mvnw package first, or bin/test";
            }
        }
        if (skipped != null) {
            log("node image tests skipped: " + skipped);
            return;
        }
        dir = Files.createTempDirectory(Path.of("/var/tmp"), "jdp-image-");
        // podman's configuration and storage are the test's own (runc and cgroupfs work on every
        // host the CI has; the default ulimits are above what some hosts allow)
        Files.writeString(dir.resolve("containers.conf"), """
                [containers]
                default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

                [engine]
                cgroup_manager = "cgroupfs"
                runtime = "runc"
                events_logger = "file"
                events_logfile_path = "%s/events.log"
                tmp_dir = "%s/tmp"
                """.formatted(dir, dir));
        Files.writeString(dir.resolve("storage.conf"), """
                [storage]
                driver = "overlay"
                graphroot = "%s/storage/root"
                runroot = "%s/storage/run"
                """.formatted(dir, dir));
        env = Map.of(
                "CONTAINERS_CONF",
                dir.resolve("containers.conf").toString(),
                "CONTAINERS_STORAGE_CONF",
                dir.resolve("storage.conf").toString());
        long t0 = System.nanoTime();
        String out =
                ok(Duration.ofMinutes(10), root.resolve("deploy/image/build.sh").toString(), "--tag", tag);
        log("deploy/image/build.sh --tag " + tag + ": " + (System.nanoTime() - t0) / 1_000_000 + " ms");
        out.lines().filter(l -> l.contains("built ") || l.contains("jlink")).forEach(l -> log(l.strip()));
    }

    @Test
    @Order(1)
    void theAgentStartsInTheImageAndPrintsItsHelp() {
        assumeTrue(skipped == null, skipped);
        long t0 = System.nanoTime();
        String out = ok(
                Duration.ofMinutes(2),
                podman("run", "--rm", "--network", "none", tag, "agent", "--help")
                        .toArray(new String[0]));
        log("podman run --rm --network none " + tag + " agent --help: " + (System.nanoTime() - t0) / 1_000_000 + " ms");
        assertTrue(out.contains("Usage: jcni agent"), out);
        assertTrue(out.contains("--iface"), out);
        // the entry point is the project's launcher, on the image's own runtime
        String cli = ok(
                Duration.ofMinutes(2),
                podman("run", "--rm", "--network", "none", tag).toArray(new String[0]));
        assertTrue(cli.contains("Usage: jcni"), cli);
    }

    /** The JVM options live in one place: the image holds the checkout's launcher and bin/lib byte for byte. */
    @Test
    @Order(2)
    void theImageRunsTheCheckoutsLauncherAndJvmOptions() throws IOException {
        assumeTrue(skipped == null, skipped);
        List<String> files = new ArrayList<>(List.of("bin/jcni"));
        try (Stream<Path> s = Files.list(root.resolve("bin/lib"))) {
            s.map(p -> "bin/lib/" + p.getFileName()).sorted().forEach(files::add);
        }
        List<String> cat = podman("run", "--rm", "--network", "none", "--entrypoint", "cat", tag);
        StringBuilder expected = new StringBuilder();
        for (String f : files) {
            cat.add("/usr/lib/jcni/" + f);
            expected.append(Files.readString(root.resolve(f)));
        }
        assertEquals(
                expected.toString(), ok(Duration.ofMinutes(2), cat.toArray(new String[0])), "the image's " + files);
    }

    @Test
    @Order(3)
    void theImageIsSmall() {
        assumeTrue(skipped == null, skipped);
        long size = Long.parseLong(ok(
                        Duration.ofMinutes(1),
                        podman("image", "inspect", "--format", "{{.Size}}", tag).toArray(new String[0]))
                .strip());
        log(tag + ": " + size + " bytes (" + (size >> 20) + " MiB)");
        assertTrue(
                size < MAX_IMAGE_BYTES,
                "the image weighs " + (size >> 20) + " MiB, more than " + (MAX_IMAGE_BYTES >> 20) + " MiB");
    }

    /**
     * install-cni as the DaemonSet's init container runs it (privileged), with "the node's"
     * directories at the same paths; then this host runs what it installed, as a container runtime
     * on the node would: the plugin's client, which with no daemon execs its standalone path on the
     * copied runtime, and that runtime with {@code -XX:AOTMode=on} (fails unless the cache built in
     * the container is accepted).
     * A second run (an upgrade of the same image) keeps the runtime and removes a stale one.
     */
    @Test
    @Order(4)
    void installCniPutsPluginsOnTheNodeThatTheNodeRuns() throws IOException {
        assumeTrue(skipped == null, skipped);
        Path node = dir.resolve("node");
        Path bin = node.resolve("opt/cni/bin"), jcni = node.resolve("opt/jcni"), conf = node.resolve("etc/cni/net.d");
        for (Path d : List.of(bin, jcni, conf)) {
            Files.createDirectories(d);
        }
        try (Stream<Path> s = Files.walk(node)) {
            for (Path d : s.toList()) {
                Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
        }
        List<String> install = podman(
                "run",
                "--rm",
                "--network",
                "none",
                "--privileged",
                "-v",
                bin + ":" + bin,
                "-v",
                jcni + ":" + jcni,
                "-v",
                conf + ":" + conf + ":ro",
                "--entrypoint",
                "/usr/lib/jcni/bin/install-cni",
                tag,
                "--dir",
                bin.toString(),
                "--jcni-dir",
                jcni.toString(),
                "--conf-dir",
                conf.toString());
        long t0 = System.nanoTime();
        String out = ok(Duration.ofMinutes(8), install.toArray(new String[0]));
        log("install-cni (privileged, --network none): " + (System.nanoTime() - t0) / 1_000_000 + " ms");
        assertTrue(out.contains("AOT cache " + jcni.resolve("lib/jcni.aot")), out);
        for (String p : List.of("jcni-bridge", "jcni-host-local", "jcni-loopback", "jcni-portmap")) {
            assertTrue(Files.isExecutable(bin.resolve(p)), p + " installed: " + out);
        }
        Path jre;
        try (Stream<Path> s = Files.list(jcni)) {
            List<Path> jres = s.filter(p -> p.getFileName().toString().matches("jre-[0-9a-f]{16}"))
                    .toList();
            assertEquals(1, jres.size(), "one runtime on the node: " + jres);
            jre = jres.get(0);
        }

        // the node runs the plugin: no daemon answers, so its client execs the standalone path, a
        // JVM on the copied runtime (the missing CNI_NETNS is the plugin skeleton's answer; the
        // client answers only VERSION itself)
        String netConf = """
                {"cniVersion":"1.0.0","name":"jdp","type":"jcni-loopback"}
                """;
        Commands.Result add = cni(List.of(bin.resolve("jcni-loopback").toString()), "ADD", netConf, bin);
        assertEquals(1, add.code(), add.out());
        assertTrue(add.out().contains("required env variables [CNI_NETNS] missing"), add.out());
        List<String> standalone = new ArrayList<>();
        for (String l : Files.readAllLines(bin.resolve(".jcni-loopback.exec"))) {
            if (l.startsWith("argv ")) {
                standalone.add(l.substring(5));
            }
        }
        assertEquals(jre.resolve("bin/java").toString(), standalone.get(0));
        assertTrue(standalone.contains("-XX:AOTCache=" + jcni.resolve("lib/jcni.aot")), standalone.toString());
        // ... and that runtime accepts the cache the container built
        standalone.add(1, "-XX:AOTMode=on");
        Commands.Result version = cni(standalone, "VERSION", netConf, bin);
        assertEquals(
                0, version.code(), "the AOT cache built in the container is refused on the node: " + version.out());
        assertTrue(version.out().contains("\"supportedVersions\""), version.out());

        // an upgrade to the same image: the runtime stays, a stale one goes
        Path stale = Files.createDirectories(jcni.resolve("jre-00000000deadbeef"));
        List<String> again = new ArrayList<>(install);
        again.add("--no-aot-cache");
        out = ok(Duration.ofMinutes(8), again.toArray(new String[0]));
        assertTrue(out.contains("already on the node"), out);
        assertFalse(Files.exists(stale), "stale runtime removed: " + out);
        assertTrue(Files.isExecutable(jre.resolve("bin/java")), out);
    }

    /** A CNI call on this host, as a runtime makes it: {@code command} without a namespace, the configuration on stdin. */
    private Commands.Result cni(List<String> cmd, String command, String stdin, Path bin) {
        Commands.Result r = Commands.of(cmd)
                .env(Map.of(
                        "CNI_COMMAND",
                        command,
                        "CNI_CONTAINERID",
                        "jdp-" + RUN,
                        "CNI_IFNAME",
                        "eth0",
                        "CNI_PATH",
                        bin.toString(),
                        "JCNI_SOCKET",
                        dir.resolve("no-daemon.sock").toString()))
                .stdin(stdin)
                .timeout(Duration.ofSeconds(60))
                .result();
        assertNotEquals(Commands.TIMED_OUT, r.code(), () -> "timed out: " + cmd);
        return r;
    }

    @AfterAll
    void removeTheImage() {
        if (dir == null) {
            return;
        }
        run(Duration.ofSeconds(60), podman("rm", "-a", "-f", "-t", "0"));
        run(Duration.ofSeconds(60), podman("rmi", "-f", tag));
        try {
            Trees.remove(dir);
        } catch (UncheckedIOException e) {
            log(e.getMessage() + ": " + e.getCause());
        }
    }
}
