package io.jcni.netlink.nft;

import static io.jcni.netlink.nft.Nftables.INET;
import static io.jcni.netlink.nft.Rule.Field.*;
import static org.junit.jupiter.api.Assertions.*;

import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.testing.Scratch;
import io.jcni.testkit.Commands;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Interval sets over a concatenation ({@code ipv4_addr . ipv4_addr; flags interval}): an element
 * is an address and a prefix, with a comment; nft lists it as we built it; listing gives back
 * both keys, which is what deleting it takes; replacing an element's comment in one transaction.
 */
class NftConcatRangeTest {
    private Scratch scratch;
    private NetNs ns;
    private Nftables nft;

    @BeforeEach
    void setUp() {
        scratch = new Scratch("hb");
        ns = scratch.netns("n");
        nft = scratch.closeLater(Nftables.open(ns, line -> {}));
    }

    @AfterEach
    void tearDown() {
        scratch.close();
    }

    private static byte[] pair(String a, String b) {
        return SetKeyType.addressPair(IpAddress.parse(a), IpAddress.parse(b));
    }

    @Test
    void addressAndPrefixElementsAreListedDeletedAndReplaced() {
        nft.batch()
                .addTable(INET, "t")
                .addSet(INET, "t", "local4", SetKeyType.IPV4_ADDR_IPV4_ADDR, true)
                .addChain(INET, "t", "post", ChainHook.nat("postrouting", 100))
                .addRule(
                        INET,
                        "t",
                        "post",
                        Rule.create().pairInSet(IP_SADDR, IP_DADDR, "local4").ret(),
                        null)
                .commit();
        IpPrefix net = IpPrefix.parse("10.1.0.0/24");
        nft.batch()
                .addRangeElement(
                        INET,
                        "t",
                        "local4",
                        pair("10.1.0.5", "10.1.0.0"),
                        pair("10.1.0.5", "10.1.0.255"),
                        "net/a/eth0",
                        "10.1.0.5 . " + net)
                .commit();
        String listed = Commands.run("ip", "netns", "exec", ns.name(), "nft", "list", "set", "inet", "t", "local4");
        assertTrue(listed.contains("10.1.0.5 . 10.1.0.0/24 comment \"net/a/eth0\""), listed);

        List<NftElement> els = nft.elements(INET, "t", "local4");
        assertEquals(1, els.size(), els.toString());
        assertArrayEquals(pair("10.1.0.5", "10.1.0.0"), els.get(0).key());
        assertArrayEquals(pair("10.1.0.5", "10.1.0.255"), els.get(0).keyEnd());
        assertEquals("net/a/eth0", els.get(0).comment());

        // Another owner takes the element over in one transaction: add (no-op), delete, add with its comment.
        nft.batch()
                .addRangeElement(
                        INET, "t", "local4", els.get(0).key(), els.get(0).keyEnd(), null, "x")
                .deleteRangeElement(
                        INET, "t", "local4", els.get(0).key(), els.get(0).keyEnd(), "x")
                .addRangeElement(
                        INET, "t", "local4", els.get(0).key(), els.get(0).keyEnd(), "net/b/eth0", "x")
                .commit();
        assertEquals("net/b/eth0", nft.elements(INET, "t", "local4").get(0).comment());

        nft.batch()
                .deleteRangeElement(
                        INET, "t", "local4", els.get(0).key(), els.get(0).keyEnd(), "x")
                .commit();
        assertTrue(nft.elements(INET, "t", "local4").isEmpty());
        assertThrows(
                NoSuchObjectException.class,
                () -> nft.batch()
                        .deleteRangeElement(
                                INET,
                                "t",
                                "local4",
                                els.get(0).key(),
                                els.get(0).keyEnd(),
                                "x")
                        .commit());
    }
}
