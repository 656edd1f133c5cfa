package io.jcni.cli;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.testkit.TestNames;
import io.jcni.testkit.TestNetns;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

class NetnsCommandTest {
    @AutoClose
    private final TestNetns namespaces = new TestNetns();

    private final String name = namespaces.adopt("jcl" + TestNames.RUN + "ns"); // jcni netns add makes it

    @Test
    void addListExecDelete() throws IOException {
        CliRunner add = CliRunner.run("--trace", "netns", "add", name);
        assertEquals(0, add.code(), add.err());
        assertEquals("+ ip netns add " + name + "\n", add.err());
        assertTrue(Files.exists(Path.of("/run/netns", name)));

        CliRunner list = CliRunner.run("netns", "list");
        assertEquals(0, list.code());
        assertTrue(list.out().lines().anyMatch(name::equals), list.out());

        // exec: the child's network namespace is the named one, not ours.
        Path marker = Files.createTempFile("jcni-exec", ".txt");
        try {
            CliRunner exec =
                    CliRunner.run("netns", "exec", name, "--", "sh", "-c", "readlink /proc/self/ns/net > " + marker);
            assertEquals(0, exec.code(), exec.err());
            String childNs = Files.readString(marker).trim();
            String ours =
                    Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString();
            String named = "net:["
                    + Files.readAttributes(Path.of("/run/netns", name), "unix:ino")
                            .get("ino") + "]";
            assertEquals(named, childNs);
            assertNotEquals(ours, childNs);
        } finally {
            Files.deleteIfExists(marker);
        }

        CliRunner exitCode = CliRunner.run("netns", "exec", name, "sh", "-c", "exit 7");
        assertEquals(7, exitCode.code(), "exec passes on the command's exit code");

        CliRunner del = CliRunner.run("--trace", "netns", "del", name);
        assertEquals(0, del.code(), del.err());
        assertEquals("+ ip netns del " + name + "\n", del.err());
        assertFalse(Files.exists(Path.of("/run/netns", name)));
    }

    @Test
    void badInputGivesOneLineAndNonZeroExit() {
        String tooLong = "x".repeat(256);
        String[][] cases = {
            {"netns", "add", "a/b"},
            {"netns", "add", tooLong},
            {"netns", "add", ".."},
            {"netns", "del", name + "-missing"},
            {"netns", "exec", name + "-missing", "--", "true"},
            {"netns", "frobnicate"},
            {"netns", "add"},
            {"netns", "exec", name},
            {"nosuchcommand"},
        };
        for (String[] c : cases) {
            CliRunner r = CliRunner.run(c);
            assertNotEquals(0, r.code(), String.join(" ", c));
            assertEquals(1, r.err().lines().count(), "one line for " + String.join(" ", c) + ": " + r.err());
            assertTrue(r.err().startsWith("jcni: "), r.err());
            assertFalse(r.err().contains("Exception"), "no stack trace: " + r.err());
        }
        assertTrue(CliRunner.run("netns", "add", "a/b").err().contains("cannot contain '/'"));
        assertTrue(CliRunner.run("netns", "add", tooLong).err().contains("at most 255 bytes"));
        assertTrue(CliRunner.run("netns", "del", name + "-missing").err().contains("no namespace"));
        assertEquals(2, CliRunner.run("netns", "frobnicate").code());
        assertEquals(1, CliRunner.run("netns", "add", "a/b").code());
    }

    @Test
    void duplicateAddIsRefused() {
        assertEquals(0, CliRunner.run("netns", "add", name).code());
        CliRunner again = CliRunner.run("netns", "add", name);
        assertEquals(1, again.code());
        assertTrue(again.err().contains("already exists"), again.err());
    }

    @Test
    void helpEverywhere() {
        for (String[] c : new String[][] {{"--help"}, {"netns", "--help"}, {"demo", "--help"}, {"link", "--help"}}) {
            CliRunner r = CliRunner.run(c);
            assertEquals(0, r.code(), String.join(" ", c));
            assertTrue(r.out().startsWith("Usage: jcni"), r.out());
        }
    }
}
