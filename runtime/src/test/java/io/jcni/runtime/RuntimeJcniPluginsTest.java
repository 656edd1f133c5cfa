package io.jcni.runtime;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.CniError;
import io.jcni.cni.Result;
import io.jcni.testkit.Jars;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The runtime driving jcni's own plugins as executables: a CNI_PATH of sh scripts that exec this
 * JVM's java on this test's class path (bridge, host-local, loopback). Same checks as with the
 * reference plugins, plus STATUS and GC, which only ours implement.
 */
class RuntimeJcniPluginsTest {
    static Path bin;

    @BeforeAll
    static void pluginDir() throws IOException {
        bin = Files.createTempDirectory("jcni-rt-bin-");
        String java = Jars.java();
        String cp = Jars.classPath();
        for (String[] p : List.of(
                new String[] {"bridge", "io.jcni.plugins.bridge.BridgeMain"},
                new String[] {"host-local", "io.jcni.plugins.hostlocal.HostLocalMain"},
                new String[] {"loopback", "io.jcni.plugins.loopback.LoopbackMain"})) {
            Path f = bin.resolve(p[0]);
            Files.writeString(
                    f,
                    "#!/bin/sh\nexec '" + java + "' --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC "
                            + "-XX:TieredStopAtLevel=1 -cp '" + cp + "' " + p[1] + "\n");
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    @AfterAll
    static void removePluginDir() throws IOException {
        try (Stream<Path> s = Files.walk(bin)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private static List<String> reservations(RtFixture f) throws IOException {
        Path dir = f.dataDir.resolve(f.network);
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString())
                    .filter(n -> !n.equals("lock") && !n.startsWith("last_reserved_ip"))
                    .sorted()
                    .toList();
        }
    }

    @Test
    void addCheckStatusGcDelWithOurPlugins() throws Exception {
        try (RtFixture f = new RtFixture(bin.toString())) {
            NetworkConfigList net =
                    f.conf("10-pods.conflist", """
                    {"cniVersion": "1.1.0", "name": "%s", "plugins": [
                      {"type": "bridge", "bridge": "%s", "isGateway": true,
                       "ipam": {"type": "host-local", "dataDir": "%s", "ranges": [[{"subnet": "%s.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}}]}""".formatted(f.network, f.bridge, f.dataDir, f.subnet24));
            NetworkConfigList lo = f.conf("20-lo.conflist", """
                    {"cniVersion": "1.1.0", "name": "%slo", "plugins": [{"type": "loopback"}]}""".formatted(f.prefix));
            String ns1 = f.netns("p1");
            String ns2 = f.netns("p2");
            RuntimeConf pod1 = new RuntimeConf(f.prefix + "c1", ns1, "eth0");
            RuntimeConf pod2 = new RuntimeConf(f.prefix + "c2", ns2, "eth0");

            Result r1 = f.runtime.add(net, pod1).result();
            Result r2 = f.runtime.add(net, pod2).result();
            f.runtime.add(lo, new RuntimeConf(pod1.containerId(), ns1, "lo"));
            String a1 = r1.ips().get(0).address().toString();
            String a2 = r2.ips().get(0).address().toString();
            assertEquals(List.of(a1), RtFixture.addresses(ns1, "eth0"));
            assertEquals(List.of(a2), RtFixture.addresses(ns2, "eth0"));
            assertTrue(RtFixture.addresses(ns1, "lo").contains("127.0.0.1/8"));
            assertEquals(2, reservations(f).size());
            assertTrue(Files.exists(f.cacheFile(f.network, pod1.containerId(), "eth0")));

            f.runtime.check(net, pod1);
            f.runtime.check(net, pod2);
            f.runtime.check(lo, new RuntimeConf(pod1.containerId(), ns1, "lo"));
            f.runtime.status(net);
            Files.delete(f.dataDir.resolve(f.network).resolve(a1.substring(0, a1.indexOf('/'))));
            CniError lost = assertThrows(
                    CniError.class, () -> f.runtime.check(net, pod1), "CHECK notices the lost reservation");
            assertTrue(lost.getMessage().startsWith("plugin type=\"bridge\" failed (check): "), lost.getMessage());

            // GC: pod2 is no longer valid; the runtime DELs it from the cache, then GC reaches
            // bridge and its IPAM, which drop reservations not in the valid set
            GcReport gc = f.runtime.gc(net, List.of(new Attachment(pod1.containerId(), "eth0")));
            assertTrue(gc.ok(), gc.errors().toString());
            assertEquals(
                    List.of(pod2.containerId()),
                    gc.deleted().stream().map(CachedAttachment::containerId).toList());
            assertFalse(RtFixture.linkExists(ns2, "eth0"));
            assertFalse(Files.exists(f.cacheFile(f.network, pod2.containerId(), "eth0")));
            assertTrue(RtFixture.linkExists(ns1, "eth0"), "the valid attachment is untouched");
            assertEquals(List.of(), reservations(f), "pod2 released by DEL; pod1's file was removed by hand above");

            f.runtime.del(net, pod1);
            f.runtime.del(lo, new RuntimeConf(pod1.containerId(), ns1, "lo"));
            assertFalse(RtFixture.linkExists(ns1, "eth0"));
            assertEquals(List.of(), f.runtime.cachedAttachments(null));
        }
    }
}
