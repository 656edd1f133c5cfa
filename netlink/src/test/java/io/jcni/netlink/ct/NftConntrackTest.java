package io.jcni.netlink.ct;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.netlink.Trace;
import io.jcni.netlink.nft.ChainHook;
import io.jcni.netlink.nft.Nftables;
import io.jcni.netlink.nft.Rule;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.testing.Scratch;
import io.jcni.testkit.Commands;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** ctnetlink (named Nft… so it runs with the nf_tables tests): UDP entries towards a port are listed and deleted, others stay. */
class NftConntrackTest {
    private static void udp(NetNs ns, int port) {
        ns.run(() -> {
            try (DatagramChannel c = DatagramChannel.open()) {
                c.send(ByteBuffer.wrap(new byte[] {1}), new InetSocketAddress("127.0.0.1", port));
                return null;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    @Test
    void deletesUdpEntriesByOriginalDestinationPort() {
        try (Scratch s = new Scratch("ct")) {
            NetNs ns = s.netns("n");
            Commands.run("ip", "-n", ns.name(), "link", "set", "lo", "up");
            // conntrack runs in a namespace once something there needs it: a rule matching on ct
            try (Nftables nft = Nftables.open(ns, Trace.OFF)) {
                nft.batch()
                        .addTable(Nftables.INET, "t")
                        .addChain(Nftables.INET, "t", "out", ChainHook.nat("output", -100))
                        .addRule(
                                Nftables.INET,
                                "t",
                                "out",
                                Rule.create().ctStatusDnat().counter(),
                                null)
                        .commit();
            }
            udp(ns, 31001);
            udp(ns, 31002);
            List<String> log = new ArrayList<>();
            try (Conntrack ct = Conntrack.open(ns, log::add)) {
                List<Conntrack.Entry> all = ct.list(Conntrack.AF_INET);
                assertTrue(
                        all.stream()
                                .anyMatch(e -> e.original().dstPort() == 31001
                                        && e.original().protocol() == 17),
                        all.toString());
                assertEquals(1, ct.deleteByOriginalDestinationPort(Conntrack.AF_INET, Conntrack.UDP, 31001));
                assertEquals(List.of(ns.execPrefix() + "conntrack -D -f ipv4 -p udp --orig-port-dst 31001"), log);
                List<Conntrack.Entry> after = ct.list(Conntrack.AF_INET);
                assertTrue(after.stream().noneMatch(e -> e.original().dstPort() == 31001), after.toString());
                assertTrue(after.stream().anyMatch(e -> e.original().dstPort() == 31002), "others stay: " + after);
                assertEquals(
                        0, ct.deleteByOriginalDestinationPort(Conntrack.AF_INET, Conntrack.UDP, 31001), "idempotent");
                assertTrue(ct.list(Conntrack.AF_INET6).stream()
                        .noneMatch(e -> e.original().dstPort() == 31002));
            }
        }
    }
}
