package io.jcni.plugins.portmap;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jcni.cni.PluginResponse;
import io.jcni.plugins.testing.OptionsFuzz;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Fuzzes {@link PortmapConfig#parse} (the portmap options and runtimeConfig.portMappings): see {@link OptionsFuzz}. */
class PortmapConfigFuzzTest {
    static final String SEED =
            "{\"cniVersion\":\"1.1.0\",\"name\":\"jhf-pm\",\"type\":\"portmap\",\"snat\":true,\"masqAll\":false,\"markMasqBit\":13,\"backend\":\"nftables\",\"conditionsV4\":[\"ip\",\"daddr\",\"!=\",\"10.99.0.1\"],\"conditionsV6\":[\"iifname\",\"jhf0\"],\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":8080,\"containerPort\":80,\"protocol\":\"tcp\",\"hostIP\":\"10.99.0.1\"},{\"hostPort\":53,\"containerPort\":53,\"protocol\":\"udp\"}]},\"prevResult\":{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"/x\"}],\"ips\":[{\"interface\":0,\"address\":\"10.99.0.5/24\"}]}}";

    @Test
    void seedParses() {
        PluginResponse r = OptionsFuzz.del(PortmapConfig::parse, "", SEED.getBytes(StandardCharsets.UTF_8));
        assertEquals(0, r.exitCode(), r.stdoutText());
    }

    @Test
    void mutatedConfigs() {
        OptionsFuzz.run("PortmapConfig", SEED, PortmapConfig::parse);
    }
}
