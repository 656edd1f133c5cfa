package io.jcni.e2e;

import static io.jcni.e2e.E2e.*;
import static org.junit.jupiter.api.Assertions.*;

import io.jcni.testkit.Commands;
import io.jcni.testkit.TestNames;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * containerd (Debian's 1.6) runs busybox containers with {@code ctr run --cni} on a jcni network.
 * The daemon is the test's own: its root, state and socket under a temp dir, the CRI plugin off, the
 * native snapshotter. ctr reads the CNI configuration from the fixed /etc/cni/net.d and plugins from
 * /opt/cni/bin, so each ctr runs in a private mount namespace in which the test's conflist directory
 * and plugin directory are bind-mounted there: the host's own directories are never written.
 * ctr runs a container in the foreground; when the task ends it calls DEL with an empty CNI_NETNS.
 */
@Tag("e2e")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ContainerdE2eTest {
    static final String IMAGE = "localhost/jcni-busybox:e2e";
    static final String SERVE = "httpd -p 8080 -h /www && exec sleep 600";

    final String namespace = "jcnie2e" + RUN;
    E2eNetwork n;
    Path dir;
    Path socket;
    Process daemon;
    final List<Path> createdDirs = new ArrayList<>();
    boolean runContainerdExisted;
    /** name → address, and name → the foreground ctr run */
    final Map<String, String> containers = new LinkedHashMap<>();

    final Map<String, Process> runs = new LinkedHashMap<>();

    @BeforeAll
    void setUp() throws Exception {
        runContainerdExisted = Files.exists(Path.of("/run/containerd"));
        n = E2eNetwork.setUp(
                "containerd",
                'c',
                "containerd",
                net -> "10-" + net + ".conflist",
                "containerd",
                "ctr",
                "containerd-shim-runc-v2",
                "runc",
                "unshare",
                "mount");
        if (n.skipped != null) {
            return;
        }
        dir = n.dir;
        for (Path d : List.of(Path.of("/etc/cni/net.d"), Path.of("/opt/cni/bin"))) {
            mkdirsRemembered(d);
        }
        Files.writeString(dir.resolve("ctr-cni"), """
                #!/bin/sh
                # runs ctr in a private mount namespace that shows the test's CNI dirs at ctr's fixed paths
                set -e
                mount --make-rprivate /
                mount --bind '%s' /etc/cni/net.d
                mount --bind '%s' /opt/cni/bin
                exec ctr --address '%s' --namespace '%s' "$@"
                """.formatted(
                        n.netDir, n.plugins.bin(), dir.resolve("containerd.sock"), namespace));
        Files.setPosixFilePermissions(
                dir.resolve("ctr-cni"), java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));

        socket = dir.resolve("containerd.sock");
        Files.writeString(dir.resolve("config.toml"), config(dir));
        daemon = new ProcessBuilder(
                        "containerd", "--config", dir.resolve("config.toml").toString())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("containerd.log").toFile())
                .start();
        Commands.Result up = retry(Duration.ofSeconds(20), () -> ctr("version"), r -> r.code() == 0);
        assertEquals(
                0,
                up.code(),
                "private containerd did not come up: " + up.out() + "\n"
                        + Files.readString(dir.resolve("containerd.log")));
        if (n.plugins.portmap()) {
            log("containerd: no port publishing in ctr: jcni-portmap is chained with no mappings");
        }
        Path archive = ociArchive(dir, rootfsTar(dir), IMAGE);
        ctr("image", "import", "--snapshotter", "native", archive.toString()).ok("ctr image import");
        assertTrue(ctr("image", "ls", "-q").out().contains(IMAGE));
    }

    private void mkdirsRemembered(Path d) throws IOException {
        List<Path> toCreate = new ArrayList<>();
        for (Path p = d; p != null && !Files.exists(p); p = p.getParent()) {
            toCreate.add(p);
        }
        Files.createDirectories(d);
        createdDirs.addAll(toCreate); // deepest first
    }

    /** The private daemon's config (and the README's). */
    static String config(Path dir) {
        return """
                version = 2
                root = "%s/root"
                state = "%s/state"
                disabled_plugins = ["io.containerd.grpc.v1.cri"]

                [grpc]
                  address = "%s/containerd.sock"

                [ttrpc]
                  address = "%s/containerd.sock.ttrpc"

                [debug]
                  address = ""

                [metrics]
                  address = ""
                """.formatted(dir, dir, dir, dir);
    }

    Commands.Result ctr(String... args) {
        List<String> cmd = new ArrayList<>(List.of("ctr", "--address", socket.toString(), "--namespace", namespace));
        cmd.addAll(List.of(args));
        return Commands.of(cmd).timeout(Duration.ofSeconds(60)).result();
    }

    Commands.Result exec(String container, String... cmd) {
        List<String> args = new ArrayList<>(List.of("task", "exec", "--exec-id", "e" + TestNames.next(), container));
        args.addAll(List.of(cmd));
        return ctr(args.toArray(new String[0]));
    }

    /** The CNI container ID ctr uses: namespace-id. */
    String cniId(String name) {
        return namespace + "-" + name;
    }

    String start(String name) throws IOException {
        Process p = new ProcessBuilder(
                        "unshare",
                        "--mount",
                        dir.resolve("ctr-cni").toString(),
                        "run",
                        "--cni",
                        "--rm",
                        "--snapshotter",
                        "native",
                        IMAGE,
                        name,
                        "sh",
                        "-c",
                        SERVE)
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve(name + ".out").toFile())
                .start();
        runs.put(name, p);
        Predicate<Commands.Result> addressed = ip -> ip.code() == 0 && ip.out().contains("inet ");
        Commands.Result r =
                retry(Duration.ofSeconds(60), () -> exec(name, "ip", "-4", "addr", "show", "eth0"), addressed);
        assertTrue(
                addressed.test(r),
                name + " did not get an address: " + r.out() + "\nctr run: "
                        + Files.readString(dir.resolve(name + ".out")));
        String address = addressIn(r.out());
        containers.put(name, address);
        log(name + " has " + address);
        return address;
    }

    @Test
    @Order(1)
    void twoContainersGetDistinctAddressesAndReachEachOtherAndTheGateway() throws IOException {
        n.require();
        String c1 = "c1", c2 = "c2";
        String a = start(c1), b = start(c2);
        n.assertTwoContainersTalk(this::exec, c1, a, c2, b);
        assertTrue(httpGet(b, 8080).endsWith("jcni-e2e\n"), "the node reaches c2 through the bridge");

        assertTrue(
                Files.isRegularFile(CNI_CACHE.resolve(n.net + "-" + cniId(c1) + "-eth0")), "libcni cache entry of c1");
        List<String> calls = n.plugins.calls();
        for (String name : List.of(c1, c2)) {
            assertTrue(
                    calls.stream().anyMatch(l -> l.startsWith("jcni-bridge ADD " + cniId(name) + " netns=/proc/")),
                    "ctr ran jcni-bridge ADD for " + name + ": " + calls);
            assertTrue(
                    calls.stream().anyMatch(l -> l.startsWith("jcni-loopback ADD " + cniId(name) + " netns=/proc/")),
                    "ctr ran jcni-loopback ADD for " + name + ": " + calls);
        }
    }

    @Test
    @Order(2)
    void endingTheTasksCallsDelWithoutNetnsAndLeavesNothing() throws Exception {
        n.require();
        for (String name : containers.keySet()) {
            ctr("task", "kill", "-s", "KILL", name).ok("ctr task kill " + name);
        }
        for (var e : runs.entrySet()) {
            assertTrue(e.getValue().waitFor(60, TimeUnit.SECONDS), "ctr run " + e.getKey() + " did not end");
        }
        assertEquals(
                "",
                ctr("container", "ls", "-q").ok("ctr container ls").out().strip(),
                "ctr run --rm removed the containers");
        List<String> calls = n.plugins.calls();
        for (String name : containers.keySet()) {
            assertTrue(
                    calls.contains("jcni-bridge DEL " + cniId(name) + " netns="),
                    "ctr ran jcni-bridge DEL with an empty CNI_NETNS for " + name + ": " + calls);
            assertTrue(
                    calls.contains("jcni-loopback DEL " + cniId(name) + " netns="),
                    "ctr ran jcni-loopback DEL for " + name + ": " + calls);
        }
        log("containerd executed:\n  " + String.join("\n  ", calls));
        n.assertNothingLeft(List.copyOf(containers.values()), 0);
        log("containerd: " + calls.size() + " plugin calls, nothing left after the tasks ended");
    }

    @AfterAll
    void tearDown() throws Exception {
        if (n == null || n.dir == null) {
            return;
        }
        try {
            if (daemon != null && daemon.isAlive()) {
                for (String name : runs.keySet()) {
                    ctr("task", "kill", "-s", "KILL", name);
                }
                for (Process p : runs.values()) {
                    if (!p.waitFor(30, TimeUnit.SECONDS)) {
                        p.destroyForcibly();
                    }
                }
                for (String name : runs.keySet()) {
                    ctr("task", "delete", "-f", name);
                    ctr("container", "delete", name);
                }
                ctr("image", "rm", IMAGE);
                daemon.destroy();
                if (!daemon.waitFor(15, TimeUnit.SECONDS)) {
                    daemon.destroyForcibly();
                    daemon.waitFor(10, TimeUnit.SECONDS);
                }
            }
        } finally {
            n.close();
            for (Path d : createdDirs) {
                try {
                    Files.deleteIfExists(d);
                } catch (IOException e) {
                    log("left " + d + ": " + e.getMessage());
                }
            }
            if (!runContainerdExisted) {
                removeTree(Path.of("/run/containerd"));
            } else {
                removeTree(Path.of("/run/containerd/runc", namespace));
            }
        }
    }
}
