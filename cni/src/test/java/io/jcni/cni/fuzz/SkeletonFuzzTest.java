package io.jcni.cni.fuzz;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.CniArgs;
import io.jcni.cni.CniError;
import io.jcni.cni.Invocation;
import io.jcni.cni.Plugin;
import io.jcni.cni.PluginRequest;
import io.jcni.cni.PluginResponse;
import io.jcni.cni.Result;
import io.jcni.cni.Skeleton;
import io.jcni.cni.json.Json;
import io.jcni.testkit.Fuzz;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Fuzzes the plugin skeleton's input handling (environment, CNI_ARGS and the configuration on
 * stdin) through {@link Skeleton#handle}, the entry point of both the exec'd plugin and the
 * daemon: arbitrary bytes, byte-mutated and structurally mutated valid configurations. Every
 * input must give either success or a spec error object with a code — never an uncaught
 * exception, which the skeleton would report as {@link CniError#INTERNAL}.
 */
class SkeletonFuzzTest {
    /** Valid configurations to mutate: every field the skeleton and the result parser read. */
    static final List<String> SEEDS = List.of(
            "{\"cniVersion\":\"1.1.0\",\"name\":\"jhf-net\",\"type\":\"bridge\",\"bridge\":\"jhf0\",\"isGateway\":true,"
                    + "\"ipam\":{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.99.0.0/24\"}]],"
                    + "\"routes\":[{\"dst\":\"0.0.0.0/0\"}],\"dataDir\":\"/nonexistent/jhf\"},"
                    + "\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":8080,\"containerPort\":80,\"protocol\":\"tcp\"}],"
                    + "\"ips\":[\"10.99.0.5/24\"],\"mac\":\"0a:58:0a:99:00:05\"},\"args\":{\"cni\":{\"ips\":[\"10.99.0.6\"]}},"
                    + "\"prevResult\":{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"eth0\",\"mac\":\"0a:58:0a:99:00:05\","
                    + "\"sandbox\":\"/var/run/netns/x\"}],\"ips\":[{\"interface\":0,\"address\":\"10.99.0.5/24\","
                    + "\"gateway\":\"10.99.0.1\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.99.0.1\"}],"
                    + "\"dns\":{\"nameservers\":[\"10.99.0.1\"],\"domain\":\"x\",\"search\":[\"a\"],\"options\":[\"b\"]}}}",
            "{\"cniVersion\":\"0.3.1\",\"name\":\"jhf-old\",\"type\":\"loopback\",\"prevResult\":{\"cniVersion\":\"0.3.1\","
                    + "\"ips\":[{\"version\":\"4\",\"address\":\"10.99.1.2/24\"}]}}",
            "{\"cniVersion\":\"0.3.0\",\"name\":\"jhf-v3\",\"type\":\"host-local\",\"prevResult\":{\"ip4\":{\"ip\":\"10.99.2.2/24\","
                    + "\"gateway\":\"10.99.2.1\",\"routes\":[{\"dst\":\"0.0.0.0/0\"}]},\"dns\":{}}}",
            "{\"cniVersion\":\"1.1.0\",\"name\":\"jhf-gc\",\"type\":\"bridge\",\"cni.dev/valid-attachments\":"
                    + "[{\"containerID\":\"c1\",\"ifname\":\"eth0\"}]}");

    static final String[] COMMANDS = {"ADD", "DEL", "CHECK", "GC", "STATUS", "VERSION", "", "add", "BOGUS"};
    /** Never an existing namespace other than our own: ADD/CHECK then stop at the netns check, DEL reaches the plugin. */
    static final String[] NETNS = {"", "/nonexistent/jhf-fuzz", "/", "/proc/self/ns/net", "relative/jhf", "/dev/null"};

    static final String[] IDS = {"c1", "", "a b", "-x", "abc/def", "jhf.fuzz_1-2", "\u00e9", "x".repeat(300)};
    static final String[] IFNAMES = {
        "eth0",
        "",
        ".",
        "..",
        "a/b",
        "a:b",
        "a b",
        "0123456789abcdef",
        "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
    };
    static final String[] CNI_ARGS = {
        "",
        "IgnoreUnknown=1",
        "IgnoreUnknown=true;IP=10.99.0.9",
        "K8S_POD_NAME=a;K8S_POD_NAMESPACE=b",
        "IP=10.99.0.9",
        "a",
        "=",
        ";",
        "A=B=C",
        "IgnoreUnknown=maybe",
        "IgnoreUnknown=1;X="
    };

    /**
     * A plugin that reads what a real plugin reads from a validated invocation (prevResult, the
     * configuration's typed getters) and never touches the kernel.
     */
    static final class ParsingPlugin implements Plugin {
        @Override
        public String name() {
            return "jhf-fuzz";
        }

        @Override
        public Set<String> knownArgs() {
            return Set.of("IP", "MAC");
        }

        @Override
        public Result add(Invocation inv) throws CniError {
            read(inv);
            return Result.empty();
        }

        @Override
        public void del(Invocation inv) throws CniError {
            read(inv);
        }

        @Override
        public void check(Invocation inv) throws CniError {
            read(inv);
        }

        @Override
        public void gc(Invocation inv) throws CniError {
            read(inv);
            inv.config().objects("cni.dev/valid-attachments");
        }

        @Override
        public void status(Invocation inv) throws CniError {
            read(inv);
        }

        private static void read(Invocation inv) throws CniError {
            Result prev = inv.prevResult();
            if (prev != null) {
                Json.write(prev.toJson(inv.cniVersion()));
            }
            var ipam = inv.config().object("ipam");
            if (ipam != null) {
                ipam.string("dataDir", "");
                for (var r : ipam.objects("routes")) {
                    Result.route(r);
                }
            }
            inv.config().bool("isGateway", false);
            inv.config().integer("mtu", 0, 0, 65535);
            inv.config().prefix("subnet");
            inv.config().ip("gateway");
        }
    }

    /** Success, or exit 1 with a spec error object whose code is not INTERNAL. */
    static void assertSpecOutcome(PluginResponse r, Object input) {
        if (r.exitCode() == 0) {
            return;
        }
        assertEquals(1, r.exitCode(), () -> "exit code for " + input);
        Map<String, Object> err;
        try {
            err = Json.parseObject(r.stdout());
        } catch (Exception e) {
            throw new AssertionError("error output is not a JSON object: " + r.stdoutText() + " for " + input, e);
        }
        assertInstanceOf(Long.class, err.get("code"), () -> "no code in " + r.stdoutText());
        assertNotEquals(
                (long) CniError.INTERNAL,
                err.get("code"),
                () -> "an uncaught exception: " + r.stdoutText() + " for " + input);
        assertInstanceOf(String.class, err.get("msg"), r.stdoutText());
    }

    static Map<String, String> env(Random r) {
        Map<String, String> env = new HashMap<>();
        env.put(
                "CNI_COMMAND",
                r.nextInt(4) == 0 ? Fuzz.pick(r, COMMANDS) : Fuzz.pick(r, new String[] {"DEL", "GC", "STATUS"}));
        env.put("CNI_CONTAINERID", r.nextInt(5) == 0 ? Fuzz.text(r, 3) : Fuzz.pick(r, IDS));
        env.put("CNI_NETNS", Fuzz.pick(r, NETNS));
        env.put("CNI_IFNAME", r.nextInt(5) == 0 ? Fuzz.text(r, 3) : Fuzz.pick(r, IFNAMES));
        env.put("CNI_ARGS", r.nextInt(4) == 0 ? Fuzz.text(r, 6) : Fuzz.pick(r, CNI_ARGS));
        env.put("CNI_PATH", r.nextBoolean() ? "/usr/lib/cni" : Fuzz.text(r, 3));
        if (r.nextInt(10) == 0) {
            env.remove(Fuzz.pick(r, List.copyOf(env.keySet())));
        }
        return env;
    }

    static PluginResponse handle(Map<String, String> env, byte[] stdin) {
        // handle() itself must not throw: a throw here fails the property with the input in the report
        return Skeleton.handle(new ParsingPlugin(), new PluginRequest(env, stdin));
    }

    static byte[] seed(Random r) {
        return Fuzz.pick(r, SEEDS).getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void arbitraryBytesOnStdin() {
        Fuzz.run("skeleton/random bytes", 300, r -> {
            Map<String, String> env = env(r);
            byte[] stdin = Fuzz.bytes(r, 200);
            assertSpecOutcome(handle(env, stdin), env + " stdin " + java.util.Arrays.toString(stdin));
        });
    }

    @Test
    void byteMutatedConfigs() {
        Fuzz.run("skeleton/byte-mutated configs", 400, r -> {
            Map<String, String> env = env(r);
            byte[] stdin = Fuzz.mutateBytes(r, seed(r));
            assertSpecOutcome(handle(env, stdin), env + " stdin " + new String(stdin, StandardCharsets.UTF_8));
        });
    }

    @Test
    void structurallyMutatedConfigs() {
        Fuzz.run("skeleton/structure-mutated configs", 600, r -> {
            Map<String, String> env = env(r);
            Object doc = Json.parse(seed(r));
            for (int n = 1 + r.nextInt(3); n > 0; n--) {
                doc = Fuzz.mutateJson(r, doc);
            }
            byte[] stdin = Json.write(doc).getBytes(StandardCharsets.UTF_8);
            assertSpecOutcome(handle(env, stdin), env + " stdin " + new String(stdin, StandardCharsets.UTF_8));
        });
    }

    @Test
    void validConfigsStillPass() {
        // The generator's sanity check: unmutated seeds with a DEL on a vanished namespace succeed,
        // so the properties above exercise the plugin's parsing and not only the early refusals.
        for (String s : SEEDS) {
            Map<String, String> env = Map.of(
                    "CNI_COMMAND",
                    "DEL",
                    "CNI_CONTAINERID",
                    "c1",
                    "CNI_IFNAME",
                    "eth0",
                    "CNI_NETNS",
                    "/nonexistent/jhf-fuzz",
                    "CNI_ARGS",
                    "IgnoreUnknown=1");
            PluginResponse resp = handle(env, s.getBytes(StandardCharsets.UTF_8));
            assertEquals(0, resp.exitCode(), resp.stdoutText());
        }
    }

    @Test
    void cniArgs() {
        String[] valid = {
            "IgnoreUnknown=1;IP=10.99.0.9;K8S_POD_NAME=a", "MAC=0a:58:0a:99:00:05", "K8S_POD_UID=x;IgnoreUnknown=false"
        };
        Fuzz.run("CNI_ARGS", 2000, r -> {
            String raw = switch (r.nextInt(3)) {
                case 0 -> Fuzz.text(r, 10);
                case 1 ->
                    new String(
                            Fuzz.mutateBytes(r, Fuzz.pick(r, valid).getBytes(StandardCharsets.UTF_8)),
                            StandardCharsets.UTF_8);
                default -> String.join(";", Fuzz.text(r, 2) + "=" + Fuzz.text(r, 2), Fuzz.pick(r, CNI_ARGS));
            };
            try {
                Map<String, String> args = CniArgs.parse(raw, Set.of("IP", "MAC"));
                for (String k : args.keySet()) {
                    assertFalse(k.contains(";") || k.contains("="), () -> "key " + k + " from " + raw);
                }
            } catch (CniError e) {
                assertEquals(CniError.INVALID_ENVIRONMENT, e.code(), () -> "code for " + raw);
            }
        });
    }
}
