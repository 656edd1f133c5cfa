package io.jcni.cli;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ip.MacAddress;
import io.jcni.netlink.ns.NamedNetns;
import io.jcni.netlink.route.LinkSpec;
import io.jcni.netlink.route.Neighbours;
import io.jcni.netlink.route.Route;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.netlink.route.Rtnl;
import io.jcni.testkit.Commands;
import io.jcni.testkit.Json;
import io.jcni.testkit.Witness;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * {@code jcni doctor [--fix]} on a node of the test's own: healthy, it reports nothing; then every
 * fault is made on purpose at once (forwarding off, a pod's namespace killed under its
 * reservation, a pod's veth deleted, a stray veth tagged for no pod, a NAT element and a host port
 * for addresses no one holds, the bridge's gateway address removed, a veth's MTU changed, a
 * configuration naming a plugin that is not installed, a route to a cluster peer deleted). Each is
 * found, {@code --fix} repairs the safe ones (checked with ip, nft, sysctl and the files; the pod
 * whose veth was deleted, one of {@code jcni pod create}'s, is added again with its own address),
 * prints each repair as its command and exits 1 while something is left; what a person must do
 * (install the plugin) is left and named. Once that is done too, the node is healthy again.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DoctorCommandTest {
    static TestNode n;
    static String p1, p2, p3, p4;
    static final int VNI = 7;
    static String vxlan = "jcni." + VNI;
    static IpPrefix peerSubnet;
    static IpAddress peerGateway;

    @BeforeAll
    static void setUp() throws Exception {
        n = new TestNode('b');
        p1 = n.pod("p1", "{\"portMappings\": [{\"hostPort\": 18081, \"containerPort\": 80, \"protocol\": \"tcp\"}]}");
        p2 = n.pod("p2", null);
        p3 = n.pod("p3", null);
        p4 = n.pod("p4", "{\"portMappings\": [{\"hostPort\": 18082, \"containerPort\": 80, \"protocol\": \"tcp\"}]}");
        // the node in a cluster network, as the agent leaves it (vxlan): subnet.env, the device, one peer's trio
        Files.writeString(
                n.subnetFile,
                "JCNI_NETWORK=10.214.0.0/16\nJCNI_SUBNET=10.214." + (n.base + 1) + ".1/24\nJCNI_MTU=1400\n"
                        + "JCNI_IPMASQ=false\n");
        peerSubnet = IpPrefix.parse("10.214." + (n.base + 2) + ".0/24");
        peerGateway = peerSubnet.address();
        MacAddress vtep = MacAddress.parse("02:00:00:21:4b:02");
        try (RouteNetlink rt = RouteNetlink.open(n.nodeNs, Trace.OFF)) {
            // inside the test's own node namespace: the name is the agent's, nothing outside can see it
            rt.links()
                    .add(LinkSpec.vxlan(vxlan, VNI)
                            .vxlanLocal(n.ip(2))
                            .vxlanDevice(n.uplink)
                            .vxlanPort(8472)
                            .vxlanLearning(false)
                            .mtu(1450)
                            .up());
            rt.neighbours().replace(vxlan, peerGateway, vtep, Rtnl.NUD_PERMANENT);
            rt.neighbours().replaceFdb(vxlan, vtep, n.ip(3), Neighbours.SELF, Neighbours.FDB_PERMANENT);
            rt.routes()
                    .replace(Route.to(peerSubnet)
                            .via(peerGateway)
                            .dev(vxlan)
                            .withOnlink()
                            .protocol(215));
        }
        Process agent = n.startIn(
                n.nodeNs,
                n.root.resolve("agent.log"),
                "io.jcni.cli.FakeAgent",
                "io.jcni.agent.AgentMain",
                "agent",
                "--iface",
                n.uplink);
        TestNode.waitFor(
                "the agent's command line",
                () -> agent.descendants()
                        .anyMatch(h -> h.info()
                                .arguments()
                                .map(a -> List.of(a).contains("io.jcni.agent.AgentMain"))
                                .orElse(false)));
    }

    @AfterAll
    static void tearDown() {
        if (n != null) {
            n.close();
        }
    }

    static CliRunner doctor(String... more) {
        String[] args = new String[more.length + 1];
        args[0] = "doctor";
        System.arraycopy(more, 0, args, 1, more.length);
        return CliRunner.run(n.view(args));
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> findings(CliRunner r, String key) {
        return (List<Map<String, Object>>) ((Map<String, Object>) Json.parse(r.out())).get(key);
    }

    static Set<String> checks(List<Map<String, Object>> findings) {
        Set<String> s = new TreeSet<>();
        findings.forEach(f -> s.add((String) f.get("check")));
        return s;
    }

    @Test
    @Order(1)
    void aHealthyNodeReportsNothing() {
        CliRunner r = doctor("-o", "json");
        assertEquals(List.of(), findings(r, "findings"), r.out());
        assertEquals(0, r.code());
        CliRunner table = doctor();
        assertEquals(0, table.code());
        assertEquals("No problems found.\n", table.out());
        // the cluster view: the agent's --iface, the peer with its route
        CliRunner node = CliRunner.run(n.view("inspect", "node"));
        assertTrue(node.out().contains("interface: " + n.uplink + "  address " + n.ip(2)), node.out());
        assertTrue(node.out().contains("(from the agent --iface)"), node.out());
        assertTrue(
                node.out()
                        .lines()
                        .anyMatch(l -> l.contains(peerSubnet.toString())
                                && l.contains("proto 215")
                                && l.contains("02:00:00:21:4b:02")
                                && l.contains(n.ip(3).toString())),
                node.out());
    }

    /**
     * {@code jcni graph}: valid XML naming every pod, address and link, the NAT edge and the route to
     * the peer; rendered by headless Chromium, whose screenshot stays in target/graph-test.
     */
    @Test
    @Order(2)
    void theGraphNamesEveryPodAddressAndLinkAndRenders() throws Exception {
        Path dir = Files.createDirectories(Path.of("target", "graph-test"));
        Path svg = dir.resolve("node.svg");
        CliRunner r = CliRunner.run(n.view("graph", "--output", svg.toString()));
        assertEquals(0, r.code(), r.err());
        javax.xml.parsers.DocumentBuilderFactory dbf = javax.xml.parsers.DocumentBuilderFactory.newInstance();
        dbf.setNamespaceAware(true);
        dbf.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        org.w3c.dom.Document doc = dbf.newDocumentBuilder().parse(svg.toFile());
        assertEquals("svg", doc.getDocumentElement().getLocalName());
        assertEquals("http://www.w3.org/2000/svg", doc.getDocumentElement().getNamespaceURI());
        StringBuilder text = new StringBuilder();
        org.w3c.dom.NodeList texts = doc.getElementsByTagNameNS("http://www.w3.org/2000/svg", "text");
        for (int i = 0; i < texts.getLength(); i++) {
            text.append(texts.item(i).getTextContent()).append('\n');
        }
        String t = text.toString();
        for (String pod : List.of(p1, p2, p3, p4)) {
            assertTrue(t.contains("pod " + pod), pod + " in:\n" + t);
            assertTrue(t.contains("eth0 " + podIpFromFile(reservationOf(pod)) + "/24"), pod + "'s address in:\n" + t);
            assertTrue(t.contains("veth " + vethOf(pod)), pod + "'s veth in:\n" + t);
        }
        for (String s : List.of(
                "bridge " + n.bridge,
                "10.214." + (n.base + 1) + ".1/24",
                n.uplink,
                n.ip(2) + "/24",
                "vxlan " + vxlan,
                "cluster interface (agent --iface)",
                "NAT: masquerade 4 pod addresses (inet jcni)",
                "route proto 215",
                "pods " + peerSubnet,
                "node " + n.ip(3),
                "hostPort tcp 18081 -> 80",
                "default gateway",
                n.ip(1).toString())) {
            assertTrue(t.contains(s), "\"" + s + "\" in:\n" + t);
        }
        CliRunner dot = CliRunner.run(n.view("graph", "--format", "dot"));
        assertEquals(0, dot.code(), dot.err());
        assertTrue(dot.out().startsWith("digraph jcni {"), dot.out());
        for (String pod : List.of(p1, p2, p3, p4)) {
            assertTrue(dot.out().contains("pod " + pod), dot.out());
        }
        Files.writeString(dir.resolve("node.dot"), dot.out());
        CliRunner json = CliRunner.run(n.view("graph", "-o", "json"));
        assertEquals(0, json.code(), json.err());
        @SuppressWarnings("unchecked")
        Map<String, Object> g = (Map<String, Object>) Json.parse(json.out());
        assertTrue(
                ((List<?>) g.get("edges"))
                        .stream()
                                .anyMatch(e ->
                                        ((Map<?, ?>) e).get("label").toString().startsWith("NAT: masquerade")),
                json.out());
        GraphRendering.screenshot(svg, dir.resolve("node.png"));
    }

    @Test
    @Order(3)
    void everyFaultIsFoundTheSafeOnesRepairedAndTheRestLeft() throws Exception {
        String node = n.node;
        String gateway = "10.214." + (n.base + 1) + ".1/24";
        String p2veth = vethOf(p2), p3veth = vethOf(p3);
        Path p4reservation = reservationOf(p4);
        Path p4cache = n.cache.resolve("results").resolve(n.network + "-jcni-pod-" + p4 + "-eth0");
        assertTrue(Files.exists(p4cache));
        String stray = n.prefix + "sx";
        String ghost = n.network + "/ghost/eth0";
        String staleIp = "10.214." + (n.base + 1) + ".200";
        String stalePortIp = "10.214." + (n.base + 1) + ".201";

        Commands.run("ip", "netns", "exec", node, "sysctl", "-qw", "net.ipv4.ip_forward=0");
        NamedNetns.delete(p4, Trace.OFF);
        n.ipNode("link", "del", p3veth);
        n.ipNode("link", "add", stray, "type", "veth", "peer", "name", n.prefix + "sy");
        n.ipNode("link", "set", stray, "master", n.bridge, "alias", "jcni " + ghost);
        nft("add element inet jcni pods4 { " + staleIp + " comment \"" + ghost + "\" }");
        nft("add element inet jcni_hostport ports4 { tcp . 18999 comment \"" + ghost + "\" : " + stalePortIp
                + " . 80 }");
        n.ipNode("addr", "del", gateway, "dev", n.bridge);
        n.ipNode("link", "set", p2veth, "mtu", "1300");
        Path bad = n.netconf.resolve("20-" + n.prefix + "bad.conflist");
        Files.writeString(
                bad,
                "{\"cniVersion\": \"1.0.0\", \"name\": \"" + n.prefix
                        + "bad\", \"plugins\": [{\"type\": \"jin-nosuch\"}]}");
        n.ipNode("route", "del", peerSubnet.toString());

        CliRunner found = doctor("-o", "json");
        assertEquals(1, found.code());
        List<Map<String, Object>> f = findings(found, "findings");
        assertEquals(
                Set.of(
                        "ip-forward-off",
                        "stale-attachment",
                        "interface-missing",
                        "orphan-veth",
                        "stale-nat",
                        "stale-hostport",
                        "bridge-address",
                        "mtu-mismatch",
                        "missing-plugin",
                        "peer-route-missing"),
                checks(f),
                found.out());
        assertFinding(f, "ip-forward-off", "error", "ip netns exec " + node + " sysctl -w net.ipv4.ip_forward=1", true);
        assertFinding(f, "stale-attachment", "error", "jcni doctor --fix", true);
        String p3ip = podIpFromFile(reservationOf(p3));
        String readd = "ip netns exec " + node + " jcni del " + n.network + " /run/netns/" + p3
                + " --container-id jcni-pod-" + p3
                + " --ifname eth0 && ip netns exec " + node + " jcni add " + n.network + " /run/netns/" + p3
                + " --container-id jcni-pod-"
                + p3 + " --ifname eth0 --args 'IgnoreUnknown=1;IP=" + p3ip + ";MAC=";
        assertFinding(f, "interface-missing", "error", readd, true);
        assertFinding(f, "orphan-veth", "warning", "ip -n " + node + " link del " + stray, true);
        assertFinding(
                f,
                "stale-nat",
                "error",
                "ip netns exec " + node + " nft 'delete element inet jcni pods4 { " + staleIp + " }'",
                true);
        assertFinding(
                f, "stale-hostport", "error", "nft 'delete element inet jcni_hostport ports4 { tcp . 18999 }'", true);
        assertFinding(
                f, "bridge-address", "error", "ip -n " + node + " addr add " + gateway + " dev " + n.bridge, true);
        assertFinding(
                f,
                "mtu-mismatch",
                "warning",
                "ip -n " + node + " link set " + p2veth + " mtu 1400; ip -n " + p2 + " link set eth0 mtu 1400",
                true);
        assertFinding(f, "missing-plugin", "error", "install the jin-nosuch plugin into " + n.bin, false);
        assertFinding(
                f,
                "peer-route-missing",
                "error",
                "ip -n " + node + " route replace " + peerSubnet + " via " + peerGateway + " dev " + vxlan
                        + " proto 215 onlink",
                true);
        CliRunner table = doctor();
        assertTrue(
                table.out().contains("error   ip-forward-off (net.ipv4.ip_forward): net.ipv4.ip_forward is 0"),
                table.out());
        assertTrue(
                table.out()
                        .contains("        fix: ip netns exec " + node + " sysctl -w net.ipv4.ip_forward=1   [--fix]"),
                table.out());

        CliRunner fix = doctor("--fix");
        assertEquals(1, fix.code(), "something is left: " + fix.out());
        String out = fix.out();
        for (String command : List.of(
                "+ ip netns exec " + node + " sysctl -w net.ipv4.ip_forward=1",
                "+ rm " + p4reservation,
                "+ rm " + p4cache,
                "+ ip netns exec " + node + " nft 'delete element inet jcni pods4 { " + podIpFromFile(p4reservation)
                        + " }'",
                "+ ip -n " + node + " link del " + stray,
                "+ ip netns exec " + node + " nft 'delete element inet jcni pods4 { " + staleIp + " }'",
                "+ ip netns exec " + node + " nft 'delete element inet jcni_hostport ports4 { tcp . 18999 }'",
                "+ ip -n " + node + " addr add " + gateway + " brd + dev " + n.bridge,
                "+ ip -n " + node + " link set " + p2veth + " mtu 1400",
                "+ ip -n " + p2 + " link set eth0 mtu 1400",
                "+ ip -n " + node + " route replace " + peerSubnet + " via " + peerGateway + " dev " + vxlan
                        + " proto 215 onlink",
                "+ ip netns exec " + node + " jcni del " + n.network + " /run/netns/" + p3,
                "+ ip netns exec " + node + " jcni add " + n.network + " /run/netns/" + p3)) {
            assertTrue(out.contains(command), "missing \"" + command + "\" in:\n" + out);
        }
        assertTrue(out.contains("Left:\n"), out);

        // the witnesses
        assertEquals(
                "1",
                Commands.run("ip", "netns", "exec", node, "sysctl", "-n", "net.ipv4.ip_forward")
                        .trim());
        assertFalse(Files.exists(p4reservation), "p4's reservation released");
        assertFalse(Files.exists(p4cache), "p4's cache entry removed");
        String masq = Commands.run("ip", "netns", "exec", node, "nft", "list", "table", "inet", "jcni");
        assertFalse(masq.contains(podIpFromFile(p4reservation) + " "), masq);
        assertFalse(masq.contains(staleIp), masq);
        assertFalse(masq.contains("ghost"), masq);
        String ports = Commands.run("ip", "netns", "exec", node, "nft", "list", "table", "inet", "jcni_hostport");
        assertFalse(ports.contains("18999"), ports);
        assertFalse(ports.contains("18082"), "p4's host port went with it: " + ports);
        assertTrue(ports.contains("18081"), "p1's host port stays: " + ports);
        assertFalse(Witness.linkNames(node).contains(stray));
        assertTrue(Witness.addresses(node, n.bridge).contains(gateway));
        assertEquals(1400L, ((Number) Witness.link(node, p2veth).get("mtu")).longValue());
        assertEquals(1400L, ((Number) Witness.link(p2, "eth0").get("mtu")).longValue());
        List<Map<String, Object>> routes = Json.objects(n.ipNode("-j", "route", "show", "proto", "215"));
        assertEquals(1, routes.size(), routes.toString());
        assertEquals(peerSubnet.toString(), routes.get(0).get("dst"));
        assertEquals(vxlan, routes.get(0).get("dev"));

        assertEquals(
                List.of(p3ip + "/24"),
                Witness.addresses(p3, "eth0").stream()
                        .filter(a -> !a.startsWith("fe80"))
                        .toList(),
                "p3 has its interface back, with its own address");

        // left: what a person has to decide; then doing it leaves a healthy node
        CliRunner left = doctor("-o", "json");
        assertEquals(Set.of("missing-plugin"), checks(findings(left, "findings")), left.out());
        assertEquals(1, left.code());
        Files.delete(bad);
        CliRunner healthy = doctor();
        assertEquals("No problems found.\n", healthy.out());
        assertEquals(0, healthy.code());
    }

    static void nft(String command) {
        Commands.run("ip", "netns", "exec", n.node, "sh", "-c", "nft '" + command + "'");
    }

    @SuppressWarnings("unchecked")
    static String vethOf(String pod) {
        CliRunner r = CliRunner.run(n.view("inspect", "pod", pod, "-o", "json"));
        return (String)
                ((Map<String, Object>) ((Map<String, Object>) Json.parse(r.out())).get("hostVeth")).get("ifname");
    }

    static Path reservationOf(String pod) throws Exception {
        try (var s = Files.list(n.ipam.resolve(n.network))) {
            for (Path p : s.toList()) {
                if (p.getFileName().toString().startsWith("10.214.")
                        && Files.readString(p).startsWith("jcni-pod-" + pod + "\r\n")) {
                    return p;
                }
            }
        }
        throw new AssertionError("no reservation for " + pod);
    }

    static String podIpFromFile(Path reservation) {
        return reservation.getFileName().toString();
    }

    static void assertFinding(List<Map<String, Object>> f, String check, String severity, String fix, boolean fixable) {
        Map<String, Object> x =
                f.stream().filter(m -> m.get("check").equals(check)).findFirst().orElseThrow();
        assertEquals(severity, x.get("severity"), x.toString());
        assertTrue(((String) x.get("fix")).contains(fix), "fix of " + check + ": " + x.get("fix") + " lacks " + fix);
        assertEquals(fixable, x.get("fixable"), x.toString());
    }
}
