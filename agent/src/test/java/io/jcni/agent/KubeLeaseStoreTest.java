package io.jcni.agent;

import static org.junit.jupiter.api.Assertions.*;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeCondition;
import io.fabric8.kubernetes.api.model.NodeConditionBuilder;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.jcni.agent.LeaseStore.LeaseEvent;
import io.jcni.agent.LeaseStore.NoUsableSubnetException;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ip.MacAddress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link KubeLeaseStore} against fabric8's mock API server in CRUD mode, in this JVM: the Node's
 * podCIDR as the node's subnet (waited for, refused outside the network, dual-stack), the
 * annotations published and read back, the condition set without disturbing the others, and the
 * other Nodes as lease events.
 */
class KubeLeaseStoreTest {
    static final String NET_CONF = "{\"Network\":\"10.246.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}}";
    static final IpAddress IP1 = IpAddress.parse("198.18.2.11");
    static final MacAddress MAC1 = MacAddress.parse("0a:6a:62:00:00:01");

    KubeMock mock;
    Path dir;
    final List<AutoCloseable> cleanup = new ArrayList<>();
    final List<String> logged = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws IOException {
        mock = new KubeMock();
        dir = Files.createTempDirectory("jkb-store-");
        Files.writeString(dir.resolve("net-conf.json"), NET_CONF);
        KubeMock.kubeconfig(dir.resolve("kubeconfig"), "127.0.0.1", mock.port());
    }

    @AfterEach
    void stop() throws Exception {
        try {
            for (int i = cleanup.size() - 1; i >= 0; i--) {
                cleanup.get(i).close();
            }
            // whatever the test made the store do, the agent's ClusterRole allowed it
            var rules = Rbac.clusterRole(Rbac.MANIFEST, "jcni");
            for (KubeMock.Request r : mock.agentRequests()) {
                assertTrue(
                        Rbac.allows(rules, Rbac.access(r.method(), r.path())), "not allowed by the ClusterRole: " + r);
            }
        } finally {
            try {
                mock.close();
            } finally {
                try (var s = Files.walk(dir)) {
                    s.sorted(java.util.Comparator.reverseOrder())
                            .forEach(p -> p.toFile().delete());
                }
            }
        }
    }

    KubeLeaseStore store(String node) {
        KubeLeaseStore s = KubeLeaseStore.connect(new KubeLeaseStore.Options(
                node,
                dir.resolve("net-conf.json"),
                dir.resolve("kubeconfig"),
                Duration.ofSeconds(5),
                logged::add,
                logged::add));
        cleanup.add(s);
        return s;
    }

    @Test
    void theConfigurationIsTheNetConfFile() throws Exception {
        KubeLeaseStore s = store("n1");
        NetworkConfig c = s.config();
        assertEquals(IpPrefix.parse("10.246.0.0/16"), c.network());
        assertTrue(c.backend().isVxlan());
        Files.writeString(dir.resolve("net-conf.json"), "{\"Backend\":{}}");
        NetworkConfig.InvalidConfigException e = assertThrows(NetworkConfig.InvalidConfigException.class, s::config);
        assertTrue(
                e.getMessage().contains("net-conf.json") && e.getMessage().contains("\"Network\" is missing"),
                e.getMessage());
        assertThrows(UnsupportedOperationException.class, () -> s.putConfig(c));
    }

    @Test
    void aNodeWithoutPodCidrOrOneOutsideTheNetworkHasNoSubnet() throws Exception {
        KubeLeaseStore s = store("n1");
        NetworkConfig c = s.config();
        NoUsableSubnetException missing =
                assertThrows(NoUsableSubnetException.class, () -> s.acquire(c, IP1, MAC1, null, Duration.ZERO));
        assertTrue(missing.getMessage().contains("Node n1 does not exist"), missing.getMessage());

        mock.createNode("n1", List.of(), Map.of());
        NoUsableSubnetException none =
                assertThrows(NoUsableSubnetException.class, () -> s.acquire(c, IP1, MAC1, null, Duration.ZERO));
        assertTrue(none.getMessage().contains("Node n1 has no podCIDR yet"), none.getMessage());

        setPodCidrs("n1", List.of("10.247.1.0/24"));
        NoUsableSubnetException outside =
                assertThrows(NoUsableSubnetException.class, () -> s.acquire(c, IP1, MAC1, null, Duration.ZERO));
        assertTrue(
                outside.getMessage().contains("refusing Node n1's podCIDR 10.247.1.0/24")
                        && outside.getMessage().contains("not inside the network 10.246.0.0/16"),
                outside.getMessage());
        assertNull(mock.node("n1").getMetadata().getAnnotations().get(KubeLeaseStore.PUBLIC_IP), "nothing published");

        setPodCidrs("n1", List.of("fd00:246:1::/64"));
        NoUsableSubnetException v6 =
                assertThrows(NoUsableSubnetException.class, () -> s.acquire(c, IP1, MAC1, null, Duration.ZERO));
        assertTrue(v6.getMessage().contains("no IPv4 podCIDR"), v6.getMessage());
    }

    @Test
    void theSubnetIsTheIpv4PodCidrAndTheAnnotationsArePublishedAndReadBack() throws Exception {
        KubeLeaseStore s = store("n1");
        NetworkConfig c = s.config();
        mock.createNode("n1", List.of("fd00:246:1::/64", "10.246.1.0/24"), Map.of("other.io/keep", "me"));
        assertNull(s.previousVtepMac(IP1), "nothing published yet");

        Lease l = s.acquire(c, IP1, MAC1, null, Duration.ofHours(24));
        assertEquals(IpPrefix.parse("10.246.1.0/24"), l.subnet());
        Map<String, String> a = mock.node("n1").getMetadata().getAnnotations();
        assertEquals("198.18.2.11", a.get(KubeLeaseStore.PUBLIC_IP));
        assertEquals("vxlan", a.get(KubeLeaseStore.BACKEND_TYPE));
        assertEquals("{\"VNI\":1,\"VtepMAC\":\"0a:6a:62:00:00:01\"}", a.get(KubeLeaseStore.BACKEND_DATA));
        assertEquals("me", a.get("other.io/keep"), "other annotations stay");
        assertEquals(MAC1, s.previousVtepMac(IP1));
        assertNull(s.previousVtepMac(IpAddress.parse("198.18.2.99")), "another node's MAC is not this one's");

        long patches = patchesBy(KubeLeaseStore.USER_AGENT);
        s.acquire(c, IP1, MAC1, null, Duration.ofHours(24));
        assertEquals(patches, patchesBy(KubeLeaseStore.USER_AGENT), "annotations already right: no patch");
        assertEquals(-1, s.renew(l));
        assertEquals(-1, s.ttlLeft(l));

        s.release(l);
        assertNull(mock.node("n1").getMetadata().getAnnotations().get(KubeLeaseStore.PUBLIC_IP));
        assertEquals("me", mock.node("n1").getMetadata().getAnnotations().get("other.io/keep"));
        mock.client().nodes().withName("n1").delete();
        assertTrue(await(() -> mock.node("n1") == null, Duration.ofSeconds(5)));
        assertEquals(0, s.ttlLeft(l));
        assertThrows(LeaseStore.LeaseLostException.class, () -> s.renew(l));
    }

    @Test
    void aNodeWithOnlyTheSingleFieldHasItsSubnetToo() throws Exception {
        KubeLeaseStore s = store("n1");
        mock.client()
                .nodes()
                .resource(new io.fabric8.kubernetes.api.model.NodeBuilder()
                        .withNewMetadata()
                        .withName("n1")
                        .endMetadata()
                        .withNewSpec()
                        .withPodCIDR("10.246.7.0/24")
                        .endSpec()
                        .build())
                .create();
        assertEquals(
                IpPrefix.parse("10.246.7.0/24"),
                s.acquire(s.config(), IP1, MAC1, null, Duration.ZERO).subnet());
    }

    @Test
    void theConditionIsSetOnceKeepingTheOthers() throws Exception {
        KubeLeaseStore s = store("n1");
        NetworkConfig c = s.config();
        mock.createNode("n1", List.of("10.246.1.0/24"), Map.of());
        NodeCondition readyCondition = new NodeConditionBuilder()
                .withType("Ready")
                .withStatus("True")
                .withReason("KubeletReady")
                .build();
        NodeCondition unavailable = new NodeConditionBuilder()
                .withType("NetworkUnavailable")
                .withStatus("True")
                .withReason("NoRouteCreated")
                .build();
        mock.client()
                .nodes()
                .withName("n1")
                .subresource("status")
                .patch(
                        PatchContext.of(PatchType.JSON_MERGE),
                        "{\"status\":{\"conditions\":[" + json(readyCondition) + "," + json(unavailable) + "]}}");
        Lease l = s.acquire(c, IP1, MAC1, null, Duration.ZERO);
        s.leases(); // synced
        s.programmed(c, l);

        Node n = mock.node("n1");
        NodeCondition network = condition(n, "NetworkUnavailable");
        assertEquals("False", network.getStatus());
        assertEquals("JcniIsUp", network.getReason());
        assertTrue(network.getMessage().contains("vxlan, pod subnet 10.246.1.0/24"), network.getMessage());
        assertNotNull(network.getLastTransitionTime());
        assertEquals("KubeletReady", condition(n, "Ready").getReason(), "the kubelet's condition stays");
        assertEquals(2, n.getStatus().getConditions().size());
        assertTrue(
                mock.requests().stream()
                        .anyMatch(r -> r.method().equals("PATCH")
                                && r.path().equals("/api/v1/nodes/n1/status")
                                && r.contentType().startsWith("application/json-patch+json")),
                mock.requests().toString());

        assertTrue(
                logged.stream().anyMatch(line -> line.contains("condition NetworkUnavailable=False (JcniIsUp)")),
                logged.toString());

        // a restarted agent finds the condition in its informer's copy of the Node: no request at all
        KubeLeaseStore again = store("n1");
        again.leases();
        long before = nodeRequestsBy(KubeLeaseStore.USER_AGENT);
        again.programmed(c, l);
        assertEquals(
                before,
                nodeRequestsBy(KubeLeaseStore.USER_AGENT),
                mock.requests().toString());

        // someone resets it: the next pass sets it again
        mock.client()
                .nodes()
                .withName("n1")
                .subresource("status")
                .patch(
                        PatchContext.of(PatchType.JSON_MERGE),
                        "{\"status\":{\"conditions\":[" + json(readyCondition) + "," + json(unavailable) + "]}}");
        assertTrue(
                await(
                        () -> {
                            again.programmed(c, l);
                            return networkUpOnServer("n1");
                        },
                        Duration.ofSeconds(5)),
                mock.node("n1").getStatus().toString());
    }

    @Test
    void aNodeWithNoConditionsYetGetsOne() throws Exception {
        KubeLeaseStore s = store("n1");
        NetworkConfig c = s.config();
        mock.createNode("n1", List.of("10.246.1.0/24"), Map.of());
        Lease l = s.acquire(c, IP1, MAC1, null, Duration.ZERO);
        s.programmed(c, l);
        assertEquals(
                "JcniIsUp", condition(mock.node("n1"), "NetworkUnavailable").getReason());
    }

    @Test
    void theOtherNodesAreLeaseEvents() throws Exception {
        mock.createNode("n1", List.of("10.246.1.0/24"), Map.of());
        mock.createNode("n2", List.of("10.246.2.0/24"), published("198.18.2.12", "0a:6a:62:00:00:02"));
        mock.createNode("n3", List.of(), published("198.18.2.13", "0a:6a:62:00:00:03")); // no podCIDR: no lease
        mock.createNode("n4", List.of("10.246.4.0/24"), Map.of()); // its agent has not published: no lease
        KubeLeaseStore s = store("n1"); // its first list has them all: the snapshot waits for it

        LeaseStore.Snapshot snap = s.leases();
        assertEquals(
                List.of(IpPrefix.parse("10.246.2.0/24")),
                snap.leases().stream().map(Lease::subnet).toList());
        Lease n2 = snap.leases().getFirst();
        assertEquals(IpAddress.parse("198.18.2.12"), n2.publicIp());
        assertEquals(MacAddress.parse("0a:6a:62:00:00:02"), n2.vtepMac());
        assertEquals(1, n2.vni());

        BlockingQueue<LeaseEvent> events = new LinkedBlockingQueue<>();
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        cleanup.add(s.watch(snap.revision() + 1, events::add, errors::add));

        // n4's agent publishes: a PUT
        annotate("n4", published("198.18.2.14", "0a:6a:62:00:00:04"));
        LeaseEvent put = events.poll(5, TimeUnit.SECONDS);
        assertNotNull(put, "n4 joined");
        assertEquals(LeaseEvent.Kind.PUT, put.kind());
        assertEquals(IpPrefix.parse("10.246.4.0/24"), put.subnet());
        assertEquals(IpAddress.parse("198.18.2.14"), put.lease().publicIp());

        // a broken annotation: a PUT that says why
        annotate("n4", Map.of(KubeLeaseStore.BACKEND_DATA, "{\"VtepMAC\":\"not a mac\"}"));
        LeaseEvent bad = events.poll(5, TimeUnit.SECONDS);
        assertNotNull(bad);
        assertNull(bad.lease());
        assertTrue(bad.invalid().contains("n4") && bad.invalid().contains("not a MAC"), bad.invalid());

        // n3 gets its podCIDR: a PUT
        setPodCidrs("n3", List.of("10.246.3.0/24"));
        LeaseEvent n3 = events.poll(5, TimeUnit.SECONDS);
        assertNotNull(n3);
        assertEquals(IpPrefix.parse("10.246.3.0/24"), n3.subnet());

        // n2 is deleted: a DELETE
        mock.client().nodes().withName("n2").delete();
        LeaseEvent gone = events.poll(5, TimeUnit.SECONDS);
        assertNotNull(gone);
        assertEquals(LeaseEvent.Kind.DELETE, gone.kind());
        assertEquals(IpPrefix.parse("10.246.2.0/24"), gone.subnet());
        assertTrue(errors.isEmpty(), errors.toString());

        // a watch from an earlier revision replays what it missed, in order
        List<LeaseEvent> replay = new ArrayList<>();
        s.watch(snap.revision() + 1, replay::add, errors::add).close();
        assertEquals(List.of(put, bad, n3, gone), replay);
        assertTrue(errors.isEmpty(), errors.toString());
    }

    // ---------------------------------------------------------------- helpers

    static Map<String, String> published(String ip, String mac) {
        return Map.of(
                KubeLeaseStore.PUBLIC_IP,
                ip,
                KubeLeaseStore.BACKEND_TYPE,
                "vxlan",
                KubeLeaseStore.BACKEND_DATA,
                "{\"VNI\":1,\"VtepMAC\":\"" + mac + "\"}");
    }

    void annotate(String node, Map<String, String> annotations) {
        mock.client().nodes().withName(node).edit(n -> {
            n.getMetadata().getAnnotations().putAll(annotations);
            return n;
        });
    }

    void setPodCidrs(String node, List<String> cidrs) {
        mock.client().nodes().withName(node).edit(n -> {
            n.getSpec().setPodCIDR(cidrs.getFirst());
            n.getSpec().setPodCIDRs(cidrs);
            return n;
        });
    }

    /** Requests for one Node (GET, PATCH), not the informer's list and watch. */
    long nodeRequestsBy(String userAgent) {
        return mock.requests().stream()
                .filter(r -> r.path().startsWith("/api/v1/nodes/") && userAgent.equals(r.userAgent()))
                .count();
    }

    boolean networkUpOnServer(String node) {
        NodeCondition c = condition(mock.node(node), "NetworkUnavailable");
        return "False".equals(c.getStatus()) && "JcniIsUp".equals(c.getReason());
    }

    long patchesBy(String userAgent) {
        return mock.requests().stream()
                .filter(r -> r.method().equals("PATCH") && userAgent.equals(r.userAgent()))
                .count();
    }

    static NodeCondition condition(Node n, String type) {
        return n.getStatus().getConditions().stream()
                .filter(c -> c.getType().equals(type))
                .findFirst()
                .orElseThrow();
    }

    static String json(NodeCondition c) {
        return io.fabric8.kubernetes.client.utils.Serialization.asJson(c);
    }

    static boolean await(BooleanSupplier condition, Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(20);
        }
        return true;
    }
}
