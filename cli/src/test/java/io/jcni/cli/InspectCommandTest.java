package io.jcni.cli;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.MacAddress;
import io.jcni.netlink.probe.Ping;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.testkit.Commands;
import io.jcni.testkit.Json;
import io.jcni.testkit.TestNames;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code jcni inspect node|pod} against a node of the test's own (a namespace with pods made by
 * jcni's plugins), compared with what iproute2, ss, sysctl and /proc say about the same namespace.
 */
class InspectCommandTest {
    static TestNode n;
    static String p1, p2;
    static int httpPort;
    static final List<AutoCloseable> sockets = new ArrayList<>();

    @BeforeAll
    static void setUp() throws Exception {
        n = new TestNode('a');
        p1 = n.pod("p1", "{\"portMappings\": [{\"hostPort\": 18080, \"containerPort\": 80, \"protocol\": \"tcp\"}]}");
        p2 = n.pod("p2", null);
        // listening sockets: this JVM's (TCP on every address, TCP on the node's address, UDP), and another process's
        sockets.add(n.closeLater(in(() -> new ServerSocket(0))));
        sockets.add(n.closeLater(
                in(() -> new ServerSocket(0, 5, InetAddress.getByName(n.ip(2).toString())))));
        sockets.add(n.closeLater(in(() -> new DatagramSocket(new InetSocketAddress(0)))));
        httpPort = 20000 + TestNames.RUN_NUMBER % 20000;
        n.startIn(
                n.nodeNs,
                n.root.resolve("httpd.log"),
                List.of("busybox", "httpd", "-f", "-p", n.ip(2) + ":" + httpPort, "-h", n.root.toString()));
        TestNode.waitFor(
                "busybox httpd listening", () -> ss().stream().anyMatch(l -> l.contains(":" + httpPort + " ")));
        // neighbours: a permanent one on the uplink, and a learned one for p1 (the node pings it)
        try (RouteNetlink rt = RouteNetlink.open(n.nodeNs, Trace.OFF)) {
            rt.neighbours().add(n.uplink, n.ip(99), MacAddress.parse("02:00:00:21:40:99"));
        }
        assertTrue(Ping.once(n.nodeNs, podIp(p1), 3000) >= 0, "the node reaches p1");
    }

    @AfterAll
    static void tearDown() {
        if (n != null) {
            n.close();
        }
    }

    interface IoSupplier<T> {
        T get() throws IOException;
    }

    /** A socket made on a thread inside the node: it belongs to the node's namespace. */
    static <T> T in(IoSupplier<T> s) {
        return n.nodeNs.run(() -> {
            try {
                return s.get();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    static List<String> ss() {
        return Commands.run("ip", "netns", "exec", n.node, "ss", "-ltnupH")
                .lines()
                .toList();
    }

    static IpAddress podIp(String pod) {
        String s = Commands.run("ip", "-n", pod, "-4", "-o", "addr", "show", "dev", "eth0")
                .trim();
        String cidr = s.split("\\s+")[3];
        return IpAddress.parse(cidr.substring(0, cidr.indexOf('/')));
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> node() {
        CliRunner r = CliRunner.run(n.view("inspect", "node", "-o", "json"));
        assertEquals(0, r.code(), r.err());
        return (Map<String, Object>) Json.parse(r.out());
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> list(Object o) {
        return (List<Map<String, Object>>) o;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object o) {
        return (Map<String, Object>) o;
    }

    static List<Map<String, Object>> witness(String... args) {
        return io.jcni.testkit.Json.objects(n.ipNode(args));
    }

    @Test
    void interfacesAreWhatIpLinkSays() {
        Set<String> ours = new TreeSet<>(), theirs = new TreeSet<>();
        for (Map<String, Object> l : list(node().get("interfaces"))) {
            ours.add(l.get("ifindex") + " " + l.get("ifname") + " " + l.get("mtu") + " " + l.get("operstate") + " "
                    + l.get("address") + " " + l.getOrDefault("master", "-"));
        }
        for (Map<String, Object> l : witness("-j", "link", "show")) {
            theirs.add(l.get("ifindex") + " " + l.get("ifname") + " " + l.get("mtu") + " " + l.get("operstate") + " "
                    + l.get("address") + " " + l.getOrDefault("master", "-"));
        }
        assertEquals(theirs, ours);
        assertTrue(ours.stream().anyMatch(s -> s.contains(" " + n.bridge + " 1400 UP ")), "the pods' bridge: " + ours);
    }

    @Test
    void addressesAreWhatIpAddrSays() {
        Set<String> ours = new TreeSet<>(), theirs = new TreeSet<>();
        for (Map<String, Object> a : list(node().get("addresses"))) {
            ours.add(a.get("ifname") + " " + a.get("family") + " " + a.get("local") + "/" + a.get("prefixlen") + " "
                    + a.get("scope"));
        }
        for (Map<String, Object> l : witness("-j", "addr", "show")) {
            for (Map<String, Object> a : list(l.get("addr_info"))) {
                theirs.add(l.get("ifname") + " " + a.get("family") + " " + a.get("local") + "/" + a.get("prefixlen")
                        + " " + a.get("scope"));
            }
        }
        assertEquals(theirs, ours);
        assertTrue(
                ours.contains(n.bridge + " inet 10.214." + (n.base + 1) + ".1/24 global"),
                "the gateway on the bridge: " + ours);
    }

    @Test
    void routesAreWhatIpRouteSays() {
        Set<String> ours = new TreeSet<>(), theirs = new TreeSet<>();
        for (Map<String, Object> r : list(node().get("routes"))) {
            ours.add(r.get("family") + " " + r.get("dst") + " via " + r.getOrDefault("gateway", "-") + " dev "
                    + r.get("dev") + " proto " + r.get("protocol"));
        }
        for (String family : List.of("-4", "-6")) {
            for (Map<String, Object> r : witness(family, "-j", "route", "show")) {
                theirs.add((family.equals("-4") ? "inet" : "inet6") + " " + r.get("dst") + " via "
                        + r.getOrDefault("gateway", "-") + " dev " + r.get("dev") + " proto "
                        + r.getOrDefault("protocol", "boot"));
            }
        }
        assertEquals(theirs, ours);
        assertTrue(ours.contains("inet default via " + n.ip(1) + " dev " + n.uplink + " proto boot"), ours.toString());
    }

    /**
     * The kernel learns neighbours by itself (IPv6 neighbour discovery on the bridge and veths), so
     * the two reads are compared when the table held still around the witness's read.
     */
    @Test
    void neighboursAreWhatIpNeighSays() throws Exception {
        Set<String> ours = null, theirs = null;
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            Set<String> before = neighboursInJson();
            theirs = new TreeSet<>();
            for (Map<String, Object> x : witness("-j", "neigh", "show")) {
                theirs.add(x.get("dst") + " " + x.get("dev") + " " + x.get("lladdr"));
            }
            ours = neighboursInJson();
            if (ours.equals(before)) {
                break;
            }
        }
        assertEquals(theirs, ours);
        List<Map<String, Object>> all = list(node().get("neighbours"));
        assertTrue(
                all.stream()
                        .anyMatch(x -> x.get("dst").equals(n.ip(99).toString())
                                && x.get("state").equals("PERMANENT")),
                all.toString());
        assertTrue(
                all.stream()
                        .anyMatch(x -> x.get("dst").equals(podIp(p1).toString())
                                && x.get("dev").equals(n.bridge)),
                "p1 learned on the bridge: " + all);
    }

    static Set<String> neighboursInJson() {
        Set<String> ours = new TreeSet<>();
        for (Map<String, Object> x : list(node().get("neighbours"))) {
            ours.add(x.get("dst") + " " + x.get("dev") + " " + x.get("lladdr"));
        }
        return ours;
    }

    @Test
    void forwardingIsWhatSysctlSays() {
        Map<String, Object> f = map(node().get("forwarding"));
        String v4 = Commands.run("ip", "netns", "exec", n.node, "sysctl", "-n", "net.ipv4.ip_forward")
                .trim();
        String v6 = Commands.run("ip", "netns", "exec", n.node, "sysctl", "-n", "net.ipv6.conf.all.forwarding")
                .trim();
        assertEquals(v4, f.get("ipv4"));
        assertEquals(v6, f.get("ipv6"));
        assertEquals("1", v4, "the gateway bridge turned forwarding on");
    }

    /** ss -ltnupH against the same namespace: the same sockets, held by the same processes. */
    @Test
    void listeningSocketsAreWhatSsSaysWithTheirProcesses() throws Exception {
        Set<String> ours = new TreeSet<>(), theirs = new TreeSet<>();
        for (Map<String, Object> s : list(node().get("sockets"))) {
            List<String> who = new ArrayList<>();
            for (Map<String, Object> p : list(s.get("processes"))) {
                who.add(p.get("program") + "/" + p.get("pid"));
            }
            ours.add(s.get("protocol") + " " + s.get("local") + " " + String.join(",", new TreeSet<>(who)));
        }
        for (String line : ss()) {
            String[] f = line.trim().split("\\s+");
            TreeSet<String> who = new TreeSet<>();
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\(\"([^\"]+)\",pid=(\\d+)")
                    .matcher(line);
            while (m.find()) {
                who.add(m.group(1) + "/" + m.group(2));
            }
            theirs.add(f[0] + " " + f[4] + " " + String.join(",", who));
        }
        assertEquals(theirs, ours);
        long me = ProcessHandle.current().pid();
        assertEquals(
                3, ours.stream().filter(s -> s.endsWith(" java/" + me)).count(), "this JVM's three sockets: " + ours);
        String httpd = ours.stream()
                .filter(s -> s.contains(":" + httpPort + " "))
                .findFirst()
                .orElseThrow();
        assertTrue(httpd.startsWith("tcp " + n.ip(2) + ":" + httpPort + " busybox/"), httpd);
        int pid = Integer.parseInt(httpd.substring(httpd.lastIndexOf('/') + 1));
        assertTrue(
                Files.readString(Path.of("/proc/" + pid + "/cmdline")).startsWith("busybox\0httpd"),
                "the pid is httpd's");
    }

    @Test
    void vethPeersAreFollowedIntoTheirPods() {
        List<Map<String, Object>> ifs = list(node().get("interfaces"));
        for (String pod : List.of(p1, p2)) {
            Map<String, Object> veth = ifs.stream()
                    .filter(l -> l.get("peer") != null
                            && pod.equals(map(l.get("peer")).get("pod")))
                    .findFirst()
                    .orElseThrow(() -> new AssertionError("no veth for " + pod + " in " + ifs));
            Map<String, Object> peer = map(veth.get("peer"));
            assertEquals("/run/netns/" + pod, peer.get("netns"));
            assertEquals("eth0", peer.get("ifname"));
            assertEquals(n.network, peer.get("network"));
            assertEquals("jcni-pod-" + pod, peer.get("containerId"));
            assertEquals(n.bridge, veth.get("master"));
            // the witness: the pod's eth0 is the peer of exactly this index
            Map<String, Object> eth0 = io.jcni.testkit.Json.objects(Commands.ip(pod, "link", "show", "eth0"))
                    .get(0);
            assertEquals(veth.get("ifindex"), ((Number) eth0.get("link_index")).longValue());
            assertEquals(((Number) peer.get("ifindex")).longValue(), ((Number) eth0.get("ifindex")).longValue());
        }
        Map<String, Object> up = ifs.stream()
                .filter(l -> l.get("ifname").equals(n.uplink))
                .findFirst()
                .orElseThrow();
        assertEquals("/run/netns/" + n.out, map(up.get("peer")).get("netns"), "a veth to a namespace that is no pod");
        assertNull(map(up.get("peer")).get("pod"));
    }

    @Test
    void clusterInterfaceIsTheDefaultRoutesWithoutAnAgent() {
        Map<String, Object> c = map(node().get("cluster"));
        Map<String, Object> i = map(c.get("interface"));
        assertEquals(n.uplink, i.get("ifname"));
        assertEquals(n.ip(2).toString(), i.get("address"));
        assertEquals(io.jcni.testkit.Witness.link(n.node, n.uplink).get("address"), i.get("mac"));
        assertEquals("default route", i.get("source"));
        assertEquals(List.of(), c.get("agent"));
    }

    @Test
    void jcniStateShowsNetworksUsageElementsAndTheDaemon() throws Exception {
        Map<String, Object> j = map(node().get("jcni"));
        Map<String, Object> net = list(j.get("networks")).get(0);
        assertEquals(n.network, net.get("name"));
        Map<String, Object> range = list(net.get("ranges")).get(0);
        assertEquals(n.podNet.toString(), range.get("subnet"));
        long reserved;
        try (var s = Files.list(n.ipam.resolve(n.network))) {
            reserved = s.filter(p -> p.getFileName().toString().startsWith("10.214."))
                    .count();
        }
        assertEquals(reserved, ((Number) range.get("used")).longValue(), "one reservation file per used address");
        assertEquals(
                253 - reserved, ((Number) range.get("free")).longValue(), "a /24 less network, broadcast and gateway");
        assertEquals(2, list(j.get("attachments")).size());
        // NAT: pods4 and local4 elements per pod, owned by their attachment, as nft lists them
        String nft = Commands.run("ip", "netns", "exec", n.node, "nft", "list", "table", "inet", "jcni");
        for (String pod : List.of(p1, p2)) {
            String owner = n.network + "/jcni-pod-" + pod + "/eth0";
            String ip = podIp(pod).toString();
            List<Map<String, Object>> masq = list(map(j.get("nft")).get("masquerade"));
            assertTrue(
                    masq.stream()
                            .anyMatch(m -> m.get("set").equals("pods4")
                                    && m.get("element").equals(ip)
                                    && owner.equals(m.get("owner"))),
                    masq.toString());
            assertTrue(
                    masq.stream()
                            .anyMatch(m -> m.get("set").equals("local4")
                                    && m.get("element").equals(ip + " . " + n.podNet)),
                    masq.toString());
            assertTrue(nft.contains(ip + " comment \"" + owner + "\""), nft);
        }
        List<Map<String, Object>> ports = list(map(j.get("nft")).get("hostPorts"));
        assertEquals(1, ports.size(), ports.toString());
        assertEquals(18080L, ports.get(0).get("hostPort"));
        assertEquals(podIp(p1).toString(), ports.get(0).get("target"));
        assertEquals(80L, ports.get(0).get("targetPort"));
        String map =
                Commands.run("ip", "netns", "exec", n.node, "nft", "list", "map", "inet", "jcni_hostport", "ports4");
        assertTrue(
                map.contains(
                        "tcp . 18080 comment \"" + n.network + "/jcni-pod-" + p1 + "/eth0\" : " + podIp(p1) + " . 80"),
                map);
        Map<String, Object> sock = map(j.get("pluginSocket"));
        assertEquals(true, sock.get("answering"), sock.toString());
        assertEquals("daemon", sock.get("servedBy"), "the holder of the socket is the daemon process: " + sock);
    }

    @Test
    void theTableNamesEverySection() {
        CliRunner r = CliRunner.run(n.view("inspect", "node"));
        assertEquals(0, r.code(), r.err());
        for (String s : List.of(
                "Interfaces (ip link)",
                "Addresses (ip addr)",
                "Routes",
                "Neighbours (ip neigh, arp)",
                "Forwarding (sysctl)",
                "net.ipv4.ip_forward = 1",
                "Listening sockets (netstat -plnt",
                "Cluster traffic",
                "interface: " + n.uplink,
                "(from the default route)",
                n.network,
                "NAT (nft table inet jcni)",
                "tcp 18080 -> " + podIp(p1) + ":80",
                "plugin socket " + n.socket + ": answering",
                p1,
                p2)) {
            assertTrue(r.out().contains(s), "missing \"" + s + "\" in:\n" + r.out());
        }
    }

    @Test
    void podIsFoundByNameContainerIdAndNetnsPathAndAgreesWithItsNamespace() {
        Map<String, Object> byName = pod(p1);
        assertEquals(byName, pod("jcni-pod-" + p1));
        assertEquals(byName, pod("/run/netns/" + p1));
        assertEquals(p1, byName.get("pod"));
        assertEquals(List.of(), byName.get("findings"), "a healthy pod has no inconsistencies");
        Set<String> ours = new TreeSet<>(), theirs = new TreeSet<>();
        for (Map<String, Object> a : list(byName.get("addresses"))) {
            ours.add(a.get("ifname") + " " + a.get("local") + "/" + a.get("prefixlen"));
        }
        for (Map<String, Object> l : io.jcni.testkit.Json.objects(Commands.ip(p1, "addr", "show"))) {
            for (Map<String, Object> a : list(l.get("addr_info"))) {
                theirs.add(l.get("ifname") + " " + a.get("local") + "/" + a.get("prefixlen"));
            }
        }
        assertEquals(theirs, ours);
        Map<String, Object> veth = map(byName.get("hostVeth"));
        assertEquals(n.bridge, veth.get("master"));
        assertEquals("jcni " + n.network + "/jcni-pod-" + p1 + "/eth0", veth.get("alias"));
        assertEquals(1, list(byName.get("reservations")).size());
        assertEquals(2, list(byName.get("masquerade")).size());
        assertEquals(1, list(byName.get("hostPorts")).size());
        assertNotNull(map(byName.get("cache")).get("result"));
        CliRunner table = CliRunner.run(n.view("inspect", "pod", p2));
        assertEquals(0, table.code(), table.err());
        assertTrue(table.out().contains("No inconsistencies."), table.out());
        assertEquals(1, CliRunner.run(n.view("inspect", "pod", "jin-nosuchpod")).code());
    }

    static Map<String, Object> pod(String arg) {
        CliRunner r = CliRunner.run(n.view("inspect", "pod", arg, "-o", "json"));
        assertEquals(0, r.code(), r.out() + r.err());
        return map(Json.parse(r.out()));
    }

    /** Each broken piece of a pod is named; the pod is put back after each. */
    @Test
    void podInconsistenciesAreNamed() throws Exception {
        String ip = podIp(p2) + "/24";
        Commands.run("ip", "-n", p2, "addr", "del", ip, "dev", "eth0");
        try {
            assertFinding(p2, "ip-missing", "address " + ip + " is in the cache but not on eth0");
        } finally {
            Commands.run("ip", "-n", p2, "addr", "add", ip, "dev", "eth0");
        }
        String veth = hostVeth(p2);
        n.ipNode("link", "set", veth, "nomaster");
        try {
            assertFinding(p2, "veth-not-on-bridge", "host veth " + veth + " is on no bridge, not on " + n.bridge);
        } finally {
            n.ipNode("link", "set", veth, "master", n.bridge);
        }
        Path reservation = n.ipam.resolve(n.network).resolve(podIp(p2).toString());
        byte[] content = Files.readAllBytes(reservation);
        Files.delete(reservation);
        try {
            assertFinding(p2, "reservation-missing", podIp(p2) + " is not reserved in ");
        } finally {
            Files.write(reservation, content);
        }
        assertEquals(List.of(), pod(p2).get("findings"), "restored");
    }

    static String hostVeth(String pod) {
        return (String) map(pod(pod).get("hostVeth")).get("ifname");
    }

    static void assertFinding(String pod, String check, String text) {
        CliRunner r = CliRunner.run(n.view("inspect", "pod", pod, "-o", "json"));
        assertEquals(1, r.code(), "an inconsistency makes inspect pod exit 1: " + r.out() + r.err());
        List<Map<String, Object>> f = list(map(Json.parse(r.out())).get("findings"));
        assertTrue(
                f.stream().anyMatch(x -> x.get("check").equals(check) && ((String) x.get("message")).contains(text)),
                check + " / " + text + " not in " + f);
    }
}
