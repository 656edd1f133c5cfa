package io.jcni.plugins.bridge;

import static io.jcni.plugins.bridge.BridgeTests.assertClean;
import static io.jcni.plugins.bridge.BridgeTests.config;
import static io.jcni.plugins.bridge.BridgeTests.error;
import static io.jcni.plugins.bridge.BridgeTests.ip;
import static io.jcni.plugins.bridge.BridgeTests.ok;
import static io.jcni.plugins.bridge.BridgeTests.ranges;
import static io.jcni.plugins.bridge.BridgeTests.subnet;
import static io.jcni.plugins.bridge.BridgeTests.withPrev;
import static io.jcni.plugins.testing.PluginFixture.call;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jcni.cni.PluginResponse;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.route.LinkSpec;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.plugins.testing.PluginFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The bridge with a foreign IPAM executed from CNI_PATH (the reference host-local under another
 * name, so the in-process host-local is not used): ADD, CHECK, DEL, and the release of the
 * delegated reservation when ADD fails after IPAM. Version 1.0.0: the reference here stops there.
 */
class BridgeDelegatedIpamTest {
    static final String V = "1.0.0";

    record World(PluginFixture f, Path cniPath, String cfg) implements AutoCloseable {
        static World create() throws Exception {
            PluginFixture f = new PluginFixture("bg");
            Path dir = Files.createDirectory(f.dataDir.resolve("cni-bin"));
            Files.createSymbolicLink(dir.resolve("ref-host-local"), Path.of("/usr/lib/cni/host-local"));
            Map<String, Object> ipam = BridgeTests.ipam(f, ranges(subnet(f)));
            ipam.put("type", "ref-host-local");
            return new World(f, dir, config(f, V, "ipam", ipam));
        }

        Map<String, String> env(String cmd, String id, String ns) {
            Map<String, String> e = PluginFixture.env(cmd, id, ns, "eth0");
            e.put("CNI_PATH", cniPath.toString());
            return e;
        }

        @Override
        public void close() {
            f.close();
        }
    }

    @Test
    void addCheckDel() throws Exception {
        try (World w = World.create()) {
            PluginFixture f = w.f;
            String ns = f.netns("p");
            PluginResponse add = call(new Bridge(), w.env("ADD", "c1", ns), w.cfg);
            Map<String, Object> r = ok(add);
            String a = ip(r, 0);
            assertTrue(a.startsWith("10.251." + f.octet + "."), a);
            // the reservation is in the reference's store: <dataDir>/<network>/<ip>, "<id>\r\n<ifname>"
            assertEquals(List.of(a), f.reservations());
            assertEquals(
                    "c1\r\neth0", Files.readString(f.dataDir.resolve(f.network).resolve(a)));
            assertEquals(List.of(a), f.natElements());
            assertEquals(List.of("eth0", "lo"), PluginFixture.nsLinks(ns));

            ok(call(new Bridge(), w.env("CHECK", "c1", ns), withPrev(w.cfg, add)));
            // CHECK is forwarded to the delegate: an attachment it does not know fails
            PluginResponse bad = call(new Bridge(), w.env("CHECK", "other", ns), withPrev(w.cfg, add));
            assertEquals(1, bad.exitCode(), bad.stdoutText());

            ok(call(new Bridge(), w.env("DEL", "c1", ns), withPrev(w.cfg, add)));
            assertClean(f, ns);
            ok(call(new Bridge(), w.env("DEL", "c1", ns), w.cfg));
        }
    }

    @Test
    void delWithoutPrevResultFindsTheAddressOnTheInterface() throws Exception {
        try (World w = World.create()) {
            String ns = w.f.netns("p");
            ok(call(new Bridge(), w.env("ADD", "c1", ns), w.cfg));
            ok(call(new Bridge(), w.env("DEL", "c1", ns), w.cfg));
            assertClean(w.f, ns);
        }
    }

    @Test
    void addFailingAfterIpamReleasesTheDelegatedReservation() throws Exception {
        try (World w = World.create()) {
            PluginFixture f = w.f;
            String ns = f.netns("p");
            try (RouteNetlink host = RouteNetlink.open(Trace.OFF)) {
                host.links().add(LinkSpec.bridge(f.bridge).up());
                host.addresses().add(f.bridge, IpPrefix.parse("192.0.2.1/24"));
            }
            // the gateway address is set after IPAM: the conflicting address fails ADD there
            error(call(new Bridge(), w.env("ADD", "c1", ns), w.cfg), 7);
            assertClean(f, ns);
            assertEquals(List.of(), f.reservations(), "the delegate's reservation was released");
            // the reference store was really used (its cursor file exists), so the check above means something
            assertTrue(
                    f.dataFiles().stream().anyMatch(n -> n.startsWith("last_reserved_ip")),
                    f.dataFiles().toString());
            ok(call(new Bridge(), w.env("DEL", "c1", ns), w.cfg));
        }
    }

    @Test
    void statusIsForwardedToTheDelegate() throws Exception {
        try (World w = World.create()) {
            // the reference host-local here predates STATUS: its skel fails it as an attachment verb without
            // CNI_CONTAINERID (code 3). The bridge must pass the delegate's error on unchanged (the spec: a delegate's
            // error is the plugin's).
            Map<String, Object> ipam = BridgeTests.ipam(w.f, ranges(subnet(w.f)));
            ipam.put("type", "ref-host-local");
            PluginResponse r = call(new Bridge(), w.env("STATUS", "", ""), config(w.f, "1.1.0", "ipam", ipam));
            Map<String, Object> e = error(r, 3);
            assertEquals("missing containerID", e.get("msg"));
        }
    }
}
