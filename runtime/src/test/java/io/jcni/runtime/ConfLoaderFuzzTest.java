package io.jcni.runtime;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.json.Json;
import io.jcni.testkit.Fuzz;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Fuzzes the runtime's configuration loading ({@link ConfLoader}) and its argument handling
 * (CNI_ARGS pairs, capability arguments into {@code runtimeConfig}): arbitrary bytes and mutated
 * valid configuration lists, as bytes and as files in a configuration directory. Every input
 * gives a parsed list or a {@link ConfException} — never another exception.
 */
class ConfLoaderFuzzTest {
    static final List<String> SEEDS = List.of(
            "{\"cniVersion\":\"1.1.0\",\"cniVersions\":[\"1.0.0\",\"1.1.0\",\"2.0.0\"],\"name\":\"jhf-net\",\"disableCheck\":\"true\","
                    + "\"disableGC\":false,\"loadOnlyInlinedPlugins\":true,\"plugins\":[{\"type\":\"bridge\",\"bridge\":\"jhf0\","
                    + "\"ipam\":{\"type\":\"host-local\",\"subnet\":\"10.99.0.0/24\"}},{\"type\":\"portmap\","
                    + "\"capabilities\":{\"portMappings\":true,\"ips\":false}}]}",
            "{\"cniVersion\":\"0.4.0\",\"name\":\"jhf-single\",\"type\":\"loopback\"}",
            "{\"name\":\"jhf-noplugins\",\"plugins\":[{\"type\":\"x\",\"capabilities\":{\"mac\":true}}]}");

    Path dir;

    @BeforeEach
    void createDir() throws IOException {
        dir = Files.createTempDirectory(Path.of("/tmp"), "jhf-conf");
    }

    @AfterEach
    void deleteDir() throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    static byte[] input(Random r) throws Exception {
        byte[] seed = Fuzz.pick(r, SEEDS).getBytes(StandardCharsets.UTF_8);
        return switch (r.nextInt(3)) {
            case 0 -> Fuzz.bytes(r, 200);
            case 1 -> Fuzz.mutateBytes(r, seed);
            default -> {
                Object doc = Json.parse(seed);
                for (int n = 1 + r.nextInt(3); n > 0; n--) {
                    doc = Fuzz.mutateJson(r, doc);
                }
                yield Json.write(doc).getBytes(StandardCharsets.UTF_8);
            }
        };
    }

    @Test
    void parseListFromBytes() {
        Fuzz.run("ConfLoader.parseList", 1500, r -> {
            byte[] in = input(r);
            try {
                NetworkConfigList l = ConfLoader.parseList(in, "");
                assertNotNull(l.name());
                for (PluginConfig p : l.plugins()) {
                    assertFalse(p.type().isEmpty());
                    p.capabilities();
                }
                // the request the runtime builds for each plugin, with random capability arguments
                Map<String, Object> caps = new LinkedHashMap<>();
                for (String k : new String[] {"portMappings", "ips", "mac", "bandwidth"}) {
                    if (r.nextBoolean()) {
                        caps.put(k, Fuzz.jsonValue(r, 3));
                    }
                }
                for (PluginConfig p : l.plugins()) {
                    Json.parseObject(Json.write(CniRuntime.requestMap(p, l, l.cniVersion(), null, caps))
                            .getBytes(StandardCharsets.UTF_8));
                }
            } catch (ConfException expected) {
                assertNotNull(expected.reason());
            }
        });
    }

    @Test
    void configurationDirectory() {
        String[] names = {"10-jhf.conflist", "20-jhf.conf", "30-jhf.json", "jhf-net/40-x.conf", "jhf-net.conf"};
        Fuzz.run("ConfLoader.loadAll/load", 150, r -> {
            deleteDir();
            Files.createDirectories(dir.resolve("jhf-net"));
            for (int n = 1 + r.nextInt(3); n > 0; n--) {
                Files.write(dir.resolve(Fuzz.pick(r, names)), input(r));
            }
            NetworkConfigs all = ConfLoader.loadAll(dir);
            for (NetworkConfigList l : all.networks()) {
                assertFalse(l.plugins().isEmpty(), l.file());
            }
            try {
                ConfLoader.load(dir, r.nextBoolean() ? "jhf-net" : Fuzz.text(r, 2));
            } catch (ConfException expected) {
                assertNotNull(expected.getMessage());
            }
        });
    }

    @Test
    void cniArgsPairs() {
        Fuzz.run("RuntimeConf.parseArgs", 2000, r -> {
            String raw = r.nextBoolean()
                    ? Fuzz.text(r, 8)
                    : new String(
                            Fuzz.mutateBytes(r, "IgnoreUnknown=1;IP=10.99.0.9".getBytes(StandardCharsets.UTF_8)),
                            StandardCharsets.UTF_8);
            List<Map.Entry<String, String>> pairs;
            try {
                pairs = RuntimeConf.parseArgs(raw);
            } catch (IllegalArgumentException refused) {
                return; // the documented refusal (the CLI turns it into a usage error)
            }
            // what is accepted goes to the plugin unchanged
            RuntimeConf rc = new RuntimeConf("c1", "", "eth0").withArgs(pairs);
            assertEquals(pairs, RuntimeConf.parseArgs(rc.cniArgs()));
        });
    }

    /** Found by {@link #configurationDirectory}: a list name with a NUL byte threw InvalidPathException out of loadAll. */
    @Test
    void listNameWithNulIsAConfigurationError() throws Exception {
        Files.writeString(
                dir.resolve("10-jhf.conflist"),
                "{\"cniVersion\":\"1.0.0\",\"name\":\"jhf\\u0000x\"," + "\"plugins\":[{\"type\":\"loopback\"}]}");
        NetworkConfigs all = ConfLoader.loadAll(dir);
        assertEquals(List.of(), all.networks());
        assertEquals(1, all.errors().size());
        assertTrue(
                all.errors().get(0).reason().contains("invalid name"),
                all.errors().get(0).reason());
        assertThrows(ConfException.class, () -> ConfLoader.load(dir, "jhf\u0000x"));
    }
}
