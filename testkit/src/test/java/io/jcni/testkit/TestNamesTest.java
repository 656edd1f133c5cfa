package io.jcni.testkit;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class TestNamesTest {
    @Test
    void theRunIdIsThreeCharactersFromTheProcessId() {
        assertEquals(3, TestNames.RUN.length());
        assertEquals(ProcessHandle.current().pid() % (36 * 36 * 36), Long.parseLong(TestNames.RUN, 36));
        assertEquals(TestNames.RUN_NUMBER, Integer.parseInt(TestNames.RUN, 36));
    }

    @Test
    void namesAreUniqueAndKeepTheirPrefix() {
        String a = TestNames.unique("jtk"), b = TestNames.unique("jtk");
        assertNotEquals(a, b);
        assertTrue(a.startsWith("jtk" + TestNames.RUN), a);
        String c = TestNames.unique("jtk", "br");
        assertTrue(c.startsWith("jtk" + TestNames.RUN + "br"), c);
    }

    @Test
    void linkNamesFitInFifteenBytes() {
        assertEquals("abcdefghijklmno", TestNames.fitsLink("abcdefghijklmno"));
        assertThrows(IllegalArgumentException.class, () -> TestNames.fitsLink("abcdefghijklmnop"));
        assertThrows(
                IllegalArgumentException.class, () -> TestNames.fitsLink("\u00e9".repeat(8)), "bytes, not characters");
        assertThrows(IllegalArgumentException.class, () -> TestNames.link("j-long-prefix", "what"));
        assertTrue(TestNames.link("jtk").length() <= 15);
    }
}
