package io.jcni.plugins.bridge;

import static io.jcni.plugins.bridge.BridgeTests.assertClean;
import static io.jcni.plugins.bridge.BridgeTests.config;
import static io.jcni.plugins.bridge.BridgeTests.hostVeth;
import static io.jcni.plugins.bridge.BridgeTests.ip;
import static io.jcni.plugins.bridge.BridgeTests.ok;
import static io.jcni.plugins.testing.PluginFixture.call;
import static io.jcni.plugins.testing.PluginFixture.env;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jcni.cni.PluginResponse;
import io.jcni.plugins.testing.PluginFixture;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** 50 ADDs at once into 50 pods of one (new) network, then 50 DELs at once: all succeed, nothing shared is lost. */
class BridgeParallelTest {
    static final int N = 50;

    static List<PluginResponse> all(ExecutorService pool, List<Callable<PluginResponse>> jobs) throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        List<Future<PluginResponse>> futures = new ArrayList<>();
        for (Callable<PluginResponse> j : jobs) {
            futures.add(pool.submit(() -> {
                go.await();
                return j.call();
            }));
        }
        go.countDown();
        List<PluginResponse> out = new ArrayList<>();
        for (Future<PluginResponse> fu : futures) {
            out.add(fu.get(120, TimeUnit.SECONDS));
        }
        return out;
    }

    @Test
    void fiftyAddsThenFiftyDels() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(N);
        try (PluginFixture f = new PluginFixture("bp")) {
            String cfg = config(f, "1.1.0");
            List<String> ns = new ArrayList<>();
            for (int i = 0; i < N; i++) {
                ns.add(f.netns("p" + i));
            }
            // the bridge, the nft table and sets do not exist yet: the first ADDs race to create them
            List<Callable<PluginResponse>> adds = new ArrayList<>();
            for (int i = 0; i < N; i++) {
                String id = "c" + i, path = ns.get(i);
                adds.add(() -> call(new Bridge(), env("ADD", id, path, "eth0"), cfg));
            }
            List<PluginResponse> added = all(pool, adds);
            Set<String> ips = new HashSet<>(), veths = new HashSet<>();
            for (int i = 0; i < N; i++) {
                Map<String, Object> r = ok(added.get(i));
                assertTrue(ips.add(ip(r, 0)), "duplicate address " + ip(r, 0));
                assertTrue(veths.add(hostVeth(r)), "duplicate host veth " + hostVeth(r));
                assertEquals(List.of("eth0", "lo"), PluginFixture.nsLinks(ns.get(i)));
            }
            assertEquals(ips, new HashSet<>(f.reservations()));
            assertEquals(ips, new HashSet<>(f.natElements()));
            assertEquals(N, f.natElements().size());
            long ports =
                    f.hostLinks().stream().filter(l -> l.endsWith("(veth)")).count();
            assertEquals(N, ports, "every host end is on the bridge");

            List<Callable<PluginResponse>> dels = new ArrayList<>();
            for (int i = 0; i < N; i++) {
                String id = "c" + i, path = ns.get(i);
                dels.add(() -> call(new Bridge(), env("DEL", id, path, "eth0"), cfg));
            }
            for (PluginResponse r : all(pool, dels)) {
                ok(r);
            }
            assertClean(f, ns.toArray(new String[0]));
        } finally {
            pool.shutdownNow();
        }
    }
}
