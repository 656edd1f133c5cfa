package io.jcni.plugins.testing;

import static org.junit.jupiter.api.Assertions.*;

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
import java.util.Map;
import java.util.Set;

/**
 * Fuzzes a plugin's option parser through {@link Skeleton#handle}, with structurally and
 * byte-mutated configurations and random CNI_ARGS: a parse or a spec error, never INTERNAL. The
 * plugin only parses (a DEL on a vanished namespace), so no input reaches the kernel.
 */
public final class OptionsFuzz {
    private OptionsFuzz() {}

    /** CNI_ARGS to draw from (besides random MAC values). */
    static final String[] CNI_ARGS = {
        "", "IgnoreUnknown=1", "MAC=0a:58:0a:99:00:07", "MAC=zz", "IgnoreUnknown=1;MAC=", "IP=10.99.0.9"
    };

    /** The parser under test, e.g. {@code BridgeConfig::parse}. */
    @FunctionalInterface
    public interface Parser {
        void parse(Invocation inv) throws CniError;
    }

    /** Parses the options on every verb and does nothing else. */
    private record ParseOnly(Parser parser) implements Plugin {
        @Override
        public String name() {
            return "jhf-fuzz";
        }

        @Override
        public Set<String> knownArgs() {
            return Set.of("MAC", "IP");
        }

        @Override
        public Result add(Invocation inv) throws CniError {
            parser.parse(inv);
            return Result.empty();
        }

        @Override
        public void del(Invocation inv) throws CniError {
            parser.parse(inv);
        }

        @Override
        public void check(Invocation inv) throws CniError {
            parser.parse(inv);
        }

        @Override
        public void gc(Invocation inv) throws CniError {
            parser.parse(inv);
        }

        @Override
        public void status(Invocation inv) throws CniError {
            parser.parse(inv);
        }
    }

    /** One DEL of {@code config} with {@code cniArgs} through the skeleton. */
    public static PluginResponse del(Parser parser, String cniArgs, byte[] config) {
        Map<String, String> env = Map.of(
                "CNI_COMMAND",
                "DEL",
                "CNI_CONTAINERID",
                "jhf-c1",
                "CNI_IFNAME",
                "eth0",
                "CNI_NETNS",
                "/nonexistent/jhf-fuzz",
                "CNI_ARGS",
                cniArgs);
        return Skeleton.handle(new ParseOnly(parser), new PluginRequest(env, config));
    }

    /** {@link Fuzz#run} of mutations of {@code seed} (a valid configuration) with random CNI_ARGS. */
    public static void run(String name, String seed, Parser parser) {
        Fuzz.run(name, 1000, r -> {
            byte[] config;
            if (r.nextInt(4) == 0) {
                config = Fuzz.mutateBytes(r, seed.getBytes(StandardCharsets.UTF_8));
            } else {
                Object doc = Json.parse(seed);
                for (int n = 1 + r.nextInt(3); n > 0; n--) {
                    doc = Fuzz.mutateJson(r, doc);
                }
                config = Json.write(doc).getBytes(StandardCharsets.UTF_8);
            }
            String args = r.nextInt(4) == 0 ? "IgnoreUnknown=1;MAC=" + Fuzz.text(r, 3) : Fuzz.pick(r, CNI_ARGS);
            PluginResponse resp = del(parser, args, config);
            if (resp.exitCode() != 0) {
                Map<String, Object> err = Json.parseObject(resp.stdout());
                assertInstanceOf(Long.class, err.get("code"), resp.stdoutText());
                assertNotEquals(
                        (long) CniError.INTERNAL,
                        err.get("code"),
                        () -> "an uncaught exception: " + resp.stdoutText() + " for CNI_ARGS=" + args + " "
                                + new String(config, StandardCharsets.UTF_8));
            }
        });
    }
}
