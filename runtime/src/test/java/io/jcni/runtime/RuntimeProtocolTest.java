package io.jcni.runtime;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.CniError;
import io.jcni.cni.json.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the runtime sends to plugins, verb by verb (environment, stdin, prevResult, runtimeConfig), seen by recording sh plugins. */
class RuntimeProtocolTest {
    @TempDir
    Path tmp;

    FakePlugins fake;
    CniRuntime rt;
    NetworkConfigList net;
    final RuntimeConf pod = new RuntimeConf(
            "jrtproto1",
            "/run/netns/jrtproto",
            "eth0",
            List.of(Map.entry("IgnoreUnknown", "1"), Map.entry("K8S_POD_NAME", "web")),
            Map.of(
                    "portMappings",
                    List.of(Map.of("hostPort", 8080L, "containerPort", 80L)),
                    "mac",
                    "c2:11:22:33:44:55"));

    @BeforeEach
    void setUp() throws Exception {
        fake = new FakePlugins(tmp);
        fake.recorder("a", 1);
        fake.recorder("b", 2);
        fake.recorder("c", 3);
        rt = CniRuntime.builder()
                .cniPath(List.of(tmp.resolve("empty").toString(), fake.bin.toString()))
                .cacheDir(tmp.resolve("cache"))
                .timeout(Duration.ofSeconds(20))
                .environment(Map.of("JRT_LOG", fake.log.toString()))
                .build();
        net = ConfLoader.parseList("""
                {"cniVersion": "1.1.0", "name": "jrtproto", "plugins": [
                  {"type": "a", "capabilities": {"mac": true}},
                  {"type": "b", "capabilities": {"portMappings": true, "mac": false}, "extra": {"kept": [1, 2]}},
                  {"type": "c"}]}""".getBytes(StandardCharsets.UTF_8), "test");
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> stdin(int i) throws Exception {
        return (Map<String, Object>) Json.parse(fake.stdin(i));
    }

    @Test
    void addChainsPrevResultAndDelRunsInReverseWithTheCachedResult() throws Exception {
        NetworkResult r = rt.add(net, pod);
        assertEquals(
                "{\"cniVersion\":\"1.1.0\",\"ips\":[{\"address\":\"10.99.0.3/24\"}]}",
                r.toString(),
                "the last plugin's result");
        assertEquals(List.of("a-ADD", "b-ADD", "c-ADD"), fake.calls());
        // plugin 0: no prevResult; runtimeConfig only with the capabilities it asked for
        assertFalse(stdin(0).containsKey("prevResult"));
        assertEquals(Map.of("mac", "c2:11:22:33:44:55"), stdin(0).get("runtimeConfig"));
        assertEquals("jrtproto", stdin(0).get("name"));
        assertEquals("1.1.0", stdin(0).get("cniVersion"));
        assertFalse(stdin(0).containsKey("capabilities"));
        // plugin 1: plugin 0's result; unknown keys passed through
        assertEquals(
                "10.99.0.1/24",
                ((Map<?, ?>) ((List<?>) ((Map<?, ?>) stdin(1).get("prevResult")).get("ips")).get(0)).get("address"));
        assertEquals(Map.of("portMappings", pod.capabilityArgs().get("portMappings")), stdin(1).get("runtimeConfig"));
        assertEquals(Map.of("kept", List.of(1L, 2L)), stdin(1).get("extra"));
        assertEquals(
                "10.99.0.2/24",
                ((Map<?, ?>) ((List<?>) ((Map<?, ?>) stdin(2).get("prevResult")).get("ips")).get(0)).get("address"));
        assertFalse(stdin(2).containsKey("runtimeConfig"));
        // the six variables, and the inherited environment
        String env = fake.env(0);
        for (String line : List.of(
                "CNI_COMMAND=ADD",
                "CNI_CONTAINERID=jrtproto1",
                "CNI_NETNS=/run/netns/jrtproto",
                "CNI_IFNAME=eth0",
                "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAME=web",
                "CNI_PATH=" + tmp.resolve("empty") + ":" + fake.bin,
                "JRT_LOG=" + fake.log)) {
            assertTrue(env.lines().anyMatch(line::equals), line + " in\n" + env);
        }
        assertTrue(env.lines().anyMatch(l -> l.startsWith("PATH=")), "inherited PATH");

        fake.clearLog();
        rt.check(net, pod);
        assertEquals(List.of("a-CHECK", "b-CHECK", "c-CHECK"), fake.calls());
        for (int i = 0; i < 3; i++) {
            assertEquals(r.json(), stdin(i).get("prevResult"), "CHECK gets the cached final result");
        }

        fake.clearLog();
        rt.del(net, new RuntimeConf(pod.containerId(), pod.netns(), pod.ifName()));
        assertEquals(List.of("c-DEL", "b-DEL", "a-DEL"), fake.calls());
        for (int i = 0; i < 3; i++) {
            assertEquals(r.json(), stdin(i).get("prevResult"), "DEL gets the cached final result");
        }
        assertEquals(
                Map.of("portMappings", pod.capabilityArgs().get("portMappings")),
                stdin(1).get("runtimeConfig"),
                "DEL without capability args uses those cached at ADD");
        assertTrue(fake.env(0).contains("CNI_COMMAND=DEL"));
        assertFalse(Files.exists(rt.cache().file("jrtproto", "jrtproto1", "eth0")));
    }

    @Test
    void failedDelKeepsTheCacheForARetry() throws Exception {
        rt.add(net, pod);
        fake.clearLog();
        fake.failOn("b", "DEL");
        CniError e = assertThrows(CniError.class, () -> rt.del(net, pod));
        assertEquals("plugin type=\"b\" failed (delete): b refused DEL; as told", e.getMessage());
        assertEquals(List.of("c-DEL", "b-DEL"), fake.calls());
        assertTrue(Files.exists(rt.cache().file("jrtproto", "jrtproto1", "eth0")));
        Files.delete(fake.log.resolve("fail-b-DEL"));
        rt.del(net, pod);
        assertFalse(Files.exists(rt.cache().file("jrtproto", "jrtproto1", "eth0")));
    }

    @Test
    void statusStopsAtTheFirstErrorUnwrapped() throws Exception {
        rt.status(net);
        assertEquals(List.of("a-STATUS", "b-STATUS", "c-STATUS"), fake.calls());
        String env = fake.env(0);
        assertTrue(
                env.contains("CNI_CONTAINERID=\n") && env.contains("CNI_NETNS=\n") && env.contains("CNI_IFNAME=\n"),
                env);
        assertFalse(stdin(0).containsKey("runtimeConfig"));
        fake.clearLog();
        fake.failOn("b", "STATUS");
        CniError e = assertThrows(CniError.class, () -> rt.status(net));
        assertEquals(11, e.code());
        assertEquals("b refused STATUS", e.msg(), "STATUS errors are returned as the plugin sent them");
        assertEquals(List.of("a-STATUS", "b-STATUS"), fake.calls());
    }

    @Test
    void gcDeletesStaleAttachmentsThenSendsGcContinuingPastErrors() throws Exception {
        RuntimeConf keep = new RuntimeConf("keep", "/run/netns/keep", "eth0");
        RuntimeConf stale =
                new RuntimeConf("stale", "/run/netns/stale", "eth1", List.of(Map.entry("A", "1")), Map.of("mac", "m"));
        rt.add(net, keep);
        rt.add(net, stale);
        NetworkConfigList other = ConfLoader.parseList(
                "{\"cniVersion\": \"1.1.0\", \"name\": \"jrtother\", \"plugins\": [{\"type\": \"a\"}]}"
                        .getBytes(StandardCharsets.UTF_8),
                "o");
        rt.add(other, stale);
        fake.clearLog();
        fake.failOn("a", "GC");
        GcReport report = rt.gc(net, List.of(new Attachment("keep", "eth0")));
        assertEquals(
                List.of("c-DEL", "b-DEL", "a-DEL", "a-GC", "b-GC", "c-GC"),
                fake.calls(),
                "DEL the stale one, then GC to all");
        assertEquals(
                List.of("stale"),
                report.deleted().stream().map(CachedAttachment::containerId).toList());
        assertEquals(1, report.errors().size());
        assertEquals(
                "failed to GC plugin a: a refused GC", report.errors().get(0).msg());
        // the stale DEL used the recorded netns, CNI_ARGS and capability args
        assertTrue(
                fake.env(0).contains("CNI_NETNS=/run/netns/stale")
                        && fake.env(0).contains("CNI_ARGS=A=1"),
                fake.env(0));
        assertEquals(Map.of("mac", "m"), stdin(2).get("runtimeConfig"));
        // GC: both keys, the valid list; no attachment variables
        Map<String, Object> gc = stdin(3);
        List<Object> valid = List.of(Map.of("containerID", "keep", "ifname", "eth0"));
        assertEquals(valid, gc.get("cni.dev/valid-attachments"));
        assertEquals(valid, gc.get("cni.dev/attachments"));
        assertTrue(fake.env(3).contains("CNI_COMMAND=GC\n") && fake.env(3).contains("CNI_CONTAINERID=\n"));
        // what remains cached: keep (this network) and the other network's attachment
        assertEquals(
                List.of("jrtother/stale", "jrtproto/keep"),
                rt.cachedAttachments(null).stream()
                        .map(a -> a.networkName() + "/" + a.containerId())
                        .sorted()
                        .toList());

        // no list at all (cnitool gc): every cached attachment of the network goes, no key sent
        fake.clearLog();
        fake.failOn("a", "GC");
        GcReport all = rt.gc(net, null);
        assertEquals(List.of("c-DEL", "b-DEL", "a-DEL", "a-GC", "b-GC", "c-GC"), fake.calls());
        assertFalse(stdin(3).containsKey("cni.dev/valid-attachments"));
        assertEquals(1, all.errors().size());
        assertEquals(
                List.of("jrtother/stale"),
                rt.cachedAttachments(null).stream()
                        .map(a -> a.networkName() + "/" + a.containerId())
                        .toList());
    }

    @Test
    void operationsOnOneContainerNeverOverlap() throws Exception {
        fake.script("slow", """
                cat > /dev/null
                echo "start $CNI_COMMAND" >> "$JRT_LOG/timeline"; sleep 0.5; echo "end $CNI_COMMAND" >> "$JRT_LOG/timeline"
                [ "$CNI_COMMAND" = ADD ] && echo '{"cniVersion": "1.1.0"}'
                exit 0""");
        NetworkConfigList slow = ConfLoader.parseList(
                "{\"cniVersion\": \"1.1.0\", \"name\": \"jrtslow\", \"plugins\": [{\"type\": \"slow\"}]}"
                        .getBytes(StandardCharsets.UTF_8),
                "s");
        assertNoOverlap(() -> rt.add(slow, pod), () -> rt.del(slow, pod));
    }

    @Test
    void gcExcludesAddAndDelOfOtherContainers() throws Exception {
        fake.script("slow", """
                cat > /dev/null
                echo "start $CNI_COMMAND" >> "$JRT_LOG/timeline"; sleep 0.5; echo "end $CNI_COMMAND" >> "$JRT_LOG/timeline"
                [ "$CNI_COMMAND" = ADD ] && echo '{"cniVersion": "1.1.0"}'
                exit 0""");
        NetworkConfigList slow = ConfLoader.parseList(
                "{\"cniVersion\": \"1.1.0\", \"name\": \"jrtslow\", \"plugins\": [{\"type\": \"slow\"}]}"
                        .getBytes(StandardCharsets.UTF_8),
                "s");
        assertNoOverlap(
                () -> rt.add(slow, new RuntimeConf("other", "/run/netns/other", "eth0")),
                () -> assertTrue(
                        rt.gc(slow, List.of(new Attachment("other", "eth0"))).ok()));
    }

    interface Op {
        void run() throws Exception;
    }

    private void assertNoOverlap(Op a, Op b) throws Exception {
        var start = new java.util.concurrent.CountDownLatch(1);
        Thread adder = Thread.ofPlatform().start(() -> {
            try {
                start.await();
                a.run();
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        Thread checker = Thread.ofPlatform().start(() -> {
            try {
                start.await();
                b.run();
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        start.countDown();
        adder.join();
        checker.join();
        List<String> timeline = Files.readAllLines(fake.log.resolve("timeline"));
        assertEquals(4, timeline.size(), timeline.toString());
        assertTrue(
                timeline.get(0).startsWith("start")
                        && timeline.get(1).startsWith("end")
                        && timeline.get(2).startsWith("start")
                        && timeline.get(3).startsWith("end"),
                "one after the other: " + timeline);
    }

    @Test
    void disableCheckAndDisableGcSendNothing() throws Exception {
        NetworkConfigList quiet = ConfLoader.parseList("""
                {"cniVersion": "1.1.0", "name": "jrtquiet", "disableCheck": true, "disableGC": "true", "plugins": [{"type": "a"}]}""".getBytes(StandardCharsets.UTF_8), "q");
        rt.add(quiet, pod);
        fake.clearLog();
        rt.check(quiet, pod);
        assertTrue(rt.gc(quiet, null).ok());
        assertEquals(List.of(), fake.calls());
        assertTrue(
                Files.exists(rt.cache().file("jrtquiet", pod.containerId(), "eth0")),
                "disableGC: not even the stale DELs");
    }

    @Test
    void cachedResultIsConvertedToTheConfigVersionForDel() throws Exception {
        rt.add(net, pod);
        NetworkConfigList older = ConfLoader.parseList(
                new String(net.bytes(), StandardCharsets.UTF_8)
                        .replace("1.1.0", "0.4.0")
                        .getBytes(StandardCharsets.UTF_8),
                "old");
        fake.clearLog();
        rt.del(older, pod);
        Map<?, ?> prev = (Map<?, ?>) stdin(0).get("prevResult");
        assertEquals("0.4.0", prev.get("cniVersion"));
        assertEquals(
                "4",
                ((Map<?, ?>) ((List<?>) prev.get("ips")).get(0)).get("version"),
                "0.4.0 results carry ips[].version");
    }
}
