package io.jcni.cli;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.testkit.Commands;
import io.jcni.testkit.Jars;
import io.jcni.testkit.Witness;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The demo end to end on the real kernel: it works, it proves NAT, and it leaves nothing behind. */
class DemoCommandTest {

    /**
     * Links, namespaces, nft tables and ip_forward as the system's tools list them, restricted to
     * the names the demo uses (every object it creates on the host has one of them; its pods'
     * interfaces live and die inside its namespaces), so that other jobs running on the machine
     * at the same time cannot make this comparison fail.
     */
    private static String hostState() throws Exception {
        return "links:\n" + demoObjects(Commands.run("ip", "-br", "link").replaceAll(" +", " "))
                + "netns:\n" + demoObjects(Commands.run("ip", "netns", "list"))
                + "nft:\n" + demoObjects(Commands.run("nft", "list", "tables"))
                + "ip_forward="
                + Files.readString(Path.of("/proc/sys/net/ipv4/ip_forward")).trim();
    }

    private static String demoObjects(String listing) {
        StringBuilder sb = new StringBuilder();
        for (String line : listing.split("\n")) {
            String[] words = line.trim().split("[ @]");
            String name = words[0].equals("table") && words.length > 2 ? words[2] : words[0];
            if (name.startsWith("jcni-demo")
                    || name.startsWith("jcnid-")
                    || name.startsWith("jcnidemo")
                    || name.equals(DemoCommand.NFT_TABLE)) {
                sb.append(line).append('\n');
            }
        }
        return sb.toString();
    }

    @AfterEach
    void safetyNet() {
        CliRunner.run("demo", "--cleanup"); // whatever a failed assertion left
    }

    @Test
    void buildsChecksAndRemovesEverything() throws Exception {
        String before = hostState();
        CliRunner r = CliRunner.run("demo");
        assertEquals(0, r.code(), r.out() + r.err());
        String out = r.out();
        for (String step : new String[] {
            "1. Create a network namespace",
            "2. Create a bridge",
            "3+4. Create a veth pair",
            "5. Attach the host ends",
            "6. Assign",
            "7. Bring the interfaces up",
            "8. Enable forwarding and NAT"
        }) {
            assertTrue(out.contains(step), "step missing: " + step);
        }
        // each step as its equivalent command
        assertTrue(out.contains("$ ip link add jcnid-pod1 type veth peer name eth0 netns jcni-demo-pod1"), out);
        assertTrue(
                out.contains(
                        "$ nft 'add rule ip jcni_demo postrouting ip saddr @pods ip daddr != 198.51.100.0/24 masquerade"),
                out);
        assertTrue(out.contains("ok    pod1 -> pod2 over the bridge"), out);
        assertTrue(out.contains("ok    pod2 -> pod1 over the bridge"), out);
        assertTrue(out.contains("the outside host saw the connection come from 203.0.113.1"), out);
        assertTrue(out.contains("All checks passed."), out);
        assertTrue(out.contains("$ ip netns del jcni-demo-pod1"), "cleanup shown: " + out);
        assertEquals(before, hostState(), "the demo left something behind");
    }

    /**
     * Interrupted half-way (SIGTERM here; Ctrl-C's SIGINT takes the same shutdown path), the demo
     * removes what it had built. Runs in a separate JVM, as a person would (this test's class path:
     * in a fresh checkout the launcher's jars are not built yet when tests run).
     */
    @Test
    void interruptedMidwayCleansUp() throws Exception {
        String before = hostState();
        Process p = new ProcessBuilder(Jars.javaCommand(List.of(), Main.class.getName(), "demo", "--slow", "400"))
                .redirectErrorStream(true)
                .start();
        StringBuilder seen = new StringBuilder();
        try (var in = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream()))) {
            String line;
            while ((line = in.readLine()) != null) {
                seen.append(line).append('\n');
                if (line.startsWith("3+4.")) {
                    p.toHandle().destroy(); // SIGTERM once namespaces and the bridge exist (keeps our pipe open)
                }
            }
        }
        p.waitFor();
        String out = seen.toString();
        assertTrue(out.contains("Interrupted: removing what the demo created."), out);
        assertFalse(out.contains("All checks passed."), out);
        assertTrue(out.contains("$ ip netns del jcni-demo-pod1"), out);
        assertEquals(before, hostState(), "an interrupted demo left something behind");
    }

    @Test
    void keepLeavesItForInspectionAndCleanupRemovesIt() throws Exception {
        String before = hostState();
        CliRunner kept = CliRunner.run("demo", "--keep");
        assertEquals(0, kept.code(), kept.out() + kept.err());
        assertTrue(kept.out().contains("jcni demo --cleanup"), kept.out());
        // still there, as the system's own tools see it
        assertTrue(Commands.run("ip", "netns", "list").contains("jcni-demo-pod1"));
        assertTrue(Commands.run("ip", "-n", "jcni-demo-pod1", "addr", "show", "dev", "eth0")
                .contains("198.51.100.11/24"));
        assertTrue(Commands.run("nft", "list", "set", "ip", "jcni_demo", "pods").contains("198.51.100.11"));
        assertEquals(
                "jcnidemo0",
                Witness.link(null, "jcnid-pod1").get("master"),
                "the pod's host end is a port of the demo bridge");

        CliRunner again = CliRunner.run("demo");
        assertEquals(1, again.code(), "a second demo must refuse to run over a kept one");
        assertTrue(again.err().contains("jcni demo --cleanup"), again.err());

        CliRunner cleanup = CliRunner.run("demo", "--cleanup");
        assertEquals(0, cleanup.code(), cleanup.err());
        assertEquals(before, hostState(), "--cleanup left something behind");
        assertEquals(0, CliRunner.run("demo", "--cleanup").code(), "cleanup is idempotent");
    }
}
