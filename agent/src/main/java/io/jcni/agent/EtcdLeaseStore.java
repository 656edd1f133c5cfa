package io.jcni.agent;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.common.exception.EtcdException;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.LeaseOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.netty.GrpcSslContexts;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ip.MacAddress;
import io.netty.handler.ssl.SslContextBuilder;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import javax.net.ssl.SSLException;

/**
 * {@link LeaseStore} on etcd v3 through jetcd, in flannel's layout: the configuration at
 * {@code <prefix>/config}, one key per leased subnet at {@code <prefix>/subnets/10.244.3.0-24},
 * each attached to an etcd lease that its node keeps alive.
 *
 * <p>Every call is bounded by the {@linkplain Options#timeout call timeout}: a call that etcd does
 * not complete in time, or that cannot reach it, throws {@link StoreUnavailableException} naming the
 * endpoints and the cause in one line. Creating the store does not connect (jetcd connects on the
 * first call), so an agent starts while etcd is down and its first call fails cleanly.
 * {@link #acquire} makes several calls (a read, a grant, a transaction, perhaps a revoke, and again
 * on a conflict), each so bounded.
 *
 * <p>A key an operator wrote without an etcd lease (flannel's reservation) is kept that way: its
 * node acquires it with {@link Lease#storeLease() storeLease} 0, {@link #renew} and {@link #ttlLeft}
 * answer -1 for it (no expiry), and {@link #release} deletes it only while it still names the node.
 *
 * <p>Watches report a lost etcd themselves: a broken stream ends the watch at once, and an etcd that
 * keeps the connection but stops answering (a hung process, a partition that drops packets) is
 * noticed by a progress request sent whenever the stream has been quiet for half the timeout,
 * within about one and a half timeouts. {@link #healthy} is a cheap bounded probe for callers that
 * want to ask.
 */
public final class EtcdLeaseStore implements LeaseStore {
    /** How many snapshots {@link #acquire} takes before giving up on a contended network. */
    private static final int ACQUIRE_ATTEMPTS = 10;
    /** Above this many subnets, free ones are found by random probes rather than by enumeration. */
    private static final long ENUMERATE_LIMIT = 4096;
    /** How many random probes {@link #acquire} makes in a large network before scanning. */
    private static final int RANDOM_PROBES = 100;

    private static final AtomicInteger WATCH_THREADS = new AtomicInteger();

    /**
     * How to reach etcd.
     *
     * @param endpoints client URLs ({@code http://127.0.0.1:2379}, {@code https://…} with TLS), at least one
     * @param prefix    the key prefix (default {@value #DEFAULT_PREFIX}; flannel's is {@code /coreos.com/network})
     * @param caFile    PEM CA certificates to trust etcd by (null: the JDK's trust store, for https)
     * @param certFile  PEM client certificate for etcd's client-certificate authentication (null: none)
     * @param keyFile   PEM private key of {@code certFile}
     * @param timeout   bound of every call (default 5 s)
     * @param warnings  where entries that cannot be read are reported (default standard error)
     */
    public record Options(
            List<String> endpoints,
            String prefix,
            Path caFile,
            Path certFile,
            Path keyFile,
            Duration timeout,
            Consumer<String> warnings) {
        public static final String DEFAULT_PREFIX = "/jcni.io/network";
        public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);

        public Options {
            if (endpoints == null || endpoints.isEmpty()) {
                throw new IllegalArgumentException("no etcd endpoint given (e.g. http://127.0.0.1:2379)");
            }
            endpoints = List.copyOf(endpoints);
            prefix = prefix == null ? DEFAULT_PREFIX : prefix;
            while (prefix.endsWith("/")) {
                prefix = prefix.substring(0, prefix.length() - 1);
            }
            if (prefix.isEmpty()) {
                throw new IllegalArgumentException("the etcd prefix must not be empty (e.g. " + DEFAULT_PREFIX + ")");
            }
            timeout = timeout == null ? DEFAULT_TIMEOUT : timeout;
            if (timeout.isNegative() || timeout.toMillis() < 1) {
                throw new IllegalArgumentException("the etcd call timeout must be positive, not " + timeout);
            }
            if ((certFile == null) != (keyFile == null)) {
                throw new IllegalArgumentException(
                        "an etcd client certificate needs both the certificate and the key file");
            }
            warnings = warnings == null ? m -> System.err.println("jcni agent: " + m) : warnings;
        }

        /** Options with every default and these endpoints. */
        public static Options of(String... endpoints) {
            return new Options(List.of(endpoints), null, null, null, null, null, null);
        }

        /** These options with another key prefix. */
        public Options withPrefix(String p) {
            return new Options(endpoints, p, caFile, certFile, keyFile, timeout, warnings);
        }

        /** These options with TLS files (any may be null: the JDK's trust store, no client certificate). */
        public Options withTls(Path ca, Path cert, Path key) {
            return new Options(endpoints, prefix, ca, cert, key, timeout, warnings);
        }

        /** These options with another call timeout. */
        public Options withTimeout(Duration t) {
            return new Options(endpoints, prefix, caFile, certFile, keyFile, t, warnings);
        }

        /** These options with another warnings sink. */
        public Options withWarnings(Consumer<String> w) {
            return new Options(endpoints, prefix, caFile, certFile, keyFile, timeout, w);
        }
    }

    private final Options options;
    private Client client;
    private final String where;
    private final String configKey;
    private final String subnetsPrefix;
    private final long timeoutMs;
    private final ScheduledExecutorService watchMonitor;
    private final Set<LeaseWatch> watches = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile boolean closed;
    /** Makes a new client with the same settings (see {@link #renewIfUnreachable}). */
    private final java.util.function.Supplier<Client> clients;
    /** Set when a call found etcd unreachable: the next call gets a new client. */
    private volatile boolean unreachable;

    private EtcdLeaseStore(Options options, java.util.function.Supplier<Client> clients) {
        this.options = options;
        this.clients = clients;
        this.client = clients.get();
        this.where = "etcd at " + String.join(",", options.endpoints());
        this.configKey = options.prefix() + "/config";
        this.subnetsPrefix = options.prefix() + "/subnets/";
        this.timeoutMs = options.timeout().toMillis();
        this.watchMonitor = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().daemon().name("jcni-etcd-watch-monitor").factory());
    }

    /**
     * A store on the etcd {@code options} name. Does not connect: a down etcd fails the first call,
     * not this one. {@link IllegalArgumentException} for bad endpoints or unreadable TLS files.
     */
    public static EtcdLeaseStore connect(Options options) {
        List<URI> uris = new ArrayList<>();
        Set<String> schemes = new HashSet<>();
        for (String e : options.endpoints()) {
            URI u;
            try {
                u = new URI(e);
            } catch (URISyntaxException ex) {
                throw new IllegalArgumentException(
                        "etcd endpoint " + e + " is not a URL such as http://127.0.0.1:2379");
            }
            if (u.getHost() == null || !("http".equals(u.getScheme()) || "https".equals(u.getScheme()))) {
                throw new IllegalArgumentException(
                        "etcd endpoint " + e + " is not a URL such as http://127.0.0.1:2379");
            }
            schemes.add(u.getScheme());
            uris.add(u);
        }
        if (schemes.size() > 1) {
            throw new IllegalArgumentException(
                    "etcd endpoints mix http and https: " + String.join(",", options.endpoints()));
        }
        boolean tlsFiles = options.caFile() != null || options.certFile() != null;
        boolean https = schemes.contains("https");
        if (tlsFiles && !https) {
            throw new IllegalArgumentException(
                    "etcd TLS files are given but the endpoints are http://: use https:// URLs");
        }
        long timeoutMs = options.timeout().toMillis();
        ClientBuilder builder = Client.builder()
                .endpoints(uris)
                // fail a call at once while etcd is unreachable rather than queue it until it comes back:
                // the caller retries, and a queued call would outlive its caller's timeout
                .waitForReady(false)
                .connectTimeout(options.timeout())
                .retryMaxDuration(options.timeout())
                .interceptor(new CallDeadline(timeoutMs));
        if (https) {
            SslContextBuilder ssl = GrpcSslContexts.forClient();
            if (options.caFile() != null) {
                ssl.trustManager(PemFiles.certificates(options.caFile()));
            }
            if (options.certFile() != null) {
                ssl.keyManager(PemFiles.privateKey(options.keyFile()), PemFiles.certificates(options.certFile()));
            }
            try {
                builder.sslContext(ssl.build());
            } catch (SSLException e) {
                throw new IllegalArgumentException("etcd TLS setup failed: " + e.getMessage(), e);
            }
        }
        return new EtcdLeaseStore(options, builder::build);
    }

    /** The options this store was made with. */
    public Options options() {
        return options;
    }

    /** The key of a subnet's lease: {@code <prefix>/subnets/10.244.3.0-24}. */
    public String leaseKey(IpPrefix subnet) {
        return subnetsPrefix + Lease.keyName(subnet);
    }

    /** The configuration's key: {@code <prefix>/config}. */
    public String configKey() {
        return configKey;
    }

    /** Whether etcd answers a small read within the timeout (false once closed). */
    public boolean healthy() {
        if (closed) {
            return false;
        }
        try {
            call(
                    "get " + configKey,
                    client().getKVClient()
                            .get(
                                    bytes(configKey),
                                    GetOption.builder().withCountOnly(true).build()));
            return true;
        } catch (StoreUnavailableException e) {
            return false;
        }
    }

    @Override
    public NetworkConfig config() throws NetworkConfig.InvalidConfigException {
        GetResponse r = call("get " + configKey, client().getKVClient().get(bytes(configKey)));
        if (r.getKvs().isEmpty()) {
            throw new NetworkConfig.InvalidConfigException(
                    configKey + " is missing: write it with `jcni cluster init --network CIDR` or etcdctl put");
        }
        try {
            return NetworkConfig.parse(string(r.getKvs().getFirst().getValue()));
        } catch (NetworkConfig.InvalidConfigException e) {
            throw new NetworkConfig.InvalidConfigException(configKey + ": " + e.getMessage());
        }
    }

    @Override
    public void putConfig(NetworkConfig config) {
        call("put " + configKey, client().getKVClient().put(bytes(configKey), bytes(config.toJson())));
    }

    @Override
    public Snapshot leases() {
        Entries entries = readSubnets();
        List<Lease> leases = new ArrayList<>();
        for (Entry e : entries.list()) {
            if (e.lease() != null) {
                leases.add(e.lease());
            }
        }
        return new Snapshot(List.copyOf(leases), entries.revision());
    }

    /** One key under the subnets prefix: its subnet, the parsed lease (null when unparsable) and its revisions. */
    private record Entry(IpPrefix subnet, Lease lease, long modRevision, long storeLease) {}

    private record Entries(List<Entry> list, long revision) {}

    /** Every key under the subnets prefix, warning once per call about those that are not leases. */
    private Entries readSubnets() {
        GetResponse r = call(
                "get " + subnetsPrefix + "*",
                client().getKVClient()
                        .get(
                                bytes(subnetsPrefix),
                                GetOption.builder().isPrefix(true).build()));
        List<Entry> list = new ArrayList<>();
        for (KeyValue kv : r.getKvs()) {
            String key = string(kv.getKey());
            IpPrefix subnet = Lease.subnetOfKeyName(key.substring(subnetsPrefix.length()));
            if (subnet == null) {
                options.warnings().accept("ignoring " + key + ": not a subnet key (a.b.c.d-len)");
                continue;
            }
            Lease lease = null;
            try {
                lease = Lease.parse(subnet, kv.getValue().getBytes(), kv.getLease());
            } catch (IllegalArgumentException e) {
                options.warnings().accept("ignoring " + key + ": " + e.getMessage());
            }
            // an unparsable entry still holds its subnet: nobody else may take it
            list.add(new Entry(subnet, lease, kv.getModRevision(), kv.getLease()));
        }
        return new Entries(list, r.getHeader().getRevision());
    }

    @Override
    public Lease acquire(
            NetworkConfig config, IpAddress publicIp, MacAddress vtepMac, IpPrefix preferred, Duration ttl) {
        boolean vxlan = config.backend().isVxlan();
        if (vxlan && vtepMac == null) {
            throw new IllegalArgumentException("a vxlan lease needs the VTEP MAC");
        }
        long ttlSeconds = Math.max(1, (ttl.toMillis() + 999) / 1000);
        for (int attempt = 0; attempt < ACQUIRE_ATTEMPTS; attempt++) {
            Entries entries = readSubnets();
            Entry mine = ownEntry(entries, config, publicIp, preferred);
            if (mine != null) {
                Lease lease = new Lease(
                        mine.subnet(),
                        publicIp,
                        config.backend().type(),
                        vxlan ? vtepMac : null,
                        vxlan ? config.backend().vni() : 0,
                        0);
                Lease kept = renewHolding(mine, lease, ttlSeconds);
                if (kept != null) {
                    return kept;
                }
                continue; // the key changed under us: look again
            }
            IpPrefix subnet = pickFree(entries, config, preferred);
            Lease lease = new Lease(
                    subnet,
                    publicIp,
                    config.backend().type(),
                    vxlan ? vtepMac : null,
                    vxlan ? config.backend().vni() : 0,
                    0);
            Lease created = create(lease, ttlSeconds);
            if (created != null) {
                return created;
            }
        }
        throw new StoreUnavailableException(
                where + ": no subnet could be taken in " + ACQUIRE_ATTEMPTS
                        + " attempts, other agents kept taking the ones picked; try again",
                null);
    }

    /** This node's existing entry, if any: same public IP and still leasable (the preferred subnet first). */
    private static Entry ownEntry(Entries entries, NetworkConfig config, IpAddress publicIp, IpPrefix preferred) {
        Entry found = null;
        for (Entry e : entries.list()) {
            if (e.lease() != null && e.lease().publicIp().equals(publicIp) && config.leasable(e.subnet())) {
                if (e.subnet().equals(preferred)) {
                    return e;
                }
                if (found == null) {
                    found = e;
                }
            }
        }
        return found;
    }

    /**
     * Keeps the subnet this node already holds: writes the new value under a new etcd lease if the
     * key is unchanged since it was read, then revokes the old lease (a reservation, a key without
     * lease, stays without one). Null when the key changed meanwhile.
     */
    private Lease renewHolding(Entry mine, Lease lease, long ttlSeconds) {
        String key = leaseKey(mine.subnet());
        if (mine.storeLease() == 0) {
            // a reservation written by an operator: flannel keeps those without expiry, so do we
            TxnResponse r = call(
                    "txn put " + key,
                    client().getKVClient()
                            .txn()
                            .If(new Cmp(bytes(key), Cmp.Op.EQUAL, CmpTarget.modRevision(mine.modRevision())))
                            .Then(Op.put(bytes(key), bytes(lease.valueJson()), PutOption.DEFAULT))
                            .commit());
            return r.isSucceeded() ? lease : null;
        }
        long id = putUnderNewLease(
                key,
                lease,
                new Cmp(bytes(key), Cmp.Op.EQUAL, CmpTarget.modRevision(mine.modRevision())),
                ttlSeconds,
                "txn put ");
        if (id == 0) {
            return null;
        }
        // the old lease holds nothing now (the key moved to the new one); revoking it just tidies up
        revokeQuietly(mine.storeLease());
        return lease.withStoreLease(id);
    }

    /** Creates the key of a free subnet under a new etcd lease; null when another agent created it first. */
    private Lease create(Lease lease, long ttlSeconds) {
        String key = leaseKey(lease.subnet());
        long id = putUnderNewLease(
                key, lease, new Cmp(bytes(key), Cmp.Op.EQUAL, CmpTarget.version(0)), ttlSeconds, "txn create ");
        return id == 0 ? null : lease.withStoreLease(id);
    }

    /**
     * Grants an etcd lease and puts {@code lease}'s value at {@code key} under it if {@code condition}
     * holds, in one transaction. Returns the lease id, or 0 when the condition failed. On a failure,
     * and when the outcome is unknown (a timeout), the grant is revoked, which also removes a key
     * the transaction may have written.
     */
    private long putUnderNewLease(String key, Lease lease, Cmp condition, long ttlSeconds, String what) {
        long id = grant(ttlSeconds);
        boolean done = false;
        try {
            TxnResponse r = call(
                    what + key,
                    client().getKVClient()
                            .txn()
                            .If(condition)
                            .Then(Op.put(
                                    bytes(key),
                                    bytes(lease.valueJson()),
                                    PutOption.builder().withLeaseId(id).build()))
                            .commit());
            done = r.isSucceeded();
        } finally {
            if (!done) {
                revokeQuietly(id);
            }
        }
        return done ? id : 0;
    }

    /** {@code preferred} if leasable and free, else a random free subnet; {@link NetworkExhaustedException} when none is. */
    private static IpPrefix pickFree(Entries entries, NetworkConfig config, IpPrefix preferred) {
        Set<IpPrefix> taken = new HashSet<>();
        for (Entry e : entries.list()) {
            if (config.leasable(e.subnet())) {
                taken.add(e.subnet());
            }
        }
        if (preferred != null && config.leasable(preferred) && !taken.contains(preferred)) {
            return preferred;
        }
        long count = config.subnetCount();
        if (taken.size() >= count) {
            throw new NetworkExhaustedException(
                    "network " + config.network() + " has no free /" + config.subnetLen() + " between "
                            + config.subnetMin() + " and " + config.subnetMax() + ": all " + count + " are leased");
        }
        ThreadLocalRandom random = ThreadLocalRandom.current();
        if (count <= ENUMERATE_LIMIT) {
            List<IpPrefix> free = new ArrayList<>();
            for (long i = 0; i < count; i++) {
                IpPrefix s = config.subnet(i);
                if (!taken.contains(s)) {
                    free.add(s);
                }
            }
            return free.get(random.nextInt(free.size()));
        }
        for (int i = 0; i < RANDOM_PROBES; i++) {
            IpPrefix s = config.subnet(random.nextLong(count));
            if (!taken.contains(s)) {
                return s;
            }
        }
        // a nearly full large network: walk from a random start; at most taken.size() steps hit taken subnets
        long start = random.nextLong(count);
        for (long i = 0; i < count; i++) {
            IpPrefix s = config.subnet((start + i) % count);
            if (!taken.contains(s)) {
                return s;
            }
        }
        throw new IllegalStateException("unreachable: " + taken.size() + " taken of " + count);
    }

    @Override
    public long renew(Lease lease) {
        String key = leaseKey(lease.subnet());
        GetResponse r = call("get " + key, client().getKVClient().get(bytes(key)));
        if (r.getKvs().isEmpty()) {
            throw new LeaseLostException("lease of " + lease.subnet() + ": " + key + " is gone (expired or deleted)");
        }
        long holder = r.getKvs().getFirst().getLease();
        if (holder != lease.storeLease()) {
            throw new LeaseLostException("lease of " + lease.subnet() + ": " + key + " now belongs to etcd lease "
                    + Long.toHexString(holder) + ", not " + Long.toHexString(lease.storeLease()));
        }
        if (lease.storeLease() == 0) {
            return -1; // a reservation: nothing to extend
        }
        long ttl = call(
                "keep alive lease " + Long.toHexString(lease.storeLease()),
                client().getLeaseClient()
                        .keepAliveOnce(lease.storeLease())
                        .thenApply(k -> k.getTTL())
                        .exceptionally(t -> {
                            if (isNotFound(t)) {
                                return 0L;
                            }
                            throw t instanceof CompletionException c ? c : new CompletionException(t);
                        }));
        if (ttl <= 0) {
            throw new LeaseLostException("lease of " + lease.subnet() + ": etcd lease "
                    + Long.toHexString(lease.storeLease()) + " has expired");
        }
        return ttl;
    }

    @Override
    public long ttlLeft(Lease lease) {
        if (lease.storeLease() == 0) {
            String key = leaseKey(lease.subnet());
            GetResponse r = call("get " + key, client().getKVClient().get(bytes(key)));
            return !r.getKvs().isEmpty() && r.getKvs().getFirst().getLease() == 0 ? -1 : 0;
        }
        long ttl = call(
                        "time to live of lease " + Long.toHexString(lease.storeLease()),
                        client().getLeaseClient().timeToLive(lease.storeLease(), LeaseOption.DEFAULT))
                .getTTL();
        return Math.max(0, ttl); // etcd answers -1 for a lease it does not know
    }

    @Override
    public void release(Lease lease) {
        if (lease.storeLease() != 0) {
            revoke(lease.storeLease());
            return;
        }
        // a key without lease: delete it only if it is still this node's, unchanged since read
        String key = leaseKey(lease.subnet());
        GetResponse r = call("get " + key, client().getKVClient().get(bytes(key)));
        if (r.getKvs().isEmpty()) {
            return;
        }
        KeyValue kv = r.getKvs().getFirst();
        Lease stored;
        try {
            stored = Lease.parse(lease.subnet(), kv.getValue().getBytes(), kv.getLease());
        } catch (IllegalArgumentException e) {
            return; // not a lease of ours
        }
        if (kv.getLease() != 0 || !stored.publicIp().equals(lease.publicIp())) {
            return;
        }
        call(
                "txn delete " + key,
                client().getKVClient()
                        .txn()
                        .If(new Cmp(bytes(key), Cmp.Op.EQUAL, CmpTarget.modRevision(kv.getModRevision())))
                        .Then(Op.delete(bytes(key), io.etcd.jetcd.options.DeleteOption.DEFAULT))
                        .commit());
    }

    private long grant(long ttlSeconds) {
        return call("grant lease", client().getLeaseClient().grant(ttlSeconds)).getID();
    }

    /** Revokes {@code id}; a lease already gone is fine. */
    private void revoke(long id) {
        call(
                "revoke lease " + Long.toHexString(id),
                client().getLeaseClient()
                        .revoke(id)
                        .thenApply(r -> Boolean.TRUE)
                        .exceptionally(t -> {
                            if (isNotFound(t)) {
                                return Boolean.TRUE;
                            }
                            throw t instanceof CompletionException c ? c : new CompletionException(t);
                        }));
    }

    /** Revokes {@code id} if etcd answers; otherwise the lease simply expires. */
    private void revokeQuietly(long id) {
        try {
            revoke(id);
        } catch (StoreUnavailableException e) {
            options.warnings()
                    .accept("etcd lease " + Long.toHexString(id) + " not revoked, it will expire: " + e.getMessage());
        }
    }

    @Override
    public AutoCloseable watch(long fromRevision, Consumer<LeaseEvent> events, Consumer<Throwable> onError) {
        client();
        LeaseWatch w = new LeaseWatch(events, onError);
        watches.add(w);
        w.start(fromRevision);
        return w;
    }

    /**
     * One watch: jetcd's watcher, a thread that delivers events and the one error in order, and a
     * liveness check. jetcd resumes a broken watch by itself, silently; this stops it at the first
     * error instead and lets the caller resync from a snapshot.
     */
    private final class LeaseWatch implements AutoCloseable, Watch.Listener {
        private static final int OPEN = 0;
        private static final int FAILED = 1;
        private static final int CLOSED = 2;

        private final Consumer<LeaseEvent> events;
        private final Consumer<Throwable> onError;
        private final AtomicInteger state = new AtomicInteger(OPEN);
        private final ExecutorService delivery;
        private final AtomicReference<Watch.Watcher> watcher = new AtomicReference<>();
        private volatile long lastHeard = System.nanoTime();
        private volatile ScheduledFuture<?> liveness;

        LeaseWatch(Consumer<LeaseEvent> events, Consumer<Throwable> onError) {
            this.events = events;
            this.onError = onError;
            this.delivery = Executors.newSingleThreadExecutor(Thread.ofPlatform()
                    .daemon()
                    .name("jcni-etcd-watch-" + WATCH_THREADS.incrementAndGet())
                    .factory());
        }

        void start(long fromRevision) {
            WatchOption option = WatchOption.builder()
                    .isPrefix(true)
                    .withRevision(fromRevision)
                    .withCreateNotify(true) // the first sign of life: a watch never created means etcd is not there
                    .build();
            long tick = Math.max(50, timeoutMs / 4);
            liveness = watchMonitor.scheduleWithFixedDelay(this::checkLiveness, tick, tick, TimeUnit.MILLISECONDS);
            try {
                Watch.Watcher w = client().getWatchClient().watch(bytes(subnetsPrefix), option, this);
                watcher.set(w);
                if (state.get() != OPEN) {
                    w.close(); // failed or closed while jetcd was still setting up
                }
            } catch (RuntimeException e) {
                fail(new StoreUnavailableException(
                        where + ": watch of " + subnetsPrefix + " failed: " + oneLine(e), e));
            }
        }

        @Override
        public void onNext(WatchResponse response) {
            lastHeard = System.nanoTime();
            if (state.get() != OPEN) {
                return;
            }
            List<LeaseEvent> converted = new ArrayList<>();
            for (WatchEvent e : response.getEvents()) {
                LeaseEvent le = convert(e);
                if (le != null) {
                    converted.add(le);
                }
            }
            if (!converted.isEmpty()) {
                deliver(() -> {
                    for (LeaseEvent le : converted) {
                        if (state.get() == CLOSED) {
                            return;
                        }
                        try {
                            events.accept(le);
                        } catch (RuntimeException ex) {
                            // the caller missed an event: make it resync rather than drift
                            fail(ex);
                            return;
                        }
                    }
                });
            }
        }

        @Override
        public void onError(Throwable t) {
            fail(unavailable("watch " + subnetsPrefix, t));
        }

        @Override
        public void onCompleted() {
            // jetcd calls this also when the watcher is closed here; then the state is no longer OPEN
            fail(new StoreUnavailableException(where + ": watch of " + subnetsPrefix + " ended", null));
        }

        private void checkLiveness() {
            if (state.get() != OPEN) {
                return;
            }
            long quietMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastHeard);
            if (quietMs >= timeoutMs + timeoutMs / 2) {
                fail(new StoreUnavailableException(
                        where + " did not answer the watch of " + subnetsPrefix + " within "
                                + seconds(options.timeout()),
                        null));
            } else if (quietMs >= timeoutMs / 2) {
                Watch.Watcher w = watcher.get();
                if (w != null) {
                    w.requestProgress(); // etcd answers with an empty response: proof it still serves the stream
                }
            }
        }

        /** Ends the watch with {@code t}: once, after the events already queued. */
        private void fail(Throwable t) {
            if (!state.compareAndSet(OPEN, FAILED)) {
                return;
            }
            stopWatching();
            deliver(() -> {
                if (state.get() == FAILED) {
                    try {
                        onError.accept(t);
                    } catch (RuntimeException ex) {
                        options.warnings().accept("watch error handler failed: " + oneLine(ex));
                    }
                }
            });
            delivery.shutdown();
        }

        @Override
        public void close() {
            if (state.getAndSet(CLOSED) == CLOSED) {
                return;
            }
            stopWatching();
            delivery.shutdown();
        }

        private void stopWatching() {
            ScheduledFuture<?> l = liveness;
            if (l != null) {
                l.cancel(false);
            }
            Watch.Watcher w = watcher.get();
            if (w != null) {
                w.close();
            }
            watches.remove(this);
        }

        private void deliver(Runnable r) {
            try {
                delivery.execute(r);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // closed meanwhile: nothing more is wanted
            }
        }
    }

    /** The event for {@code e}; null (with a warning) for a key that names no subnet. */
    private LeaseEvent convert(WatchEvent e) {
        KeyValue kv = e.getKeyValue();
        String key = string(kv.getKey());
        IpPrefix subnet =
                key.startsWith(subnetsPrefix) ? Lease.subnetOfKeyName(key.substring(subnetsPrefix.length())) : null;
        if (subnet == null) {
            options.warnings().accept("ignoring " + key + ": not a subnet key (a.b.c.d-len)");
            return null;
        }
        return switch (e.getEventType()) {
            case PUT -> {
                try {
                    yield new LeaseEvent(
                            LeaseEvent.Kind.PUT,
                            subnet,
                            Lease.parse(subnet, kv.getValue().getBytes(), kv.getLease()),
                            kv.getModRevision(),
                            null);
                } catch (IllegalArgumentException ex) {
                    options.warnings().accept("ignoring " + key + ": " + ex.getMessage());
                    yield new LeaseEvent(LeaseEvent.Kind.PUT, subnet, null, kv.getModRevision(), ex.getMessage());
                }
            }
            case DELETE -> new LeaseEvent(LeaseEvent.Kind.DELETE, subnet, null, kv.getModRevision(), null);
            default -> null;
        };
    }

    /** Closes the watches and the client; bounded by the timeout (a stuck close is abandoned). */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (LeaseWatch w : List.copyOf(watches)) {
            w.close();
        }
        watchMonitor.shutdownNow();
        Client last;
        synchronized (this) {
            last = client;
        }
        Thread closer = Thread.ofPlatform().daemon().name("jcni-etcd-close").start(last::close);
        try {
            closer.join(options.timeout());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private Client client() {
        if (closed) {
            throw new IllegalStateException("the etcd store is closed");
        }
        return renewIfUnreachable();
    }

    /**
     * After an outage gRPC waits out an exponential backoff (up to two minutes) before its channel
     * connects again, and a call made meanwhile fails without trying. The caller's retry is the
     * backoff that matters here, so after a call found etcd unreachable the next call gets a new
     * client, whose channel connects at once; the old client is closed in the background (its
     * watches end, and their owners resync on the new one). jetcd connects lazily, so a new client
     * costs nothing until it is used.
     */
    private Client renewIfUnreachable() {
        synchronized (this) {
            if (unreachable) {
                Client old = client;
                client = clients.get();
                unreachable = false;
                Thread.ofPlatform().daemon().name("jcni-etcd-close-stale").start(old::close);
            }
            return client;
        }
    }

    /** Waits for {@code f} within the timeout; every failure becomes a one-line {@link StoreUnavailableException}. */
    private <T> T call(String what, CompletableFuture<T> f) {
        try {
            return f.get(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            throw new StoreUnavailableException(
                    where + " did not answer within " + seconds(options.timeout()) + " (" + what + ")", e);
        } catch (ExecutionException e) {
            throw unavailable(what, e.getCause());
        } catch (InterruptedException e) {
            f.cancel(true);
            Thread.currentThread().interrupt();
            throw new StoreUnavailableException(where + ": interrupted (" + what + ")", e);
        }
    }

    private StoreUnavailableException unavailable(String what, Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        String detail = switch (code(t)) {
            case DEADLINE_EXCEEDED -> " did not answer within " + seconds(options.timeout());
            case UNAVAILABLE -> {
                unreachable = true;
                yield " is unreachable: " + oneLine(t);
            }
            default -> ": " + oneLine(t);
        };
        return new StoreUnavailableException(where + detail + " (" + what + ")", t);
    }

    /**
     * A short description of {@code t}: gRPC's status description and the innermost cause
     * (e.g. {@code io exception: Connection refused: /127.0.0.1:2379}), on one line.
     */
    static String oneLine(Throwable t) {
        Status status = Status.fromThrowable(t);
        StringBuilder sb = new StringBuilder();
        if (status.getCode() != Status.Code.UNKNOWN || status.getDescription() != null) {
            sb.append(
                    status.getDescription() != null
                            ? status.getDescription()
                            : status.getCode().toString());
        } else {
            sb.append(t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName());
        }
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        if (root != t && root.getMessage() != null && !sb.toString().contains(root.getMessage())) {
            sb.append(": ").append(root.getMessage());
        }
        return sb.toString().replaceAll("\\s*\\R\\s*", " ").strip();
    }

    private static boolean isNotFound(Throwable t) {
        return code(t) == Status.Code.NOT_FOUND;
    }

    /** The gRPC status code of a failure, also when jetcd has turned it into an {@link EtcdException}. */
    private static Status.Code code(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        if (t instanceof EtcdException e) {
            try {
                return Status.Code.valueOf(e.getErrorCode().name());
            } catch (IllegalArgumentException ignored) {
                // an error code gRPC does not have: fall through to the cause
            }
        }
        return Status.fromThrowable(t).getCode();
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    private static String string(ByteSequence b) {
        return b.toString(StandardCharsets.UTF_8);
    }

    /**
     * Gives every call but the watch stream a deadline of the call timeout, so that etcd abandons
     * work whose caller has given up and no call lingers on a connection that went silent. (The
     * lease keep-alive stream gets one too: this store sends one keep-alive per stream.)
     */
    private record CallDeadline(long timeoutMs) implements ClientInterceptor {
        @Override
        public <Q, R> ClientCall<Q, R> interceptCall(
                MethodDescriptor<Q, R> method, CallOptions callOptions, Channel next) {
            if (callOptions.getDeadline() == null && !method.getFullMethodName().endsWith("/Watch")) {
                callOptions = callOptions.withDeadlineAfter(timeoutMs, TimeUnit.MILLISECONDS);
            }
            return next.newCall(method, callOptions);
        }
    }
}
