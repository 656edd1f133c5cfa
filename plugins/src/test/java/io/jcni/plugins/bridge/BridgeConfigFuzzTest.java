package io.jcni.plugins.bridge;

import io.jcni.cni.CniError;
import io.jcni.cni.Invocation;
import io.jcni.cni.Plugin;
import io.jcni.cni.PluginRequest;
import io.jcni.cni.PluginResponse;
import io.jcni.cni.Result;
import io.jcni.cni.Skeleton;
import io.jcni.cni.json.Json;
import io.jcni.testkit.Fuzz;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Fuzzes {@link BridgeConfig#parse} (the bridge options, runtimeConfig.mac, args.cni.mac and CNI_ARGS MAC) through {@link Skeleton#handle}, with structurally and
 * byte-mutated configurations and random CNI_ARGS: a parse or a spec error, never INTERNAL. The
 * plugin only parses (a DEL on a vanished namespace), so no input reaches the kernel.
 */
class BridgeConfigFuzzTest {
    static final String SEED = "{\"cniVersion\":\"1.1.0\",\"name\":\"jhf-br\",\"type\":\"bridge\",\"bridge\":\"jhf0\",\"isGateway\":true,\"isDefaultGateway\":false,\"ipMasq\":true,\"ipMasqBackend\":\"nftables\",\"mtu\":1400,\"hairpinMode\":true,\"vlan\":0,\"vlanTrunk\":[{\"minID\":10,\"maxID\":20},{\"id\":30}],\"runtimeConfig\":{\"mac\":\"0a:58:0a:99:00:05\"},\"args\":{\"cni\":{\"mac\":\"0a:58:0a:99:00:06\"}},\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"/nonexistent/jhf\",\"subnet\":\"10.99.0.0/24\"}}";
    static final String[] CNI_ARGS = {"", "IgnoreUnknown=1", "MAC=0a:58:0a:99:00:07", "MAC=zz", "IgnoreUnknown=1;MAC=", "IP=10.99.0.9"};

    /** Parses the options on every verb and does nothing else. */
    static final class ParseOnly implements Plugin {
        @Override public String name() { return "jhf-fuzz"; }

        @Override public Set<String> knownArgs() { return Set.of("MAC", "IP"); }

        @Override public Result add(Invocation inv) throws CniError { BridgeConfig.parse(inv); return Result.empty(); }

        @Override public void del(Invocation inv) throws CniError { BridgeConfig.parse(inv); }

        @Override public void check(Invocation inv) throws CniError { BridgeConfig.parse(inv); }

        @Override public void gc(Invocation inv) throws CniError { BridgeConfig.parse(inv); }

        @Override public void status(Invocation inv) throws CniError { BridgeConfig.parse(inv); }
    }

    static PluginResponse del(String cniArgs, byte[] config) {
        Map<String, String> env = Map.of("CNI_COMMAND", "DEL", "CNI_CONTAINERID", "jhf-c1", "CNI_IFNAME", "eth0",
                "CNI_NETNS", "/nonexistent/jhf-fuzz", "CNI_ARGS", cniArgs);
        return Skeleton.handle(new ParseOnly(), new PluginRequest(env, config));
    }

    @Test
    void seedParses() {
        PluginResponse r = del("", SEED.getBytes(StandardCharsets.UTF_8));
        assertEquals(0, r.exitCode(), r.stdoutText());
    }

    @Test
    void mutatedConfigs() {
        Fuzz.run("BridgeConfig", 1000, r -> {
            byte[] config;
            if (r.nextInt(4) == 0) {
                config = Fuzz.mutateBytes(r, SEED.getBytes(StandardCharsets.UTF_8));
            } else {
                Object doc = Json.parse(SEED);
                for (int n = 1 + r.nextInt(3); n > 0; n--) {
                    doc = Fuzz.mutateJson(r, doc);
                }
                config = Json.write(doc).getBytes(StandardCharsets.UTF_8);
            }
            String cniArgs = r.nextInt(4) == 0 ? "IgnoreUnknown=1;MAC=" + Fuzz.text(r, 3) : Fuzz.pick(r, CNI_ARGS);
            PluginResponse resp = del(cniArgs, config);
            if (resp.exitCode() != 0) {
                Map<String, Object> err = Json.parseObject(resp.stdout());
                assertInstanceOf(Long.class, err.get("code"), resp.stdoutText());
                assertNotEquals((long) CniError.INTERNAL, err.get("code"), () -> "an uncaught exception: " + resp.stdoutText()
                        + " for CNI_ARGS=" + cniArgs + " " + new String(config, StandardCharsets.UTF_8));
            }
        });
    }
}
