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
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.jcni.e2e.E2e.*;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

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

    final String net = "jcnie2ep" + RUN;
    final String bridge = "jce2ep" + RUN;
    Path dir;
    Plugins plugins;
    Map<String, String> env;
    String prefix;
    String gateway;
    int hostPort;
    /** name → address */
    final Map<String, String> containers = new LinkedHashMap<>();
    final Map<String, String> ids = new HashMap<>();

    /** Why this class's tests are skipped (the runtime is not installed), or null. */
    String skipped;

    private void skip(String why) {
        skipped = "podman e2e tests skipped: " + why;
        log(skipped);
    }

    private void requireRuntime() {
        assumeTrue(skipped == null, skipped);
    }

    @BeforeAll
    void setUp() throws IOException {
        if (!"0".equals(ok("id", "-u").strip())) {
            skip("needs root");
            return;
        }
        String missing = missing("podman", "runc", "conmon", "tar", "ip", "nft", "ss", BUSYBOX);
        if (!missing.isEmpty()) {
            skip("not installed: " + missing + " (apt-get install podman busybox-static; .ci/run installs them)");
            return;
        }
        dir = Files.createTempDirectory("jcni-e2e-podman-");
        plugins = install(dir);
        prefix = freeSubnet();
        gateway = prefix + ".1";
        Path netDir = Files.createDirectories(dir.resolve("net.d"));
        Files.writeString(netDir.resolve(net + ".conflist"), conflist(net, bridge, prefix, dir.resolve("ipam"), plugins.portmap()));
        Files.writeString(dir.resolve("containers.conf"), containersConf(dir, plugins.bin(), netDir));
        Files.writeString(dir.resolve("storage.conf"), storageConf(dir));
        env = Map.of("CONTAINERS_CONF", dir.resolve("containers.conf").toString(),
                "CONTAINERS_STORAGE_CONF", dir.resolve("storage.conf").toString());
        log("podman: " + dir + ", network " + net + " on " + bridge + " " + prefix + ".0/24, portmap "
                + (plugins.portmap() ? "present" : "absent"));
        podmanOk("import", rootfsTar(dir).toString(), IMAGE);
        String info = podmanOk("info", "--format", "{{.Host.NetworkBackend}} {{.Host.CgroupManager}} {{.Host.OCIRuntime.Name}} {{.Store.GraphRoot}}");
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

    Result podman(Duration timeout, String... args) {
        List<String> cmd = new ArrayList<>(List.of("podman"));
        cmd.addAll(List.of(args));
        return run(env, timeout, cmd);
    }

    String podmanOk(String... args) {
        List<String> cmd = new ArrayList<>(List.of("podman"));
        cmd.addAll(List.of(args));
        return run(env, Duration.ofSeconds(120), cmd).ok(cmd).out();
    }

    Result exec(String container, String... cmd) {
        List<String> args = new ArrayList<>(List.of("exec", container));
        args.addAll(List.of(cmd));
        return podman(Duration.ofSeconds(30), args.toArray(new String[0]));
    }

    String start(String name, String... publish) {
        List<String> args = new ArrayList<>(List.of("run", "-d", "--name", name, "--network", net));
        args.addAll(List.of(publish));
        args.addAll(List.of(IMAGE, "sh", "-c", SERVE));
        String id = podmanOk(args.toArray(new String[0])).strip();
        ids.put(name, id);
        String address = addressIn(exec(name, "ip", "-4", "addr", "show", "eth0").ok(List.of("ip addr in " + name)).out());
        containers.put(name, address);
        log(name + " " + id.substring(0, 12) + " has " + address);
        return address;
    }

    @Test
    @Order(1)
    void twoContainersGetDistinctAddressesAndReachEachOtherAndTheGateway() {
        requireRuntime();
        String a = start("c1-" + RUN), b = start("c2-" + RUN);
        String c1 = "c1-" + RUN, c2 = "c2-" + RUN;
        assertNotEquals(a, b);
        for (String ip : List.of(a, b)) {
            assertTrue(ip.startsWith(prefix + "."), ip + " in " + prefix + ".0/24");
            assertNotEquals(gateway, ip);
        }
        String inspected = podmanOk("inspect", "-f", "{{(index .NetworkSettings.Networks \"" + net + "\").IPAddress}}", c1).strip();
        assertEquals(a, inspected, "podman reports the address our plugins returned");

        exec(c1, "ping", "-c", "1", "-W", "3", b).ok(List.of("ping c1 -> c2"));
        exec(c2, "ping", "-c", "1", "-W", "3", a).ok(List.of("ping c2 -> c1"));
        exec(c1, "ping", "-c", "1", "-W", "3", gateway).ok(List.of("ping c1 -> gateway"));
        exec(c2, "ping", "-c", "1", "-W", "3", gateway).ok(List.of("ping c2 -> gateway"));
        assertEquals("jcni-e2e\n", exec(c2, "wget", "-q", "-O", "-", "http://" + a + ":8080/").ok(List.of("wget c2 -> c1")).out());
        String viaNc = exec(c1, "sh", "-c", "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 " + b + " 8080").ok(List.of("nc c1 -> c2")).out();
        assertTrue(viaNc.startsWith("HTTP/1.") && viaNc.endsWith("jcni-e2e\n"), viaNc);
        assertTrue(httpGet(a, 8080).endsWith("jcni-e2e\n"), "the node reaches c1 through the bridge");

        assertTrue(Files.isRegularFile(CNI_CACHE.resolve(net + "-" + ids.get(c1) + "-eth0")), "libcni cache entry of c1");
        List<String> calls = plugins.calls();
        for (String name : List.of(c1, c2)) {
            String id = ids.get(name);
            assertTrue(calls.stream().anyMatch(l -> l.startsWith("jcni-bridge ADD " + id + " netns=/")), "podman ran jcni-bridge ADD for " + name + ": " + calls);
            assertTrue(calls.stream().anyMatch(l -> l.startsWith("jcni-loopback ADD " + id + " netns=/")), "podman ran jcni-loopback ADD for " + name + ": " + calls);
        }
    }

    @Test
    @Order(2)
    void publishedPortAnswersFromTheNodeAndFromContainersIncludingHairpin() {
        requireRuntime();
        if (!plugins.portmap()) {
            String why = "podman hostPort test skipped: " + PORTMAP_MAIN + " is not on the class path (jcni-portmap not built)";
            log(why);
            assumeTrue(false, why);
        }
        hostPort = freePort();
        String c3 = "c3-" + RUN;
        String a = start(c3, "-p", hostPort + ":8080");
        log("c3 publishes " + hostPort + " -> " + a + ":8080");
        assertTrue(httpGet("127.0.0.1", hostPort).endsWith("jcni-e2e\n"), "node -> 127.0.0.1:" + hostPort + ": " + httpGet("127.0.0.1", hostPort));
        assertTrue(httpGet(gateway, hostPort).endsWith("jcni-e2e\n"), "node -> bridge " + gateway + ":" + hostPort);
        if (containers.containsKey("c2-" + RUN)) {
            assertEquals("jcni-e2e\n", exec("c2-" + RUN, "timeout", "10", "wget", "-q", "-O", "-", "http://" + gateway + ":" + hostPort + "/")
                    .ok(List.of("c2 -> bridge:hostPort")).out());
        }
        assertEquals("jcni-e2e\n", exec(c3, "timeout", "10", "wget", "-q", "-O", "-", "http://" + gateway + ":" + hostPort + "/")
                .ok(List.of("hairpin: c3 -> its own hostPort")).out());
        String id = ids.get(c3);
        assertTrue(plugins.calls().stream().anyMatch(l -> l.startsWith("jcni-portmap ADD " + id + " ")), "podman ran jcni-portmap: " + plugins.calls());
    }

    @Test
    @Order(3)
    void removingTheContainersLeavesNothing() throws IOException {
        requireRuntime();
        for (String name : containers.keySet()) {
            podmanOk("rm", "-f", "-t", "0", name);
        }
        assertEquals("", podmanOk("ps", "-a", "-q").strip());
        List<String> calls = plugins.calls();
        for (String name : containers.keySet()) {
            String id = ids.get(name);
            assertTrue(calls.stream().anyMatch(l -> l.startsWith("jcni-bridge DEL " + id + " ")), "podman ran jcni-bridge DEL for " + name + ": " + calls);
            assertTrue(calls.stream().anyMatch(l -> l.startsWith("jcni-loopback DEL " + id + " ")), "podman ran jcni-loopback DEL for " + name + ": " + calls);
        }
        log("podman executed:\n  " + String.join("\n  ", calls));
        assertNothingLeft(net, bridge, dir.resolve("ipam"), List.copyOf(containers.values()), hostPort);
        log("podman: " + calls.size() + " plugin calls, nothing left after removal");
    }

    @AfterAll
    void tearDown() {
        if (dir == null) {
            return;
        }
        podman(Duration.ofSeconds(60), "rm", "-a", "-f", "-t", "0");
        podman(Duration.ofSeconds(60), "rmi", "-a", "-f");
        removeNetwork(net, bridge);
        removeTree(dir);
    }
}
