package io.jcni.netlink.route;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.netlink.Trace;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.testing.Scratch;
import io.jcni.testkit.Witness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** IFLA_IFALIAS: set, read back (our API and ip -j), replaced, cleared; too long refused before the kernel. */
class LinkAliasTest {
    private Scratch s;
    private NetNs ns;
    private RouteNetlink nl;

    @BeforeEach
    void setUp() {
        s = new Scratch("hb");
        ns = s.netns("n");
        nl = s.closeLater(RouteNetlink.open(ns, Trace.OFF));
    }

    @AfterEach
    void tearDown() {
        s.close();
    }

    @Test
    void aliasIsSetReadBackReplacedAndCleared() {
        String host = s.name("h");
        String peer = s.name("c");
        nl.links().add(LinkSpec.veth(host, peer));
        assertNull(nl.links().get(host).alias(), "a new link has no alias");

        String tag = "jcni net/0123456789abcdef0123456789abcdef/eth0";
        nl.links().setAlias(host, tag);
        assertEquals(tag, nl.links().get(host).alias());
        assertEquals(tag, Witness.link(ns.name(), host).get("ifalias"));
        assertNull(nl.links().get(peer).alias(), "the peer keeps no alias");

        nl.links().setAlias(host, "other");
        assertEquals("other", nl.links().get(host).alias(), "a shorter alias replaces a longer one whole");

        nl.links().setAlias(host, "");
        assertNull(nl.links().get(host).alias());
    }

    @Test
    void aliasOfTheLongestLengthIsKeptAndLongerOnesAreRefused() {
        String l = s.name("d");
        nl.links().add(LinkSpec.veth(l, s.name("e")));
        String max = "x".repeat(Links.MAX_ALIAS_BYTES);
        nl.links().setAlias(l, max);
        assertEquals(max, nl.links().get(l).alias());
        assertThrows(IllegalArgumentException.class, () -> nl.links().setAlias(l, max + "y"));
        assertEquals(max, nl.links().get(l).alias());
    }
}
