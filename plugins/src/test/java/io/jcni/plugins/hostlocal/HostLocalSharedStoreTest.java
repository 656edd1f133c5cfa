package io.jcni.plugins.hostlocal;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.CniError;
import io.jcni.cni.CniVersion;
import io.jcni.cni.PluginResponse;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * One data directory shared by jcni's host-local and the reference Go plugin
 * ({@code /usr/lib/cni/host-local}, which speaks up to 1.0.0): same files, same lock (flock),
 * same round-robin cursor; neither hands out an address the other holds, each DEL releases only
 * its own attachment, and each side's CHECK/DEL works on the other's reservations.
 */
class HostLocalSharedStoreTest extends HostLocalTestBase {
    /** The versions both plugins speak. */
    private static final List<String> COMMON =
            List.of(CniVersion.V030, CniVersion.V031, CniVersion.V040, CniVersion.V100);

    @Test
    void interleavedAllocationsShareTheCursorAndEachOthersReservations() throws IOException {
        for (String v : COMMON) {
            resetStore();
            String c = conf(v, ranges("10.31.0.0/29", "fd00:31::/125"));
            assertIps(ok(run("ADD", "j1", "eth0", c)), v, "10.31.0.2/29", "10.31.0.1", "fd00:31::2/125", "fd00:31::1");
            // the reference continues after our cursor, and gives the same result shape
            assertIps(
                    ok(runReference("ADD", "g1", "eth0", c)),
                    v,
                    "10.31.0.3/29",
                    "10.31.0.1",
                    "fd00:31::3/125",
                    "fd00:31::1");
            assertIps(ok(run("ADD", "j2", "eth0", c)), v, "10.31.0.4/29", "10.31.0.1", "fd00:31::4/125", "fd00:31::1");
            assertIps(
                    ok(runReference("ADD", "g2", "eth0", c)),
                    v,
                    "10.31.0.5/29",
                    "10.31.0.1",
                    "fd00:31::5/125",
                    "fd00:31::1");
            assertEquals("g1\r\neth0", fileText("10.31.0.3"));
            assertEquals("j2\r\neth0", fileText("fd00:31::4"));
            assertEquals("fd00:31::5", fileText("last_reserved_ip.1"));

            // duplicates are refused across implementations
            PluginResponse dup = runReference("ADD", "j1", "eth0", c);
            assertEquals(1, dup.exitCode());
            assertTrue(dup.stdoutText().contains("duplicate allocation is not allowed"), dup.stdoutText());
            error(run("ADD", "g1", "eth0", c), HostLocal.DUPLICATE_ALLOCATION, "10.31.0.3 has been allocated to g1");

            // CHECK across implementations
            if (!v.startsWith("0.3")) {
                okEmpty(runReference("CHECK", "j1", "eth0", c));
                okEmpty(run("CHECK", "g1", "eth0", c));
                assertEquals(1, runReference("CHECK", "nobody", "eth0", c).exitCode());
            }

            // each side's DEL of its own attachment touches nothing else
            okEmpty(run("DEL", "j1", "eth0", c));
            assertEquals(
                    new TreeSet<>(
                            List.of("10.31.0.3", "10.31.0.4", "10.31.0.5", "fd00:31::3", "fd00:31::4", "fd00:31::5")),
                    reservations());
            okEmpty(runReference("DEL", "g1", "eth0", c));
            assertEquals(new TreeSet<>(List.of("10.31.0.4", "10.31.0.5", "fd00:31::4", "fd00:31::5")), reservations());
            // and DEL of the other's reservation releases exactly that attachment
            okEmpty(runReference("DEL", "j2", "eth0", c));
            assertEquals(new TreeSet<>(List.of("10.31.0.5", "fd00:31::5")), reservations());
            okEmpty(run("DEL", "g2", "eth0", c));
            assertEquals(new TreeSet<String>(), reservations());

            // fill the set alternately: .6, wrap to .2, .3, .4, .5, then both report exhaustion
            List<String> got = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                PluginResponse r =
                        i % 2 == 0 ? run("ADD", "f" + i, "eth0", c) : runReference("ADD", "f" + i, "eth0", c);
                got.add(address(ok(r), 0));
            }
            assertEquals(List.of("10.31.0.6", "10.31.0.2", "10.31.0.3", "10.31.0.4", "10.31.0.5"), got);
            error(
                    run("ADD", "x", "eth0", c),
                    CniError.NO_ADDRESSES,
                    "no IP addresses available in range set: 10.31.0.1-10.31.0.6");
            PluginResponse full = runReference("ADD", "y", "eth0", c);
            assertEquals(1, full.exitCode());
            assertTrue(
                    full.stdoutText().contains("no IP addresses available in range set: 10.31.0.1-10.31.0.6"),
                    full.stdoutText());
            // the reference's failed ADD and ours left nothing for x/y
            assertEquals(
                    5, reservations().stream().filter(n -> n.startsWith("10.")).count());
            if (!v.startsWith("0.3")) {
                error(run("CHECK", "x", "eth0", c), HostLocal.NOT_ALLOCATED);
            }
        }
    }

    @Test
    void legacyFilesAreUnderstoodByBoth() throws IOException {
        String c = conf(CniVersion.V100, ranges("10.32.0.0/24"));
        ok(run("ADD", "j1", "eth0", c));
        writeReservation("10.32.0.100", "old1");
        writeReservation("10.32.0.101", "old2");
        okEmpty(runReference("CHECK", "old1", "eth0", c));
        okEmpty(run("CHECK", "old2", "eth0", c));
        okEmpty(run("DEL", "old1", "eth0", c));
        okEmpty(runReference("DEL", "old2", "eth0", c));
        assertEquals(new TreeSet<>(List.of("10.32.0.2")), reservations());
    }

    @Test
    void concurrentAllocationsAndReleasesByBothNeverCollide() throws Exception {
        String c = conf(CniVersion.V100, ranges("10.33.0.0/24", "fd00:33::/64"));
        int perWorker = 15;
        ExecutorService pool = Executors.newFixedThreadPool(4);
        // attachment id → [v4, v6] as its ADD reported them
        Map<String, List<String>> live = new ConcurrentHashMap<>();
        List<String> everHanded = Collections.synchronizedList(new ArrayList<>());
        try {
            // phase 1: two jcni threads and two reference threads ADD at once
            runPhase(pool, c, perWorker, "a", live, everHanded, false);
            assertUniqueAndMatchesDisk(live, everHanded);
            assertEquals(4 * perWorker, live.size());

            // phase 2: every worker DELs its own even attachments while ADDing new ones
            runPhase(pool, c, perWorker, "b", live, everHanded, true);
            assertUniqueAndMatchesDisk(live, null);
            // phase a's attachments minus the even ones released, plus all of phase b
            assertEquals(8 * perWorker - 4 * ((perWorker + 1) / 2), live.size());
            // a final DEL of everything, half by each implementation (crossed over)
            int i = 0;
            for (String id : new ArrayList<>(live.keySet())) {
                okEmpty(i++ % 2 == 0 ? run("DEL", id, "eth0", c) : runReference("DEL", id, "eth0", c));
            }
            assertEquals(new TreeSet<String>(), reservations());
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * Workers 0,1 are jcni and 2,3 the reference. Each ADDs {@code n} attachments
     * {@code <phase><worker>-<i>}; with {@code release}, each also DELs its phase-"a" attachments
     * with an even index, alternating with its ADDs.
     */
    private void runPhase(
            ExecutorService pool,
            String c,
            int n,
            String phase,
            Map<String, List<String>> live,
            List<String> everHanded,
            boolean release)
            throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Void>> fs = new ArrayList<>();
        for (int w = 0; w < 4; w++) {
            int worker = w;
            boolean ours = w < 2;
            fs.add(pool.submit(() -> {
                go.await();
                for (int i = 0; i < n; i++) {
                    String id = phase + worker + "-" + i;
                    PluginResponse r = ours ? run("ADD", id, "eth0", c) : runReference("ADD", id, "eth0", c);
                    Map<String, Object> res = ok(r);
                    live.put(id, List.of(address(res, 0), address(res, 1)));
                    everHanded.add(address(res, 0));
                    everHanded.add(address(res, 1));
                    if (release && i % 2 == 0) {
                        String old = "a" + worker + "-" + i;
                        okEmpty(ours ? run("DEL", old, "eth0", c) : runReference("DEL", old, "eth0", c));
                        live.remove(old);
                    }
                }
                return null;
            }));
        }
        go.countDown();
        for (Future<Void> f : fs) {
            f.get(120, TimeUnit.SECONDS);
        }
    }

    /** No address is held by two live attachments, and the directory holds exactly the live ones. */
    private void assertUniqueAndMatchesDisk(Map<String, List<String>> live, List<String> everHanded)
            throws IOException {
        Map<String, String> owner = new HashMap<>();
        for (Map.Entry<String, List<String>> e : live.entrySet()) {
            for (String a : e.getValue()) {
                String prev = owner.put(a, e.getKey());
                assertNull(prev, a + " handed to both " + prev + " and " + e.getKey());
            }
        }
        if (everHanded != null) {
            assertEquals(everHanded.size(), new TreeSet<>(everHanded).size(), "an address was handed out twice");
        }
        assertEquals(new TreeSet<>(owner.keySet()), reservations());
        for (Map.Entry<String, String> e : owner.entrySet()) {
            assertEquals(e.getValue() + "\r\neth0", fileText(e.getKey()));
        }
    }
}
