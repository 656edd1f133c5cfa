package io.jcni.e2e;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static io.jcni.e2e.E2e.*;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

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

    final String net = "jcnie2ec" + RUN;
    final String bridge = "jce2ec" + RUN;
    final String namespace = "jcnie2e" + RUN;
    Path dir;
    Path socket;
    Process daemon;
    Plugins plugins;
    String prefix;
    String gateway;
    final List<Path> createdDirs = new ArrayList<>();
    boolean runContainerdExisted;
    /** name → address, and name → the foreground ctr run */
    final Map<String, String> containers = new LinkedHashMap<>();
    final Map<String, Process> runs = new LinkedHashMap<>();

    /** Why this class's tests are skipped (the runtime is not installed), or null. */
    String skipped;

    private void skip(String why) {
        skipped = "containerd e2e tests skipped: " + why;
        log(skipped);
    }

    private void requireRuntime() {
        assumeTrue(skipped == null, skipped);
    }

    @BeforeAll
    void setUp() throws Exception {
        if (!"0".equals(ok("id", "-u").strip())) {
            skip("needs root");
            return;
        }
        String missing = missing("containerd", "ctr", "containerd-shim-runc-v2", "runc", "unshare", "mount", "tar", "ip", "nft", BUSYBOX);
        if (!missing.isEmpty()) {
            skip("not installed: " + missing + " (apt-get install containerd busybox-static; .ci/run installs them)");
            return;
        }
        runContainerdExisted = Files.exists(Path.of("/run/containerd"));
        dir = Files.createTempDirectory("jcni-e2e-containerd-");
        plugins = install(dir);
        prefix = freeSubnet();
        gateway = prefix + ".1";
        Path netDir = Files.createDirectories(dir.resolve("net.d"));
        Files.writeString(netDir.resolve("10-" + net + ".conflist"), conflist(net, bridge, prefix, dir.resolve("ipam"), plugins.portmap()));
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
                """.formatted(netDir, plugins.bin(), dir.resolve("containerd.sock"), namespace));
        Files.setPosixFilePermissions(dir.resolve("ctr-cni"), java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));

        socket = dir.resolve("containerd.sock");
        Files.writeString(dir.resolve("config.toml"), config(dir));
        daemon = new ProcessBuilder("containerd", "--config", dir.resolve("config.toml").toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("containerd.log").toFile()).start();
        Result up = retry(Duration.ofSeconds(20), () -> ctr("version"));
        assertEquals(0, up.code(), "private containerd did not come up: " + up.out() + "\n" + Files.readString(dir.resolve("containerd.log")));
        log("containerd: " + dir + ", network " + net + " on " + bridge + " " + prefix + ".0/24, portmap "
                + (plugins.portmap() ? "present (no port publishing in ctr: chained with no mappings)" : "absent"));
        Path archive = ociArchive(dir, rootfsTar(dir), IMAGE);
        ctr("image", "import", "--snapshotter", "native", archive.toString()).ok(List.of("ctr image import"));
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

    Result ctr(String... args) {
        List<String> cmd = new ArrayList<>(List.of("ctr", "--address", socket.toString(), "--namespace", namespace));
        cmd.addAll(List.of(args));
        return run(Map.of(), Duration.ofSeconds(60), cmd);
    }

    Result exec(String container, String... cmd) {
        List<String> args = new ArrayList<>(List.of("task", "exec", "--exec-id", "e" + System.nanoTime(), container));
        args.addAll(List.of(cmd));
        return ctr(args.toArray(new String[0]));
    }

    /** The CNI container ID ctr uses: namespace-id. */
    String cniId(String name) {
        return namespace + "-" + name;
    }

    String start(String name) throws IOException {
        Process p = new ProcessBuilder("unshare", "--mount", dir.resolve("ctr-cni").toString(), "run", "--cni", "--rm", "--snapshotter", "native",
                IMAGE, name, "sh", "-c", SERVE)
                .redirectErrorStream(true).redirectOutput(dir.resolve(name + ".out").toFile()).start();
        runs.put(name, p);
        Result r = retry(Duration.ofSeconds(60), () -> {
            Result ip = exec(name, "ip", "-4", "addr", "show", "eth0");
            return ip.code() == 0 && ip.out().contains("inet ") ? ip : new Result(1, ip.out());
        });
        assertEquals(0, r.code(), name + " did not get an address: " + r.out() + "\nctr run: " + Files.readString(dir.resolve(name + ".out")));
        String address = addressIn(r.out());
        containers.put(name, address);
        log(name + " has " + address);
        return address;
    }

    @Test
    @Order(1)
    void twoContainersGetDistinctAddressesAndReachEachOtherAndTheGateway() throws IOException {
        requireRuntime();
        String c1 = "c1", c2 = "c2";
        String a = start(c1), b = start(c2);
        assertNotEquals(a, b);
        for (String ip : List.of(a, b)) {
            assertTrue(ip.startsWith(prefix + "."), ip + " in " + prefix + ".0/24");
            assertNotEquals(gateway, ip);
        }
        exec(c1, "ping", "-c", "1", "-W", "3", b).ok(List.of("ping c1 -> c2"));
        exec(c2, "ping", "-c", "1", "-W", "3", a).ok(List.of("ping c2 -> c1"));
        exec(c1, "ping", "-c", "1", "-W", "3", gateway).ok(List.of("ping c1 -> gateway"));
        exec(c2, "ping", "-c", "1", "-W", "3", gateway).ok(List.of("ping c2 -> gateway"));
        assertEquals("jcni-e2e\n", exec(c2, "wget", "-q", "-O", "-", "http://" + a + ":8080/").ok(List.of("wget c2 -> c1")).out());
        String viaNc = exec(c1, "sh", "-c", "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 " + b + " 8080").ok(List.of("nc c1 -> c2")).out();
        assertTrue(viaNc.startsWith("HTTP/1.") && viaNc.endsWith("jcni-e2e\n"), viaNc);
        assertTrue(httpGet(b, 8080).endsWith("jcni-e2e\n"), "the node reaches c2 through the bridge");

        assertTrue(Files.isRegularFile(CNI_CACHE.resolve(net + "-" + cniId(c1) + "-eth0")), "libcni cache entry of c1");
        List<String> calls = plugins.calls();
        for (String name : List.of(c1, c2)) {
            assertTrue(calls.stream().anyMatch(l -> l.startsWith("jcni-bridge ADD " + cniId(name) + " netns=/proc/")),
                    "ctr ran jcni-bridge ADD for " + name + ": " + calls);
            assertTrue(calls.stream().anyMatch(l -> l.startsWith("jcni-loopback ADD " + cniId(name) + " netns=/proc/")),
                    "ctr ran jcni-loopback ADD for " + name + ": " + calls);
        }
    }

    @Test
    @Order(2)
    void endingTheTasksCallsDelWithoutNetnsAndLeavesNothing() throws Exception {
        requireRuntime();
        for (String name : containers.keySet()) {
            ctr("task", "kill", "-s", "KILL", name).ok(List.of("ctr task kill " + name));
        }
        for (var e : runs.entrySet()) {
            assertTrue(e.getValue().waitFor(60, TimeUnit.SECONDS), "ctr run " + e.getKey() + " did not end");
        }
        assertEquals("", ctr("container", "ls", "-q").ok(List.of("ctr container ls")).out().strip(), "ctr run --rm removed the containers");
        List<String> calls = plugins.calls();
        for (String name : containers.keySet()) {
            assertTrue(calls.contains("jcni-bridge DEL " + cniId(name) + " netns="), "ctr ran jcni-bridge DEL with an empty CNI_NETNS for " + name + ": " + calls);
            assertTrue(calls.contains("jcni-loopback DEL " + cniId(name) + " netns="), "ctr ran jcni-loopback DEL for " + name + ": " + calls);
        }
        log("containerd executed:\n  " + String.join("\n  ", calls));
        assertNothingLeft(net, bridge, dir.resolve("ipam"), List.copyOf(containers.values()), 0);
        log("containerd: " + calls.size() + " plugin calls, nothing left after the tasks ended");
    }

    @AfterAll
    void tearDown() throws Exception {
        if (dir == null) {
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
            removeNetwork(net, bridge);
            removeTree(dir);
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
