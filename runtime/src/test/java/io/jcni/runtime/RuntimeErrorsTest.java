package io.jcni.runtime;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.CniError;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Plugins that misbehave, and names that must not be run: each a clear error, nothing left behind. */
class RuntimeErrorsTest {
    @TempDir
    Path tmp;

    FakePlugins fake;
    CniRuntime rt;
    final List<PluginCall> calls = new ArrayList<>();
    final RuntimeConf pod = new RuntimeConf("jrterr1", "/run/netns/none", "eth0");

    @BeforeEach
    void setUp() throws Exception {
        fake = new FakePlugins(tmp);
        rt = CniRuntime.builder()
                .cniPath(List.of(fake.bin.toString()))
                .cacheDir(tmp.resolve("cache"))
                .timeout(Duration.ofSeconds(2))
                .environment(Map.of("JRT_LOG", fake.log.toString()))
                .listener(calls::add)
                .build();
    }

    private NetworkConfigList list(String... types) throws ConfException {
        StringBuilder sb = new StringBuilder("{\"cniVersion\": \"1.0.0\", \"name\": \"jrterr\", \"plugins\": [");
        for (int i = 0; i < types.length; i++) {
            sb.append(i == 0 ? "" : ",")
                    .append("{\"type\": \"")
                    .append(types[i])
                    .append("\"}");
        }
        return ConfLoader.parseList(sb.append("]}").toString().getBytes(StandardCharsets.UTF_8), "test");
    }

    private CniError addFails(String... types) throws Exception {
        NetworkConfigList l = list(types);
        CniError e = assertThrows(CniError.class, () -> rt.add(l, pod));
        assertFalse(Files.exists(rt.cache().file("jrterr", pod.containerId(), "eth0")), "no cache after a failed ADD");
        return e;
    }

    @Test
    void pluginTimeoutKillsThePluginAndItsChildren() throws Exception {
        fake.script("slow", "echo starting >&2; sleep 31.4159; echo '{}'");
        long t0 = System.nanoTime();
        CniError e = addFails("slow");
        long secs = (System.nanoTime() - t0) / 1_000_000_000L;
        assertTrue(secs < 10, "gave up after the 2 s timeout, took " + secs + " s");
        assertEquals(CniError.TRY_AGAIN_LATER, e.code());
        assertEquals(
                "plugin type=\"slow\" failed (add): plugin slow timed out after 2s and was killed; stderr: starting",
                e.getMessage());
        // SIGKILL is delivered at once, but the kernel reaps the group's processes on its own time
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (ProcessHandle.allProcesses()
                        .anyMatch(p -> p.info().commandLine().orElse("").contains("31.4159"))
                && System.nanoTime() < deadline) {
            Thread.sleep(10); // the polling interval of a wait on a condition
        }
        assertTrue(
                ProcessHandle.allProcesses()
                        .noneMatch(p -> p.info().commandLine().orElse("").contains("31.4159")),
                "the plugin's child (sleep) was killed too");
        assertEquals(-1, calls.get(0).exitCode());
    }

    @Test
    void garbageOnStdout() throws Exception {
        fake.script("garbage", "echo 'hello, not JSON'");
        CniError e = addFails("garbage");
        assertEquals(CniError.DECODING_FAILURE, e.code());
        assertTrue(
                e.getMessage().startsWith("plugin type=\"garbage\" failed (add): plugin printed an invalid result: "),
                e.getMessage());
        assertTrue(e.getMessage().endsWith("; hello, not JSON"), e.getMessage());
    }

    @Test
    void exitZeroWithoutResult() throws Exception {
        fake.script("silent", "cat > /dev/null; exit 0");
        CniError e = addFails("silent");
        assertEquals("plugin type=\"silent\" failed (add): plugin exited 0 but printed no result", e.getMessage());
    }

    @Test
    void failuresMappedAsLibcniDoes() throws Exception {
        fake.script("mute", "exit 1");
        assertEquals(
                "plugin type=\"mute\" failed (add): netplugin failed with no error message: exit status 1",
                addFails("mute").getMessage());
        fake.script("moan", "echo 'no bridge for you' >&2; exit 3");
        CniError moan = addFails("moan");
        assertEquals(0, moan.code());
        assertEquals(
                "plugin type=\"moan\" failed (add): netplugin failed: \"no bridge for you\n\": exit status 3",
                moan.getMessage());
        fake.script("babble", "echo 'oops'; exit 1");
        assertTrue(
                addFails("babble")
                        .getMessage()
                        .startsWith(
                                "plugin type=\"babble\" failed (add): netplugin failed but error parsing its diagnostic message \"oops\n\": "));
        fake.script(
                "proper",
                "echo '{\"code\": 7, \"msg\": \"invalid network configuration\", \"details\": \"bridge: bad\"}'; exit 1");
        CniError proper = addFails("proper");
        assertEquals(7, proper.code(), "the plugin's own code");
        assertEquals("plugin type=\"proper\" failed (add): invalid network configuration", proper.msg());
        assertEquals("bridge: bad", proper.details());
    }

    @Test
    void typeWithAPathIsRefusedWithoutRunningAnything() throws Exception {
        CniError e = addFails("../../bin/sh");
        assertEquals("plugin type=\"../../bin/sh\" failed (add): invalid plugin name: ../../bin/sh", e.getMessage());
        CniError dots = addFails("..");
        assertEquals("plugin type=\"..\" failed (add): invalid plugin name: ..", dots.getMessage());
        fake.script("x..y", "echo '{}'");
        assertEquals(
                "plugin type=\"x..y\" failed (add): invalid plugin name: x..y",
                addFails("x..y").getMessage());
        assertEquals(List.of(), calls, "nothing was executed");
    }

    @Test
    void successfulPluginsStderrGoesToTheSinkAndFailedOnesIntoTheError() throws Exception {
        fake.script("chatty", "cat > /dev/null; echo 'all good' >&2; echo '{\"cniVersion\": \"1.0.0\"}'");
        var sink = new java.io.ByteArrayOutputStream();
        CniRuntime withSink = CniRuntime.builder()
                .cniPath(List.of(fake.bin.toString()))
                .cacheDir(tmp.resolve("cache"))
                .stderr(new java.io.PrintStream(sink, true, StandardCharsets.UTF_8))
                .build();
        withSink.add(list("chatty"), pod);
        assertEquals("all good\n", sink.toString(StandardCharsets.UTF_8));
    }

    @Test
    void pluginNotFound() throws Exception {
        CniError e = addFails("nope");
        assertEquals(
                "plugin type=\"nope\" failed (add): failed to find plugin \"nope\" in path [" + fake.bin + "]",
                e.getMessage());
    }

    @Test
    void aFailureLaterInTheChainStopsItAndWritesNoCache() throws Exception {
        fake.recorder("first", 1);
        fake.recorder("second", 2);
        fake.recorder("third", 3);
        fake.failOn("second", "ADD");
        CniError e = addFails("first", "second", "third");
        assertEquals(11, e.code());
        assertEquals("plugin type=\"second\" failed (add): second refused ADD; as told", e.getMessage());
        assertEquals(List.of("first-ADD", "second-ADD"), fake.calls());
    }

    @Test
    void attachmentParametersValidatedBeforeAnyPluginRuns() throws Exception {
        fake.recorder("first", 1);
        NetworkConfigList l = list("first");
        assertEquals(
                CniError.UNKNOWN_CONTAINER,
                assertThrows(CniError.class, () -> rt.add(l, new RuntimeConf("", "/x", "eth0")))
                        .code());
        assertEquals(
                "invalid characters in containerID; a/b",
                assertThrows(CniError.class, () -> rt.add(l, new RuntimeConf("a/b", "/x", "eth0")))
                        .getMessage());
        assertEquals(
                "interface name is too long; interface name should be less than 16 characters: abcdefghijklmnop",
                assertThrows(CniError.class, () -> rt.add(l, new RuntimeConf("c", "/x", "abcdefghijklmnop")))
                        .getMessage());
        assertEquals(List.of(), fake.calls());
    }

    @Test
    void networkAndContainerNamesValidatedOnEveryVerb() throws Exception {
        fake.recorder("first", 1);
        NetworkConfigList escaping = ConfLoader.parseList(
                ("{\"cniVersion\": \"1.1.0\", \"name\": \"../victim\", " + "\"plugins\": [{\"type\": \"first\"}]}")
                        .getBytes(StandardCharsets.UTF_8),
                "test");
        // what <cache>/results/../victim-<id>-eth0 names: a file outside the results directory
        Path outside = Files.createDirectories(tmp.resolve("cache/results"))
                .resolveSibling("victim-" + pod.containerId() + "-eth0");
        Files.writeString(outside, "not a cache file");
        CniError del = assertThrows(CniError.class, () -> rt.del(escaping, pod));
        assertEquals(CniError.INVALID_NETWORK_CONFIG, del.code());
        assertEquals("invalid characters found in network name; ../victim", del.getMessage());
        assertEquals(
                CniError.INVALID_NETWORK_CONFIG,
                assertThrows(CniError.class, () -> rt.check(escaping, pod)).code());
        assertEquals(
                CniError.INVALID_NETWORK_CONFIG,
                assertThrows(CniError.class, () -> rt.status(escaping)).code());
        GcReport gc = rt.gc(escaping, List.of());
        assertEquals(
                List.of(CniError.INVALID_NETWORK_CONFIG),
                gc.errors().stream().map(CniError::code).toList());
        assertTrue(Files.exists(outside), "DEL must not remove a file outside the cache");
        assertEquals(List.of(), fake.calls(), "no plugin ran");

        // a cache file whose recorded container ID would escape: GC reports it and runs nothing for it
        NetworkConfigList l = list("first");
        Path forged = tmp.resolve("cache/results/jrterr-forged-eth0");
        Files.writeString(
                forged,
                "{\"kind\":\"cniCacheV1\",\"containerId\":\"../../x\",\"config\":\"\",\"ifName\":\"eth0\","
                        + "\"networkName\":\"jrterr\"}");
        GcReport forgedGc = rt.gc(l, List.of());
        assertEquals(
                List.of("invalid characters in containerID; ../../x"),
                forgedGc.errors().stream().map(CniError::getMessage).toList());
        assertEquals(List.of(), forgedGc.deleted());
        assertEquals(List.of(), fake.calls());
    }
}
