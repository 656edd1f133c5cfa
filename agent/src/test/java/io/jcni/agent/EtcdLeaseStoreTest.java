package io.jcni.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.jcni.agent.LeaseStore.LeaseEvent;
import io.jcni.agent.LeaseStore.LeaseLostException;
import io.jcni.agent.LeaseStore.NetworkExhaustedException;
import io.jcni.agent.LeaseStore.StoreUnavailableException;
import io.jcni.cni.json.Json;
import io.jcni.cni.json.JsonException;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ip.MacAddress;
import io.jcni.testkit.TestNames;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * {@link EtcdLeaseStore} against a real etcd on 127.0.0.1, with {@code etcdctl} as the independent
 * witness of what is stored. Each test works under its own key prefix of a shared etcd; the tests
 * that take etcd down, freeze it or need TLS start their own.
 */
class EtcdLeaseStoreTest {
    private static final String RUN = TestNames.RUN;
    private static final IpAddress NODE_A = IpAddress.parse("198.18.0.11");
    private static final IpAddress NODE_B = IpAddress.parse("198.18.0.12");
    private static final MacAddress MAC_1 = MacAddress.parse("0a:58:0a:f4:00:01");
    private static final MacAddress MAC_2 = MacAddress.parse("0a:58:0a:f4:00:02");
    private static final Duration TTL = Duration.ofSeconds(60);

    private static TestEtcd etcd;

    private final List<AutoCloseable> toClose = new ArrayList<>();
    private final List<String> warnings = new CopyOnWriteArrayList<>();
    private String prefix;

    @BeforeAll
    static void startEtcd() {
        etcd = TestEtcd.start(RUN, "shared");
    }

    @AfterAll
    static void stopEtcd() {
        if (etcd != null) {
            etcd.close();
        }
    }

    @BeforeEach
    void prefix(TestInfo info) {
        prefix = "/jst-" + RUN + "/" + info.getTestMethod().orElseThrow().getName();
    }

    @AfterEach
    void closeAll() throws Exception {
        // in reverse: watches before their stores, stores before their etcds
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private <T extends AutoCloseable> T closeLater(T c) {
        toClose.add(c);
        return c;
    }

    private EtcdLeaseStore store() {
        return store(etcd);
    }

    private EtcdLeaseStore store(TestEtcd on) {
        return closeLater(EtcdLeaseStore.connect(
                EtcdLeaseStore.Options.of(on.endpoint()).withPrefix(prefix).withWarnings(warnings::add)));
    }

    private static NetworkConfig config(String json) {
        try {
            return NetworkConfig.parse(json);
        } catch (NetworkConfig.InvalidConfigException e) {
            throw new AssertionError(e);
        }
    }

    private static final NetworkConfig VXLAN16 =
            config("{\"Network\":\"10.244.0.0/16\",\"Backend\":{\"Type\":\"vxlan\",\"VNI\":1}}");

    /** The stored value of {@code key} as etcdctl sees it, null when absent. */
    private static Map<String, Object> stored(TestEtcd on, String key) {
        String out = on.etcdctl("get", key, "--print-value-only").strip();
        try {
            return out.isEmpty() ? null : Json.parseObject(out.getBytes(StandardCharsets.UTF_8));
        } catch (JsonException e) {
            throw new AssertionError(key + " holds no JSON object: " + out, e);
        }
    }

    private static void await(String what, Duration limit, BooleanSupplier condition) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("not within " + limit + ": " + what);
            }
            try {
                Thread.sleep(20); // polling interval of a wait on a condition, not a delay the test relies on
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    /** Watches {@code errors} for the whole of {@code window}, failing as soon as one appears. */
    private static void assertNoErrorFor(List<Throwable> errors, Duration window) throws InterruptedException {
        long end = System.nanoTime() + window.toNanos();
        while (System.nanoTime() < end) {
            assertEquals(List.of(), errors);
            Thread.sleep(20);
        }
        assertEquals(List.of(), errors);
    }

    private static LeaseEvent next(BlockingQueue<LeaseEvent> events, Duration limit) throws InterruptedException {
        LeaseEvent e = events.poll(limit.toMillis(), TimeUnit.MILLISECONDS);
        assertNotNull(e, "no watch event within " + limit);
        return e;
    }

    // ---- configuration

    @Test
    void configMissingBadAndGood() throws Exception {
        EtcdLeaseStore store = store();
        String key = prefix + "/config";
        assertEquals(key, store.configKey());

        var missing = assertThrows(NetworkConfig.InvalidConfigException.class, store::config);
        assertEquals(
                key + " is missing: write it with `jcni cluster init --network CIDR` or etcdctl put",
                missing.getMessage());

        etcd.etcdctl("put", key, "{\"Network\": 42");
        var notJson = assertThrows(NetworkConfig.InvalidConfigException.class, store::config);
        assertTrue(notJson.getMessage().startsWith(key + ": not valid JSON"), notJson.getMessage());

        etcd.etcdctl("put", key, "{\"Network\": \"10.244.0.1/16\"}");
        var bad = assertThrows(NetworkConfig.InvalidConfigException.class, store::config);
        assertEquals(
                key + ": \"Network\" 10.244.0.1/16 has host bits set (did you mean 10.244.0.0/16?)", bad.getMessage());

        store.putConfig(VXLAN16);
        assertEquals("10.244.0.0/16", stored(etcd, key).get("Network"), "etcdctl sees the written configuration");
        assertEquals(VXLAN16, store.config());

        // flannel's own documentation example, as an operator would write it
        etcd.etcdctl(
                "put", key, "{\"Network\": \"10.5.0.0/16\", \"SubnetLen\": 26, \"Backend\": {\"Type\": \"host-gw\"}}");
        NetworkConfig c = store.config();
        assertEquals(IpPrefix.parse("10.5.0.0/16"), c.network());
        assertEquals(26, c.subnetLen());
        assertEquals(NetworkConfig.HOST_GW, c.backend().type());
    }

    // ---- acquire

    @Test
    void acquireCreatesAndTheSameNodeGetsItsSubnetBack() {
        EtcdLeaseStore store = store();
        Lease first = store.acquire(VXLAN16, NODE_A, MAC_1, null, TTL);
        assertTrue(VXLAN16.leasable(first.subnet()), first.toString());
        assertNotEquals(0, first.storeLease());
        assertEquals(NODE_A, first.publicIp());
        assertEquals(MAC_1, first.vtepMac());
        assertEquals(1, first.vni());

        String key = prefix + "/subnets/" + Lease.keyName(first.subnet());
        assertEquals(key, store.leaseKey(first.subnet()));
        Map<String, Object> value = stored(etcd, key);
        assertEquals("198.18.0.11", value.get("PublicIP"));
        assertEquals("vxlan", value.get("BackendType"));
        assertEquals(Map.of("VNI", 1L, "VtepMAC", MAC_1.toString()), value.get("BackendData"));
        assertTrue(
                etcd.etcdctl("lease", "timetolive", Long.toHexString(first.storeLease()), "--keys")
                        .contains(key),
                "the key is attached to the returned etcd lease");

        // the agent restarted (its VXLAN device got a new MAC): same subnet, new value, new etcd lease
        Lease again = store.acquire(VXLAN16, NODE_A, MAC_2, null, TTL);
        assertEquals(first.subnet(), again.subnet());
        assertEquals(MAC_2, again.vtepMac());
        assertNotEquals(first.storeLease(), again.storeLease());
        assertEquals(MAC_2.toString(), ((Map<?, ?>) stored(etcd, key).get("BackendData")).get("VtepMAC"));
        assertTrue(etcd.etcdctl("lease", "timetolive", Long.toHexString(again.storeLease()), "--keys")
                .contains(key));
        assertTrue(
                etcd.etcdctl("lease", "timetolive", Long.toHexString(first.storeLease()))
                        .contains("already expired"),
                "the old etcd lease is revoked");
        assertEquals(0, store.ttlLeft(first));
        assertTrue(store.ttlLeft(again) > 50, "ttl of the new lease: " + store.ttlLeft(again));

        // another node gets another subnet
        Lease other = store.acquire(VXLAN16, NODE_B, MAC_1, null, TTL);
        assertNotEquals(first.subnet(), other.subnet());
        assertEquals(2, store.leases().leases().size());
    }

    @Test
    void preferredSubnetHonouredWhenFreeIgnoredWhenTaken() {
        EtcdLeaseStore store = store();
        IpPrefix wanted = IpPrefix.parse("10.244.77.0/24");
        Lease a = store.acquire(VXLAN16, NODE_A, MAC_1, wanted, TTL);
        assertEquals(wanted, a.subnet());

        Lease b = store.acquire(VXLAN16, NODE_B, MAC_2, wanted, TTL);
        assertNotEquals(wanted, b.subnet());
        assertTrue(VXLAN16.leasable(b.subnet()));

        // a preferred subnet the configuration cannot lease (outside, or the network's first) is ignored
        Lease c = store.acquire(VXLAN16, IpAddress.parse("198.18.0.13"), MAC_2, IpPrefix.parse("10.244.0.0/24"), TTL);
        assertTrue(VXLAN16.leasable(c.subnet()), c.toString());
        assertEquals(3, new HashSet<>(List.of(a.subnet(), b.subnet(), c.subnet())).size());
    }

    @Test
    void racingStoresNeverShareASubnetAndAFullNetworkSaysSo() throws Exception {
        NetworkConfig ten =
                config("{\"Network\":\"10.250.0.0/20\",\"SubnetMin\":\"10.250.1.0\",\"SubnetMax\":\"10.250.10.0\","
                        + "\"Backend\":{\"Type\":\"host-gw\"}}");
        assertEquals(10, ten.subnetCount());
        int n = 10;
        List<EtcdLeaseStore> stores = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            stores.add(store());
        }
        CyclicBarrier start = new CyclicBarrier(n);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<Lease>> results = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                EtcdLeaseStore s = stores.get(i);
                IpAddress ip = IpAddress.parse("198.18.1." + (i + 1));
                results.add(pool.submit(() -> {
                    start.await(10, TimeUnit.SECONDS);
                    return s.acquire(ten, ip, null, null, TTL);
                }));
            }
            Set<IpPrefix> subnets = new HashSet<>();
            for (Future<Lease> f : results) {
                Lease l = f.get(30, TimeUnit.SECONDS);
                assertTrue(ten.leasable(l.subnet()), l.toString());
                subnets.add(l.subnet());
            }
            assertEquals(n, subnets.size(), "distinct subnets: " + subnets);
        } finally {
            pool.shutdownNow();
        }

        // etcdctl agrees: ten keys, each with its own node
        String keys = etcd.etcdctl("get", prefix + "/subnets/", "--prefix", "--keys-only");
        assertEquals(n, keys.lines().filter(l -> !l.isBlank()).count(), keys);
        Set<Object> ips = new HashSet<>();
        for (Lease l : stores.getFirst().leases().leases()) {
            ips.add(l.publicIp());
        }
        assertEquals(n, ips.size());

        var full = assertThrows(
                NetworkExhaustedException.class,
                () -> stores.getFirst().acquire(ten, IpAddress.parse("198.18.1.99"), null, null, TTL));
        assertEquals(
                "network 10.250.0.0/20 has no free /24 between 10.250.1.0 and 10.250.10.0: all 10 are leased",
                full.getMessage());
    }

    // ---- renew, expiry, release

    @Test
    void renewExtendsTheLease() {
        EtcdLeaseStore store = store();
        Lease lease = store.acquire(VXLAN16, NODE_A, MAC_1, null, Duration.ofSeconds(10));
        await("the lease's TTL drops below its grant", Duration.ofSeconds(5), () -> store.ttlLeft(lease) < 9);
        long before = store.ttlLeft(lease);
        long renewed = store.renew(lease);
        assertTrue(renewed > before, "renew: " + renewed + ", before: " + before);
        String ttl = etcd.etcdctl("lease", "timetolive", Long.toHexString(lease.storeLease()));
        assertTrue(ttl.contains("granted with TTL(10s)"), ttl);
        assertTrue(store.ttlLeft(lease) > before);
    }

    @Test
    void renewSaysLostWhenTheKeyWasDeleted() {
        EtcdLeaseStore store = store();
        Lease lease = store.acquire(VXLAN16, NODE_A, MAC_1, null, TTL);
        String key = store.leaseKey(lease.subnet());
        assertEquals("1", etcd.etcdctl("del", key).strip());
        var lost = assertThrows(LeaseLostException.class, () -> store.renew(lease));
        assertTrue(lost.getMessage().contains(key), lost.getMessage());
        // the etcd lease itself still lives: only the key check can tell
        assertTrue(store.ttlLeft(lease) > 0);

        // a key taken over by another lease is lost too
        Lease again = store.acquire(VXLAN16, NODE_A, MAC_1, lease.subnet(), TTL);
        assertEquals(lease.subnet(), again.subnet());
        assertThrows(LeaseLostException.class, () -> store.renew(lease));
        assertTrue(store.renew(again) > 0);
    }

    @Test
    void expiredLeaseIsDeletedAndTheWatchSaysSo() throws Exception {
        EtcdLeaseStore store = store();
        BlockingQueue<LeaseEvent> events = new LinkedBlockingQueue<>();
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        long rev = store.leases().revision();
        closeLater(store.watch(rev + 1, events::add, errors::add));

        Lease lease = store.acquire(VXLAN16, NODE_A, MAC_1, null, Duration.ofSeconds(2));
        LeaseEvent put = next(events, Duration.ofSeconds(5));
        assertEquals(LeaseEvent.Kind.PUT, put.kind());
        assertEquals(lease.subnet(), put.subnet());
        assertEquals(lease, put.lease(), "the watched lease is the acquired one, etcd lease id included");
        assertNull(put.invalid());
        assertTrue(put.revision() > rev);

        LeaseEvent gone = next(events, Duration.ofSeconds(15));
        assertEquals(LeaseEvent.Kind.DELETE, gone.kind());
        assertEquals(lease.subnet(), gone.subnet());
        assertNull(gone.lease());
        assertTrue(gone.revision() > put.revision());
        assertNull(stored(etcd, store.leaseKey(lease.subnet())), "etcdctl no longer sees the key");
        assertThrows(LeaseLostException.class, () -> store.renew(lease));
        assertEquals(0, store.ttlLeft(lease));
        assertEquals(List.of(), errors);
    }

    @Test
    void releaseRemovesTheKey() {
        EtcdLeaseStore store = store();
        Lease lease = store.acquire(VXLAN16, NODE_A, MAC_1, null, TTL);
        String key = store.leaseKey(lease.subnet());
        assertNotNull(stored(etcd, key));
        store.release(lease);
        assertNull(stored(etcd, key));
        assertEquals(0, store.ttlLeft(lease));
        store.release(lease); // already gone: fine

        // a reservation (no etcd lease) is deleted only while it is still this node's
        String reserved = prefix + "/subnets/10.244.9.0-24";
        etcd.etcdctl("put", reserved, "{\"PublicIP\":\"198.18.0.11\",\"BackendType\":\"host-gw\"}");
        Lease r = new Lease(IpPrefix.parse("10.244.9.0/24"), NODE_A, "host-gw", null, 0, 0);
        assertEquals(-1, store.ttlLeft(r));
        store.release(new Lease(r.subnet(), NODE_B, "host-gw", null, 0, 0));
        assertNotNull(stored(etcd, reserved), "another node's release leaves the reservation alone");
        store.release(r);
        assertNull(stored(etcd, reserved));
        assertEquals(0, store.ttlLeft(r));
    }

    // ---- watch

    @Test
    void watchDeliversPutsParsedAndInvalidOnesMarked() throws Exception {
        EtcdLeaseStore store = store();
        BlockingQueue<LeaseEvent> events = new LinkedBlockingQueue<>();
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        long rev = store.leases().revision();
        closeLater(store.watch(rev + 1, events::add, errors::add));

        Lease a = store.acquire(VXLAN16, NODE_A, MAC_1, IpPrefix.parse("10.244.40.0/24"), TTL); // not 10.244.200.0
        LeaseEvent put = next(events, Duration.ofSeconds(5));
        assertEquals(a, put.lease());

        String key = prefix + "/subnets/10.244.200.0-24";
        etcd.etcdctl("put", key, "{\"PublicIP\":\"not an ip\"}");
        LeaseEvent bad = next(events, Duration.ofSeconds(5));
        assertEquals(LeaseEvent.Kind.PUT, bad.kind());
        assertEquals(IpPrefix.parse("10.244.200.0/24"), bad.subnet());
        assertNull(bad.lease());
        assertTrue(bad.invalid().contains("PublicIP"), bad.invalid());

        // a key that names no subnet is skipped (with a warning); the next real event still comes
        etcd.etcdctl("put", prefix + "/subnets/not-a-subnet", "x");
        etcd.etcdctl("put", key, "{\"PublicIP\":\"198.18.0.20\",\"BackendType\":\"host-gw\",\"BackendData\":null}");
        LeaseEvent good = next(events, Duration.ofSeconds(5));
        assertEquals(IpAddress.parse("198.18.0.20"), good.lease().publicIp());
        assertEquals(0, good.lease().storeLease());
        assertTrue(warnings.stream().anyMatch(w -> w.contains("not-a-subnet")), warnings.toString());

        etcd.etcdctl("del", key);
        LeaseEvent del = next(events, Duration.ofSeconds(5));
        assertEquals(LeaseEvent.Kind.DELETE, del.kind());
        assertEquals(IpPrefix.parse("10.244.200.0/24"), del.subnet());

        // a watch from the snapshot's next revision replays what happened since, in order
        BlockingQueue<LeaseEvent> replay = new LinkedBlockingQueue<>();
        closeLater(store.watch(rev + 1, replay::add, errors::add));
        assertEquals(put, next(replay, Duration.ofSeconds(5)));
        assertEquals(bad, next(replay, Duration.ofSeconds(5)));
        assertEquals(good, next(replay, Duration.ofSeconds(5)));
        assertEquals(del, next(replay, Duration.ofSeconds(5)));
        assertEquals(List.of(), errors);
    }

    @Test
    void watchOfACompactedRevisionFailsOnce() throws Exception {
        EtcdLeaseStore store = store();
        etcd.etcdctl("put", prefix + "/subnets/10.244.1.0-24", "{\"PublicIP\":\"198.18.0.1\"}");
        long rev = store.leases().revision();
        etcd.etcdctl("put", prefix + "/subnets/10.244.1.0-24", "{\"PublicIP\":\"198.18.0.2\"}");
        etcd.etcdctl("compaction", Long.toString(rev + 1));
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        List<LeaseEvent> events = new CopyOnWriteArrayList<>();
        closeLater(store.watch(rev, events::add, errors::add));
        await("the compacted watch fails", Duration.ofSeconds(5), () -> !errors.isEmpty());
        assertTrue(
                errors.getFirst().getMessage().contains("compacted"),
                errors.getFirst().getMessage());
        // a later change is not delivered to the failed watch; the error came exactly once
        BlockingQueue<LeaseEvent> fresh = new LinkedBlockingQueue<>();
        closeLater(store.watch(store.leases().revision() + 1, fresh::add, errors::add));
        etcd.etcdctl("put", prefix + "/subnets/10.244.1.0-24", "{\"PublicIP\":\"198.18.0.3\"}");
        assertEquals(
                IpAddress.parse("198.18.0.3"),
                next(fresh, Duration.ofSeconds(5)).lease().publicIp());
        assertEquals(List.of(), events);
        assertEquals(1, errors.size(), errors.toString());
    }

    // ---- flannel's layout

    @Test
    void flannelWrittenKeysAreRead() {
        String subnets = prefix + "/subnets/";
        // flannel's exact values (it writes PublicIPv6 as null when it has none)
        etcd.etcdctl(
                "put",
                subnets + "10.244.7.0-24",
                "{\"PublicIP\":\"198.18.0.7\",\"PublicIPv6\":null,"
                        + "\"BackendType\":\"vxlan\",\"BackendData\":{\"VNI\":1,\"VtepMAC\":\"aa:bb:cc:dd:ee:07\"}}");
        etcd.etcdctl(
                "put",
                subnets + "10.244.8.0-24",
                "{\"PublicIP\":\"198.18.0.8\",\"PublicIPv6\":null,"
                        + "\"BackendType\":\"host-gw\",\"BackendData\":null}");
        etcd.etcdctl("put", subnets + "10.244.9.0-24", "garbage");
        etcd.etcdctl("put", subnets + "nonsense", "{}");
        EtcdLeaseStore store = store();
        LeaseStore.Snapshot snap = store.leases();
        assertEquals(
                List.of(
                        new Lease(
                                IpPrefix.parse("10.244.7.0/24"),
                                IpAddress.parse("198.18.0.7"),
                                "vxlan",
                                MacAddress.parse("aa:bb:cc:dd:ee:07"),
                                1,
                                0),
                        new Lease(
                                IpPrefix.parse("10.244.8.0/24"), IpAddress.parse("198.18.0.8"), "host-gw", null, 0, 0)),
                snap.leases());
        assertTrue(snap.revision() > 0);
        assertTrue(warnings.stream().anyMatch(w -> w.contains(subnets + "10.244.9.0-24")), warnings.toString());
        assertTrue(warnings.stream().anyMatch(w -> w.contains(subnets + "nonsense")), warnings.toString());

        // flannel's reservation (a key without lease) is this node's subnet and stays without expiry
        Lease kept = store.acquire(VXLAN16, IpAddress.parse("198.18.0.7"), MAC_2, null, TTL);
        assertEquals(IpPrefix.parse("10.244.7.0/24"), kept.subnet());
        assertEquals(0, kept.storeLease());
        assertEquals(-1, store.ttlLeft(kept));
        assertEquals(-1, store.renew(kept));
        assertEquals(
                "0",
                etcd.etcdctl("get", subnets + "10.244.7.0-24", "-w", "fields")
                        .lines()
                        .filter(l -> l.startsWith("\"Lease\""))
                        .findFirst()
                        .orElseThrow()
                        .replaceAll("\\D", ""));
        assertEquals(
                MAC_2.toString(),
                ((Map<?, ?>) stored(etcd, subnets + "10.244.7.0-24").get("BackendData")).get("VtepMAC"));

        // an unreadable entry still holds its subnet
        NetworkConfig two =
                config("{\"Network\":\"10.244.0.0/16\",\"SubnetMin\":\"10.244.9.0\",\"SubnetMax\":\"10.244.10.0\"}");
        assertEquals(
                IpPrefix.parse("10.244.10.0/24"),
                store.acquire(two, NODE_A, MAC_1, null, TTL).subnet());
        assertThrows(NetworkExhaustedException.class, () -> store.acquire(two, NODE_B, MAC_1, null, TTL));
    }

    // ---- etcd away

    @Test
    void aStoreOnADownEtcdIsMadeAndFailsCleanly() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort(); // closed again: nothing listens there
        }
        String endpoint = "http://127.0.0.1:" + port;
        EtcdLeaseStore store = closeLater(EtcdLeaseStore.connect(
                EtcdLeaseStore.Options.of(endpoint).withPrefix(prefix).withTimeout(Duration.ofSeconds(2))));
        long t0 = System.nanoTime();
        var e = assertThrows(StoreUnavailableException.class, store::config);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(e.getMessage().startsWith("etcd at " + endpoint), e.getMessage());
        assertTrue(
                e.getMessage().contains("Connection refused") || e.getMessage().contains("within 2 s"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(ms < 6000, "bounded by the timeout, took " + ms + " ms");
        assertFalse(store.healthy());
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        closeLater(store.watch(1, ev -> fail("no event expected: " + ev), errors::add));
        await("the watch reports the down etcd", Duration.ofSeconds(6), () -> !errors.isEmpty());
        assertTrue(
                errors.getFirst().getMessage().startsWith("etcd at " + endpoint),
                errors.getFirst().getMessage());
    }

    @Test
    void etcdStoppedAndRestarted() throws Exception {
        try (TestEtcd own = TestEtcd.start(RUN, "outage")) {
            Duration timeout = Duration.ofSeconds(1);
            EtcdLeaseStore store = closeLater(EtcdLeaseStore.connect(EtcdLeaseStore.Options.of(own.endpoint())
                    .withPrefix(prefix)
                    .withTimeout(timeout)
                    .withWarnings(warnings::add)));
            store.putConfig(VXLAN16);
            // preferred, so that it is not one of the subnets etcdctl writes below
            Lease lease = store.acquire(VXLAN16, NODE_A, MAC_1, IpPrefix.parse("10.244.40.0/24"), TTL);
            BlockingQueue<LeaseEvent> events = new LinkedBlockingQueue<>();
            List<Throwable> errors = new CopyOnWriteArrayList<>();
            closeLater(store.watch(store.leases().revision() + 1, events::add, errors::add));
            own.etcdctl("put", prefix + "/subnets/10.244.50.0-24", "{\"PublicIP\":\"198.18.0.50\"}");
            next(events, Duration.ofSeconds(5)); // the watch is live

            own.stop();
            await("the watch reports the outage", Duration.ofSeconds(6), () -> !errors.isEmpty());
            assertTrue(
                    errors.getFirst() instanceof StoreUnavailableException,
                    errors.getFirst().toString());
            assertTrue(
                    errors.getFirst().getMessage().startsWith("etcd at " + own.endpoint()),
                    errors.getFirst().getMessage());

            for (Runnable call : List.<Runnable>of(
                    store::leases,
                    () -> store.renew(lease),
                    () -> store.acquire(VXLAN16, NODE_B, MAC_2, null, TTL),
                    () -> store.putConfig(VXLAN16))) {
                long t0 = System.nanoTime();
                var e = assertThrows(StoreUnavailableException.class, call::run);
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                assertTrue(e.getMessage().startsWith("etcd at " + own.endpoint()), e.getMessage());
                assertFalse(e.getMessage().contains("\n"), e.getMessage());
                assertTrue(
                        ms < 3 * timeout.toMillis(), "bounded by the timeout, took " + ms + " ms: " + e.getMessage());
            }
            assertFalse(store.healthy());

            own.start();
            // within seconds, not gRPC's reconnect backoff of up to two minutes: a call that found etcd
            // unreachable makes the next one use a fresh client (its first call connects)
            await("the store reaches the restarted etcd", Duration.ofSeconds(5), store::healthy);
            assertTrue(store.renew(lease) > 0, "the lease survived the outage (etcd keeps leases across restarts)");
            assertEquals(VXLAN16, store.config());
            assertTrue(store.leases().leases().contains(lease));

            // the broken watch stayed broken (exactly one error); a new one works
            BlockingQueue<LeaseEvent> fresh = new LinkedBlockingQueue<>();
            closeLater(store.watch(store.leases().revision() + 1, fresh::add, errors::add));
            own.etcdctl("put", prefix + "/subnets/10.244.51.0-24", "{\"PublicIP\":\"198.18.0.51\"}");
            assertEquals(
                    IpPrefix.parse("10.244.51.0/24"),
                    next(fresh, Duration.ofSeconds(5)).subnet());
            assertEquals(1, errors.size(), errors.toString());
            assertTrue(events.isEmpty(), events.toString());

            // close does not hang, also with etcd gone
            own.stop();
            long c0 = System.nanoTime();
            store.close();
            assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - c0) < 3 * timeout.toMillis());
        }
    }

    @Test
    void aFrozenEtcdIsNoticedByTheWatch() throws Exception {
        try (TestEtcd own = TestEtcd.start(RUN, "frozen")) {
            Duration timeout = Duration.ofSeconds(1);
            EtcdLeaseStore store = closeLater(EtcdLeaseStore.connect(
                    EtcdLeaseStore.Options.of(own.endpoint()).withPrefix(prefix).withTimeout(timeout)));
            BlockingQueue<LeaseEvent> events = new LinkedBlockingQueue<>();
            List<Throwable> errors = new CopyOnWriteArrayList<>();
            closeLater(store.watch(store.leases().revision() + 1, events::add, errors::add));
            own.etcdctl("put", prefix + "/subnets/10.244.60.0-24", "{\"PublicIP\":\"198.18.0.60\"}");
            next(events, Duration.ofSeconds(5));
            // a quiet watch on a healthy etcd stays up: its progress requests are answered
            assertNoErrorFor(errors, Duration.ofSeconds(3));

            own.pause();
            try {
                // the connection stays up: only the watch's own progress check can tell
                await("the watch reports the frozen etcd", Duration.ofSeconds(5), () -> !errors.isEmpty());
                assertTrue(
                        errors.getFirst().getMessage().contains("did not answer"),
                        errors.getFirst().getMessage());
                var e = assertThrows(StoreUnavailableException.class, store::leases);
                assertTrue(e.getMessage().contains("did not answer within 1 s"), e.getMessage());
            } finally {
                own.resume();
            }
            await("the store works again", Duration.ofSeconds(10), store::healthy);
            assertEquals(1, errors.size(), errors.toString());
        }
    }

    // ---- TLS

    @Test
    void tlsWithClientCertificates() throws Exception {
        Path dir = Files.createTempDirectory("jst-" + RUN + "-tls-");
        try {
            TestEtcd.Tls tls = Certificates.make(dir);
            try (TestEtcd own = TestEtcd.start(RUN, "tls", tls)) {
                assertTrue(own.endpoint().startsWith("https://"));
                EtcdLeaseStore store = closeLater(EtcdLeaseStore.connect(EtcdLeaseStore.Options.of(own.endpoint())
                        .withPrefix(prefix)
                        .withTls(tls.ca(), tls.clientCert(), tls.clientKey())));
                store.putConfig(VXLAN16);
                assertEquals(VXLAN16, store.config());
                assertEquals("10.244.0.0/16", stored(own, prefix + "/config").get("Network"));

                // without a client certificate etcd refuses; the message stays one line
                EtcdLeaseStore anonymous = closeLater(EtcdLeaseStore.connect(EtcdLeaseStore.Options.of(own.endpoint())
                        .withPrefix(prefix)
                        .withTls(tls.ca(), null, null)
                        .withTimeout(Duration.ofSeconds(2))));
                var e = assertThrows(StoreUnavailableException.class, anonymous::config);
                assertFalse(e.getMessage().contains("\n"), e.getMessage());
                assertTrue(e.getMessage().contains("certificate"), e.getMessage());
            }
        } finally {
            TestEtcd.deleteTree(dir);
        }
    }

    @Test
    void badOptionsAreRefusedUpFront() {
        var e = assertThrows(
                IllegalArgumentException.class,
                () -> EtcdLeaseStore.connect(EtcdLeaseStore.Options.of("127.0.0.1:2379")));
        assertTrue(e.getMessage().contains("127.0.0.1:2379"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> EtcdLeaseStore.connect(EtcdLeaseStore.Options.of("http://127.0.0.1:2379")
                        .withTls(Path.of("/nonexistent-ca.pem"), null, null)));
        assertTrue(e.getMessage().contains("https"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> EtcdLeaseStore.connect(EtcdLeaseStore.Options.of("https://127.0.0.1:2379")
                        .withTls(Path.of("/nonexistent-jst-ca.pem"), null, null)));
        assertTrue(e.getMessage().contains("/nonexistent-jst-ca.pem"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> EtcdLeaseStore.Options.of());
        assertEquals(
                "/jcni.io/network",
                EtcdLeaseStore.Options.of("http://127.0.0.1:2379").prefix());
        assertEquals(
                "/coreos.com/network",
                EtcdLeaseStore.Options.of("http://127.0.0.1:2379")
                        .withPrefix("/coreos.com/network/")
                        .prefix());
    }

    /** Certificates for a TLS etcd on 127.0.0.1, made with openssl: an EC CA, and RSA keys in PKCS#1 form. */
    static final class Certificates {
        static TestEtcd.Tls make(Path dir) throws IOException {
            Path ca = dir.resolve("ca.pem");
            Path caKey = dir.resolve("ca-key.pem");
            openssl(dir, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", caKey.toString());
            openssl(
                    dir,
                    "req",
                    "-x509",
                    "-new",
                    "-key",
                    caKey.toString(),
                    "-subj",
                    "/CN=jst-" + RUN + "-ca",
                    "-days",
                    "1",
                    "-out",
                    ca.toString());
            Path serverCert =
                    leaf(dir, "server", ca, caKey, "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
            Path clientCert = leaf(dir, "client", ca, caKey, "extendedKeyUsage=clientAuth\n");
            return new TestEtcd.Tls(
                    ca, serverCert, dir.resolve("server-key.pem"), clientCert, dir.resolve("client-key.pem"));
        }

        private static Path leaf(Path dir, String name, Path ca, Path caKey, String ext) throws IOException {
            Path key = dir.resolve(name + "-key.pem");
            Path csr = dir.resolve(name + ".csr");
            Path cert = dir.resolve(name + ".pem");
            Path extFile = dir.resolve(name + ".ext");
            Files.writeString(extFile, ext);
            openssl(dir, "genrsa", "-traditional", "-out", key.toString(), "2048");
            openssl(
                    dir,
                    "req",
                    "-new",
                    "-key",
                    key.toString(),
                    "-subj",
                    "/CN=jst-" + RUN + "-" + name,
                    "-out",
                    csr.toString());
            openssl(
                    dir,
                    "x509",
                    "-req",
                    "-in",
                    csr.toString(),
                    "-CA",
                    ca.toString(),
                    "-CAkey",
                    caKey.toString(),
                    "-CAcreateserial",
                    "-days",
                    "1",
                    "-extfile",
                    extFile.toString(),
                    "-out",
                    cert.toString());
            return cert;
        }

        static void openssl(Path dir, String... args) {
            List<String> cmd = new ArrayList<>(List.of("openssl"));
            cmd.addAll(List.of(args));
            TestEtcd.run(cmd, Duration.ofSeconds(30));
        }
    }
}
