package io.jcni.runtime;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.json.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The result cache is libcni's: the file jcni writes has libcni's name, fields, order and
 * encodings, and DEL works from a file libcni (containerd, podman, cnitool) would have written.
 */
class CacheInteropTest {
    @TempDir
    Path tmp;

    FakePlugins fake;
    CniRuntime rt;
    Path confFile;
    NetworkConfigList net;

    @BeforeEach
    void setUp() throws Exception {
        fake = new FakePlugins(tmp);
        fake.recorder("a", 1);
        fake.recorder("b", 2);
        rt = CniRuntime.builder()
                .cniPath(List.of(fake.bin.toString()))
                .cacheDir(tmp.resolve("cache"))
                .timeout(Duration.ofSeconds(20))
                .environment(Map.of("JRT_LOG", fake.log.toString()))
                .build();
        Path dir = Files.createDirectory(tmp.resolve("net.d"));
        confFile = dir.resolve("10-appnet.conflist");
        Files.writeString(confFile, """
                {
                  "cniVersion": "1.0.0",
                  "name": "appnet",
                  "plugins": [{"type": "a"}, {"type": "b", "capabilities": {"portMappings": true}}]
                }
                """);
        net = CniRuntime.loadNetwork(dir, "appnet");
    }

    @Test
    void theCacheJcniWritesIsLibcnisFieldByField() throws Exception {
        RuntimeConf pod = new RuntimeConf(
                "c0ffee",
                "/run/netns/c0ffee",
                "eth0",
                List.of(Map.entry("IgnoreUnknown", "1"), Map.entry("K8S_POD_NAME", "web")),
                Map.of("portMappings", List.of(Map.of("protocol", "tcp", "hostPort", 8080L, "containerPort", 80L))));
        rt.add(net, pod);
        Path file = tmp.resolve("cache/results/appnet-c0ffee-eth0");
        assertTrue(Files.isRegularFile(file), "<cacheDir>/results/<network>-<containerID>-<ifname>");
        String text = Files.readString(file);
        // Go's json.Marshal of libcni's cachedInfo: struct fields in order, compact, []byte as
        // base64, maps (capabilityArgs, result) with sorted keys
        String config = Base64.getEncoder().encodeToString(Files.readAllBytes(confFile));
        assertEquals(
                "{\"kind\":\"cniCacheV1\",\"containerId\":\"c0ffee\",\"config\":\"" + config + "\",\"ifName\":\"eth0\","
                        + "\"networkName\":\"appnet\",\"netns\":\"/run/netns/c0ffee\","
                        + "\"cniArgs\":[[\"IgnoreUnknown\",\"1\"],[\"K8S_POD_NAME\",\"web\"]],"
                        + "\"capabilityArgs\":{\"portMappings\":[{\"containerPort\":80,\"hostPort\":8080,\"protocol\":\"tcp\"}]},"
                        + "\"result\":{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.99.0.2/24\"}]}}",
                text);
        Map<String, Object> m = Json.parseObject(text.getBytes(StandardCharsets.UTF_8));
        assertArrayEquals(
                Files.readAllBytes(confFile),
                Base64.getDecoder().decode((String) m.get("config")),
                "config holds the file's original bytes");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file.getParent())));
        try (Stream<Path> s = Files.list(file.getParent())) {
            assertEquals(
                    List.of("appnet-c0ffee-eth0"),
                    s.map(p -> p.getFileName().toString()).toList(),
                    "no temporary files left");
        }
        // empty optional fields are omitted, as Go's omitempty does
        rt.add(net, new RuntimeConf("bare", "", "eth1"));
        Map<String, Object> bare = Json.parseObject(Files.readAllBytes(tmp.resolve("cache/results/appnet-bare-eth1")));
        assertEquals(
                List.of("kind", "containerId", "config", "ifName", "networkName", "result"),
                List.copyOf(bare.keySet()));
        // and it is read back as an attachment
        CachedAttachment a = rt.cached("appnet", "c0ffee", "eth0").orElseThrow();
        assertEquals(pod, a.runtimeConf());
    }

    @Test
    void delWorksFromACacheFileJcniDidNotWrite() throws Exception {
        // as containerd's libcni leaves it: indentation and key order of its own, a 1.1.0 result
        Path results = Files.createDirectories(tmp.resolve("cache/results"));
        String libcni = """
                {"kind":"cniCacheV1","containerId":"5f2a9c","config":"%s","ifName":"eth0","networkName":"appnet",\
                "netns":"/var/run/netns/cni-1234","cniArgs":[["K8S_POD_NAMESPACE","default"]],\
                "capabilityArgs":{"portMappings":[{"containerPort":80,"hostPort":9090,"protocol":"tcp"}]},\
                "result":{"cniVersion":"1.1.0","dns":{},"interfaces":[{"mac":"aa:bb:cc:dd:ee:ff","name":"eth0","sandbox":"/var/run/netns/cni-1234"}],\
                "ips":[{"address":"10.88.0.7/16","gateway":"10.88.0.1","interface":0}],"routes":[{"dst":"0.0.0.0/0"}]}}""".formatted(Base64.getEncoder().encodeToString(Files.readAllBytes(confFile)));
        Files.writeString(results.resolve("appnet-5f2a9c-eth0"), libcni);
        assertEquals(
                List.of("5f2a9c"),
                rt.cachedAttachments("5f2a9c").stream()
                        .map(CachedAttachment::containerId)
                        .toList());

        rt.del(net, new RuntimeConf("5f2a9c", "/var/run/netns/cni-1234", "eth0"));
        assertEquals(List.of("b-DEL", "a-DEL"), fake.calls());
        Map<?, ?> prev = (Map<?, ?>)
                Json.parseObject(fake.stdin(0).getBytes(StandardCharsets.UTF_8)).get("prevResult");
        assertEquals("1.0.0", prev.get("cniVersion"), "converted to the list's version");
        assertEquals("10.88.0.7/16", ((Map<?, ?>) ((List<?>) prev.get("ips")).get(0)).get("address"));
        assertEquals(0L, ((Map<?, ?>) ((List<?>) prev.get("ips")).get(0)).get("interface"));
        Map<?, ?> rc = (Map<?, ?>)
                Json.parseObject(fake.stdin(0).getBytes(StandardCharsets.UTF_8)).get("runtimeConfig");
        assertEquals(
                List.of(Map.of("containerPort", 80L, "hostPort", 9090L, "protocol", "tcp")),
                rc.get("portMappings"),
                "the capability args recorded by the other runtime");
        assertFalse(Files.exists(results.resolve("appnet-5f2a9c-eth0")));
    }

    @Test
    void legacyBareResultCacheIsRead() throws Exception {
        Path results = Files.createDirectories(tmp.resolve("cache/results"));
        Files.writeString(
                results.resolve("appnet-old1-eth0"),
                "{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"4\",\"address\":\"10.1.1.1/24\"}]}");
        rt.del(net, new RuntimeConf("old1", "", "eth0"));
        Map<?, ?> prev = (Map<?, ?>)
                Json.parseObject(fake.stdin(0).getBytes(StandardCharsets.UTF_8)).get("prevResult");
        assertEquals("1.0.0", prev.get("cniVersion"));
        assertFalse(((Map<?, ?>) ((List<?>) prev.get("ips")).get(0)).containsKey("version"));
    }

    @Test
    void anEmptyOrTornCacheDoesNotBlockDel() throws Exception {
        Path results = Files.createDirectories(tmp.resolve("cache/results"));
        for (String content : List.of("", "{\"kind\":\"cniCacheV1\",\"contai")) {
            fake.clearLog();
            Files.writeString(results.resolve("appnet-torn-eth0"), content);
            rt.del(net, new RuntimeConf("torn", "/run/netns/gone", "eth0"));
            assertEquals(List.of("b-DEL", "a-DEL"), fake.calls());
            assertFalse(Json.parseObject(fake.stdin(0).getBytes(StandardCharsets.UTF_8))
                    .containsKey("prevResult"));
            assertFalse(Files.exists(results.resolve("appnet-torn-eth0")), "the invalid file is removed");
        }
        // CHECK on a torn cache is an error that says so
        Files.writeString(results.resolve("appnet-torn-eth0"), "");
        var e = assertThrows(
                io.jcni.cni.CniError.class, () -> rt.check(net, new RuntimeConf("torn", "/run/netns/gone", "eth0")));
        assertTrue(
                e.getMessage().startsWith("failed to get network \"appnet\" cached result; invalid result cache "),
                e.getMessage());
    }
}
