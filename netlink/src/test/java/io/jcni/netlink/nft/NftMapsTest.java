package io.jcni.netlink.nft;

import static io.jcni.netlink.nft.Nftables.INET;
import static io.jcni.netlink.nft.Nftables.IP;
import static io.jcni.netlink.nft.Nftables.IP6;
import static io.jcni.netlink.nft.Rule.Field.*;
import static org.junit.jupiter.api.Assertions.*;

import io.jcni.netlink.ObjectExistsException;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.testing.Scratch;
import io.jcni.testkit.Commands;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Maps, map elements with data and comments, dnat through a map, ct status dnat: nft lists what we built. */
class NftMapsTest {
    private Scratch scratch;
    private NetNs ns;
    private Nftables nft;
    private final List<String> traced = new ArrayList<>();

    @BeforeEach
    void setUp() {
        scratch = new Scratch("nm");
        ns = scratch.netns("n");
        nft = scratch.closeLater(Nftables.open(ns, line -> traced.add(NftablesTest.unquoted(line))));
    }

    @AfterEach
    void tearDown() {
        scratch.close(); // the namespace goes, and its tables with it
    }

    private String nftCli(String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns.name(), "nft"));
        cmd.addAll(List.of(args));
        return Commands.run(cmd.toArray(new String[0]));
    }

    private static byte[] v4port(String a, int port) {
        return SetKeyType.addressPort(IpAddress.parse(a), port);
    }

    private void build(String t) {
        nft.batch()
                .addTable(INET, t)
                .addMap(INET, t, "ports4", SetKeyType.INET_PROTO_INET_SERVICE, SetKeyType.IPV4_ADDR_INET_SERVICE)
                .addMap(INET, t, "ports6", SetKeyType.INET_PROTO_INET_SERVICE, SetKeyType.IPV6_ADDR_INET_SERVICE)
                .addMap(
                        INET,
                        t,
                        "hostip4",
                        SetKeyType.IPV4_ADDR_INET_PROTO_INET_SERVICE,
                        SetKeyType.IPV4_ADDR_INET_SERVICE)
                .addMap(
                        INET,
                        t,
                        "hostip6",
                        SetKeyType.IPV6_ADDR_INET_PROTO_INET_SERVICE,
                        SetKeyType.IPV6_ADDR_INET_SERVICE)
                .addSet(INET, t, "masq4", SetKeyType.IPV4_ADDR_IPV4_ADDR, false)
                .addSet(INET, t, "masq6", SetKeyType.IPV6_ADDR_IPV6_ADDR, false)
                .addChain(INET, t, "prerouting", ChainHook.nat("prerouting", -100))
                .addChain(INET, t, "postrouting", ChainHook.nat("postrouting", 100))
                .addRule(
                        INET,
                        t,
                        "prerouting",
                        Rule.create()
                                .is(IP_SADDR, IpPrefix.parse("10.0.0.0/8"))
                                .iifname("eth0", false)
                                .oifname("lo", true)
                                .fibDaddrLocal()
                                .dnatMap(IP, true, "hostip4"),
                        null)
                .addRule(
                        INET,
                        t,
                        "prerouting",
                        Rule.create().nfproto(IP).fibDaddrLocal().dnatMap(IP, false, "ports4"),
                        "v4")
                .addRule(INET, t, "prerouting", Rule.create().fibDaddrLocal().dnatMap(IP6, true, "hostip6"), null)
                .addRule(
                        INET,
                        t,
                        "prerouting",
                        Rule.create().nfproto(IP6).fibDaddrLocal().dnatMap(IP6, false, "ports6"),
                        null)
                .addRule(
                        INET,
                        t,
                        "postrouting",
                        Rule.create()
                                .ctStatusDnat()
                                .pairInSet(IP_SADDR, IP_DADDR, "masq4")
                                .masquerade(),
                        null)
                .addRule(
                        INET,
                        t,
                        "postrouting",
                        Rule.create()
                                .ctStatusDnat()
                                .pairInSet(IP6_SADDR, IP6_DADDR, "masq6")
                                .masquerade(),
                        null)
                .commit();
    }

    @Test
    void mapsRulesAndElementsAreWhatNftLists() {
        String t = "jnm";
        build(t);
        byte[] k = SetKeyType.protoPort(6, 8080);
        nft.batch()
                .addElement(INET, t, "ports4", k, v4port("10.1.0.2", 80), "net/c1/eth0", "tcp . 8080 : 10.1.0.2 . 80")
                .addElement(
                        INET,
                        t,
                        "ports4",
                        SetKeyType.protoPort(17, 53),
                        v4port("10.1.0.2", 5353),
                        null,
                        "udp . 53 : 10.1.0.2 . 5353")
                .addElement(
                        INET,
                        t,
                        "hostip4",
                        SetKeyType.addressProtoPort(IpAddress.parse("192.0.2.1"), 6, 80),
                        v4port("10.1.0.3", 8080),
                        "c2",
                        "192.0.2.1 . tcp . 80 : 10.1.0.3 . 8080")
                .addElement(
                        INET,
                        t,
                        "ports6",
                        SetKeyType.protoPort(132, 9000),
                        SetKeyType.addressPort(IpAddress.parse("fd00::2"), 9001),
                        null,
                        "sctp . 9000 : fd00::2 . 9001")
                .addElement(
                        INET,
                        t,
                        "masq4",
                        SetKeyType.addressPair(IpAddress.parse("127.0.0.1"), IpAddress.parse("10.1.0.2")),
                        null,
                        "c1",
                        "127.0.0.1 . 10.1.0.2")
                .commit();

        String listed = nftCli("list", "table", "inet", t);
        for (String line : new String[] {
            "type inet_proto . inet_service : ipv4_addr . inet_service",
            "type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service",
            "type ipv4_addr . ipv4_addr",
            "tcp . 8080 comment \"net/c1/eth0\" : 10.1.0.2 . 80",
            "udp . 53 : 10.1.0.2 . 5353",
            "192.0.2.1 . tcp . 80 comment \"c2\" : 10.1.0.3 . 8080",
            "sctp . 9000 : fd00::2 . 9001",
            "127.0.0.1 . 10.1.0.2 comment \"c1\"",
            "ip saddr 10.0.0.0/8 iifname \"eth0\" oifname != \"lo\" fib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @hostip4",
            "meta nfproto ipv4 fib daddr type local dnat ip to meta l4proto . th dport map @ports4 comment \"v4\"",
            "fib daddr type local dnat ip6 to ip6 daddr . meta l4proto . th dport map @hostip6",
            "meta nfproto ipv6 fib daddr type local dnat ip6 to meta l4proto . th dport map @ports6",
            "ct status dnat ip saddr . ip daddr @masq4 masquerade",
            "ct status dnat ip6 saddr . ip6 daddr @masq6 masquerade"
        }) {
            assertTrue(listed.contains(line), "nft lists \"" + line + "\":\n" + listed);
        }
        // every traced command replays through nft: the trace text is nft syntax
        for (String c : traced) {
            if (c.contains(" add rule ")) {
                String rule = c.substring(c.indexOf(" add rule ") + 10);
                String body = rule.split(" ", 4)[3];
                assertTrue(listed.contains(body), "traced rule as listed: " + body + "\n" + listed);
            }
        }

        // listing and getting elements, with data and comments
        NftElement e = nft.element(INET, t, "ports4", k);
        assertNotNull(e);
        assertArrayEquals(v4port("10.1.0.2", 80), e.data());
        assertEquals("net/c1/eth0", e.comment());
        assertNull(nft.element(INET, t, "ports4", SetKeyType.protoPort(6, 8081)));
        assertEquals(2, nft.elements(INET, t, "ports4").size());
        NftElement m = nft.elements(INET, t, "masq4").get(0);
        assertNull(m.data());
        assertEquals("c1", m.comment());
        assertEquals("127.0.0.1 . 10.1.0.2", SetKeyType.IPV4_ADDR_IPV4_ADDR.format(m.key()));
        assertEquals("tcp . 8080", SetKeyType.INET_PROTO_INET_SERVICE.format(k));

        // the same element again: nothing happens; the same key with other data: refused
        nft.batch()
                .addElement(INET, t, "ports4", k, v4port("10.1.0.2", 80), "net/c1/eth0", "again")
                .commit();
        assertThrows(
                ObjectExistsException.class,
                () -> nft.batch()
                        .addElement(INET, t, "ports4", k, v4port("10.1.0.9", 80), "other", "clash")
                        .commit());
        assertArrayEquals(
                v4port("10.1.0.2", 80), nft.element(INET, t, "ports4", k).data());

        nft.batch().deleteElement(INET, t, "ports4", k, "tcp . 8080").commit();
        assertNull(nft.element(INET, t, "ports4", k));
        assertFalse(nftCli("list", "map", "inet", t, "ports4").contains("8080"));
    }

    @Test
    void dnatThroughAMapReachesALocalListener() throws Exception {
        String t = "jnm";
        nft.batch()
                .addTable(INET, t)
                .addMap(INET, t, "ports4", SetKeyType.INET_PROTO_INET_SERVICE, SetKeyType.IPV4_ADDR_INET_SERVICE)
                .addChain(INET, t, "output", ChainHook.nat("output", -100))
                .addRule(
                        INET,
                        t,
                        "output",
                        Rule.create().nfproto(IP).fibDaddrLocal().dnatMap(IP, false, "ports4"),
                        null)
                .addElement(
                        INET,
                        t,
                        "ports4",
                        SetKeyType.protoPort(6, 18080),
                        v4port("127.0.0.1", 18081),
                        null,
                        "tcp . 18080")
                .commit();
        Commands.run("ip", "-n", ns.name(), "link", "set", "lo", "up");
        String got = ns.run(() -> {
            try (var server = java.nio.channels.ServerSocketChannel.open()) {
                server.bind(new java.net.InetSocketAddress("127.0.0.1", 18081));
                try (var client = java.nio.channels.SocketChannel.open(
                                new java.net.InetSocketAddress("127.0.0.1", 18080));
                        var accepted = server.accept()) {
                    return accepted.getLocalAddress().toString() + " from " + client.getRemoteAddress();
                }
            } catch (java.io.IOException ex) {
                throw new java.io.UncheckedIOException(ex);
            }
        });
        assertTrue(got.startsWith("/127.0.0.1:18081 from /127.0.0.1:18080"), got);
    }
}
