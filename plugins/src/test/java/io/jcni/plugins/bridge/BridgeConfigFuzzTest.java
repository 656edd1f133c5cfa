package io.jcni.plugins.bridge;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jcni.cni.PluginResponse;
import io.jcni.plugins.testing.OptionsFuzz;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Fuzzes {@link BridgeConfig#parse} (the bridge options, runtimeConfig.mac, args.cni.mac and CNI_ARGS MAC): see {@link OptionsFuzz}. */
class BridgeConfigFuzzTest {
    static final String SEED =
            "{\"cniVersion\":\"1.1.0\",\"name\":\"jhf-br\",\"type\":\"bridge\",\"bridge\":\"jhf0\",\"isGateway\":true,\"isDefaultGateway\":false,\"ipMasq\":true,\"ipMasqBackend\":\"nftables\",\"mtu\":1400,\"hairpinMode\":true,\"vlan\":0,\"vlanTrunk\":[{\"minID\":10,\"maxID\":20},{\"id\":30}],\"runtimeConfig\":{\"mac\":\"0a:58:0a:99:00:05\"},\"args\":{\"cni\":{\"mac\":\"0a:58:0a:99:00:06\"}},\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"/nonexistent/jhf\",\"subnet\":\"10.99.0.0/24\"}}";

    @Test
    void seedParses() {
        PluginResponse r = OptionsFuzz.del(BridgeConfig::parse, "", SEED.getBytes(StandardCharsets.UTF_8));
        assertEquals(0, r.exitCode(), r.stdoutText());
    }

    @Test
    void mutatedConfigs() {
        OptionsFuzz.run("BridgeConfig", SEED, BridgeConfig::parse);
    }
}
