package io.jcni.e2e;

import static io.jcni.e2e.E2e.*;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.jcni.testkit.Commands;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * podman (Debian's 4.3, CNI backend) runs busybox containers on a jcni network. Everything podman
 * uses is private to the test: containers.conf (CONTAINERS_CONF) with {@code network_backend = "cni"},
 * {@code cni_plugin_dirs} = the test's installed plugins, {@code network_config_dir} = the test's
 * conflist, cgroupfs and runc; storage.conf (CONTAINERS_STORAGE_CONF) with a private graphroot and
 * runroot. The image is imported offline from Debian's busybox-static.
 */
@Tag("e2e")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PodmanE2eTest {
    static final String IMAGE = "localhost/jcni-busybox:e2e";
    static final String SERVE = "httpd -p 8080 -h /www && exec sleep 600";

    E2eNetwork n;
    Map<String, String> env;
    int hostPort;
    /** name → address */
    final Map<String, String> containers = new LinkedHashMap<>();

    final Map<String, String> ids = new HashMap<>();

    @BeforeAll
    void setUp() throws IOException {
        n = E2eNetwork.setUp("podman", 'p', "podman", net -> net + ".conflist", "podman", "runc", "conmon", "ss");
        if (n.skipped != null) {
            return;
        }
        Path dir = n.dir;
        Files.writeString(dir.resolve("containers.conf"), containersConf(dir, n.plugins.bin(), n.netDir));
        Files.writeString(dir.resolve("storage.conf"), storageConf(dir));
        env = Map.of(
                "CONTAINERS_CONF",
                dir.resolve("containers.conf").toString(),
                "CONTAINERS_STORAGE_CONF",
                dir.resolve("storage.conf").toString());
        podmanOk("import", rootfsTar(dir).toString(), IMAGE);
        String info = podmanOk(
                "info",
                "--format",
                "{{.Host.NetworkBackend}} {{.Host.CgroupManager}} {{.Host.OCIRuntime.Name}} {{.Store.GraphRoot}}");
        assertEquals("cni cgroupfs runc " + dir.resolve("storage/root"), info.strip());
    }

    /** The containers.conf the test uses (and the README shows). */
    static String containersConf(Path dir, Path pluginDir, Path netDir) {
        return """
                [containers]
                # podman's default nofile/nproc are above what some hosts allow
                default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

                [engine]
                cgroup_manager = "cgroupfs"
                # crun refuses hosts with hybrid cgroups; runc runs on both
                runtime = "runc"
                events_logger = "file"
                events_logfile_path = "%s/events.log"
                tmp_dir = "%s/tmp"

                [network]
                network_backend = "cni"
                cni_plugin_dirs = ["%s"]
                network_config_dir = "%s"
                """.formatted(dir, dir, pluginDir, netDir);
    }

    static String storageConf(Path dir) {
        return """
                [storage]
                driver = "overlay"
                graphroot = "%s/storage/root"
                runroot = "%s/storage/run"
                """.formatted(dir, dir);
    }

    Commands.Result podman(Duration timeout, String... args) {
        List<String> cmd = new ArrayList<>(List.of("podman"));
        cmd.addAll(List.of(args));
        return Commands.of(cmd).env(env).timeout(timeout).result();
    }

    String podmanOk(String... args) {
        return podman(Duration.ofSeconds(120), args).ok().out();
    }

    Commands.Result exec(String container, String... cmd) {
        List<String> args = new ArrayList<>(List.of("exec", container));
        args.addAll(List.of(cmd));
        return podman(Duration.ofSeconds(30), args.toArray(new String[0]));
    }

    String start(String name, String... publish) {
        List<String> args = new ArrayList<>(List.of("run", "-d", "--name", name, "--network", n.net));
        args.addAll(List.of(publish));
        args.addAll(List.of(IMAGE, "sh", "-c", SERVE));
        String id = podmanOk(args.toArray(new String[0])).strip();
        ids.put(name, id);
        String address = addressIn(exec(name, "ip", "-4", "addr", "show", "eth0")
                .ok("ip addr in " + name)
                .out());
        containers.put(name, address);
        log(name + " " + id.substring(0, 12) + " has " + address);
        return address;
    }

    @Test
    @Order(1)
    void twoContainersGetDistinctAddressesAndReachEachOtherAndTheGateway() {
        n.require();
        String a = start("c1-" + RUN), b = start("c2-" + RUN);
        String c1 = "c1-" + RUN, c2 = "c2-" + RUN;
        String inspected = podmanOk(
                        "inspect", "-f", "{{(index .NetworkSettings.Networks \"" + n.net + "\").IPAddress}}", c1)
                .strip();
        assertEquals(a, inspected, "podman reports the address our plugins returned");
        n.assertTwoContainersTalk(this::exec, c1, a, c2, b);
        assertTrue(httpGet(a, 8080).endsWith("jcni-e2e\n"), "the node reaches c1 through the bridge");

        assertTrue(
                Files.isRegularFile(CNI_CACHE.resolve(n.net + "-" + ids.get(c1) + "-eth0")),
                "libcni cache entry of c1");
        List<String> calls = n.plugins.calls();
        for (String name : List.of(c1, c2)) {
            String id = ids.get(name);
            assertTrue(
                    calls.stream().anyMatch(l -> l.startsWith("jcni-bridge ADD " + id + " netns=/")),
                    "podman ran jcni-bridge ADD for " + name + ": " + calls);
            assertTrue(
                    calls.stream().anyMatch(l -> l.startsWith("jcni-loopback ADD " + id + " netns=/")),
                    "podman ran jcni-loopback ADD for " + name + ": " + calls);
        }
    }

    @Test
    @Order(2)
    void publishedPortAnswersFromTheNodeAndFromContainersIncludingHairpin() {
        n.require();
        if (!n.plugins.portmap()) {
            String why = "podman hostPort test skipped: " + PORTMAP_MAIN
                    + " is not on the class path (jcni-portmap not built)";
            log(why);
            assumeTrue(false, why);
        }
        hostPort = freePort();
        String c3 = "c3-" + RUN;
        String a = start(c3, "-p", hostPort + ":8080");
        log("c3 publishes " + hostPort + " -> " + a + ":8080");
        assertTrue(
                httpGet("127.0.0.1", hostPort).endsWith("jcni-e2e\n"),
                "node -> 127.0.0.1:" + hostPort + ": " + httpGet("127.0.0.1", hostPort));
        assertTrue(httpGet(n.gateway, hostPort).endsWith("jcni-e2e\n"), "node -> bridge " + n.gateway + ":" + hostPort);
        if (containers.containsKey("c2-" + RUN)) {
            assertEquals(
                    "jcni-e2e\n",
                    exec(
                                    "c2-" + RUN,
                                    "timeout",
                                    "10",
                                    "wget",
                                    "-q",
                                    "-O",
                                    "-",
                                    "http://" + n.gateway + ":" + hostPort + "/")
                            .ok("c2 -> bridge:hostPort")
                            .out());
        }
        assertEquals(
                "jcni-e2e\n",
                exec(c3, "timeout", "10", "wget", "-q", "-O", "-", "http://" + n.gateway + ":" + hostPort + "/")
                        .ok("hairpin: c3 -> its own hostPort")
                        .out());
        String id = ids.get(c3);
        assertTrue(
                n.plugins.calls().stream().anyMatch(l -> l.startsWith("jcni-portmap ADD " + id + " ")),
                "podman ran jcni-portmap: " + n.plugins.calls());
    }

    @Test
    @Order(3)
    void removingTheContainersLeavesNothing() throws IOException {
        n.require();
        for (String name : containers.keySet()) {
            podmanOk("rm", "-f", "-t", "0", name);
        }
        assertEquals("", podmanOk("ps", "-a", "-q").strip());
        List<String> calls = n.plugins.calls();
        for (String name : containers.keySet()) {
            String id = ids.get(name);
            assertTrue(
                    calls.stream().anyMatch(l -> l.startsWith("jcni-bridge DEL " + id + " ")),
                    "podman ran jcni-bridge DEL for " + name + ": " + calls);
            assertTrue(
                    calls.stream().anyMatch(l -> l.startsWith("jcni-loopback DEL " + id + " ")),
                    "podman ran jcni-loopback DEL for " + name + ": " + calls);
        }
        log("podman executed:\n  " + String.join("\n  ", calls));
        n.assertNothingLeft(List.copyOf(containers.values()), hostPort);
        log("podman: " + calls.size() + " plugin calls, nothing left after removal");
    }

    @AfterAll
    void tearDown() {
        if (n == null || n.dir == null) {
            return;
        }
        podman(Duration.ofSeconds(60), "rm", "-a", "-f", "-t", "0");
        podman(Duration.ofSeconds(60), "rmi", "-a", "-f");
        n.close();
    }
}
