package io.jcni.cli;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.json.Json;
import io.jcni.netlink.ns.NamedNetns;
import io.jcni.testkit.Commands;
import io.jcni.testkit.TestNames;
import io.jcni.testkit.TestNetns;
import io.jcni.testkit.Witness;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The runtime commands end to end via Main.run, driving the reference plugins in /usr/lib/cni. */
class NetworkCommandTest {
    private static final int RUN = TestNames.RUN_NUMBER;
    private final String tag = "jrt" + TestNames.RUN + "cl";
    private final String network = tag + "net";
    private final String bridge = tag + "br";
    private final String pod = tag + "pod";
    private final String ns = tag + "ns";
    private Path root;
    private Path netconf;
    private Path cache;
    private final List<String> common = new ArrayList<>();
    private final TestNetns namespaces = new TestNetns();

    @BeforeEach
    void setUp() throws IOException {
        root = Files.createTempDirectory("jcni-cli-rt-");
        netconf = Files.createDirectory(root.resolve("net.d"));
        cache = root.resolve("cache");
        String subnet = "10." + (180 + RUN % 60) + "." + (251 - RUN % 4);
        Files.writeString(netconf.resolve("10-" + network + ".conflist"), """
                {"cniVersion": "1.0.0", "name": "%s", "plugins": [
                  {"type": "bridge", "bridge": "%s", "isGateway": true,
                   "ipam": {"type": "host-local", "dataDir": "%s", "ranges": [[{"subnet": "%s.0/24"}]]}},
                  {"type": "portmap", "capabilities": {"portMappings": true}}]}""".formatted(
                        network, bridge, root.resolve("ipam"), subnet));
        Files.writeString(netconf.resolve("20-broken.conflist"), "{\"name\": \"broken\", \"plugins\": []}");
        Files.writeString(
                netconf.resolve("30-missing.conflist"),
                "{\"cniVersion\": \"1.0.0\", \"name\": \"" + tag + "missing\", "
                        + "\"plugins\": [{\"type\": \"no-such-plugin\"}]}");
        common.addAll(List.of(
                "--netconf", netconf.toString(), "--cni-path", "/usr/lib/cni", "--cache-dir", cache.toString()));
        namespaces.adopt(pod); // jcni pod create makes it
    }

    @AfterEach
    void tearDown() throws IOException {
        // DEL whatever is still cached (reference DEL is idempotent), then bridge, files, namespaces
        CliRunner.run(args("pod", "delete", pod));
        CliRunner.run(args("del", network, "/run/netns/" + ns));
        if (Witness.linkNames(null).contains(bridge)) {
            Commands.run("ip", "link", "del", bridge);
        }
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        namespaces.close();
    }

    private String[] args(String... a) {
        List<String> l = new ArrayList<>(List.of(a));
        l.addAll(common);
        return l.toArray(new String[0]);
    }

    @Test
    void addCheckDelLikeCnitool() throws Exception {
        namespaces.create(ns);
        CliRunner add = CliRunner.run(args(
                "add",
                network,
                ns,
                "-o",
                "json",
                "--args",
                "IgnoreUnknown=1",
                "--cap",
                "{\"portMappings\": [{\"hostPort\": 18181, \"containerPort\": 80, \"protocol\": \"tcp\"}]}"));
        assertEquals(0, add.code(), add.err());
        // -o json: exactly the result, which is also what the cache holds
        Map<String, Object> result = Json.parseObject(add.out().getBytes());
        String cid = "cnitool-"
                + java.util.HexFormat.of()
                        .formatHex(
                                java.security.MessageDigest.getInstance("SHA-512")
                                        .digest(("/run/netns/" + ns).getBytes()),
                                0,
                                10);
        Path cacheFile = cache.resolve("results").resolve(network + "-" + cid + "-eth0");
        assertEquals(
                result,
                Json.parseObject(Files.readAllBytes(cacheFile)).get("result"),
                "cnitool's container ID and libcni's cache");
        assertEquals(add.out().strip(), Json.writeIndented(result));
        String addr = (String) ((Map<?, ?>) ((List<?>) result.get("ips")).get(0)).get("address");
        assertEquals(
                List.of(addr),
                Witness.addresses(ns, "eth0").stream()
                        .filter(a -> !a.startsWith("fe80"))
                        .toList());

        CliRunner trace = CliRunner.run(args("--trace", "del", network, "/run/netns/" + ns));
        assertEquals(0, trace.code(), trace.err());
        assertTrue(trace.err().contains("+ plugin portmap DEL (/usr/lib/cni/portmap): exit 0"), trace.err());
        assertTrue(
                trace.err().contains("CNI_COMMAND=DEL CNI_CONTAINERID=" + cid + " CNI_NETNS=/run/netns/" + ns),
                trace.err());
        assertTrue(
                trace.err().indexOf("plugin portmap DEL") < trace.err().indexOf("plugin bridge DEL"), "reverse order");
        assertTrue(trace.err().contains("\"prevResult\":"), "stdin shown");
        assertFalse(Files.exists(cacheFile));
        assertFalse(Witness.linkNames(ns).contains("eth0"));
    }

    @Test
    void podCreateListDelete() throws Exception {
        CliRunner create = CliRunner.run(args("pod", "create", pod, "--network", network));
        assertEquals(0, create.code(), create.err());
        assertTrue(
                create.out().startsWith("pod " + pod + " (/run/netns/" + pod + ") on network " + network),
                create.out());
        assertTrue(create.out().contains("ADDRESS"), "a table by default: " + create.out());
        assertTrue(NamedNetns.exists(pod));
        String addr = Witness.addresses(pod, "eth0").stream()
                .filter(a -> !a.startsWith("fe80"))
                .findFirst()
                .orElseThrow();

        CliRunner list = CliRunner.run(args("pod", "list"));
        assertEquals(0, list.code(), list.err());
        assertTrue(
                list.out().lines().anyMatch(l -> l.startsWith(pod + " ") && l.contains(network) && l.contains(addr)),
                list.out());

        CliRunner again = CliRunner.run(args("pod", "create", pod, "--network", network));
        assertEquals(1, again.code());
        assertTrue(NamedNetns.exists(pod), "a failed second create leaves the first pod alone");

        CliRunner delete = CliRunner.run(args("pod", "delete", pod));
        assertEquals(0, delete.code(), delete.err());
        assertFalse(NamedNetns.exists(pod));
        assertFalse(CliRunner.run(args("pod", "list")).out().contains(pod));
    }

    @Test
    void networksListsPluginsAndLoadErrors() {
        CliRunner r = CliRunner.run(args("networks"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith(network + " ") && l.contains("bridge,portmap")), r.out());
        assertTrue(
                r.out()
                        .contains("error: " + netconf.resolve("20-broken.conflist")
                                + ": error parsing configuration list: no plugins in list"),
                r.out());
    }

    @Test
    void badInputIsOneLineNamingTheThing() throws Exception {
        namespaces.create(ns);
        assertOneLine(
                CliRunner.run(args("add", "nosuchnet", ns)),
                1,
                "no net configuration with name \"nosuchnet\" in " + netconf + " (1 file could not be loaded: "
                        + netconf.resolve("20-broken.conflist")
                        + ": error parsing configuration list: no plugins in list)");
        assertOneLine(
                CliRunner.run(args("add", tag + "missing", ns)),
                1,
                "plugin type=\"no-such-plugin\" failed (add): failed to find plugin \"no-such-plugin\" in path [/usr/lib/cni] (CNI error 7)");
        assertOneLine(
                CliRunner.run(args("add", network, tag + "nonet")),
                1,
                "netns \"" + tag + "nonet\" does not exist (neither /run/netns/" + tag + "nonet nor "
                        + Path.of(tag + "nonet").toAbsolutePath() + ")");
        assertOneLine(
                CliRunner.run(args("check", network, "/run/netns/" + tag + "nonet")),
                1,
                "netns \"/run/netns/" + tag + "nonet\" does not exist");
        assertOneLine(
                CliRunner.run(args("add", "broken", ns)),
                1,
                netconf.resolve("20-broken.conflist") + ": error parsing configuration list: no plugins in list");
        assertOneLine(CliRunner.run(args("add", network)), 2, "add takes NETWORK NETNS (see jcni add --help)");
        assertOneLine(
                CliRunner.run(args("add", network, ns, "--args", "novalue")),
                2,
                "invalid CNI_ARGS pair \"novalue\" (expected K=V;K=V)");
        assertOneLine(
                CliRunner.run(args("pod", "delete", tag + "nopod")),
                1,
                "no pod \"" + tag + "nopod\" (nothing cached in " + cache.resolve("results") + ", no /run/netns/" + tag
                        + "nopod)");
        CliRunner debug = CliRunner.run(args("--debug", "add", "nosuchnet", ns));
        assertTrue(debug.err().contains("\tat io.jcni."), "--debug shows the stack trace");
    }

    private static void assertOneLine(CliRunner r, int code, String message) {
        assertEquals(code, r.code(), r.err());
        assertEquals("jcni: " + message + "\n", r.err());
    }
}
