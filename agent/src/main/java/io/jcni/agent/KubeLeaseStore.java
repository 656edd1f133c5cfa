package io.jcni.agent;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeCondition;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.informers.cache.ReducedStateItemStore;
import io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientFactory;
import io.jcni.cni.json.Json;
import io.jcni.cni.json.JsonException;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ip.MacAddress;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The leases in Kubernetes ({@code jcni agent --kube-subnet-mgr}): no etcd of jcni's own, the
 * Node objects are the leases, as flannel's kube subnet manager does it.
 * <ul>
 * <li><b>This node's subnet</b> is its Node's IPv4 {@code spec.podCIDRs} entry (else
 * {@code spec.podCIDR}), which the controller manager assigned: nothing is taken or renewed,
 * nothing expires. It must lie inside the configured network; a Node with no podCIDR yet is waited
 * for, and so is one whose podCIDR lies outside (refused, saying so).</li>
 * <li><b>What the others need</b> is published as annotations on the Node:
 * {@value #PUBLIC_IP}, {@value #BACKEND_TYPE} and {@value #BACKEND_DATA} (the backend data of
 * flannel's lease, {@code {"VNI":1,"VtepMAC":"…"}}, {@code {}} for host-gw). A restarted agent reads
 * its VTEP MAC back from there.</li>
 * <li><b>The peers</b> are the Nodes with an IPv4 podCIDR and these annotations, followed by an
 * informer (a list, then a watch, resynced every {@link #RESYNC}); each change becomes a
 * {@link LeaseEvent} for the agent's one loop, exactly as etcd's watch would give it.</li>
 * <li><b>Readiness</b>: once the node is programmed the Node's condition
 * {@value #CONDITION} is set to False with reason {@value #REASON} (a JSON patch of its status
 * subresource), which lifts the node's {@code network-unavailable} taint.</li>
 * <li><b>The configuration</b> is a file ({@code --net-conf}, flannel's {@code net-conf.json}
 * keys), read again at every join.</li>
 * </ul>
 * The API calls are: get, list and watch nodes; patch nodes (the annotations); patch nodes/status
 * (the condition). The ClusterRole in {@code deploy/kubernetes/jcni.yaml} grants exactly these.
 *
 * <p>When the API server is away, the informer keeps the last Nodes it knew and reconnects with
 * backoff (1 s doubling to 32 s); nothing on the node changes meanwhile. The losses and recoveries
 * are logged once each.
 */
public final class KubeLeaseStore implements LeaseStore {
    public static final String PUBLIC_IP = "jcni.io/public-ip";
    public static final String BACKEND_TYPE = "jcni.io/backend-type";
    public static final String BACKEND_DATA = "jcni.io/backend-data";
    public static final String CONDITION = "NetworkUnavailable";
    public static final String REASON = "JcniIsUp";
    /** The agent's User-Agent towards the API server (its audit log tells the agent's requests by it). */
    public static final String USER_AGENT = "jcni-agent";
    /** How often the informer hands every known Node to the handler again (a safety net, no API call). */
    static final Duration RESYNC = Duration.ofMinutes(5);
    /** How long the watch may be down before the loss is logged: a watch's routine re-establishment is not. */
    static final Duration LOST_AFTER = Duration.ofSeconds(3);
    /** Events kept for a {@link #watch} from an earlier revision; an older start gets a resync. */
    private static final int HISTORY = 4096;

    /**
     * @param nodeName   this node's Node
     * @param netConf    the network configuration file
     * @param kubeconfig how to reach the API server; null: in-cluster, else KUBECONFIG or ~/.kube/config
     * @param timeout    for one request, and for the first list of the Nodes
     * @param info       receives one line per recovery
     * @param warnings   receives one line per loss of the API server
     */
    public record Options(
            String nodeName,
            Path netConf,
            Path kubeconfig,
            Duration timeout,
            Consumer<String> info,
            Consumer<String> warnings) {
        public Options {
            Objects.requireNonNull(nodeName, "nodeName");
            Objects.requireNonNull(netConf, "netConf");
            Objects.requireNonNull(timeout, "timeout");
            info = info == null ? s -> {} : info;
            warnings = warnings == null ? s -> {} : warnings;
        }
    }

    private final Options options;
    private final KubernetesClient client;
    private final String server;
    private final SharedIndexInformer<Node> informer;
    private final ScheduledExecutorService monitor;

    private final Object lock = new Object();
    /** Each Node that is a lease (or a broken one), by name. */
    private final Map<String, Entry> entries = new HashMap<>();

    private final ArrayDeque<LeaseEvent> history = new ArrayDeque<>();
    private final List<Watcher> watchers = new CopyOnWriteArrayList<>();
    private long revision;

    private volatile String lastError;
    private long notWatchingSince = -1;
    private boolean lost;
    private boolean watchedOnce;
    private long conditionPatchedNanos;
    private String conditionProblem;

    /** A Node as a lease: {@code lease} when its annotations make one, else {@code invalid} says why. */
    private record Entry(IpPrefix subnet, Lease lease, String invalid) {}

    private record Watcher(Consumer<LeaseEvent> events) {}

    private KubeLeaseStore(Options options, KubernetesClient client) {
        this.options = options;
        this.client = client;
        this.server = client.getConfiguration().getMasterUrl();
        this.informer = client.nodes().runnableInformer(RESYNC.toMillis());
        // Keep only what the agent reads: a Node's status (images, addresses, capacity…) can be
        // many kilobytes, times every node of a large cluster.
        this.informer.itemStore(new ReducedStateItemStore<>(
                ReducedStateItemStore.NAME_KEY_STATE,
                Node.class,
                client.getKubernetesSerialization(),
                "metadata.annotations",
                "spec.podCIDR",
                "spec.podCIDRs",
                "status.conditions"));
        this.informer.addEventHandler(new ResourceEventHandler<Node>() {
            @Override
            public void onAdd(Node node) {
                update(name(node), node);
            }

            @Override
            public void onUpdate(Node before, Node node) {
                update(name(node), node);
            }

            @Override
            public void onDelete(Node node, boolean finalStateUnknown) {
                update(name(node), null);
            }
        });
        // Keep trying whatever failed (the API server away at start, a 403 until the RBAC is
        // fixed): the agent must come back by itself, and the data plane does not need the API.
        this.informer.exceptionHandler((started, t) -> {
            lastError = oneLine(t);
            return true;
        });
        this.monitor = new ScheduledThreadPoolExecutor(
                1, r -> Thread.ofPlatform().daemon().name("jcni-kube-monitor").unstarted(r));
    }

    /**
     * Connects (no request yet) and starts following the Nodes. The client is fabric8's on the
     * JDK's HTTP client; a request that fails is retried once, then the agent's loop decides.
     */
    public static KubeLeaseStore connect(Options options) {
        Config config;
        if (options.kubeconfig() != null) {
            String text;
            try {
                text = Files.readString(options.kubeconfig(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new IllegalStateException("--kubeconfig " + options.kubeconfig() + ": " + e.getMessage(), e);
            }
            try {
                config = Config.fromKubeconfig(text);
            } catch (RuntimeException e) {
                throw new IllegalStateException(
                        "--kubeconfig " + options.kubeconfig() + " is not a usable kubeconfig: " + oneLine(e), e);
            }
        } else {
            try {
                config = Config.autoConfigure(null);
            } catch (RuntimeException e) {
                throw new IllegalStateException(
                        "no Kubernetes configuration (in-cluster, KUBECONFIG or ~/.kube/config): " + oneLine(e)
                                + "; give one with --kubeconfig",
                        e);
            }
        }
        int timeoutMs = (int) options.timeout().toMillis();
        config.setConnectionTimeout(timeoutMs);
        config.setRequestTimeout(timeoutMs);
        config.setRequestRetryBackoffLimit(1);
        config.setUserAgent(USER_AGENT);
        KubernetesClient client;
        try {
            client = new KubernetesClientBuilder()
                    .withConfig(config)
                    .withHttpClientFactory(new JdkHttpClientFactory())
                    .build();
        } catch (RuntimeException e) {
            throw new IllegalStateException(
                    "cannot set up the Kubernetes client for " + config.getMasterUrl() + ": " + oneLine(e), e);
        }
        KubeLeaseStore store = new KubeLeaseStore(options, client);
        store.informer.start();
        store.monitor.scheduleWithFixedDelay(store::checkWatch, 1, 1, TimeUnit.SECONDS);
        return store;
    }

    /** The API server's URL. */
    public String server() {
        return server;
    }

    @Override
    public String name() {
        return "the API server";
    }

    // ---------------------------------------------------------------- configuration

    @Override
    public NetworkConfig config() throws NetworkConfig.InvalidConfigException {
        String json;
        try {
            json = Files.readString(options.netConf(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new NetworkConfig.InvalidConfigException(
                    "cannot read " + options.netConf() + " (--net-conf): " + e.getMessage());
        }
        try {
            return NetworkConfig.parse(json);
        } catch (NetworkConfig.InvalidConfigException e) {
            throw new NetworkConfig.InvalidConfigException(options.netConf() + ": " + e.getMessage());
        }
    }

    @Override
    public void putConfig(NetworkConfig config) {
        throw new UnsupportedOperationException("in Kubernetes mode the network configuration is the --net-conf file");
    }

    // ---------------------------------------------------------------- this node

    @Override
    public MacAddress previousVtepMac(IpAddress publicIp) {
        Node node = getNode("read Node " + options.nodeName());
        if (node == null) {
            return null;
        }
        Entry e = entryOf(node);
        return e != null && e.lease() != null && e.lease().publicIp().equals(publicIp)
                ? e.lease().vtepMac()
                : null;
    }

    @Override
    public Lease acquire(
            NetworkConfig config, IpAddress publicIp, MacAddress vtepMac, IpPrefix preferred, Duration ttl) {
        Node node = getNode("read Node " + options.nodeName());
        if (node == null) {
            throw new NoUsableSubnetException(
                    "Node " + options.nodeName() + " does not exist: waiting for it (is --node-name"
                            + " or NODE_NAME this node's name in Kubernetes?); nothing on this node is changed until then");
        }
        IpPrefix subnet = ownSubnet(node, config);
        Lease lease = new Lease(
                subnet,
                publicIp,
                config.backend().type(),
                vtepMac,
                config.backend().isVxlan() ? config.backend().vni() : 0,
                0);
        publish(node, lease);
        return lease;
    }

    /** The Node's IPv4 podCIDR, checked against the network; {@link NoUsableSubnetException} saying what is wrong. */
    static IpPrefix ownSubnet(Node node, NetworkConfig config) {
        String name = name(node);
        List<String> cidrs = podCidrs(node);
        if (cidrs.isEmpty()) {
            throw new NoUsableSubnetException(
                    "Node " + name + " has no podCIDR yet: waiting for Kubernetes to assign one"
                            + " (kube-controller-manager --allocate-node-cidrs, or set spec.podCIDR); no conflist is written until then");
        }
        IpPrefix v4 = null;
        for (String c : cidrs) {
            IpPrefix p = parsePrefix(c);
            if (p != null && p.isV4()) {
                v4 = p;
                break;
            }
        }
        if (v4 == null) {
            throw new NoUsableSubnetException("Node " + name + " has no IPv4 podCIDR (" + String.join(", ", cidrs)
                    + "): jcni's pod network is IPv4; waiting for one");
        }
        IpPrefix network = config.network();
        if (!v4.network().equals(v4) || v4.length() < network.length() || !network.contains(v4.address())) {
            throw new NoUsableSubnetException("refusing Node " + name + "'s podCIDR " + v4
                    + ": it is not inside the network "
                    + network + " of the net-conf; nothing on this node is changed (make the controller manager's"
                    + " --cluster-cidr and the net-conf's \"Network\" agree)");
        }
        return v4;
    }

    /** Writes the annotations the other nodes read, when they differ from the Node's (a JSON merge patch). */
    private void publish(Node node, Lease lease) {
        Map<String, String> want = annotations(lease);
        Map<String, String> have = node.getMetadata().getAnnotations() == null
                ? Map.of()
                : node.getMetadata().getAnnotations();
        Map<String, Object> diff = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : want.entrySet()) {
            if (!e.getValue().equals(have.get(e.getKey()))) {
                diff.put(e.getKey(), e.getValue());
            }
        }
        if (diff.isEmpty()) {
            return;
        }
        String patch = Json.write(Map.of("metadata", Map.of("annotations", diff)));
        call(
                "annotate Node " + options.nodeName(),
                () -> client.nodes().withName(options.nodeName()).patch(PatchContext.of(PatchType.JSON_MERGE), patch));
    }

    /** The annotations that publish {@code lease}. */
    static Map<String, String> annotations(Lease lease) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(PUBLIC_IP, lease.publicIp().toString());
        m.put(BACKEND_TYPE, lease.backendType());
        Map<String, Object> data = new LinkedHashMap<>();
        if (lease.vtepMac() != null) {
            data.put("VNI", (long) lease.vni());
            data.put("VtepMAC", lease.vtepMac().toString());
        }
        m.put(BACKEND_DATA, Json.write(data));
        return m;
    }

    @Override
    public long renew(Lease lease) {
        Node node = getNode("read Node " + options.nodeName());
        String why = lost(node, lease);
        if (why != null) {
            throw new LeaseLostException(why);
        }
        publish(node, lease); // put back annotations someone removed
        return -1;
    }

    @Override
    public long ttlLeft(Lease lease) {
        return lost(getNode("read Node " + options.nodeName()), lease) == null ? -1 : 0;
    }

    /** Why {@code lease} no longer holds for {@code node}, or null when it does. */
    private String lost(Node node, Lease lease) {
        if (node == null) {
            return "Node " + options.nodeName() + " was deleted";
        }
        IpPrefix now = null;
        for (String c : podCidrs(node)) {
            IpPrefix p = parsePrefix(c);
            if (p != null && p.isV4()) {
                now = p;
                break;
            }
        }
        return lease.subnet().equals(now) ? null : "Node " + options.nodeName() + "'s podCIDR is now " + now;
    }

    @Override
    public void release(Lease lease) {
        Map<String, Object> remove = new LinkedHashMap<>();
        for (String k : List.of(PUBLIC_IP, BACKEND_TYPE, BACKEND_DATA)) {
            remove.put(k, null);
        }
        String patch = Json.write(Map.of("metadata", Map.of("annotations", remove)));
        try {
            call(
                    "remove the annotations of Node " + options.nodeName(),
                    () -> client.nodes()
                            .withName(options.nodeName())
                            .patch(PatchContext.of(PatchType.JSON_MERGE), patch));
        } catch (StoreUnavailableException e) {
            if (!(e.getCause() instanceof KubernetesClientException k && k.getCode() == 404)) {
                throw e;
            }
        }
    }

    /**
     * Sets the Node's {@value #CONDITION} condition to False ({@value #REASON}) unless the informer's
     * copy of the Node has it already: a JSON patch of the status subresource that tests the
     * resourceVersion it was computed from, so another writer's change is never overwritten (a
     * conflict is retried at the next pass, like any failure here).
     */
    @Override
    public void programmed(NetworkConfig config, Lease own) {
        Node cached = informer.getStore().getByKey(options.nodeName());
        if (cached != null && networkUp(cached)) {
            return;
        }
        if (System.nanoTime() - conditionPatchedNanos < Duration.ofSeconds(30).toNanos()
                && conditionPatchedNanos != 0) {
            return; // patched moments ago: the informer has not seen it yet
        }
        try {
            Node node = getNode("read Node " + options.nodeName());
            if (node == null || networkUp(node)) {
                return;
            }
            String patch = conditionPatch(node, config, own, Instant.now());
            call(
                    "set the " + CONDITION + " condition of Node " + options.nodeName(),
                    () -> client.nodes()
                            .withName(options.nodeName())
                            .subresource("status")
                            .patch(PatchContext.of(PatchType.JSON), patch));
            conditionPatchedNanos = System.nanoTime();
            options.info()
                    .accept("Node " + options.nodeName() + ": condition " + CONDITION + "=False (" + REASON + ")");
            conditionProblem = null;
        } catch (StoreUnavailableException e) {
            if (!e.getMessage().equals(conditionProblem)) {
                options.warnings().accept(e.getMessage() + " (retried at the next pass)");
                conditionProblem = e.getMessage();
            }
        }
    }

    /** Whether {@code node} has {@value #CONDITION}=False. */
    static boolean networkUp(Node node) {
        if (node.getStatus() == null || node.getStatus().getConditions() == null) {
            return false;
        }
        for (NodeCondition c : node.getStatus().getConditions()) {
            if (CONDITION.equals(c.getType())) {
                return "False".equals(c.getStatus());
            }
        }
        return false;
    }

    /** The JSON patch (RFC 6902) that sets the condition on {@code node}, tested against its resourceVersion. */
    static String conditionPatch(Node node, NetworkConfig config, Lease own, Instant now) {
        String time = now.truncatedTo(ChronoUnit.SECONDS).toString();
        Map<String, Object> condition = new LinkedHashMap<>();
        condition.put("type", CONDITION);
        condition.put("status", "False");
        condition.put("reason", REASON);
        condition.put(
                "message",
                "jcni agent programmed this node: " + config.backend().type() + ", pod subnet " + own.subnet());
        condition.put("lastTransitionTime", time);
        condition.put("lastHeartbeatTime", time);
        List<Object> ops = new ArrayList<>();
        ops.add(Map.of(
                "op",
                "test",
                "path",
                "/metadata/resourceVersion",
                "value",
                node.getMetadata().getResourceVersion()));
        List<NodeCondition> conditions =
                node.getStatus() == null ? null : node.getStatus().getConditions();
        int index = -1;
        if (conditions != null) {
            for (int i = 0; i < conditions.size(); i++) {
                if (CONDITION.equals(conditions.get(i).getType())) {
                    index = i;
                    break;
                }
            }
        }
        if (index >= 0) {
            ops.add(Map.of("op", "replace", "path", "/status/conditions/" + index, "value", condition));
        } else if (conditions != null && !conditions.isEmpty()) {
            ops.add(Map.of("op", "add", "path", "/status/conditions/-", "value", condition));
        } else {
            ops.add(Map.of("op", "add", "path", "/status/conditions", "value", List.of(condition)));
        }
        return Json.write(ops);
    }

    // ---------------------------------------------------------------- the peers

    @Override
    public Snapshot leases() {
        awaitSynced();
        synchronized (lock) {
            List<Lease> out = new ArrayList<>();
            for (Entry e : entries.values()) {
                if (e.lease() != null) {
                    out.add(e.lease());
                }
            }
            return new Snapshot(out, revision);
        }
    }

    /**
     * Waits for the informer's first list: a snapshot before it would lack every peer. The
     * informer says it has synced once its cache holds the list, while its handlers may still be
     * delivering that list's events: the cache's Nodes are applied here too (a Node applied twice
     * makes no second event), so the snapshot is the whole list.
     */
    private void awaitSynced() {
        waitForSync();
        for (Node node : informer.getStore().list()) {
            update(name(node), node);
        }
    }

    private void waitForSync() {
        long deadline = System.nanoTime() + options.timeout().toNanos();
        while (!informer.hasSynced()) {
            if (System.nanoTime() - deadline > 0) {
                String why = lastError;
                throw new StoreUnavailableException(
                        "list the Nodes: no answer within " + AgentLog.duration(options.timeout())
                                + (why == null ? "" : " (" + why + ")"),
                        null);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new StoreUnavailableException("list the Nodes: interrupted", e);
            }
        }
    }

    @Override
    public AutoCloseable watch(long fromRevision, Consumer<LeaseEvent> events, Consumer<Throwable> onError) {
        Watcher w = new Watcher(events);
        synchronized (lock) {
            long oldest = history.isEmpty() ? revision + 1 : history.getFirst().revision();
            if (fromRevision < oldest && fromRevision <= revision) {
                onError.accept(new IllegalStateException(
                        "revision " + fromRevision + " is no longer kept (oldest " + oldest + ")"));
                return () -> {};
            }
            for (LeaseEvent e : history) {
                if (e.revision() >= fromRevision) {
                    events.accept(e);
                }
            }
            watchers.add(w);
        }
        return () -> watchers.remove(w);
    }

    /** One Node added, changed or deleted ({@code node} null): the lease events it makes, in order. */
    private void update(String name, Node node) {
        Entry now = node == null ? null : entryOf(node);
        synchronized (lock) {
            Entry before = now == null ? entries.remove(name) : entries.put(name, now);
            if (Objects.equals(before, now)) {
                return;
            }
            if (before != null && (now == null || !before.subnet().equals(now.subnet()))) {
                emit(new LeaseEvent(LeaseEvent.Kind.DELETE, before.subnet(), null, ++revision, null));
            }
            if (now != null) {
                emit(new LeaseEvent(LeaseEvent.Kind.PUT, now.subnet(), now.lease(), ++revision, now.invalid()));
            }
        }
    }

    private void emit(LeaseEvent e) {
        history.addLast(e);
        if (history.size() > HISTORY) {
            history.removeFirst();
        }
        for (Watcher w : watchers) {
            w.events().accept(e);
        }
    }

    /**
     * {@code node} as a lease: null when it is none (no IPv4 podCIDR, or no {@value #PUBLIC_IP}
     * annotation yet: its agent has not published), else the lease or why its annotations do not
     * make one.
     */
    static Entry entryOf(Node node) {
        IpPrefix subnet = null;
        for (String c : podCidrs(node)) {
            IpPrefix p = parsePrefix(c);
            if (p != null && p.isV4()) {
                subnet = p.network();
                break;
            }
        }
        Map<String, String> a = node.getMetadata().getAnnotations();
        if (subnet == null || a == null || a.get(PUBLIC_IP) == null) {
            return null;
        }
        Map<String, Object> value = new LinkedHashMap<>();
        value.put("PublicIP", a.get(PUBLIC_IP));
        if (a.get(BACKEND_TYPE) != null) {
            value.put("BackendType", a.get(BACKEND_TYPE));
        }
        String data = a.get(BACKEND_DATA);
        if (data != null) {
            try {
                value.put("BackendData", Json.parseObject(data.getBytes(StandardCharsets.UTF_8)));
            } catch (JsonException e) {
                return new Entry(
                        subnet,
                        null,
                        "Node " + name(node) + ": annotation " + BACKEND_DATA + " is not JSON: " + e.getMessage());
            }
        }
        try {
            return new Entry(subnet, Lease.parse(subnet, Json.write(value), 0), null);
        } catch (IllegalArgumentException e) {
            return new Entry(
                    subnet,
                    null,
                    "Node " + name(node) + ": "
                            + e.getMessage()
                                    .replace("\"PublicIP\"", PUBLIC_IP)
                                    .replace("\"BackendData.VtepMAC\"", BACKEND_DATA + " VtepMAC"));
        }
    }

    /** {@code spec.podCIDRs}, else {@code spec.podCIDR}, else none. */
    static List<String> podCidrs(Node node) {
        if (node.getSpec() == null) {
            return List.of();
        }
        List<String> list = node.getSpec().getPodCIDRs();
        if (list != null && !list.isEmpty()) {
            return list;
        }
        String one = node.getSpec().getPodCIDR();
        return one == null || one.isBlank() ? List.of() : List.of(one);
    }

    private static IpPrefix parsePrefix(String s) {
        try {
            return IpPrefix.parse(s.strip());
        } catch (IllegalArgumentException | NullPointerException e) {
            return null;
        }
    }

    private static String name(Node node) {
        return node.getMetadata().getName();
    }

    // ---------------------------------------------------------------- the connection

    /** Logs a lost watch once it has been down for {@link #LOST_AFTER}, and its return. */
    private void checkWatch() {
        try {
            boolean watching = informer.isWatching();
            long now = System.nanoTime();
            if (watching) {
                notWatchingSince = -1;
                if (lost) {
                    lost = false;
                    options.info().accept("watching the Nodes on " + server + " again");
                } else if (!watchedOnce) {
                    options.info().accept("watching the Nodes on " + server);
                }
                watchedOnce = true;
                return;
            }
            if (notWatchingSince < 0) {
                notWatchingSince = now;
            }
            if (watchedOnce && !lost && now - notWatchingSince >= LOST_AFTER.toNanos()) {
                lost = true;
                options.warnings()
                        .accept("lost the watch on the Nodes at " + server
                                + (lastError == null ? "" : " (" + lastError + ")")
                                + ": keeping the data plane as it is, reconnecting with backoff");
            }
        } catch (RuntimeException e) {
            // the monitor must go on
        }
    }

    /** Whether the informer is watching now (for tests). */
    boolean watching() {
        return informer.isWatching();
    }

    private Node getNode(String what) {
        return call(what, () -> client.nodes().withName(options.nodeName()).get());
    }

    /** Runs one API call: a failure to reach the API server or to be allowed is a {@link StoreUnavailableException}. */
    private <T> T call(String what, java.util.function.Supplier<T> request) {
        try {
            return request.get();
        } catch (KubernetesClientException e) {
            String message = what + ": "
                    + (e.getCode() == 401 || e.getCode() == 403
                            ? "not allowed (HTTP " + e.getCode()
                                    + "): the agent's ServiceAccount needs the ClusterRole jcni (" + oneLine(e) + ")"
                            : oneLine(e));
            lastError = oneLine(e);
            throw new StoreUnavailableException(message, e);
        }
    }

    static String oneLine(Throwable t) {
        String s = AgentLog.oneLine(t);
        return s.length() > 300 ? s.substring(0, 300) + "…" : s;
    }

    @Override
    public void close() {
        monitor.shutdownNow();
        try {
            informer.stop();
        } finally {
            client.close();
        }
    }
}
