package io.jcni.plugins.portmap;

import static io.jcni.plugins.testing.PluginFixture.json;
import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.CniVersion;
import io.jcni.cni.PluginResponse;
import io.jcni.netlink.ns.Sysctl;
import io.jcni.plugins.testing.PluginFixture;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every verb of jcni-portmap for every spec version, the options' validation, and what stays in nftables. */
class PortmapVerbsTest {
    static List<String> versions() {
        return CniVersion.SUPPORTED;
    }

    static final String MAPPINGS = """
            [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"},
             {"hostPort": 5300, "containerPort": 53, "protocol": "udp"},
             {"hostPort": 9090, "containerPort": 90, "protocol": "tcp", "hostIP": "10.77.0.1"},
             {"hostPort": 7070, "containerPort": 70, "protocol": "tcp", "hostIP": "fd00::1"}]""";

    @ParameterizedTest
    @MethodSource("versions")
    void addCheckGcStatusDel(String version) {
        try (PortmapWorld w = new PortmapWorld("pv")) {
            String[] pod = w.pod("p", "c1", version);
            String ns = pod[0], prev = pod[1];
            String ip = PortmapWorld.podAddress(prev);
            String owner = w.f.network + "/c1/eth0";
            String cfg = w.portmapConfig(version, MAPPINGS, "", prev);

            PluginResponse add = w.portmap("ADD", "c1", ns, cfg);
            assertEquals(0, add.exitCode(), add.stdoutText() + add.stderr());
            assertEquals(
                    json(new PluginResponse(prev.getBytes(), "", 0)), json(add), "prevResult passes through unchanged");
            assertEquals(
                    List.of(
                                    "ports4: udp . 5300 comment " + owner,
                                    "ports4: tcp . 8080 comment " + owner,
                                    "hostip4: 10.77.0.1 . tcp . 9090 comment " + owner,
                                    "masq4: " + ip + " . " + ip + " comment " + owner,
                                    "masq4: 127.0.0.1 . " + ip + " comment " + owner)
                            .stream()
                            .sorted()
                            .toList(),
                    w.elements().stream().sorted().toList(),
                    "the IPv6 hostIP mapping is skipped for an IPv4-only pod");
            String listed = w.nft("list", "map", "inet", PortmapTable.TABLE, "ports4");
            assertTrue(listed.contains("tcp . 8080 comment \"" + owner + "\" : " + ip + " . 80"), listed);
            assertEquals(
                    "1",
                    Sysctl.read(w.node, "net/ipv4/conf/" + w.f.bridge + "/route_localnet")
                            .trim());
            int rules = w.rules();
            assertEquals(12, rules, w.nft("list", "table", "inet", PortmapTable.TABLE));

            // ADD again (a runtime retry): nothing changes, nothing fails
            PluginResponse again = w.portmap("ADD", "c1", ns, cfg);
            assertEquals(0, again.exitCode(), again.stdoutText());
            assertEquals(5, w.elements().size());
            assertEquals(rules, w.rules());

            if (!version.startsWith("0.3.")) {
                PluginResponse check = w.portmap("CHECK", "c1", ns, cfg);
                assertEquals(0, check.exitCode(), check.stdoutText());
            }
            if (version.equals("1.1.0")) {
                String gc = w.portmapConfig(
                        version,
                        null,
                        "\"cni.dev/valid-attachments\": [{\"containerID\": \"c1\", \"ifname\": \"eth0\"}],",
                        null);
                assertEquals(
                        0,
                        w.inNode(() -> PluginFixture.call(new Portmap(), gcEnv(), gc))
                                .exitCode());
                assertEquals(5, w.elements().size(), "GC keeps a valid attachment's elements");
                assertEquals(
                        0,
                        w.inNode(() -> PluginFixture.call(
                                        new Portmap(), statusEnv(), w.portmapConfig(version, null, "", null)))
                                .exitCode());
            }

            PluginResponse del = w.portmap("DEL", "c1", ns, cfg);
            assertEquals(0, del.exitCode(), del.stdoutText());
            assertEquals(List.of(), w.elements());
            assertEquals(rules, w.rules(), "DEL leaves the shared rules, and only them");
            assertEquals(0, w.portmap("DEL", "c1", ns, cfg).exitCode(), "DEL is idempotent");
            assertEquals(
                    0,
                    w.portmap("DEL", "c1", "", w.portmapConfig(version, MAPPINGS, "", null))
                            .exitCode(),
                    "DEL without netns and prevResult");
        }
    }

    static Map<String, String> gcEnv() {
        Map<String, String> env = PluginFixture.env("GC", "", "", "");
        return env;
    }

    static Map<String, String> statusEnv() {
        return PluginFixture.env("STATUS", "", "", "");
    }

    @Test
    void checkFailsWhenAnElementIsMissingOrDiffers() {
        try (PortmapWorld w = new PortmapWorld("pc")) {
            String[] pod = w.pod("p", "c1", "1.1.0");
            String cfg = w.portmapConfig("1.1.0", "[{\"hostPort\": 8081, \"containerPort\": 80}]", "", pod[1]);
            assertEquals(0, w.portmap("ADD", "c1", pod[0], cfg).exitCode());
            String other = w.portmapConfig("1.1.0", "[{\"hostPort\": 8081, \"containerPort\": 81}]", "", pod[1]);
            PluginResponse differs = w.portmap("CHECK", "c1", pod[0], other);
            assertEquals(104, (long) (Long) json(differs).get("code"), differs.stdoutText());
            assertTrue(differs.stdoutText().contains("tcp . 8081"), differs.stdoutText());
            assertEquals(0, w.portmap("DEL", "c1", pod[0], cfg).exitCode());
            PluginResponse missing = w.portmap("CHECK", "c1", pod[0], cfg);
            assertEquals(104, (long) (Long) json(missing).get("code"), missing.stdoutText());
            PluginResponse noPrev = w.portmap("CHECK", "c1", pod[0], w.portmapConfig("1.1.0", "[]", "", null));
            assertEquals(7, (long) (Long) json(noPrev).get("code"));
        }
    }

    @Test
    void secondContainerOnTheSameHostPortFailsAndItsDelLeavesTheFirstAlone() {
        try (PortmapWorld w = new PortmapWorld("pd")) {
            String[] a = w.pod("a", "ca", "1.1.0");
            String[] b = w.pod("b", "cb", "1.1.0");
            String m = "[{\"hostPort\": 8082, \"containerPort\": 80, \"protocol\": \"tcp\"}]";
            assertEquals(
                    0,
                    w.portmap("ADD", "ca", a[0], w.portmapConfig("1.1.0", m, "", a[1]))
                            .exitCode());
            List<String> before = w.elements();
            PluginResponse clash = w.portmap("ADD", "cb", b[0], w.portmapConfig("1.1.0", m, "", b[1]));
            Map<String, Object> err = json(clash);
            assertEquals((long) Portmap.HOST_PORT_TAKEN, err.get("code"), clash.stdoutText());
            assertTrue(
                    ((String) err.get("details"))
                            .contains("tcp . 8082 is mapped to " + PortmapWorld.podAddress(a[1]) + " . 80 by "
                                    + w.f.network + "/ca/eth0"),
                    clash.stdoutText());
            assertEquals(before, w.elements(), "the failed ADD left nothing");
            // the runtime cleans up the failed attachment: a's mapping survives, with or without mappings in the DEL
            assertEquals(
                    0,
                    w.portmap("DEL", "cb", b[0], w.portmapConfig("1.1.0", m, "", b[1]))
                            .exitCode());
            assertEquals(
                    0,
                    w.portmap("DEL", "cb", b[0], w.portmapConfig("1.1.0", null, "", b[1]))
                            .exitCode());
            assertEquals(before, w.elements());
            // a hostIP-bound mapping of the same port is another claim, and allowed
            String bound = "[{\"hostPort\": 8082, \"containerPort\": 80, \"hostIP\": \"10.77.0.1\"}]";
            assertEquals(
                    0,
                    w.portmap("ADD", "cb", b[0], w.portmapConfig("1.1.0", bound, "", b[1]))
                            .exitCode());
        }
    }

    @Test
    void delWithoutPortMappingsFindsTheAttachmentsElements() {
        try (PortmapWorld w = new PortmapWorld("pn")) {
            String[] a = w.pod("a", "ca", "1.0.0");
            String[] b = w.pod("b", "cb", "1.0.0");
            assertEquals(
                    0,
                    w.portmap(
                                    "ADD",
                                    "ca",
                                    a[0],
                                    w.portmapConfig(
                                            "1.0.0",
                                            "[{\"hostPort\": 8083, \"containerPort\": 80}, {\"hostPort\": 5301, \"containerPort\": 53, \"protocol\": \"udp\"}]",
                                            "",
                                            a[1]))
                            .exitCode());
            assertEquals(
                    0,
                    w.portmap(
                                    "ADD",
                                    "cb",
                                    b[0],
                                    w.portmapConfig(
                                            "1.0.0",
                                            "[{\"hostPort\": 8084, \"containerPort\": 80}]",
                                            "\"masqAll\": true,",
                                            b[1]))
                            .exitCode());
            assertTrue(
                    w.elements()
                            .contains("masqall4: " + PortmapWorld.podAddress(b[1]) + " comment " + w.f.network
                                    + "/cb/eth0"),
                    w.elements().toString());
            // no runtimeConfig, no netns: found by the comment
            assertEquals(
                    0,
                    w.portmap("DEL", "ca", "", w.portmapConfig("1.0.0", null, "", a[1]))
                            .exitCode());
            List<String> left = w.elements();
            assertEquals(2, left.size(), left.toString());
            assertTrue(left.stream().allMatch(s -> s.endsWith("/cb/eth0")), left.toString());
            // no runtimeConfig and no prevResult: still found by the comment
            assertEquals(
                    0,
                    w.portmap("DEL", "cb", b[0], w.portmapConfig("1.0.0", null, "", null))
                            .exitCode());
            assertEquals(List.of(), w.elements());
        }
    }

    @Test
    void gcRemovesElementsOfAttachmentsNoLongerValid() {
        try (PortmapWorld w = new PortmapWorld("pg")) {
            String[] a = w.pod("a", "ca", "1.1.0");
            String[] b = w.pod("b", "cb", "1.1.0");
            assertEquals(
                    0,
                    w.portmap(
                                    "ADD",
                                    "ca",
                                    a[0],
                                    w.portmapConfig("1.1.0", "[{\"hostPort\": 8085, \"containerPort\": 80}]", "", a[1]))
                            .exitCode());
            assertEquals(
                    0,
                    w.portmap(
                                    "ADD",
                                    "cb",
                                    b[0],
                                    w.portmapConfig("1.1.0", "[{\"hostPort\": 8086, \"containerPort\": 80}]", "", b[1]))
                            .exitCode());
            assertEquals(6, w.elements().size());
            String gc = w.portmapConfig(
                    "1.1.0",
                    null,
                    "\"cni.dev/valid-attachments\": [{\"containerID\": \"cb\", \"ifname\": \"eth0\"}],",
                    null);
            PluginResponse r = w.inNode(() -> PluginFixture.call(new Portmap(), gcEnv(), gc));
            assertEquals(0, r.exitCode(), r.stdoutText());
            List<String> left = w.elements();
            assertEquals(3, left.size(), left.toString());
            assertTrue(left.stream().allMatch(s -> s.endsWith("/cb/eth0")), left.toString());
        }
    }

    @Test
    void noMappingsPassesPrevResultThroughAndAddNeedsIt() {
        try (PortmapWorld w = new PortmapWorld("pe")) {
            String[] a = w.pod("a", "ca", "1.1.0");
            PluginResponse none = w.portmap("ADD", "ca", a[0], w.portmapConfig("1.1.0", "[]", "", a[1]));
            assertEquals(0, none.exitCode());
            assertEquals(json(new PluginResponse(a[1].getBytes(), "", 0)), json(none));
            assertEquals(List.of(), w.elements());
            PluginResponse noPrev = w.portmap(
                    "ADD", "ca", a[0], w.portmapConfig("1.1.0", "[{\"hostPort\": 1, \"containerPort\": 1}]", "", null));
            assertEquals(7, (long) (Long) json(noPrev).get("code"));
            assertEquals("must be called as chained plugin", json(noPrev).get("msg"));
        }
    }

    @Test
    void optionsAreValidated() {
        try (PortmapWorld w = new PortmapWorld("po")) {
            String[] a = w.pod("a", "ca", "1.1.0");
            Object[][] cases = {
                {"[{\"hostPort\": 0, \"containerPort\": 80}]", "", 7L, "Invalid host port number: 0"},
                {"[{\"hostPort\": 70000, \"containerPort\": 80}]", "", 7L, "Invalid host port number: 70000"},
                {"[{\"hostPort\": 80, \"containerPort\": -1}]", "", 7L, "Invalid container port number: -1"},
                {"[{\"hostPort\": 80, \"containerPort\": 80, \"protocol\": \"icmp\"}]", "", 7L, "icmp"},
                {"[{\"hostPort\": 80, \"containerPort\": 80, \"hostIP\": \"nope\"}]", "", 7L, "nope"},
                {"[]", "\"backend\": \"iptables\",", 2L, "iptables"},
                {"[]", "\"backend\": \"ebpf\",", 7L, "unrecognized backend \\\"ebpf\\\""},
                {"[]", "\"externalSetMarkChain\": \"KUBE-MARK-MASQ\",", 2L, "externalSetMarkChain"},
                {"[]", "\"markMasqBit\": 32,", 7L, "MasqMarkBit must be between 0 and 31"},
                {"[]", "\"conditionsV4\": [\"tcp\", \"dport\", \"80\"],", 2L, "unsupported token \\\"tcp\\\""},
                {"[]", "\"conditionsV4\": [\"ip6 saddr ::1\"],", 2L, "unsupported token \\\"ip6\\\""},
                {"[]", "\"conditionsV6\": [\"iifname\", \"eth*\"],", 2L, "unsupported token \\\"eth*\\\""},
            };
            for (Object[] c : cases) {
                PluginResponse r =
                        w.portmap("ADD", "ca", a[0], w.portmapConfig("1.1.0", (String) c[0], (String) c[1], a[1]));
                assertEquals(c[2], json(r).get("code"), c[0] + " " + c[1] + ": " + r.stdoutText());
                assertTrue(r.stdoutText().contains((String) c[3]), c[3] + " in " + r.stdoutText());
            }
            assertEquals(List.of(), w.elements());
            // accepted: markMasqBit (ignored, logged), backend nftables, supported conditions
            PluginResponse ok = w.portmap(
                    "ADD",
                    "ca",
                    a[0],
                    w.portmapConfig(
                            "1.1.0",
                            "[{\"hostPort\": 8087, \"containerPort\": 80}]",
                            "\"markMasqBit\": 13, \"backend\": \"nftables\", \"conditionsV4\": [\"ip saddr != 192.0.2.0/24\", \"iifname\", \"!=\", \"\\\"eth9\\\"\"],"
                                    + " \"conditionsV6\": [\"ip6 daddr fd00::/8\"],",
                            a[1]));
            assertEquals(0, ok.exitCode(), ok.stdoutText());
            assertTrue(ok.stderr().contains("markMasqBit"), ok.stderr());
            String pre = w.nft("list", "chain", "inet", PortmapTable.TABLE, "prerouting");
            assertTrue(
                    pre.contains("ip saddr != 192.0.2.0/24 iifname != \"eth9\" fib daddr type local jump hostports"),
                    pre);
            assertTrue(pre.contains("ip6 daddr fd00::/8 fib daddr type local jump hostports"), pre);
        }
    }

    /** Address selection as the reference (first IPv4 and IPv6 of CNI_IFNAME in the sandbox), and both families' elements. */
    @Test
    void dualStackElementsAndAddressSelection() {
        try (PortmapWorld w = new PortmapWorld("p6")) {
            String ns = w.f.netns("p");
            String prev = """
                    {"cniVersion": "1.1.0",
                     "interfaces": [{"name": "veth1"}, {"name": "eth0", "sandbox": "%s"}, {"name": "eth1", "sandbox": "%s"}],
                     "ips": [{"interface": 0, "address": "10.88.0.9/24"}, {"interface": 2, "address": "10.88.1.9/24"},
                             {"interface": 1, "address": "10.88.0.5/24"}, {"interface": 1, "address": "fd00:88::5/64"},
                             {"interface": 1, "address": "10.88.0.6/24"}]}""".formatted(ns, ns);
            String mappings = """
                    [{"hostPort": 8088, "containerPort": 80, "protocol": "TCP"},
                     {"hostPort": 9099, "containerPort": 90, "protocol": "udp", "hostIP": "fd00::1"},
                     {"hostPort": 7077, "containerPort": 70, "protocol": "sctp", "hostIP": "0.0.0.0"}]""";
            PluginResponse add = w.portmap("ADD", "c6", ns, w.portmapConfig("1.1.0", mappings, "", prev));
            assertEquals(0, add.exitCode(), add.stdoutText() + add.stderr());
            String o = " comment " + w.f.network + "/c6/eth0";
            assertEquals(
                    List.of(
                            "hostip6: fd00::1 . udp . 9099" + o,
                            "masq4: 10.88.0.5 . 10.88.0.5" + o,
                            "masq4: 127.0.0.1 . 10.88.0.5" + o,
                            "masq6: fd00:88::5 . fd00:88::5" + o,
                            "ports4: sctp . 7077" + o,
                            "ports4: tcp . 8088" + o,
                            "ports6: sctp . 7077" + o,
                            "ports6: tcp . 8088" + o),
                    w.elements().stream().sorted().toList());
            String listed = w.nft("list", "table", "inet", PortmapTable.TABLE);
            assertTrue(
                    listed.contains("fd00::1 . udp . 9099 comment \"" + w.f.network + "/c6/eth0\" : fd00:88::5 . 90"),
                    listed);
            assertEquals(
                    0,
                    w.portmap("CHECK", "c6", ns, w.portmapConfig("1.1.0", mappings, "", prev))
                            .exitCode());
            assertEquals(
                    0,
                    w.portmap("DEL", "c6", "", w.portmapConfig("1.1.0", null, "", null))
                            .exitCode());
            assertEquals(List.of(), w.elements());
        }
    }
}
