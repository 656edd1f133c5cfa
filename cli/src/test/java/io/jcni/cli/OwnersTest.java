package io.jcni.cli;

import io.jcni.cli.inspect.Owners;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The identities the views look for are the ones the plugins write: the bridge's alias and NAT
 * comment, portmap's comment, short and hashed, compared with the plugins' own (package-private)
 * functions.
 */
class OwnersTest {
    static String call(String cls, String method, String... args) throws Exception {
        Class<?>[] types = new Class<?>[args.length];
        java.util.Arrays.fill(types, String.class);
        Method m = Class.forName(cls).getDeclaredMethod(method, types);
        m.setAccessible(true);
        return (String) m.invoke(null, (Object[]) args);
    }

    @Test
    void theViewsComputeWhatThePluginsWrite() throws Exception {
        String longId = "c".repeat(200);
        for (List<String> id : List.of(List.of("net", "jcni-pod-web", "eth0"), List.of("net", longId, "eth0"),
                List.of("n".repeat(60), "abc", "eth1"), List.of("a/b", "abc", "eth0"), List.of("q\"net", "abc", "eth0"))) {
            String n = id.get(0), c = id.get(1), i = id.get(2);
            assertEquals(call("io.jcni.plugins.bridge.Attachment", "alias", n, c, i), Owners.alias(n, c, i), id.toString());
            assertEquals(call("io.jcni.plugins.bridge.Attachment", "comment", n, c, i), Owners.natComment(n, c, i), id.toString());
            assertEquals(call("io.jcni.plugins.portmap.Portmap", "owner", n, c, i), Owners.portmapComment(n, c, i), id.toString());
        }
        assertEquals(new Owners.Id("net", "jcni-pod-web", "eth0"), Owners.parse("jcni net/jcni-pod-web/eth0"));
        assertEquals(new Owners.Id("net", "a/b", "eth0"), Owners.parse("net/a/b/eth0"), "a container ID may hold '/'");
        assertNull(Owners.parse("net/#0123abcd"), "a hashed owner names no attachment");
    }
}
