package io.jcni.runtime;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.json.Json;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The configuration corpus under src/test/resources/conf, and libcni's rules for the configuration directory: which files, in which order, which version. */
class ConfParsingTest {
    @TempDir
    Path tmp;

    static Path corpus(String sub) throws URISyntaxException {
        return Path.of(ConfParsingTest.class
                        .getResource("/conf/" + sub + "/EXPECTED")
                        .toURI())
                .getParent();
    }

    /** {@code file: rest} lines of an EXPECTED file. */
    static Map<String, String> expected(Path dir) throws IOException {
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : Files.readAllLines(dir.resolve("EXPECTED"))) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int c = line.indexOf(": ");
            m.put(line.substring(0, c), line.substring(c + 2));
        }
        return m;
    }

    static List<String> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString())
                    .filter(n -> !n.equals("EXPECTED"))
                    .sorted()
                    .toList();
        }
    }

    @Test
    void everyValidFileLoadsWithItsNameVersionAndPlugins() throws Exception {
        Path dir = corpus("valid");
        Map<String, String> want = expected(dir);
        assertEquals(files(dir), want.keySet().stream().sorted().toList(), "every corpus file has an expectation");
        NetworkConfigs all = CniRuntime.loadNetworks(dir);
        assertEquals(List.of(), all.errors());
        // libcni's precedence: conflists (sorted), then .conf/.json (sorted)
        assertEquals(
                List.of("basic", "versions", "versions-only", "no-version", "flags", "legacy", "legacy-json"),
                all.networks().stream().map(NetworkConfigList::name).toList());
        for (NetworkConfigList n : all.networks()) {
            String file = Path.of(n.file()).getFileName().toString();
            String[] w = want.get(file).split(" ");
            assertEquals(w[0], n.name(), file);
            assertEquals(w[1].equals("-") ? "" : w[1], n.cniVersion(), file);
            assertEquals(
                    List.of(w[2].split(",")),
                    n.plugins().stream().map(PluginConfig::type).toList(),
                    file);
        }
        NetworkConfigList flags = all.find("flags").orElseThrow();
        assertTrue(flags.disableCheck());
        assertTrue(flags.disableGC());
        assertFalse(flags.loadOnlyInlinedPlugins());
        assertEquals("0.1.0", all.find("no-version").orElseThrow().effectiveVersion());
        assertEquals(
                List.of("portMappings"),
                List.copyOf(all.find("basic").orElseThrow().plugins().get(1).capabilities()));
    }

    @Test
    void everyInvalidFileFailsWithItsExpectedReason() throws Exception {
        Path dir = corpus("invalid");
        Map<String, String> want = expected(dir);
        assertEquals(files(dir), want.keySet().stream().sorted().toList(), "every corpus file has an expectation");
        for (Map.Entry<String, String> e : want.entrySet()) {
            Path one = Files.createDirectory(tmp.resolve("one-" + e.getKey()));
            Files.copy(dir.resolve(e.getKey()), one.resolve(e.getKey()));
            NetworkConfigs all = CniRuntime.loadNetworks(one);
            assertEquals(List.of(), all.networks(), e.getKey());
            assertEquals(1, all.errors().size(), e.getKey());
            ConfException err = all.errors().get(0);
            assertEquals(one.resolve(e.getKey()).toString(), err.file(), "the error names the file");
            String reason = e.getValue();
            if (reason.endsWith("…")) {
                assertTrue(
                        err.reason().startsWith(reason.substring(0, reason.length() - 1)),
                        e.getKey() + ": " + err.reason());
            } else {
                assertEquals(reason, err.reason(), e.getKey());
            }
            assertEquals(err.file() + ": " + err.reason(), err.getMessage());
        }
    }

    @Test
    void siblingDirectoryPluginsAreAppendedUnlessOnlyInlined() throws Exception {
        Files.writeString(tmp.resolve("a.conflist"), """
                {"cniVersion": "1.0.0", "name": "net1", "plugins": [{"type": "bridge"}]}""");
        Files.writeString(tmp.resolve("b.conflist"), """
                {"cniVersion": "1.0.0", "name": "net2", "loadOnlyInlinedPlugins": true, "plugins": [{"type": "bridge"}]}""");
        Files.writeString(tmp.resolve("c.conflist"), """
                {"cniVersion": "1.0.0", "name": "net3"}""");
        for (String n : List.of("net1", "net2", "net3")) {
            Path sib = Files.createDirectory(tmp.resolve(n));
            Files.writeString(sib.resolve("20-tuning.conf"), "{\"type\": \"tuning\"}");
            Files.writeString(sib.resolve("10-portmap.conf"), "{\"type\": \"portmap\"}");
            Files.writeString(sib.resolve("30-ignored.json"), "{\"type\": \"ignored\"}");
        }
        assertEquals(List.of("bridge", "portmap", "tuning"), types(CniRuntime.loadNetwork(tmp, "net1")));
        assertEquals(List.of("bridge"), types(CniRuntime.loadNetwork(tmp, "net2")));
        assertEquals(List.of("portmap", "tuning"), types(CniRuntime.loadNetwork(tmp, "net3")));
        // the cached config is the file's own bytes, without the sibling plugins
        assertArrayEquals(
                Files.readAllBytes(tmp.resolve("a.conflist")),
                CniRuntime.loadNetwork(tmp, "net1").bytes());

        Files.writeString(tmp.resolve("net1").resolve("40-broken.conf"), "{\"ipam\": {}}");
        ConfException e = assertThrows(ConfException.class, () -> CniRuntime.loadNetwork(tmp, "net1"));
        assertTrue(
                e.getMessage().contains("40-broken.conf") && e.getMessage().contains("missing 'type'"), e.getMessage());
    }

    @Test
    void legacyConfIsLiftedIntoAListAsLibcniMarshalsIt() throws Exception {
        Files.writeString(tmp.resolve("10-x.conf"), """
                {"type": "bridge", "name": "lifted", "cniVersion": "0.4.0", "zeta": 1, "alpha": {"b": 2, "a": "<"}}""");
        NetworkConfigList l = CniRuntime.loadNetwork(tmp, "lifted");
        assertEquals(
                "{\"cniVersion\":\"0.4.0\",\"name\":\"lifted\",\"plugins\":[{\"alpha\":{\"a\":\"\\u003c\",\"b\":2},"
                        + "\"cniVersion\":\"0.4.0\",\"name\":\"lifted\",\"type\":\"bridge\",\"zeta\":1}]}",
                new String(l.bytes(), StandardCharsets.UTF_8));
        assertEquals(List.of("bridge"), types(l));
    }

    @Test
    void aConflistWinsOverAConfOfTheSameNameAndOrderIsByFileName() throws Exception {
        Files.writeString(
                tmp.resolve("00-same.conf"),
                "{\"cniVersion\": \"0.4.0\", \"name\": \"same\", \"type\": \"from-conf\"}");
        Files.writeString(
                tmp.resolve("50-same.conflist"),
                "{\"cniVersion\": \"1.0.0\", \"name\": \"same\", \"plugins\": [{\"type\": \"second\"}]}");
        Files.writeString(
                tmp.resolve("10-same.conflist"),
                "{\"cniVersion\": \"1.0.0\", \"name\": \"same\", \"plugins\": [{\"type\": \"first\"}]}");
        Files.writeString(
                tmp.resolve("10-same.conflist.bak"), "{\"name\": \"same\", \"plugins\": [{\"type\": \"backup\"}]}");
        assertEquals(List.of("first"), types(CniRuntime.loadNetwork(tmp, "same")));
    }

    @Test
    void lookupErrorsNameTheDirectoryAndTheBrokenFiles() throws Exception {
        ConfException none =
                assertThrows(ConfException.class, () -> CniRuntime.loadNetwork(tmp.resolve("missing"), "x"));
        assertEquals("no net configurations found in " + tmp.resolve("missing"), none.getMessage());
        Files.writeString(
                tmp.resolve("10-ok.conflist"),
                "{\"cniVersion\": \"1.0.0\", \"name\": \"ok\", \"plugins\": [{\"type\": \"a\"}]}");
        Files.writeString(
                tmp.resolve("05-bad.conflist"), "{\"cniVersion\": \"1.0.0\", \"name\": \"bad\", \"plugins\": []}");
        // unlike libcni, an earlier broken file does not hide a good one
        assertEquals("ok", CniRuntime.loadNetwork(tmp, "ok").name());
        ConfException unknown = assertThrows(ConfException.class, () -> CniRuntime.loadNetwork(tmp, "other"));
        assertEquals(
                "no net configuration with name \"other\" in " + tmp + " (1 file could not be loaded: "
                        + tmp.resolve("05-bad.conflist") + ": error parsing configuration list: no plugins in list)",
                unknown.getMessage());
        Files.writeString(tmp.resolve("appnet.conflist"), "{\"name\": \"appnet\", \"plugins\": [{}]}");
        ConfException named = assertThrows(ConfException.class, () -> CniRuntime.loadNetwork(tmp, "appnet"));
        assertEquals(
                tmp.resolve("appnet.conflist").toString(),
                named.file(),
                "a broken file named after the network is the error");
        ConfException declared = assertThrows(ConfException.class, () -> CniRuntime.loadNetwork(tmp, "bad"));
        assertEquals(
                tmp.resolve("05-bad.conflist") + ": error parsing configuration list: no plugins in list",
                declared.getMessage(),
                "a broken file declaring the network's name is the error");
    }

    @Test
    void requestCarriesNameVersionRuntimeConfigAndPrevResult() throws Exception {
        NetworkConfigList l = ConfLoader.parseList("""
                {"cniVersion": "1.0.0", "name": "rq", "plugins": [
                  {"type": "portmap", "name": "ignored", "cniVersion": "0.1.0", "capabilities": {"portMappings": true, "mac": false},
                   "runtimeConfig": {"static": 1}, "snat": true}]}""".getBytes(StandardCharsets.UTF_8), "");
        PluginConfig p = l.plugins().get(0);
        Map<String, Object> caps =
                Map.of("portMappings", List.of(Map.of("hostPort", 8080L)), "mac", "c2:11:22:33:44:55");
        Map<String, Object> prev = Map.of("cniVersion", "1.0.0");
        Map<String, Object> req = CniRuntime.requestMap(p, l, "1.0.0", prev, caps);
        assertEquals(
                "{\"cniVersion\":\"1.0.0\",\"name\":\"rq\",\"type\":\"portmap\",\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":8080}]},"
                        + "\"snat\":true,\"prevResult\":{\"cniVersion\":\"1.0.0\"}}",
                Json.write(req));
        // no capability matched: the file's runtimeConfig passes through
        assertEquals(
                Map.of("static", 1L),
                CniRuntime.requestMap(p, l, "1.0.0", null, Map.of("mac", "x")).get("runtimeConfig"));
    }

    private static List<String> types(NetworkConfigList l) {
        List<String> out = new ArrayList<>();
        for (PluginConfig p : l.plugins()) {
            out.add(p.type());
        }
        return out;
    }
}
