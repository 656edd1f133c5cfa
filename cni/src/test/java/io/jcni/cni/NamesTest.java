package io.jcni.cni;

import static org.junit.jupiter.api.Assertions.*;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The names a runtime hands a plugin: a table of good and bad ones, each bad one with the reference's code and message. */
class NamesTest {
    @Test
    void containerIdsAndNetworkNamesAreTheSpecsAlphabetStartingWithAnAlphanumeric() throws CniError {
        for (String good : new String[] {
            "c",
            "0",
            "abc123",
            "a_b.c-d",
            "Z9",
            "a-",
            "a..",
            "x".repeat(300),
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
        }) {
            assertTrue(Names.isValidId(good), good);
            Names.checkContainerId(good);
            Names.checkNetworkName(good);
        }
        for (String bad : new String[] {
            "", "-x", "_x", ".x", "..", "../x", "a/b", "a b", "a:b", "a\tb", "a\nb", "\u00e9", "a\u00e9", "\uff41",
            "a\0b", "a+b"
        }) {
            assertFalse(Names.isValidId(bad), bad);
            CniError id = assertThrows(CniError.class, () -> Names.checkContainerId(bad), bad);
            CniError net = assertThrows(CniError.class, () -> Names.checkNetworkName(bad), bad);
            assertEquals(CniError.INVALID_NETWORK_CONFIG, net.code(), bad);
            if (bad.isEmpty()) {
                assertEquals(CniError.UNKNOWN_CONTAINER, id.code());
                assertEquals("missing containerID", id.msg());
                assertEquals("missing network name", net.msg());
            } else {
                assertEquals(CniError.INVALID_ENVIRONMENT, id.code(), bad);
                assertEquals("invalid characters in containerID", id.msg(), bad);
                assertEquals("invalid characters found in network name", net.msg(), bad);
            }
        }
    }

    @Test
    void interfaceNamesAreWhatTheReferenceAccepts() throws CniError {
        for (String good : new String[] {
            "eth0", "e", "net1.100", "0123456789abcde", "a-b_c@d", "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9", "..."
        }) {
            Names.checkIfname(good);
            Names.checkExistingIfname(good);
        }
        // a name and the message it is refused with, on ADD
        Map<String, String> bad = new LinkedHashMap<>();
        bad.put("", "interface name is empty");
        bad.put("0123456789abcdef", "interface name is too long");
        bad.put("\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9", "interface name is too long"); // 16 bytes in UTF-8
        bad.put(".", "interface name is . or ..");
        bad.put("..", "interface name is . or ..");
        for (String s : new String[] {
            "a/b", "/", "a:b", "a b", "a\tb", "a\nb", "a\u000bb", "a\fb", "a\rb", "a\u2003b", "a\u3000b", "a\0b"
        }) {
            bad.put(s, "interface name contains / or : or whitespace characters");
        }
        bad.put("0123456789abcd/f", "interface name is too long"); // the reference's order: length before characters
        for (Map.Entry<String, String> e : bad.entrySet()) {
            CniError err = assertThrows(CniError.class, () -> Names.checkIfname(e.getKey()), e.getKey());
            assertEquals(CniError.INVALID_ENVIRONMENT, err.code(), e.getKey());
            assertEquals(e.getValue(), err.msg(), e.getKey());
        }
        // an attachment that exists already: only empty and the characters are refused
        for (Map.Entry<String, String> e : bad.entrySet()) {
            boolean refused = e.getValue().equals("interface name is empty")
                    || e.getValue().contains("whitespace");
            if (refused) {
                assertEquals(
                        e.getValue(),
                        assertThrows(CniError.class, () -> Names.checkExistingIfname(e.getKey()), e.getKey())
                                .msg());
            } else if (!e.getKey().contains("/")) {
                Names.checkExistingIfname(e.getKey());
            }
        }
        assertThrows(CniError.class, () -> Names.checkExistingIfname("0123456789abcd/f"));
    }
}
