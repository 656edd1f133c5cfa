package io.jcni.e2e;

import static io.jcni.e2e.E2e.*;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.jcni.testkit.Commands;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * One runtime's jcni network, set up the same way for podman and containerd: why the runtime's tests
 * are skipped (not root, a tool missing), else a temporary directory with jcni's plugins installed
 * behind logging wrappers ({@link E2e#install}), a /24 no route of the host overlaps, the network's
 * names and its conflist in {@code DIR/net.d}, host-local's data in {@code DIR/ipam}.
 * {@link #close()} removes what DEL keeps by design (the bridge) and the directory.
 */
final class E2eNetwork implements AutoCloseable {
    final String runtime;
    /** {@code jcnie2e<letter><run>} and {@code jce2e<letter><run>}: a letter per runtime, the run id per JVM. */
    final String net, bridge;
    /** Why this runtime's tests are skipped, or null. */
    final String skipped;

    final Path dir, netDir, dataDir;
    final Plugins plugins;
    /** The subnet's first three octets ("10.x.y"), and its .1 on the bridge. */
    final String prefix, gateway;

    private E2eNetwork(String runtime, char letter, String skipped, Path dir, Plugins plugins, String prefix) {
        this.runtime = runtime;
        this.net = "jcnie2e" + letter + RUN;
        this.bridge = "jce2e" + letter + RUN;
        this.skipped = skipped == null ? null : runtime + " e2e tests skipped: " + skipped;
        this.dir = dir;
        this.netDir = dir == null ? null : dir.resolve("net.d");
        this.dataDir = dir == null ? null : dir.resolve("ipam");
        this.plugins = plugins;
        this.prefix = prefix;
        this.gateway = prefix == null ? null : prefix + ".1";
    }

    /**
     * @param letter     tells the runtimes' names apart
     * @param aptPackage what to install to get the runtime, for the skip message
     * @param confFile   the conflist's file name, from the network's name
     * @param tools      what the runtime's tests run besides jcni
     */
    static E2eNetwork setUp(
            String runtime, char letter, String aptPackage, UnaryOperator<String> confFile, String... tools)
            throws IOException {
        if (!"0".equals(ok("id", "-u").strip())) {
            return skip(runtime, letter, "needs root");
        }
        List<String> needed = new ArrayList<>(List.of(tools));
        needed.addAll(List.of("tar", "ip", "nft", BUSYBOX));
        List<String> missing = Commands.missing(needed.toArray(new String[0]));
        if (!missing.isEmpty()) {
            return skip(
                    runtime,
                    letter,
                    "not installed: " + String.join(", ", missing) + " (apt-get install " + aptPackage
                            + " busybox-static; .ci/run installs them)");
        }
        Path dir = Files.createTempDirectory("jcni-e2e-" + runtime + "-");
        E2eNetwork n;
        try {
            n = new E2eNetwork(runtime, letter, null, dir, install(dir), freeSubnet());
            Files.createDirectories(n.netDir);
            Files.writeString(
                    n.netDir.resolve(confFile.apply(n.net)),
                    conflist(n.net, n.bridge, n.prefix, n.dataDir, n.plugins.portmap()));
        } catch (IOException | RuntimeException | Error e) {
            removeTree(dir);
            throw e;
        }
        log(runtime + ": " + dir + ", network " + n.net + " on " + n.bridge + " " + n.prefix + ".0/24, portmap "
                + (n.plugins.portmap() ? "present" : "absent"));
        return n;
    }

    private static E2eNetwork skip(String runtime, char letter, String why) {
        E2eNetwork n = new E2eNetwork(runtime, letter, why, null, null, null);
        log(n.skipped);
        return n;
    }

    /** Skips the calling test when the runtime cannot run here. */
    void require() {
        assumeTrue(skipped == null, skipped);
    }

    /** Runs a command in a container of the runtime. */
    @FunctionalInterface
    interface Exec {
        Commands.Result in(String container, String... cmd);
    }

    /**
     * Containers {@code c1} and {@code c2} of this network, at {@code a} and {@code b}: distinct
     * addresses of its subnet other than the gateway's; they ping each other and the gateway, and
     * fetch each other's page by wget and by nc.
     */
    void assertTwoContainersTalk(Exec exec, String c1, String a, String c2, String b) {
        assertNotEquals(a, b);
        for (String ip : List.of(a, b)) {
            assertTrue(ip.startsWith(prefix + "."), ip + " in " + prefix + ".0/24");
            assertNotEquals(gateway, ip);
        }
        exec.in(c1, "ping", "-c", "1", "-W", "3", b).ok("ping c1 -> c2");
        exec.in(c2, "ping", "-c", "1", "-W", "3", a).ok("ping c2 -> c1");
        exec.in(c1, "ping", "-c", "1", "-W", "3", gateway).ok("ping c1 -> gateway");
        exec.in(c2, "ping", "-c", "1", "-W", "3", gateway).ok("ping c2 -> gateway");
        assertEquals(
                "jcni-e2e\n",
                exec.in(c2, "wget", "-q", "-O", "-", "http://" + a + ":8080/")
                        .ok("wget c2 -> c1")
                        .out());
        String viaNc = exec.in(c1, "sh", "-c", "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 " + b + " 8080")
                .ok("nc c1 -> c2")
                .out();
        assertTrue(viaNc.startsWith("HTTP/1.") && viaNc.endsWith("jcni-e2e\n"), viaNc);
    }

    /** {@link E2e#assertNothingLeft} for this network. */
    void assertNothingLeft(List<String> addresses, int hostPort) throws IOException {
        E2e.assertNothingLeft(net, bridge, dataDir, addresses, hostPort);
    }

    @Override
    public void close() {
        if (dir != null) {
            removeNetwork(bridge);
            removeTree(dir);
        }
    }
}
