package io.jcni.cli;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cli.inspect.Owners;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Reading the plugins' owner tags back: a plain alias or comment names its attachment, a hashed
 * one names none (and is matched by computing the tag instead).
 */
class OwnersTest {
    @Test
    void plainTagsReadBackHashedOnesDoNot() {
        Owners.Id web = new Owners.Id("net", "jcni-pod-web", "eth0");
        assertEquals(web, Owners.parse(web.alias()));
        assertEquals(web, Owners.parse(web.natComment()));
        assertEquals(web, Owners.parse(web.portmapComment()));
        assertEquals("jcni net/jcni-pod-web/eth0", web.alias());

        Owners.Id slash = new Owners.Id("net", "a/b", "eth0");
        assertEquals(slash, Owners.parse(slash.natComment()), "a container ID may hold '/'");

        Owners.Id longId = new Owners.Id("net", "c".repeat(200), "eth0");
        assertNull(Owners.parse(longId.natComment()), "a comment too long for nft is a hash: " + longId.natComment());
        assertTrue(longId.natComment().startsWith("net/#"), longId.natComment());
        Owners.Id oddNetwork = new Owners.Id("q\"net", "abc", "eth0");
        Owners.Id read = Owners.parse(oddNetwork.natComment());
        assertEquals(
                List.of("abc", "eth0"), List.of(read.containerId(), read.ifname()), "only the network part is hashed");
        assertTrue(read.network().startsWith("#"), read.network());
        assertEquals("net", Owners.networkTagOf(web.natComment()));
        assertNull(Owners.parse("net/#0123abcd"), "a hashed owner names no attachment");
    }
}
