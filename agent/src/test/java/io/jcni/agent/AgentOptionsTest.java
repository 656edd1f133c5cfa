package io.jcni.agent;

import static org.junit.jupiter.api.Assertions.*;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AgentOptionsTest {

    @Test
    void defaultsAreFlannels() {
        AgentOptions o = AgentOptions.parse(List.of());
        assertEquals(List.of("http://127.0.0.1:2379"), o.etcdEndpoints);
        assertEquals("/jcni.io/network", o.etcdPrefix);
        assertEquals(Duration.ofHours(24), o.leaseTtl);
        assertEquals(Path.of("/run/jcni/subnet.env"), o.subnetFile);
        assertEquals(Path.of("/etc/cni/net.d"), o.cniConfDir);
        assertEquals(Path.of("/run/jcni/jcni.sock"), o.pluginSocket);
        assertFalse(o.ipMasq);
    }

    @Test
    void flagsBothWays() {
        AgentOptions o = AgentOptions.parse(List.of(
                "--etcd-endpoints",
                "http://198.18.0.2:2379, 198.18.0.3:2379",
                "--etcd-prefix=/coreos.com/network/",
                "--iface",
                "eth0",
                "--ip-masq",
                "--subnet-lease-ttl",
                "1h30m",
                "--no-plugin-socket",
                "--reconcile-interval=500ms"));
        assertEquals(List.of("http://198.18.0.2:2379", "http://198.18.0.3:2379"), o.etcdEndpoints);
        assertEquals("/coreos.com/network", o.etcdPrefix);
        assertEquals("eth0", o.iface);
        assertTrue(o.ipMasq);
        assertEquals(Duration.ofMinutes(90), o.leaseTtl);
        assertNull(o.pluginSocket);
        assertEquals(Duration.ofMillis(500), o.reconcileInterval);
        assertNull(AgentOptions.parse(List.of("--help")));
    }

    @Test
    void badFlagsSayWhich() {
        assertTrue(assertThrows(
                        AgentOptions.UsageException.class,
                        () -> AgentOptions.parse(List.of("--subnet-lease-ttl", "10")))
                .getMessage()
                .contains("needs a unit"));
        assertTrue(assertThrows(
                        AgentOptions.UsageException.class,
                        () -> AgentOptions.parse(List.of("--subnet-lease-ttl", "0s")))
                .getMessage()
                .contains("longer than zero"));
        assertTrue(assertThrows(AgentOptions.UsageException.class, () -> AgentOptions.parse(List.of("--bogus", "1")))
                .getMessage()
                .contains("unknown flag \"--bogus\""));
        assertTrue(assertThrows(AgentOptions.UsageException.class, () -> AgentOptions.parse(List.of("--iface")))
                .getMessage()
                .contains("--iface needs a value"));
        assertTrue(assertThrows(
                        AgentOptions.UsageException.class,
                        () -> AgentOptions.parse(List.of("--etcd-endpoints", "ftp://x")))
                .getMessage()
                .contains("not an http"));
        assertTrue(assertThrows(
                        AgentOptions.UsageException.class, () -> AgentOptions.parse(List.of("--etcd-certfile", "/c")))
                .getMessage()
                .contains("go together"));
    }

    @Test
    void kubernetesModeNeedsTheNodesName() {
        AgentOptions o = AgentOptions.parse(
                List.of("--kube-subnet-mgr", "--kubeconfig", "/k", "--net-conf=/n.json"), Map.of("NODE_NAME", "n1"));
        assertTrue(o.kubeSubnetMgr);
        assertEquals("n1", o.nodeName);
        assertEquals(Path.of("/k"), o.kubeconfig);
        assertEquals(Path.of("/n.json"), o.netConf);
        assertEquals(
                "n2",
                AgentOptions.parse(List.of("--kube-subnet-mgr", "--node-name", "n2"), Map.of("NODE_NAME", "n1"))
                        .nodeName,
                "the flag over the environment");
        assertEquals(
                Path.of("/etc/jcni/net-conf.json"),
                AgentOptions.parse(List.of("--kube-subnet-mgr", "--node-name", "n2"), Map.of()).netConf);
        String missing = assertThrows(
                        AgentOptions.UsageException.class,
                        () -> AgentOptions.parse(List.of("--kube-subnet-mgr"), Map.of()))
                .getMessage();
        assertTrue(missing.contains("--node-name") && missing.contains("NODE_NAME"), missing);
        assertFalse(AgentOptions.parse(List.of(), Map.of()).kubeSubnetMgr, "etcd mode needs no node name");
    }

    @Test
    void metricsAddresses() {
        assertEquals(new InetSocketAddress("127.0.0.1", 9964), AgentOptions.parse(List.of()).metricsAddr);
        assertEquals(new InetSocketAddress(9100), AgentOptions.parse(List.of("--metrics-addr", ":9100")).metricsAddr);
        assertEquals(
                new InetSocketAddress("198.18.2.11", 9964),
                AgentOptions.parse(List.of("--metrics-addr=198.18.2.11:9964")).metricsAddr);
        assertEquals(
                new InetSocketAddress("::1", 9964),
                AgentOptions.parse(List.of("--metrics-addr", "[::1]:9964")).metricsAddr);
        assertNull(AgentOptions.parse(List.of("--no-metrics")).metricsAddr);
        for (String bad : List.of("9964", "localhost:9964", "127.0.0.1:0", "127.0.0.1:x")) {
            assertThrows(
                    AgentOptions.UsageException.class, () -> AgentOptions.parse(List.of("--metrics-addr", bad)), bad);
        }
    }

    @Test
    void durationsPrintAsTheFlagsTakeThem() {
        for (String d : List.of("24h", "10m", "30s", "1h30m", "23h59m57s", "500ms")) {
            assertEquals(d, AgentLog.duration(AgentOptions.parseDuration("--x", d)));
        }
    }
}
