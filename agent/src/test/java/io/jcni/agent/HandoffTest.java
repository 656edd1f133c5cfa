package io.jcni.agent;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.json.Json;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class HandoffTest {
    private final Path dir;

    HandoffTest() throws Exception {
        dir = Files.createTempDirectory("jcni-handoff-");
    }

    @AfterEach
    void cleanup() throws Exception {
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder())
                    .forEach(p -> p.toFile().delete());
        }
    }

    @Test
    void writesFlannelsKeysAndAConflistOurRuntimeLoads() throws Exception {
        NetworkConfig c = NetworkConfig.parse("{\"Network\":\"10.244.0.0/16\"}");
        Lease own = new Lease(IpPrefix.parse("10.244.7.0/24"), IpAddress.parse("198.18.0.11"), "vxlan", null, 1, 0);
        Handoff h = new Handoff(dir.resolve("run/subnet.env"), dir.resolve("net.d"), "jcni0");
        assertNull(h.previousSubnet(), "no earlier hand-off");
        assertEquals(List.of(h.subnetFile(), h.conflist()), h.write(c, own, 1450, true));
        assertEquals(
                "JCNI_NETWORK=10.244.0.0/16\nJCNI_SUBNET=10.244.7.1/24\nJCNI_MTU=1450\nJCNI_IPMASQ=true\n",
                Files.readString(h.subnetFile()));
        assertEquals(IpPrefix.parse("10.244.7.0/24"), h.previousSubnet());

        Map<String, Object> list = Json.parseObject(Files.readAllBytes(h.conflist()));
        assertEquals("jcni", list.get("name"));
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> plugins = (List<Map<String, Object>>) list.get("plugins");
        assertEquals(
                List.of("jcni-bridge", "jcni-portmap", "jcni-loopback"),
                plugins.stream().map(p -> p.get("type")).toList());
        Map<String, Object> bridge = plugins.get(0);
        assertEquals(false, bridge.get("ipMasq"), "the agent masquerades, knowing the whole cluster network");
        assertEquals(1450L, bridge.get("mtu"));
        assertTrue(Json.write(bridge.get("ipam")).contains("10.244.7.0/24"));
        assertEquals(
                "rw-r--r--",
                java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(h.conflist())));

        // the same content is not rewritten (watchers of the directory see no change)
        long mtime = Files.getLastModifiedTime(h.conflist()).toMillis();
        assertEquals(List.of(), h.write(c, own, 1450, true));
        assertEquals(mtime, Files.getLastModifiedTime(h.conflist()).toMillis());
        try (var s = Files.list(h.conflist().getParent())) {
            assertEquals(List.of(h.conflist()), s.toList(), "no temporary file left beside it");
        }

        Lease moved = new Lease(IpPrefix.parse("10.244.9.0/24"), own.publicIp(), "vxlan", null, 1, 0);
        assertEquals(List.of(h.subnetFile(), h.conflist()), h.write(c, moved, 1450, false));
        assertTrue(Files.readString(h.conflist()).contains("10.244.9.0/24"));
        assertEquals(List.of(h.conflist(), h.subnetFile()), h.remove());
        assertEquals(List.of(), h.remove(), "removing twice is fine");
    }
}
