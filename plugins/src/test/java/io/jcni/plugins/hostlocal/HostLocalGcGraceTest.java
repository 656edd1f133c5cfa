package io.jcni.plugins.hostlocal;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.CniVersion;
import io.jcni.cni.PluginResponse;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * GC against ADDs in flight: an ADD has reserved its address before the runtime has cached the
 * attachment, so the valid list GC gets does not name it yet. GC must leave such young
 * reservations alone, or a later ADD is handed the same address.
 */
class HostLocalGcGraceTest extends HostLocalTestBase {

    private String gcConf(String conf, Iterable<String> validIds) {
        StringBuilder sb = new StringBuilder("[");
        for (String id : validIds) {
            sb.append(sb.length() > 1 ? "," : "")
                    .append("{\"containerID\":\"")
                    .append(id)
                    .append("\",\"ifname\":\"eth0\"}");
        }
        return conf.substring(0, conf.length() - 1) + ",\"cni.dev/valid-attachments\":" + sb.append(']') + "}";
    }

    @Test
    void gcSparesAYoungReservationOfAnUnlistedOwnerAndRemovesItOnceOld() throws Exception {
        String c = conf(CniVersion.V110, ranges("10.15.0.0/24"));
        String a = address(ok(run("ADD", "inflight", "eth0", c)), 0);
        okEmpty(run("GC", "", "", gcConf(c, List.of())));
        assertEquals(Set.of(a), reservations(), "a reservation made just now may belong to an ADD in flight");
        assertEquals("inflight\r\neth0", fileText(a));
        ageReservations();
        okEmpty(run("GC", "", "", gcConf(c, List.of())));
        assertEquals(Set.of(), reservations(), "once older than the grace period it is stale");
    }

    @Test
    void gcInterleavedWith50ParallelAddsLosesNoPod() throws Exception {
        String c = conf(CniVersion.V110, ranges("10.16.0.0/24"));
        int pods = 50;
        // the runtime's cache: an attachment enters it only after its whole ADD chain returned,
        // some time after host-local reserved its address (the rest of the chain runs meanwhile)
        Set<String> cached = ConcurrentHashMap.newKeySet();
        Map<String, String> addressOf = new ConcurrentHashMap<>();
        List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        CountDownLatch start = new CountDownLatch(1);
        AtomicInteger running = new AtomicInteger(pods);
        List<Thread> adders = new ArrayList<>();
        for (int i = 0; i < pods; i++) {
            String id = "pod" + i;
            adders.add(Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                    PluginResponse r = run("ADD", id, "eth0", c);
                    if (r.exitCode() != 0) {
                        failures.add(id + ": " + r.stdoutText());
                        return;
                    }
                    addressOf.put(id, address(json(r.stdout()), 0));
                    Thread.sleep(ThreadLocalRandom.current().nextInt(1, 30)); // the rest of the chain
                    cached.add(id);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    running.decrementAndGet();
                }
            }));
        }
        AtomicInteger gcRuns = new AtomicInteger();
        AtomicBoolean gcFailed = new AtomicBoolean();
        Thread gc = Thread.ofPlatform().start(() -> {
            try {
                start.await();
            } catch (InterruptedException e) {
                return;
            }
            // GC as a runtime runs it: the valid list is a snapshot of its cache
            while (running.get() > 0 || gcRuns.get() < 5) {
                PluginResponse r = run("GC", "", "", gcConf(c, new HashSet<>(cached)));
                gcRuns.incrementAndGet();
                if (r.exitCode() != 0) {
                    failures.add("GC: " + r.stdoutText());
                    gcFailed.set(true);
                }
            }
        });
        start.countDown();
        for (Thread t : adders) {
            t.join();
        }
        gc.join();
        assertEquals(List.of(), failures);
        assertFalse(gcFailed.get());
        assertEquals(pods, addressOf.size());
        assertEquals(pods, new HashSet<>(addressOf.values()).size(), () -> "duplicate addresses: " + addressOf);
        Map<String, String> lost = new HashMap<>();
        for (Map.Entry<String, String> e : addressOf.entrySet()) {
            String file = netDir().resolve(e.getValue()).toString();
            String content = Files.exists(netDir().resolve(e.getValue()))
                    ? Files.readString(netDir().resolve(e.getValue()))
                    : null;
            if (!(e.getKey() + "\r\neth0").equals(content)) {
                lost.put(e.getKey(), file + " holds " + content);
            }
        }
        assertEquals(Map.of(), lost, "pods whose reservation GC removed (" + gcRuns.get() + " GC runs)");
        // and the next ADD gets an address no pod holds
        String next = address(ok(run("ADD", "late", "eth0", c)), 0);
        assertFalse(addressOf.containsValue(next), next);
    }
}
