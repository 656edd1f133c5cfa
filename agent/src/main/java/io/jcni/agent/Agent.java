package io.jcni.agent;

import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ip.MacAddress;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The node agent's one loop. It alone decides what the node should look like, and every change
 * goes through one {@link Dataplane#reconcile} pass over the full lease set, whatever triggered it:
 * start-up, a watch event, the timer, a renewed or re-taken lease, the store coming back. The one
 * shortcut: a watch event in which peers only joined programs just them ({@link Dataplane#addPeers},
 * planned from the full lease set), and falls back to the full pass whenever that is in doubt.
 *
 * <ol>
 * <li><b>Wait for the store</b>: read the configuration and take a lease. Until both succeed
 * nothing on the node is changed; each distinct problem (store unreachable, configuration missing
 * or bad, network exhausted) is logged once, then retried with backoff.</li>
 * <li><b>Program</b>: one pass against a full snapshot of the leases, which also removes what
 * belongs to leases that vanished while the agent was down; then the hand-off files.</li>
 * <li><b>Follow</b>: watch events update the lease set and trigger a pass; every
 * reconcile interval a pass repairs drift (routes, neighbours, FDB entries, the device deleted by
 * someone, or lost with a link flap); the lease is renewed at a third of its TTL, and taken again
 * (the same subnet when still free) if it was lost.</li>
 * <li><b>Store lost</b>: the node is left exactly as it is (the data plane does not depend on the
 * store), the timer keeps repairing drift against the last known leases, and the agent resyncs
 * with a fresh snapshot and watch as soon as the store answers again.</li>
 * </ol>
 *
 * Stopping the agent (SIGTERM) leaves the data plane and the hand-off in place, so an upgrade or a
 * crash never interrupts pods; {@code jcni cluster leave} is what removes them.
 */
public final class Agent implements Runnable {
    /** Backoff between retries while the store or the configuration is not usable. */
    static final Duration MIN_BACKOFF = Duration.ofSeconds(1);

    static final Duration MAX_BACKOFF = Duration.ofSeconds(15);

    private final LeaseStore store;
    private final Dataplane dataplane;
    private final Handoff handoff;
    private final IpAddress publicIp;
    private final AgentOptions options;
    private final AgentLog log;
    private final Observer observer;
    private final BlockingQueue<Signal> signals = new LinkedBlockingQueue<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final CountDownLatch ready = new CountDownLatch(1);

    private volatile boolean stopping;
    private NetworkConfig config;
    private Lease own;
    private final Map<IpPrefix, Lease> leases = new HashMap<>();
    private AutoCloseable watch;
    /** Incremented per watch so that signals of an abandoned watch are ignored. */
    private int watchGeneration;

    private boolean storeLost;
    private long nextRenewNanos;
    private long lastPassNanos;
    private String lastProblem;
    /** Set by {@link #waitFor} when the kernel changed while the loop waited. */
    private boolean kernelDirty;
    /** Peers that joined since the last pass, and whether any other event since then needs a full pass. */
    private final List<Lease> joined = new java.util.ArrayList<>();

    private boolean fullPassNeeded;

    // read by other threads (health, metrics)
    private volatile boolean running;
    private volatile long lastPassEndNanos;
    private volatile int lastPassErrors;
    private volatile String lastPassError;
    private volatile String waitingFor;
    private volatile int peerCount;

    /** Told about each pass, on the loop's thread (the metrics); must be quick and must not throw. */
    @FunctionalInterface
    public interface Observer {
        Observer NONE = (nanos, report, leases, handoffWritten) -> {};

        /**
         * @param leases         every lease the pass worked from, this node's included
         * @param handoffWritten whether the hand-off is in place after the pass
         */
        void passed(long nanos, Dataplane.Report report, int leases, boolean handoffWritten);
    }

    /**
     * The loop's state for {@code /healthz}.
     *
     * @param running        the loop runs (not stopped, not died)
     * @param lastPassNanos  {@link System#nanoTime} at the end of the last pass, 0 before the first
     * @param lastPassErrors errors of the last pass (a failing step, the hand-off not written)
     * @param lastPassError  the first of them, or null
     * @param waitingFor     what the loop waits for before it can program the node (the store, a
     *                       configuration, a subnet), or null
     * @param peers          other nodes in the last pass
     */
    public record Health(
            boolean running,
            long lastPassNanos,
            int lastPassErrors,
            String lastPassError,
            String waitingFor,
            int peers) {}

    /** Wakes the loop: a watch event, a broken watch, the kernel lost something of ours, or stop. */
    private sealed interface Signal permits Event, WatchBroken, KernelChanged, Stop {}

    private record Event(int generation, LeaseStore.LeaseEvent event) implements Signal {}

    private record WatchBroken(int generation, Throwable cause) implements Signal {}

    private record KernelChanged() implements Signal {}

    private record Stop() implements Signal {}

    /** How long a kernel change is given to be followed by the rest of its burst (a link going down drops many routes). */
    static final Duration KERNEL_SETTLE = Duration.ofMillis(50);

    public Agent(
            LeaseStore store,
            Dataplane dataplane,
            Handoff handoff,
            IpAddress publicIp,
            AgentOptions options,
            AgentLog log) {
        this(store, dataplane, handoff, publicIp, options, log, Observer.NONE);
    }

    public Agent(
            LeaseStore store,
            Dataplane dataplane,
            Handoff handoff,
            IpAddress publicIp,
            AgentOptions options,
            AgentLog log,
            Observer observer) {
        this.observer = observer;
        this.store = store;
        this.dataplane = dataplane;
        this.handoff = handoff;
        this.publicIp = publicIp;
        this.options = options;
        this.log = log;
    }

    /**
     * The kernel lost or changed something this agent owns (see {@link KernelWatch}): a pass runs
     * now instead of at the next reconcile interval.
     */
    public void kernelChanged() {
        signals.add(new KernelChanged());
    }

    /** Asks the loop to end; returns at once (see {@link #awaitStopped}). */
    public void stop() {
        stopping = true;
        signals.add(new Stop());
    }

    public boolean awaitStopped(Duration timeout) throws InterruptedException {
        return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The loop's state now (any thread). */
    public Health health() {
        return new Health(running, lastPassEndNanos, lastPassErrors, lastPassError, waitingFor, peerCount);
    }

    /** Whether the node has been programmed and the hand-off written at least once. */
    public boolean awaitReady(Duration timeout) throws InterruptedException {
        return ready.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void run() {
        running = true;
        try {
            Duration backoff = MIN_BACKOFF;
            while (!stopping) {
                if (own == null || storeLost) {
                    if (!join()) {
                        Duration wait =
                                backoff.compareTo(options.reconcileInterval) < 0 ? backoff : options.reconcileInterval;
                        long until = System.nanoTime() + wait.toNanos();
                        do {
                            if (own != null
                                    && (kernelDirty
                                            || System.nanoTime() - lastPassNanos
                                                    >= options.reconcileInterval.toNanos())) {
                                reconcile(
                                        null); // the store is away: keep repairing drift against the last leases known
                            }
                            kernelDirty = false;
                        } while (waitFor(Duration.ofNanos(Math.max(0, until - System.nanoTime()))));
                        backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0
                                ? MAX_BACKOFF
                                : backoff.multipliedBy(2);
                        continue;
                    }
                    backoff = MIN_BACKOFF;
                }
                follow();
            }
        } finally {
            running = false;
            closeWatch();
            stopped.countDown();
        }
    }

    /**
     * Reads the configuration, takes (or re-takes) the lease, snapshots every lease, programs the
     * node, writes the hand-off and starts the watch. False when the store or the configuration
     * is not usable yet: then nothing was changed on a node that was never programmed, and a
     * programmed node was left as it was.
     */
    private boolean join() {
        String why = storeLost ? "resync" : own == null && lastPassNanos != 0 ? "lease taken again" : "start-up";
        try {
            NetworkConfig cfg = store.config();
            if (config != null && !cfg.equals(config)) {
                log.info("the network configuration changed: " + cfg.toJson());
            }
            config = cfg;
            if (own == null || !ownStillHeld()) {
                IpPrefix preferred = own != null ? own.subnet() : handoff.previousSubnet();
                // a restarted agent whose device is gone (a reboot) keeps the MAC every peer's FDB points at
                MacAddress previousMac = own != null
                        ? own.vtepMac()
                        : config.backend().isVxlan() ? store.previousVtepMac(publicIp) : null;
                MacAddress mac = dataplane.vtepMac(config, previousMac);
                Lease taken = store.acquire(config, publicIp, mac, preferred, options.leaseTtl);
                if (own == null || !taken.subnet().equals(own.subnet())) {
                    // a lease without a store lease (a Node's podCIDR) never expires: no TTL to tell
                    log.info("leased subnet " + taken.subnet() + " for " + publicIp + " ("
                            + config.backend().type()
                            + (taken.vtepMac() != null ? ", VTEP MAC " + taken.vtepMac() : "")
                            + (taken.storeLease() != 0 ? ", TTL " + AgentLog.duration(options.leaseTtl) : "") + ")");
                }
                own = taken;
                scheduleRenew();
            }
            LeaseStore.Snapshot snap = store.leases();
            leases.clear();
            for (Lease l : snap.leases()) {
                leases.put(l.subnet(), l);
            }
            leases.put(own.subnet(), own);
            startWatch(snap.revision() + 1);
            if (storeLost) {
                log.info(store.name() + " is reachable again: resynced " + leases.size() + " leases at revision "
                        + snap.revision());
            }
            storeLost = false;
            lastProblem = null;
            waitingFor = null;
            reconcile(why);
            return true;
        } catch (LeaseStore.StoreUnavailableException e) {
            problem(
                    storeLost
                            ? store.name() + " still unreachable, the data plane is kept as it is: " + e.getMessage()
                            : store.name() + " unreachable: " + e.getMessage()
                                    + (own == null
                                            ? "; nothing on this node is changed until it answers"
                                            : "; the data plane is kept as it is"));
        } catch (NetworkConfig.InvalidConfigException e) {
            problem("the network configuration is not usable, waiting for a good one: " + e.getMessage());
        } catch (LeaseStore.NetworkExhaustedException e) {
            problem("no subnet for this node, waiting for one to be released: " + e.getMessage());
        } catch (LeaseStore.NoUsableSubnetException e) {
            problem(e.getMessage());
        }
        return false;
    }

    /** Whether {@link #own} is still ours in the store (after the store was lost for a while). */
    private boolean ownStillHeld() {
        return store.ttlLeft(own) != 0;
    }

    /** Logs a problem once, until it changes or is solved. */
    private void problem(String message) {
        waitingFor = message;
        if (!message.equals(lastProblem)) {
            log.warn(message + " (retrying)");
            lastProblem = message;
        }
    }

    /** Processes signals, the reconcile timer and lease renewal until the store is lost or stop. */
    private void follow() {
        long interval = options.reconcileInterval.toNanos();
        long nextPass = System.nanoTime() + interval;
        while (!stopping && !storeLost && own != null) {
            long now = System.nanoTime();
            long wait = Math.max(0, Math.min(nextPass, nextRenewNanos) - now);
            Signal s;
            try {
                s = signals.poll(wait, TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                stopping = true;
                return;
            }
            String reason = null;
            while (s != null) { // drain: a burst of events makes one pass
                switch (s) {
                    case Stop stop -> {
                        return;
                    }
                    case Event e
                    when e.generation() == watchGeneration -> {
                        String r = apply(e.event());
                        if (r != null) {
                            reason = reason == null ? r : reason + ", " + r;
                        }
                    }
                    case WatchBroken b
                    when b.generation() == watchGeneration -> {
                        lostStore("the watch on " + store.name() + " broke: " + AgentLog.oneLine(b.cause()));
                        return;
                    }
                    case KernelChanged k -> {
                        try {
                            settle();
                        } catch (InterruptedException e) {
                            stopping = true;
                            return;
                        }
                        kernelDirty = true;
                    }
                    default -> {} // a signal of an earlier watch
                }
                s = signals.poll();
            }
            if (own == null) {
                return; // our lease was deleted: take one again
            }
            now = System.nanoTime();
            if (now >= nextRenewNanos) {
                renew();
                if (own == null || storeLost) {
                    return;
                }
            }
            if (reason != null
                    && !fullPassNeeded
                    && !kernelDirty
                    && !joined.isEmpty()
                    && lastPassErrors == 0
                    && System.nanoTime() < nextPass
                    && addPeers(reason)) {
                // only peers joined: programmed alone; the next full pass stays at its time
            } else if (reason != null) {
                reconcile(reason);
                nextPass = System.nanoTime() + interval;
            } else if (kernelDirty || System.nanoTime() >= nextPass) {
                reconcile(null);
                nextPass = System.nanoTime() + interval;
            }
        }
    }

    /** Applies one watch event to the lease set; returns why a pass is needed, or null. */
    private String apply(LeaseStore.LeaseEvent e) {
        switch (e.kind()) {
            case PUT -> {
                if (e.lease() == null) {
                    log.warn("ignoring " + Lease.keyName(e.subnet()) + ": " + e.invalid());
                    return null;
                }
                Lease before = leases.put(e.subnet(), e.lease());
                if (e.subnet().equals(own.subnet()) && !e.lease().publicIp().equals(publicIp)) {
                    log.warn("subnet " + e.subnet() + " was taken over by "
                            + e.lease().publicIp() + ": taking a new one");
                    own = null;
                    return "own lease taken over";
                }
                if (e.subnet().equals(own.subnet())) {
                    return null; // our own write
                }
                if (before == null) {
                    joined.add(e.lease());
                    return "node " + e.lease().publicIp() + " joined with " + e.subnet();
                }
                if (before.equals(e.lease())) {
                    return null;
                }
                fullPassNeeded = true;
                return "node " + e.lease().publicIp() + " updated " + e.subnet();
            }
            case DELETE -> {
                Lease gone = leases.remove(e.subnet());
                if (own != null && e.subnet().equals(own.subnet())) {
                    log.warn("this node's lease on " + e.subnet() + " was deleted or expired: taking it again");
                    own = null;
                    return "own lease lost";
                }
                if (gone == null) {
                    return null;
                }
                fullPassNeeded = true;
                return "node " + gone.publicIp() + " left " + e.subnet();
            }
        }
        return null;
    }

    private void renew() {
        try {
            store.renew(own);
            scheduleRenew();
        } catch (LeaseStore.LeaseLostException e) {
            log.warn("this node's lease on " + own.subnet() + " is gone (" + e.getMessage() + "): taking it again");
            own = null;
        } catch (LeaseStore.StoreUnavailableException e) {
            lostStore("could not renew the lease: " + e.getMessage());
            // retry soon: the lease still has two thirds of its TTL
            nextRenewNanos = System.nanoTime() + Math.min(MAX_BACKOFF.toNanos(), options.leaseTtl.toNanos() / 10);
        }
    }

    private void scheduleRenew() {
        long third = options.leaseTtl.toNanos() / 3;
        nextRenewNanos = System.nanoTime() + Math.min(third, Duration.ofHours(1).toNanos());
    }

    private void lostStore(String why) {
        if (!storeLost) {
            log.warn(why + "; keeping the data plane as it is, retrying");
        }
        storeLost = true;
        closeWatch();
    }

    private void startWatch(long fromRevision) {
        closeWatch();
        int generation = ++watchGeneration;
        watch = store.watch(
                fromRevision,
                ev -> signals.add(new Event(generation, ev)),
                err -> signals.add(new WatchBroken(generation, err)));
    }

    private void closeWatch() {
        if (watch != null) {
            try {
                watch.close();
            } catch (Exception ignored) {
                // the store is gone anyway
            }
            watch = null;
        }
    }

    /**
     * One pass over the full lease set, then the hand-off. {@code reason} null: the periodic drift
     * check, which logs only when it had something to repair.
     */
    private void reconcile(String reason) {
        Collection<Lease> all = List.copyOf(leases.values());
        long t0 = System.nanoTime();
        lastPassNanos = t0;
        kernelDirty = false;
        joined.clear();
        fullPassNeeded = false;
        Dataplane.Report r = dataplane.reconcile(config, own, all, options.ipMasq);
        long micros = (System.nanoTime() - t0) / 1000;
        if (r.changed() || reason != null) {
            log.info((reason == null ? "repaired drift" : reason) + ": " + (all.size() - 1) + " peers, "
                    + r.changes().size() + " changes in " + AgentLog.micros(micros));
            log.details(r.changes());
        }
        for (String e : r.errors()) {
            log.warn(e);
        }
        String handoffError = null;
        try {
            for (Path f : handoff.write(config, own, config.podMtu(dataplane.underlayMtu()), options.ipMasq)) {
                log.info("wrote " + f);
            }
            ready.countDown();
        } catch (IOException | RuntimeException e) {
            handoffError = "could not write the hand-off: " + e.getMessage();
            log.warn(handoffError);
        }
        if (handoffError == null) {
            store.programmed(config, own);
        }
        lastPassErrors = r.errors().size() + (handoffError == null ? 0 : 1);
        lastPassError = !r.errors().isEmpty() ? r.errors().getFirst() : handoffError;
        peerCount = all.size() - 1;
        lastPassEndNanos = System.nanoTime();
        observer.passed(lastPassEndNanos - t0, r, all.size(), handoffError == null);
    }

    /**
     * The pass for a watch event in which peers only joined: just their objects
     * ({@link Dataplane#addPeers}); false when the data plane wants the full pass instead.
     */
    private boolean addPeers(String reason) {
        Collection<Lease> all = List.copyOf(leases.values());
        long t0 = System.nanoTime();
        Dataplane.Report r = dataplane.addPeers(config, own, all, joined);
        if (r == null) {
            return false;
        }
        joined.clear();
        long micros = (System.nanoTime() - t0) / 1000;
        log.info(reason + ": " + (all.size() - 1) + " peers, " + r.changes().size() + " changes in "
                + AgentLog.micros(micros));
        log.details(r.changes());
        peerCount = all.size() - 1;
        lastPassEndNanos = System.nanoTime();
        observer.passed(lastPassEndNanos - t0, r, all.size(), true);
        return true;
    }

    /**
     * Waits up to {@code d} for a stop or a kernel change: true when the kernel changed (then
     * {@link #kernelDirty} is set and the caller acts and may wait again for the rest).
     */
    private boolean waitFor(Duration d) {
        try {
            Signal s = signals.poll(d.toNanos(), TimeUnit.NANOSECONDS);
            if (s instanceof Stop) {
                stopping = true;
            } else if (s instanceof KernelChanged) {
                settle();
                kernelDirty = true;
                return true;
            }
        } catch (InterruptedException e) {
            stopping = true;
        }
        return false;
    }

    /** Lets the rest of a burst of kernel changes arrive, so that one pass handles them all. */
    private void settle() throws InterruptedException {
        Thread.sleep(KERNEL_SETTLE.toMillis());
        signals.removeIf(s -> s instanceof KernelChanged);
    }

    /** This node's lease, or null before one is taken (for status and tests). */
    Lease ownLease() {
        return own;
    }
}
