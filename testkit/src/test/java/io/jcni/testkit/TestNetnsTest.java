package io.jcni.testkit;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Runs as root, as every kernel test: it creates named namespaces {@code jtk<run>…}. */
class TestNetnsTest {
    @Test
    void closeDeletesWhatItCreatedAndAdoptedAlsoAfterAFailure() {
        String made = TestNames.unique("jtk", "m"), adopted = TestNames.unique("jtk", "a");
        String path;
        try (TestNetns n = new TestNetns()) {
            path = n.create(made);
            n.adopt(adopted);
            Commands.run("ip", "netns", "add", adopted); // as the code under test would
            assertEquals("/run/netns/" + made, path);
            assertEquals(made, TestNetns.nameOf(path));
            assertTrue(TestNetns.exists(made) && TestNetns.exists(adopted));
            assertTrue(Commands.run("ip", "netns", "list").contains(made));
            assertEquals(List.of(adopted, made), n.names());
            throw new IllegalStateException("the test fails");
        } catch (IllegalStateException expected) {
            assertEquals("the test fails", expected.getMessage());
        }
        assertFalse(TestNetns.exists(made));
        assertFalse(TestNetns.exists(adopted));
    }

    @Test
    void anExistingNameIsNotTakenOver() {
        String name = TestNames.unique("jtk", "x");
        try (TestNetns owner = new TestNetns();
                TestNetns other = new TestNetns()) {
            owner.create(name);
            assertThrows(IllegalStateException.class, () -> other.create(name));
            other.close();
            assertTrue(TestNetns.exists(name), "the other fixture did not delete what it did not make");
        }
        assertFalse(TestNetns.exists(name));
    }

    @Test
    void deleteNowAndAdoptByPrefix() {
        String prefix = TestNames.unique("jtk", "p");
        try (TestNetns n = new TestNetns()) {
            n.create(prefix + "a");
            n.delete(prefix + "a");
            assertFalse(TestNetns.exists(prefix + "a"));
            assertEquals(List.of(), n.names());
            Commands.run("ip", "netns", "add", prefix + "b");
            Commands.run("ip", "netns", "add", prefix + "c");
            assertEquals(List.of(prefix + "b", prefix + "c"), n.adoptExisting(prefix));
        }
        assertFalse(TestNetns.exists(prefix + "b"));
        assertFalse(TestNetns.exists(prefix + "c"));
        assertThrows(IllegalArgumentException.class, () -> new TestNetns().adoptExisting(""));
    }
}
