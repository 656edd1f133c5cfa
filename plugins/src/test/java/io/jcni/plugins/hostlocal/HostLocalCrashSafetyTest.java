package io.jcni.plugins.hostlocal;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.CniVersion;
import io.jcni.cni.PluginResponse;
import io.jcni.testkit.Jars;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Leftover temp files, a writer killed mid-ADD, and many ADDs at once. */
class HostLocalCrashSafetyTest extends HostLocalTestBase {

    private Path temp(String name, String content, long ageMs) throws IOException {
        Path p = netDir().resolve(name);
        Files.writeString(p, content);
        Files.setLastModifiedTime(p, FileTime.fromMillis(System.currentTimeMillis() - ageMs));
        return p;
    }

    @Test
    void leftoverTempFilesAreNeverReservationsAndAreCleanedUnderTheLock() throws IOException {
        for (String v : CniVersion.SUPPORTED) {
            resetStore();
            String c = conf(v, ranges("10.21.0.0/30"));
            Files.createDirectories(netDir());
            // what a kill -9 between "write temp" and "link" leaves: a complete or a torn temp file
            Path old = temp(".jcni-tmp-0123456789abcdef", "ghost\r\neth0", 60_000);
            Path torn = temp(".jcni-tmp-00000000000000aa", "gho", 60_000);
            Path fresh = temp(".jcni-tmp-fedcba9876543210", "ghost\r\neth0", 0);
            if (!v.startsWith("0.3")) {
                error(
                        run("CHECK", "ghost", "eth0", c),
                        HostLocal.NOT_ALLOCATED,
                        "Failed to find address added by container ghost");
            }
            // the /30 has one address; the temp files don't count as taking it, nor as ghost's
            if (v.equals(CniVersion.V110)) {
                okEmpty(run("STATUS", "", "", c));
            }
            assertIps(ok(run("ADD", "ghost", "eth0", c)), v, "10.21.0.2/30", "10.21.0.1");
            assertFalse(Files.exists(old), "an old leftover is removed by ADD");
            assertFalse(Files.exists(torn), "an old torn leftover is removed by ADD");
            assertFalse(Files.exists(fresh), "temps are written under the lock: one seen under it is a dead writer's");
            assertEquals(new TreeSet<>(List.of("10.21.0.2")), reservations());
            // DEL cleans leftovers too
            Path another = temp(".jcni-tmp-fedcba9876543211", "ghost\r\neth0", 0);
            okEmpty(run("DEL", "ghost", "eth0", c));
            assertFalse(Files.exists(another));
            assertEquals(new TreeSet<String>(), reservations());
            // and GC, which must not take a temp file for a reservation either way
            if (v.equals(CniVersion.V110)) {
                Path g = temp(".jcni-tmp-1111111111111111", "valid\r\neth0", 60_000);
                Path g2 = temp(".jcni-tmp-2222222222222222", "other\r\neth0", 0);
                String gc = c.substring(0, c.length() - 1)
                        + ",\"cni.dev/valid-attachments\":[{\"containerID\":\"valid\",\"ifname\":\"eth0\"}]}";
                okEmpty(run("GC", "", "", gc));
                assertFalse(Files.exists(g));
                assertFalse(Files.exists(g2));
            }
            // no temp file of ours is ever left behind by a normal run
            try (Stream<Path> s = Files.list(netDir())) {
                assertEquals(
                        List.of(),
                        s.filter(p -> p.getFileName().toString().startsWith("."))
                                .toList());
            }
        }
    }

    @Test
    void killMinus9DuringAddsLeavesOnlyWholeReservations() throws Exception {
        String c = conf(CniVersion.V110, ranges("10.22.0.0/16"));
        Process child = new ProcessBuilder(
                        Jars.javaCommand(List.of(), HostLocalCrashChild.class.getName(), netnsPath, c))
                .redirectErrorStream(true)
                .start();
        try {
            byte[] line = new byte[8];
            int n = child.getInputStream().read(line);
            assertTrue(n > 0, "child started");
            // let it get a few reservations made and released, then kill it wherever it is
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (reservations().size() < 4 && System.nanoTime() < deadline) {
                Thread.sleep(10); // the polling interval of a wait on a condition
            }
        } finally {
            child.destroyForcibly(); // SIGKILL
            child.waitFor(10, TimeUnit.SECONDS);
        }
        TreeSet<String> names = reservations();
        assertFalse(names.isEmpty(), "the child reserved addresses before it was killed");
        Pattern whole = Pattern.compile("k[0-9]+\r\neth0");
        for (String name : names) {
            assertTrue(whole.matcher(fileText(name)).matches(), () -> name + " holds a torn reservation");
        }
        // whatever was left, the next operations work and clean up (temp files are left only if very recent)
        try (Stream<Path> s = Files.list(netDir())) {
            for (Path p : s.toList()) {
                if (p.getFileName().toString().startsWith(".jcni-tmp-")) {
                    Files.setLastModifiedTime(p, FileTime.fromMillis(System.currentTimeMillis() - 60_000));
                }
            }
        }
        Map<String, Object> r = ok(run("ADD", "after", "eth0", c));
        assertFalse(names.contains(address(r, 0)));
        try (Stream<Path> s = Files.list(netDir())) {
            assertEquals(
                    List.of(),
                    s.filter(p -> p.getFileName().toString().startsWith(".")).toList());
        }
    }

    @Test
    void fiftyParallelAddsGetUniqueAddresses() throws Exception {
        String c = conf(CniVersion.V110, ranges("10.23.0.0/24", "fd00:23::/120"));
        int n = 50;
        ExecutorService pool = Executors.newFixedThreadPool(n);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<PluginResponse>> futures = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                String id = "p" + i;
                futures.add(pool.submit(() -> {
                    go.await();
                    return run("ADD", id, "eth0", c);
                }));
            }
            go.countDown();
            Set<String> v4 = new HashSet<>();
            Set<String> v6 = new HashSet<>();
            for (int i = 0; i < n; i++) {
                Map<String, Object> r = ok(futures.get(i).get(60, TimeUnit.SECONDS));
                assertTrue(v4.add(address(r, 0)), "duplicate " + address(r, 0));
                assertTrue(v6.add(address(r, 1)), "duplicate " + address(r, 1));
                assertEquals("p" + i + "\r\neth0", fileText(address(r, 0)));
                assertEquals("p" + i + "\r\neth0", fileText(address(r, 1)));
            }
            assertEquals(2 * n, reservations().size());
            // and 50 parallel DELs release everything
            futures.clear();
            CountDownLatch go2 = new CountDownLatch(1);
            for (int i = 0; i < n; i++) {
                String id = "p" + i;
                futures.add(pool.submit(() -> {
                    go2.await();
                    return run("DEL", id, "eth0", c);
                }));
            }
            go2.countDown();
            for (Future<PluginResponse> f : futures) {
                okEmpty(f.get(60, TimeUnit.SECONDS));
            }
            assertEquals(new TreeSet<String>(), reservations());
        } finally {
            pool.shutdownNow();
        }
        error(run("CHECK", "p1", "eth0", c), HostLocal.NOT_ALLOCATED);
    }
}
