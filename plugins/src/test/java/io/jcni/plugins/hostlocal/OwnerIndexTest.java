package io.jcni.plugins.hostlocal;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.CniVersion;
import io.jcni.testkit.Jars;
import java.io.IOException;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The owner index of a long-lived process (this JVM plays the daemon: {@code run} is the
 * in-process plugin) against changes it did not make: the Go host-local's ADD and DEL, a person
 * removing a reservation file, and a standalone jcni killed with SIGKILL in the middle of its
 * work. After each, the index must hold exactly what the files hold, and ADD's duplicate check,
 * CHECK and DEL must act on the files' truth.
 */
class OwnerIndexTest extends HostLocalTestBase {
    /** Asserts that the index, brought up to date as the next operation would, matches the files. */
    void assertIndexMatchesFiles() throws IOException {
        Store store = new Store(netDir().toString());
        Map<String, String> index;
        try (var lock = store.lock()) {
            index = OwnerIndex.of(store).entries();
        }
        Map<String, String> files = new HashMap<>();
        for (String name : reservations()) {
            files.put(name, fileText(name).trim());
        }
        assertEquals(files, index, "the owner index and the reservation files");
    }

    @Test
    void theIndexFollowsChangesMadeByOthers() throws IOException {
        String c = conf(CniVersion.V100, ranges("10.41.0.0/24"));
        for (int i = 1; i <= 5; i++) {
            ok(run("ADD", "j" + i, "eth0", c));
        }
        assertIndexMatchesFiles();

        // the Go plugin adds one and releases one of ours
        String g1 = address(ok(runReference("ADD", "g1", "eth0", c)), 0);
        okEmpty(runReference("DEL", "j3", "eth0", c));
        assertIndexMatchesFiles();
        error(run("ADD", "g1", "eth0", c), HostLocal.DUPLICATE_ALLOCATION, g1 + " has been allocated to g1");
        error(run("CHECK", "j3", "eth0", c), HostLocal.NOT_ALLOCATED);
        okEmpty(run("DEL", "g1", "eth0", c));
        assertFalse(reservations().contains(g1), "DEL released the reservation the Go plugin made");

        // a person removes a reservation file: its owner may ADD again
        String j2 = address(ok(run("ADD", "j2", "eth1", c)), 0);
        Files.delete(netDir().resolve(j2));
        assertIndexMatchesFiles();
        ok(run("ADD", "j2", "eth1", c));
        assertIndexMatchesFiles();
    }

    @Test
    void theIndexAgreesWithTheFilesAfterAStandaloneProcessIsKilled() throws Exception {
        String c = conf(CniVersion.V110, ranges("10.42.0.0/16"));
        ok(run("ADD", "before", "eth0", c)); // the index exists before the crash
        for (int round = 0; round < 3; round++) {
            Process child = new ProcessBuilder(
                            Jars.javaCommand(List.of(), HostLocalCrashChild.class.getName(), netnsPath, c))
                    .redirectErrorStream(true)
                    .start();
            try {
                byte[] line = new byte[8];
                assertTrue(child.getInputStream().read(line) > 0, "child started");
                // let it get some ADDs and DELs in, then kill it wherever it is
                long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(150 + 100L * round);
                while (System.nanoTime() < until && child.isAlive()) {
                    Thread.onSpinWait();
                }
            } finally {
                child.destroyForcibly();
                assertTrue(child.waitFor(10, TimeUnit.SECONDS));
            }
            assertIndexMatchesFiles();
            // every reservation the child left is found and released by its owner's DEL, here
            for (String name : new TreeSet<>(reservations())) {
                String owner = fileText(name).trim();
                if (owner.startsWith("k")) {
                    okEmpty(run("DEL", owner.substring(0, owner.indexOf('\r')), "eth0", c));
                    assertFalse(reservations().contains(name), () -> "DEL of " + owner + " released " + name);
                }
            }
            assertIndexMatchesFiles();
        }
        assertEquals(
                List.of("before\r\neth0"),
                reservations().stream()
                        .map(n -> {
                            try {
                                return fileText(n).trim();
                            } catch (IOException e) {
                                throw new IllegalStateException(e);
                            }
                        })
                        .toList());
    }
}
