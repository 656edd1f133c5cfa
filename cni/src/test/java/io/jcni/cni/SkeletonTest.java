package io.jcni.cni;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.json.Json;
import io.jcni.netlink.KernelException;
import io.jcni.netlink.sys.Errno;
import io.jcni.testkit.TestNames;
import io.jcni.testkit.TestNetns;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The skeleton's validation order and error codes (the reference skel's), with a plugin that records calls. */
class SkeletonTest {
    static final String NS = "jsk" + TestNames.RUN;
    static final String NETNS = TestNetns.path(NS);

    @AutoClose
    static final TestNetns NAMESPACES = new TestNetns();

    @BeforeAll
    static void namespace() {
        NAMESPACES.create(NS);
    }

    /** Records what it was asked; throws what it is told to. */
    static final class Recorder implements Plugin {
        final List<String> calls = new ArrayList<>();
        RuntimeException toThrow;
        CniError toFail;

        @Override
        public String name() {
            return "recorder";
        }

        @Override
        public Set<String> knownArgs() {
            return Set.of("IP");
        }

        private void record(Invocation inv) throws CniError {
            calls.add(inv.command() + " " + inv.containerId() + " " + inv.ifname() + " " + inv.cniVersion());
            if (toThrow != null) {
                throw toThrow;
            }
            if (toFail != null) {
                throw toFail;
            }
        }

        @Override
        public Result add(Invocation inv) throws CniError {
            record(inv);
            return new Result(
                    List.of(new Result.Interface("eth0", "02:00:00:00:00:01", inv.netnsPath())),
                    List.of(new Result.IpConfig(
                            0,
                            io.jcni.netlink.ip.IpPrefix.parse("10.1.0.2/24"),
                            io.jcni.netlink.ip.IpAddress.parse("10.1.0.1"))),
                    null,
                    null);
        }

        @Override
        public void del(Invocation inv) throws CniError {
            record(inv);
        }

        @Override
        public void check(Invocation inv) throws CniError {
            record(inv);
        }

        @Override
        public void gc(Invocation inv) throws CniError {
            record(inv);
        }

        @Override
        public void status(Invocation inv) throws CniError {
            record(inv);
        }
    }

    static Map<String, String> env(String command) {
        Map<String, String> e = new HashMap<>();
        e.put("CNI_COMMAND", command);
        e.put("CNI_CONTAINERID", "c1");
        e.put("CNI_NETNS", NETNS);
        e.put("CNI_IFNAME", "eth0");
        e.put("CNI_PATH", "/usr/lib/cni");
        return e;
    }

    static String conf(String version) {
        return "{\"cniVersion\":\"" + version + "\",\"name\":\"net1\",\"type\":\"recorder\"}";
    }

    static PluginResponse run(Plugin p, Map<String, String> env, String stdin) {
        return Skeleton.handle(p, new PluginRequest(env, stdin.getBytes(StandardCharsets.UTF_8)));
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> error(PluginResponse r) throws Exception {
        assertEquals(1, r.exitCode(), r.stdoutText());
        Map<String, Object> m = (Map<String, Object>) Json.parse(r.stdout());
        assertNotNull(m.get("cniVersion"), "errors carry cniVersion: " + r.stdoutText());
        assertFalse(((String) m.get("msg")).isEmpty());
        return m;
    }

    static long code(PluginResponse r) throws Exception {
        return (Long) error(r).get("code");
    }

    @Test
    void anInternalErrorIsCode999WithItsStackTraceOnStderr() throws Exception {
        Recorder p = new Recorder();
        p.toThrow = new IllegalStateException("a bug in the plugin");
        PluginResponse r = run(p, env("ADD"), conf("1.1.0"));
        assertEquals(999, code(r));
        assertTrue(error(r).get("details").toString().contains("a bug in the plugin"), r.stdoutText());
        assertTrue(r.stderr().contains("java.lang.IllegalStateException: a bug in the plugin"), r.stderr());
        assertTrue(r.stderr().contains("\tat io.jcni.cni.SkeletonTest."), "with its frames: " + r.stderr());
    }

    @Test
    void unsetCommandIsCode4NotSuccess() throws Exception {
        Recorder p = new Recorder();
        Map<String, String> e = env("ADD");
        e.remove("CNI_COMMAND");
        PluginResponse r = run(p, e, conf("1.1.0"));
        assertEquals(4, code(r));
        assertEquals("1.1.0", error(r).get("cniVersion"));
        assertTrue(p.calls.isEmpty());
    }

    @Test
    void validationOrderAndCodes() throws Exception {
        Recorder p = new Recorder();
        Object[][] cases = {
            // env changes, stdin, expected code
            {Map.of("CNI_COMMAND", "FROB"), conf("1.1.0"), 4L},
            {Map.of("CNI_CONTAINERID", ""), conf("1.1.0"), 4L},
            {Map.of("CNI_IFNAME", ""), conf("1.1.0"), 4L},
            {Map.of("CNI_NETNS", ""), conf("1.1.0"), 4L},
            {Map.of("CNI_CONTAINERID", "../etc"), conf("1.1.0"), 4L},
            {Map.of("CNI_IFNAME", "a/b"), conf("1.1.0"), 4L},
            {Map.of("CNI_IFNAME", "0123456789abcdef"), conf("1.1.0"), 4L},
            {Map.of("CNI_IFNAME", "a b"), conf("1.1.0"), 4L},
            {Map.of(), "", 6L},
            {Map.of(), "{", 6L},
            {Map.of(), "[1,2]", 6L},
            {Map.of(), "{\"cniVersion\":\"1.1.0\"}", 7L},
            {Map.of(), "{\"cniVersion\":\"1.1.0\",\"name\":\"bad name\"}", 7L},
            {Map.of(), "{\"name\":\"n\"}", 1L},
            {Map.of(), conf("0.2.0"), 1L},
            {Map.of(), conf("9.9.9"), 1L},
            {Map.of(), conf("1.x.0"), 6L},
            {Map.of("CNI_COMMAND", "CHECK"), conf("0.3.1"), 1L},
            {Map.of("CNI_COMMAND", "GC"), conf("1.0.0"), 1L},
            {Map.of("CNI_COMMAND", "STATUS"), conf("1.0.0"), 1L},
            {Map.of("CNI_NETNS", "/run/netns/" + NS + "-missing"), conf("1.1.0"), 3L},
            {Map.of("CNI_NETNS", "/etc/hostname"), conf("1.1.0"), 4L},
            {Map.of("CNI_NETNS", "/proc/self/ns/mnt"), conf("1.1.0"), 4L},
            {Map.of("CNI_NETNS", "/proc/self/ns/net"), conf("1.1.0"), 8L},
            {Map.of("CNI_ARGS", "FOO=bar"), conf("1.1.0"), 4L},
            {Map.of("CNI_ARGS", "IP"), conf("1.1.0"), 4L},
            {Map.of("CNI_ARGS", "IgnoreUnknown=maybe"), conf("1.1.0"), 4L},
        };
        for (Object[] c : cases) {
            Map<String, String> e = env("ADD");
            @SuppressWarnings("unchecked")
            Map<String, String> change = (Map<String, String>) c[0];
            e.putAll(change);
            PluginResponse r = run(p, e, (String) c[1]);
            assertEquals(c[2], code(r), change + " " + c[1] + " -> " + r.stdoutText());
        }
        assertTrue(p.calls.isEmpty(), "the plugin must not run for bad input: " + p.calls);
        byte[] huge = new byte[10 << 20];
        java.util.Arrays.fill(huge, (byte) ' ');
        PluginResponse big = Skeleton.handle(p, new PluginRequest(env("ADD"), huge));
        assertEquals(6, code(big));
    }

    @Test
    void acceptedInputReachesThePluginOnce() throws Exception {
        Recorder p = new Recorder();
        Map<String, String> e = env("ADD");
        e.put("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAME=x;FOO=bar;IP=10.1.0.9");
        PluginResponse r = run(p, e, conf("0.4.0"));
        assertEquals(0, r.exitCode(), r.stdoutText());
        assertEquals(List.of("ADD c1 eth0 0.4.0"), p.calls);
        // answered in the request's version: 0.4.0 results carry ips[].version
        assertTrue(r.stdoutText().contains("\"version\": \"4\""), r.stdoutText());

        Map<String, String> del = env("DEL");
        del.put("CNI_NETNS", "");
        assertEquals(0, run(p, del, conf("1.0.0")).exitCode(), "DEL without a namespace");
        del.put("CNI_NETNS", "/run/netns/" + NS + "-gone");
        assertEquals(0, run(p, del, conf("1.0.0")).exitCode(), "DEL with a vanished namespace");
        Map<String, String> override = env("ADD");
        override.put("CNI_NETNS", "/proc/self/ns/net");
        override.put("CNI_NETNS_OVERRIDE", "true");
        assertEquals(0, run(p, override, conf("1.1.0")).exitCode(), "CNI_NETNS_OVERRIDE allows our own namespace");
        Map<String, String> gc = new HashMap<>(Map.of("CNI_COMMAND", "GC", "CNI_PATH", "/usr/lib/cni"));
        assertEquals(0, run(p, gc, conf("1.1.0")).exitCode(), "GC needs no attachment variables");
    }

    @Test
    void pluginFailuresBecomeErrorObjects() throws Exception {
        Recorder p = new Recorder();
        p.toFail = new CniError(CniError.TRY_AGAIN_LATER, "busy", "try later");
        assertEquals(11, code(run(p, env("ADD"), conf("1.1.0"))));
        p.toFail = null;
        p.toThrow = new KernelException("add link", "veth1", Errno.EEXIST, "kernel text");
        Map<String, Object> k = error(run(p, env("ADD"), conf("1.1.0")));
        assertEquals(100L, k.get("code"));
        assertTrue(((String) k.get("details")).contains("kernel text"));
        p.toThrow = new IllegalStateException("boom");
        assertEquals(999, code(run(p, env("ADD"), conf("1.1.0"))));
    }

    @Test
    void versionEchoesTheInputAndListsAll() throws Exception {
        PluginResponse r = run(new Recorder(), Map.of("CNI_COMMAND", "VERSION"), "{\"cniVersion\":\"0.4.0\"}");
        assertEquals(0, r.exitCode());
        assertEquals(
                "{\"cniVersion\":\"0.4.0\",\"supportedVersions\":[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]}\n",
                r.stdoutText());
    }

    @Test
    void jsonWriterMatchesGo() throws Exception {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("a", "<b>&\"\\\n");
        m.put("n", 3L);
        m.put("l", List.of());
        m.put("o", Map.of("k", true));
        assertEquals(
                "{\n    \"a\": \"\\u003cb\\u003e\\u0026\\\"\\\\\\n\",\n    \"n\": 3,\n    \"l\": [],\n    \"o\": {\n        \"k\": true\n    }\n}",
                Json.writeIndented(m));
        assertEquals(m, Json.parse(Json.writeIndented(m)));
    }

    @Test
    void resultsConvertBetweenVersions() throws Exception {
        String v11 = """
                {"cniVersion":"1.1.0","interfaces":[{"name":"eth0","mac":"02:00:00:00:00:01","mtu":1400,"sandbox":"/run/netns/x"}],
                 "ips":[{"interface":0,"address":"10.1.0.2/24","gateway":"10.1.0.1"},{"address":"fd00::2/64"}],
                 "routes":[{"dst":"0.0.0.0/0","gw":"10.1.0.1","priority":5,"table":100}],
                 "dns":{"nameservers":["10.1.0.1"]}}""";
        @SuppressWarnings("unchecked")
        Result r = Result.parse((Map<String, Object>) Json.parse(v11), "prevResult");
        String as040 = Json.write(r.toJson("0.4.0"));
        assertEquals(
                "{\"cniVersion\":\"0.4.0\",\"interfaces\":[{\"name\":\"eth0\",\"mac\":\"02:00:00:00:00:01\",\"sandbox\":\"/run/netns/x\"}],"
                        + "\"ips\":[{\"version\":\"4\",\"interface\":0,\"address\":\"10.1.0.2/24\",\"gateway\":\"10.1.0.1\"},"
                        + "{\"version\":\"6\",\"address\":\"fd00::2/64\"}],"
                        + "\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.1.0.1\",\"priority\":5,\"table\":100}],"
                        + "\"dns\":{\"nameservers\":[\"10.1.0.1\"]}}",
                as040);
        @SuppressWarnings("unchecked")
        Result back = Result.parse((Map<String, Object>) Json.parse(as040), "prevResult");
        String as100 = Json.write(back.toJson("1.0.0"));
        assertFalse(as100.contains("\"version\""), as100);
        assertTrue(as100.startsWith("{\"cniVersion\":\"1.0.0\""), as100);
        assertEquals(
                Json.write(r.toJson("1.1.0")).replace("1.1.0", "X").replace(",\"mtu\":1400", ""),
                Json.write(back.toJson("1.1.0")).replace("1.1.0", "X"),
                "only the 0.x-dropped interface mtu differs");
    }

    @Test
    void cniArgsLikeTheReference() throws Exception {
        assertEquals(Map.of("IP", "10.1.0.5"), CniArgs.parse("IP=10.1.0.5", Set.of("IP")));
        assertThrows(CniError.class, () -> CniArgs.parse("IP=a=b", Set.of("IP")));
        assertThrows(CniError.class, () -> CniArgs.parse("ip=10.1.0.5", Set.of("IP")), "keys are case-sensitive");
        assertEquals(
                3, CniArgs.parse("IgnoreUnknown=TRUE;X=1;IP=2", Set.of("IP")).size());
        assertTrue(CniArgs.parse("", Set.of()).isEmpty());
    }

    @Test
    void delegateRefusesPathsInTypes() {
        for (String bad : new String[] {"../../bin/sh", "/bin/sh", "a/b", "..", ""}) {
            CniError e = assertThrows(CniError.class, () -> Delegate.find(bad, List.of("/usr/lib/cni")), bad);
            assertEquals(CniError.INVALID_NETWORK_CONFIG, e.code());
        }
        assertThrows(CniError.class, () -> Delegate.find("no-such-plugin", List.of("/usr/lib/cni")));
        assertDoesNotThrow(() -> Delegate.find("host-local", List.of("/nonexistent", "/usr/lib/cni")));
        assertTrue(Files.isExecutable(Path.of("/usr/lib/cni/host-local")));
    }
}
