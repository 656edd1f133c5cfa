package io.jcni.agent;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.jcni.agent.sim.SimulatedCluster;
import io.jcni.netlink.ns.NamedNetns;
import io.jcni.testkit.Jars;
import io.jcni.testkit.TestNames;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code jcni demo --cluster} in-process, with its own prefix and directory: a whole run on one
 * backend passes every check, tells the story it promises, and leaves no namespace, process or
 * file; a kept cluster stays up until {@code --cleanup}; usage errors exit 2.
 */
class ClusterDemoTest {
    /** One run's names: "jcdt" and the run id, then a letter per test. */
    private static final String RUN = "jcdt" + TestNames.RUN;

    private static Path jars;

    @BeforeAll
    static void pluginJars() throws IOException {
        SimulatedCluster.cleanupStale("jcdt"); // what crashed runs left; open clusters of other runs are spared
        jars = Jars.fromClassPath(Files.createTempDirectory(RUN + "-jars-"));
    }

    @AfterAll
    static void nothingOfThisRunIsLeft() throws IOException {
        List<String> left = namespacesWith(RUN);
        SimulatedCluster.cleanupStale(RUN);
        if (jars != null) {
            try (var s = Files.walk(jars)) {
                s.sorted(java.util.Comparator.reverseOrder())
                        .forEach(p -> p.toFile().delete());
            }
        }
        assertEquals(List.of(), left, "namespaces left by this run");
    }

    private record Outcome(int code, String out, String err) {
        String all() {
            return out + "\n---- stderr:\n" + err;
        }
    }

    private static Outcome run(ClusterDemo demo, ByteArrayOutputStream out, ByteArrayOutputStream err, String... args) {
        int code = demo.run(new ArrayList<>(List.of(args)));
        return new Outcome(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static PrintStream print(ByteArrayOutputStream b) {
        return new PrintStream(b, true, StandardCharsets.UTF_8);
    }

    private static List<String> namespacesWith(String prefix) {
        return NamedNetns.list().stream()
                .filter(n -> n.startsWith(prefix))
                .sorted()
                .toList();
    }

    private static int count(String text, String pattern) {
        Matcher m = Pattern.compile(pattern).matcher(text);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }

    /** Processes working in {@code dir} (the agents run there) or naming it (etcd's data directory). */
    private static List<String> processesUsing(Path dir) throws IOException {
        List<String> found = new ArrayList<>();
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path p : procs) {
                try {
                    String cwd = Files.readSymbolicLink(p.resolve("cwd")).toString();
                    String cmdline = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8)
                            .replace('\0', ' ');
                    if (cwd.startsWith(dir.toString()) || cmdline.contains(dir.toString())) {
                        found.add(p.getFileName() + ": " + cmdline);
                    }
                } catch (IOException | RuntimeException exited) {
                    // gone meanwhile
                }
            }
        }
        return found;
    }

    private ClusterDemo demo(String prefix, Path root, ByteArrayOutputStream out, ByteArrayOutputStream err) {
        return new ClusterDemo(
                print(out), print(err), prefix, root, SimulatedCluster.javaCommand("io.jcni.cli.Main"), jars);
    }

    @Test
    void vxlanClusterPassesEveryCheckAndLeavesNothing() throws IOException {
        String prefix = RUN + "a-";
        Path root = Path.of(System.getProperty("java.io.tmpdir"), prefix + "root");
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        ClusterDemo demo = demo(prefix, root, out, err);
        Outcome r = run(demo, out, err, "--cluster", "--backend", "vxlan");
        String text = r.out();

        assertEquals(0, r.code(), r.all());
        // the story: etcd, the configuration, an agent and a pod per node, each as its command
        assertTrue(text.contains("ip netns add " + prefix + "e1"), text);
        assertTrue(text.contains("-- etcd --name e1 "), text);
        assertTrue(
                text.contains("etcdctl --endpoints http://198.18.0.2:2379 put /jcni.io/network/config "
                        + "'{\"Network\":\"10.244.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}}'"),
                text);
        assertEquals(
                3,
                count(text, "--net --mount -- jcni agent --etcd-endpoints http://198.18.0.2:2379 --ip-masq &"),
                text);
        assertEquals(
                3, count(text, "jcni add jcni /run/netns/" + Pattern.quote(prefix) + "pod[123] --container-id"), text);
        assertEquals(
                3, count(text, "/jcni.io/network/subnets/10\\.244\\.\\d+\\.0-24 .*\"BackendType\":\"vxlan\""), text);
        // what the agent on n1 programmed, read back: a route, a neighbour and an FDB entry per peer, the masquerade
        assertTrue(text.contains("ip -n " + prefix + "n1 route show proto 215"), text);
        assertEquals(
                2,
                count(text, "\n {10}10\\.244\\.\\d+\\.0/24 via 10\\.244\\.\\d+\\.0 dev jcni\\.1 proto 215 onlink"),
                text);
        assertEquals(
                1,
                count(
                        text,
                        "jcni\\.1: mtu 1450 link/ether \\S+ vxlan id 1 local 198\\.18\\.0\\.11 dstport 8472 nolearning"),
                text);
        assertEquals(2, count(text, "\n {10}10\\.244\\.\\d+\\.0 lladdr \\S+ PERMANENT"), text);
        assertEquals(2, count(text, "\n {10}\\S+ dst 198\\.18\\.0\\.1[23] self permanent"), text);
        assertTrue(text.contains("rule: jcni cluster 10.244.0.0/16: pod to outside, masquerade"), text);
        // the checks
        assertTrue(text.contains("ok    n1 routes each peer's subnet"), text);
        assertTrue(text.contains("ok    n1 has each peer's neighbour"), text);
        assertTrue(text.contains("ok    every pod pings every other pod across the nodes (6 of 6 pairs)"), text);
        assertEquals(6, count(text, "\\d+\\.\\d{3} ms"), "an RTT per pair in the ping matrix\n" + text);
        assertEquals(
                3,
                count(
                        text,
                        "ok    pod\\d sees pod\\d's own address 10\\.244\\.\\d+\\.\\d+ over TCP \\(no NAT between pods\\)"),
                text);
        assertEquals(
                3,
                count(
                        text,
                        "ok    the outside host sees pod\\d as its node n\\d's address 198\\.18\\.0\\.1[123] \\(masquerade\\)"),
                text);
        assertTrue(text.contains("vxlan    9 of 9 checks passed"), text);
        assertTrue(text.contains("\nPASS: "), text);
        assertFalse(text.contains("FAIL"), text);

        // nothing left: namespaces, processes, files
        assertEquals(List.of(), namespacesWith(prefix));
        assertFalse(Files.exists(root), root + " removed");
        List<Long> pids = demo.startedPids();
        assertEquals(7, pids.size(), "etcd, three node inits, three agents: " + pids);
        for (long pid : pids) {
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "process " + pid + " ended");
        }
        assertEquals(List.of(), processesUsing(root));
    }

    @Test
    void keptClusterRunsUntilCleanup() throws IOException {
        String prefix = RUN + "b-";
        Path root = Path.of(System.getProperty("java.io.tmpdir"), prefix + "root");
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        ClusterDemo demo = demo(prefix, root, out, err);
        try {
            Outcome r = run(demo, out, err, "--cluster", "--backend", "host-gw", "--keep");
            assertEquals(0, r.code(), r.all());
            assertTrue(r.out().contains("host-gw  8 of 8 checks passed"), r.out());
            assertTrue(r.out().contains("Kept the host-gw cluster running"), r.out());
            assertTrue(r.out().contains("Remove it with: bin/jcni demo --cluster --cleanup"), r.out());
            assertEquals(
                    List.of(
                            prefix + "e1",
                            prefix + "n1",
                            prefix + "n2",
                            prefix + "n3",
                            prefix + "out",
                            prefix + "pod1",
                            prefix + "pod2",
                            prefix + "pod3",
                            prefix + "ul"),
                    namespacesWith(prefix));
            for (long pid : demo.startedPids()) {
                assertTrue(
                        ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false),
                        "process " + pid + " still runs");
            }

            // a second demo refuses to start over the kept one, and changes nothing
            ByteArrayOutputStream out2 = new ByteArrayOutputStream(), err2 = new ByteArrayOutputStream();
            Outcome again = run(demo(prefix, root, out2, err2), out2, err2, "--cluster");
            assertEquals(1, again.code(), again.all());
            assertTrue(again.err().contains("--cleanup"), again.all());
            assertEquals(9, namespacesWith(prefix).size());

            ByteArrayOutputStream out3 = new ByteArrayOutputStream(), err3 = new ByteArrayOutputStream();
            Outcome cleanup = run(demo(prefix, root, out3, err3), out3, err3, "--cluster", "--cleanup");
            assertEquals(0, cleanup.code(), cleanup.all());
            assertTrue(cleanup.out().contains("ip netns del " + prefix + "n1"), cleanup.out());
        } finally {
            SimulatedCluster.cleanupStale(prefix);
        }
        assertEquals(List.of(), namespacesWith(prefix));
        assertFalse(Files.exists(root), root + " removed");
        for (long pid : demo.startedPids()) {
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "process " + pid + " ended");
        }
        assertEquals(List.of(), processesUsing(root));
    }

    @Test
    void helpDescribesTheOptions() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        Outcome r = run(new ClusterDemo(print(out), print(err)), out, err, "--cluster", "--help");
        assertEquals(0, r.code(), r.all());
        for (String option :
                List.of("--backend host-gw|vxlan|both", "--keep", "--cleanup", "--slow MS", "etcd-server")) {
            assertTrue(r.out().contains(option), r.out());
        }
        assertEquals("", r.err());
    }

    @Test
    void unknownOptionsAndValuesAreUsageErrors() {
        for (List<String> args : List.of(
                List.of("demo", "--cluster", "--frobnicate"),
                List.of("demo", "--cluster", "--backend", "udp"),
                List.of("demo", "--cluster", "--slow", "soon"))) {
            ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
            int code = AgentMain.run(args.toArray(new String[0]), print(out), print(err));
            String e = err.toString(StandardCharsets.UTF_8);
            assertEquals(2, code, args + ": " + e);
            assertTrue(e.contains("jcni demo --cluster: ") && e.contains(args.get(args.size() - 1)), e);
        }
    }

    @Test
    void withoutJcniHomeItSaysHowToRunIt() {
        assumeTrue(System.getProperty("jcni.home") == null, "jcni.home is set");
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        Outcome r = run(new ClusterDemo(print(out), print(err)), out, err, "--cluster");
        assertEquals(1, r.code(), r.all());
        assertTrue(r.err().contains("run it as bin/jcni demo --cluster"), r.err());
    }
}
