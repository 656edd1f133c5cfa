package io.jcni.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jcni.cni.CniError;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ns.NamedNetns;
import io.jcni.netlink.route.Link;
import io.jcni.runtime.Attachment;
import io.jcni.runtime.CachedAttachment;
import io.jcni.runtime.CniRuntime;
import io.jcni.runtime.GcReport;
import io.jcni.runtime.NetworkResult;
import io.jcni.runtime.RuntimeConf;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The soak: ADD, CHECK and DEL cycles of a bridge + portmap network (host-local IPAM, ipMasq,
 * a port mapping per pod) for {@link #PODS} pods at once, through jcni's runtime and the
 * installed executables as a node runs them — native clients talking to a resident
 * {@code jcni daemon} process, and the standalone JVM path whenever the daemon is down — while
 * chaos strikes:
 * <ul>
 *   <li>{@code kill -9} of the plugin process of a pod's ADD, CHECK or DEL at a random instant
 *   of the verb (a native client, or a plugin JVM when the daemon is down);</li>
 *   <li>{@code kill -9} of the daemon at random points, restarted after a few verbs served by
 *   the standalone path;</li>
 *   <li>GC with the list of the attachments that exist, between the cycles;</li>
 *   <li>now and then the pod's namespace removed before its DEL (a sandbox that died).</li>
 * </ul>
 * A pod whose ADD failed is DELeted, as a runtime does. A verb may fail only because of a kill
 * that hit it; a DEL so failed is retried, and must then succeed.
 *
 * <p>What must hold, read from the kernel and the files (not from the plugins' answers): after
 * each ADD, no other live pod has the address and the reservation file names this pod; after
 * each DEL, nothing of the pod is left — links in its namespace but lo, a host veth tagged as
 * its, a reservation, an nftables element it owns (masquerade, port mapping), a libcni cache
 * file; before every GC, nothing of any deleted pod is left anywhere (GC would otherwise hide
 * it), and after it, every live pod still has its reservation and elements; at the end, nothing
 * of the network at all, also as seen by {@code ip} and {@code nft}.
 *
 * <p>{@code bin/test} runs {@value #QUICK_CYCLES} cycles; {@code -Djcni.soak.cycles=2000} runs
 * the long soak ({@code bench/soak.sh} does that and prints the figures). The chaos is drawn from
 * a seed, fixed unless {@code -Djcni.soak.seed=N|random}; the timing of a machine is not, so a
 * seed replays the decisions, not the interleaving. The figures go to stdout and to
 * {@code target/soak-report.txt} ({@code -Djcni.soak.report=PATH}).
 */
@Tag("soak")
class SoakTest {
    static final int QUICK_CYCLES = 100;
    static final int CYCLES = Integer.getInteger("jcni.soak.cycles", QUICK_CYCLES);
    static final int PODS = Integer.getInteger("jcni.soak.pods", 20);
    static final long DEFAULT_SEED = 20261207L;

    /** The chance that a verb's plugin process is killed, per verb. */
    static final double KILL_ADD = 0.12, KILL_CHECK = 0.05, KILL_DEL = 0.08;
    /** The chance that the pod's namespace is gone before its DEL. */
    static final double NETNS_GONE = 0.05;
    /** Verbs between two kills of the daemon, and at most how many verbs finish before it is restarted. */
    static final int DAEMON_KILL_MIN = 40, DAEMON_KILL_MAX = 140, DAEMON_DOWN_MAX = 6;
    /** Cycles between two GC runs. */
    static final int GC_MIN = 5, GC_MAX = 15;
    /** A DEL that a kill cut short is retried at most this often (each retry may be cut short too, by a daemon kill). */
    static final int DEL_ATTEMPTS = 20;

    static final int HOST_PORT_BASE = 40000;

    SoakWorld w;
    CniRuntime cni;
    long seed;
    final Stats stats = new Stats();
    final List<String> failures = Collections.synchronizedList(new ArrayList<>());
    final AtomicBoolean stop = new AtomicBoolean();
    final AtomicInteger nextCycle = new AtomicInteger(),
            cyclesDone = new AtomicInteger(),
            verbsDone = new AtomicInteger();
    /** Kills of the daemon begun and finished: a verb overlapped one if "begun" at its end exceeds "finished" at its start. */
    final AtomicLong daemonKillsBegun = new AtomicLong(), daemonKillsDone = new AtomicLong();
    /** Attachments that exist or may exist: from before their ADD until their DEL succeeded (GC's list). */
    final Set<Attachment> valid = ConcurrentHashMap.newKeySet();
    /** Pods whose ADD succeeded and whose DEL has not started: container ID → address. */
    final Map<String, String> live = new ConcurrentHashMap<>();
    /** Pods whose DEL succeeded: nothing of theirs may exist any more. */
    final Set<String> gone = ConcurrentHashMap.newKeySet();
    /**
     * GC takes its list and runs with this held exclusively; a pod joins {@link #valid} holding it
     * shared. So every attachment an ADD can make while GC runs is on GC's list.
     */
    final ReentrantReadWriteLock gcGate = new ReentrantReadWriteLock();

    final Object progress = new Object();
    java.util.concurrent.ExecutorService killer;

    long started;

    @Test
    void soak() throws Exception {
        seed = seed();
        long t0 = System.nanoTime();
        started = t0;
        SoakWorld world = SoakWorld.create();
        Thread hook = Thread.ofPlatform().unstarted(world::close); // a run interrupted with Ctrl-C cleans up too
        Runtime.getRuntime().addShutdownHook(hook);
        String report;
        try {
            w = world;
            cni = w.runtime();
            killer = Executors.newCachedThreadPool(
                    Thread.ofPlatform().daemon().name("soak-killer-", 0).factory());
            w.startDaemon();
            run();
        } catch (Throwable t) {
            failures.add("the soak itself failed: " + t);
            throw t;
        } finally {
            if (killer != null) {
                killer.shutdownNow();
            }
            report = stats.report(w, seed, System.nanoTime() - t0, failures);
            System.out.println(report);
            if (!failures.isEmpty()) {
                System.out.println("[soak] daemon log (last lines):\n" + world.daemonLogTail());
            }
            world.close();
            Runtime.getRuntime().removeShutdownHook(hook);
            writeReport(report);
        }
        assertTrue(
                failures.isEmpty(),
                failures.size() + " failures (seed " + seed + "), the first ones:\n"
                        + String.join("\n", failures.subList(0, Math.min(20, failures.size()))));
    }

    static long seed() {
        String s = System.getProperty("jcni.soak.seed");
        if (s == null || s.isBlank()) {
            return DEFAULT_SEED;
        }
        return s.equals("random") ? System.nanoTime() : Long.parseLong(s.strip());
    }

    static void writeReport(String report) throws IOException {
        Path p = Path.of(System.getProperty("jcni.soak.report", "target/soak-report.txt"));
        if (p.getParent() != null) {
            Files.createDirectories(p.getParent());
        }
        Files.writeString(p, report + "\n");
    }

    private void run() throws Exception {
        // one independent stream per thread, split off in a fixed order: the seed decides every draw
        SplittableRandom root = new SplittableRandom(seed);
        List<Thread> workers = new ArrayList<>();
        for (int slot = 0; slot < PODS; slot++) {
            int s = slot;
            SplittableRandom r = root.split();
            workers.add(Thread.ofPlatform().name("soak-pod-" + s).start(() -> worker(s, r)));
        }
        SplittableRandom gcRandom = root.split(), daemonRandom = root.split();
        Thread gc = Thread.ofPlatform().name("soak-gc").start(guarded("GC", () -> gcLoop(gcRandom)));
        Thread daemonChaos = Thread.ofPlatform()
                .name("soak-daemon-killer")
                .start(guarded("daemon chaos", () -> daemonLoop(daemonRandom)));
        for (Thread t : workers) {
            t.join();
        }
        stopAll();
        gc.join();
        daemonChaos.join();
        // nothing may be in flight for the last look: SIGTERM lets the daemon finish what it runs
        w.stopDaemon();
        finalAudit();
    }

    interface Body {
        void run() throws Exception;
    }

    private Runnable guarded(String what, Body body) {
        return () -> {
            try {
                body.run();
            } catch (Throwable t) {
                fail(what + ": " + t);
                t.printStackTrace();
            }
        };
    }

    private void stopAll() {
        stop.set(true);
        synchronized (progress) {
            progress.notifyAll();
        }
    }

    private void progressed() {
        synchronized (progress) {
            progress.notifyAll();
        }
    }

    /** Waits until {@code condition} holds; false when the soak is stopping instead. */
    private boolean await(BooleanSupplier condition) throws InterruptedException {
        synchronized (progress) {
            while (!stop.get() && !condition.getAsBoolean()) {
                progress.wait(1000);
            }
        }
        return !stop.get();
    }

    // ---- failures ----

    void fail(String msg) {
        failures.add(msg);
        stats.unexpected.increment();
        stopAll();
    }

    void leak(String msg) {
        failures.add("LEAK " + msg);
        stats.leaks.increment();
        stopAll();
    }

    void duplicate(String msg) {
        failures.add("DUPLICATE " + msg);
        stats.duplicates.increment();
        stopAll();
    }

    // ---- a pod ----

    private void worker(int slot, SplittableRandom r) {
        int n;
        while (!stop.get() && (n = nextCycle.getAndIncrement()) < CYCLES) {
            try {
                cycle(slot, n, r);
            } catch (Throwable t) {
                fail("pod " + slot + " cycle " + n + ": " + t);
                t.printStackTrace();
            }
            int done = cyclesDone.incrementAndGet();
            progressed();
            if (done % Math.max(1, CYCLES / 10) == 0) {
                // a long run says how far it is
                System.out.printf(
                        "[soak] %d of %d cycles after %.0f s: %d plugin kills, %d daemon kills, %d GC runs, %d failures%n",
                        done,
                        CYCLES,
                        (System.nanoTime() - started) / 1e9,
                        stats.pluginKills(),
                        stats.daemonKills.sum(),
                        stats.gcRuns.sum(),
                        failures.size());
            }
        }
    }

    /** One pod's life: namespace, ADD, CHECK, DEL (retried after a kill), the checks, namespace removed. */
    private void cycle(int slot, int n, SplittableRandom r) throws Exception {
        String cid = w.containerId(slot, n);
        NamedNetns.create(cid, Trace.OFF);
        String path = NamedNetns.pathOf(cid);
        RuntimeConf rt = new RuntimeConf(
                cid,
                path,
                SoakWorld.IFNAME,
                List.of(),
                Map.of("portMappings", List.of(SoakWorld.portMapping(HOST_PORT_BASE + slot))));
        Attachment att = new Attachment(cid, SoakWorld.IFNAME);
        gcGate.readLock().lock();
        try {
            valid.add(att);
        } finally {
            gcGate.readLock().unlock();
        }
        Outcome add = verb("ADD", cid, r, KILL_ADD, () -> cni.add(w.net, rt));
        if (add.ok()) {
            addressed(cid, address(add.result()));
            Outcome check = verb("CHECK", cid, r, KILL_CHECK, () -> {
                cni.check(w.net, rt);
                return null;
            });
            if (!check.ok() && !check.explained()) {
                fail("CHECK of " + cid + " failed, and no kill explains it: " + describe(check.error()));
            }
        } else if (!add.explained()) {
            fail("ADD of " + cid + " failed, and no kill explains it: " + describe(add.error()));
        }
        live.remove(cid); // before DEL starts: from now on its address may go to another pod
        if (r.nextDouble() < NETNS_GONE) {
            NamedNetns.delete(cid, Trace.OFF);
            stats.netnsGone.increment();
        }
        boolean deleted = del(cid, rt, r);
        if (deleted) {
            afterDel(cid, path);
        }
        if (NamedNetns.exists(cid)) {
            NamedNetns.delete(cid, Trace.OFF);
        }
        if (deleted) {
            gone.add(cid);
            valid.remove(att);
        }
    }

    /** DEL until it succeeds; a failure not explained by a kill fails the soak (the retries go on, to clean up). */
    private boolean del(String cid, RuntimeConf rt, SplittableRandom r) throws InterruptedException {
        for (int attempt = 1; attempt <= DEL_ATTEMPTS; attempt++) {
            Outcome o = verb("DEL", cid, r, attempt == 1 ? KILL_DEL : 0, () -> {
                cni.del(w.net, rt);
                return null;
            });
            if (o.ok()) {
                return true;
            }
            if (!o.explained()) {
                fail("DEL of " + cid + " (attempt " + attempt + ") failed, and no kill explains it: "
                        + describe(o.error()));
            }
            // Retrying is what a runtime does with a DEL that did not finish (kubelet and containerd
            // retry until it succeeds), and the spec requires DEL to succeed when repeated. Only a
            // DEL that a kill of this soak cut short gets here without failing the soak.
            stats.delRetries.increment();
        }
        fail("DEL of " + cid + " did not succeed in " + DEL_ATTEMPTS + " attempts");
        return false;
    }

    private static String address(NetworkResult r) throws CniError {
        return r.result().ips().getFirst().address().address().toString();
    }

    private static String describe(CniError e) {
        return "code " + e.code() + ": " + e.msg()
                + (e.details() == null || e.details().isEmpty() ? "" : " (" + e.details() + ")");
    }

    /** After an ADD: the address is no other live pod's, and the store gives it, and only it, to this pod. */
    private void addressed(String cid, String ip) {
        synchronized (live) {
            for (var e : live.entrySet()) {
                if (e.getValue().equals(ip)) {
                    duplicate(ip + " given to " + cid + " while " + e.getKey() + " holds it");
                }
            }
            live.put(cid, ip);
        }
        Map<String, String> reservations = w.reservations();
        if (!cid.equals(reservations.get(ip))) {
            duplicate(ip + " given to " + cid + " but reserved for " + reservations.get(ip));
        }
        List<String> held = reservations.entrySet().stream()
                .filter(e -> e.getValue().equals(cid))
                .map(Map.Entry::getKey)
                .toList();
        if (held.size() != 1) {
            duplicate(cid + " holds " + held.size() + " reservations: " + held);
        }
    }

    /** After a DEL that succeeded: nothing of the pod anywhere. */
    private void afterDel(String cid, String path) {
        List<String> left = leftovers(Set.of(cid));
        List<String> podLinks = SoakWorld.podLinks(path);
        if (podLinks != null && !podLinks.equals(List.of("lo"))) {
            left.add("links in its namespace: " + podLinks);
        }
        if (!left.isEmpty()) {
            leak("after the DEL of " + cid + ": " + left);
        }
    }

    /** Whatever of these pods the host still holds: host veths, reservations, nftables elements, cache files. */
    private List<String> leftovers(Set<String> cids) {
        List<String> left = new ArrayList<>();
        for (Link l : w.hostLinks()) {
            if (w.ownerOfLink(l) != null && cids.contains(w.ownerOfLink(l))) {
                left.add("host link " + l.name() + " (" + l.alias() + ")");
            }
        }
        for (var e : w.reservations().entrySet()) {
            if (cids.contains(e.getValue())) {
                left.add("reservation " + e.getKey() + " of " + e.getValue());
            }
        }
        for (SoakWorld.Element e : w.elements()) {
            if (cids.contains(e.owner())) {
                left.add("nft " + e.table() + " " + e.set() + ": " + e.text());
            }
        }
        for (String f : w.cacheFiles()) {
            for (String cid : cids) {
                if (f.equals(w.network + "-" + cid + "-" + SoakWorld.IFNAME)) {
                    left.add("cache file " + f);
                }
            }
        }
        return left;
    }

    // ---- one verb, maybe with its plugin killed ----

    interface Call {
        NetworkResult call() throws CniError;
    }

    /**
     * What one verb did. {@code pluginKill} names the process killed under it (null: none);
     * {@code daemonKill}: the daemon was killed while it ran.
     */
    record Outcome(
            String verb,
            boolean ok,
            NetworkResult result,
            CniError error,
            String pluginKill,
            boolean daemonKill,
            long nanos) {
        /** A failure this soak caused: its plugin was killed, or the daemon died under it ("try again later"). */
        boolean explained() {
            return !ok && (pluginKill != null || (daemonKill && error.code() == CniError.TRY_AGAIN_LATER));
        }
    }

    private Outcome verb(String verb, String cid, SplittableRandom r, double killChance, Call body)
            throws InterruptedException {
        long daemonKillsBefore = daemonKillsDone.get();
        KillPlan plan = null;
        if (r.nextDouble() < killChance) {
            // either plugin of the chain; the delay is spread over (a little more than) the plugin's usual run
            boolean bridge = r.nextDouble() < 0.6;
            plan = new KillPlan(cid, verb, bridge ? "bridge" : "portmap", (long)
                    (r.nextDouble() * (bridge ? 0.9 : 0.5) * stats.typical(verb)));
        }
        long t0 = System.nanoTime();
        NetworkResult result = null;
        CniError error = null;
        String killed;
        long nanos;
        try {
            result = body.call();
        } catch (CniError e) {
            error = e;
        } finally {
            nanos = System.nanoTime() - t0;
            killed = plan == null ? null : plan.finish();
        }
        boolean daemonKill = daemonKillsBegun.get() > daemonKillsBefore;
        Outcome o = new Outcome(verb, error == null, result, error, killed, daemonKill, nanos);
        stats.record(o);
        verbsDone.incrementAndGet();
        progressed();
        return o;
    }

    /**
     * A kill -9 of one plugin process of a pod's verb, {@code delayNs} after it showed up: the
     * first process of {@code plugin} (the native client, or the plugin JVM it became when the
     * daemon is down) running with this pod's CNI_CONTAINERID and CNI_COMMAND — unless the verb
     * is over first (the plugin failed before, or the chain ended).
     */
    final class KillPlan {
        final String cid, verb, plugin;
        final long delayNs;
        final java.util.concurrent.Future<?> task;
        final java.util.concurrent.CountDownLatch verbDone = new java.util.concurrent.CountDownLatch(1);
        volatile String killed;

        KillPlan(String cid, String verb, String plugin, long delayNs) {
            this.cid = cid;
            this.verb = verb;
            this.plugin = plugin;
            this.delayNs = delayNs;
            this.task = killer.submit(this::strike);
        }

        private Void strike() throws InterruptedException {
            String id = "\0CNI_CONTAINERID=" + cid + "\0", command = "\0CNI_COMMAND=" + verb + "\0";
            do {
                // the runtime's children: this pod's plugins (the daemon and other pods' plugins don't match)
                for (ProcessHandle h : ProcessHandle.current().children().toList()) {
                    String env = SoakWorld.environOf(h);
                    if (env.contains(id) && env.contains(command) && kind(h).startsWith(plugin)) {
                        if (verbDone.await(delayNs, TimeUnit.NANOSECONDS)) {
                            return null; // the verb ended within the delay
                        }
                        String what = kind(h);
                        // the JDK checks the start time before it signals: a pid reused meanwhile is left alone
                        if (h.isAlive() && h.destroyForcibly()) {
                            killed = what;
                        }
                        return null;
                    }
                }
                // polls until the plugin's process shows up (after the chain's earlier plugins) or the verb
                // ends; each look reads every process's stat, so not much more often than this
            } while (!verbDone.await(10, TimeUnit.MILLISECONDS));
            return null;
        }

        /** After the verb: the kill happened (what was killed) or not (null). */
        String finish() throws InterruptedException {
            verbDone.countDown();
            try {
                task.get(60, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                throw new IllegalStateException("the killer of " + cid + " " + verb + ": " + e, e);
            }
            return killed;
        }
    }

    /** "bridge client", "portmap jvm": which plugin, and whether the native client or a standalone JVM. */
    static String kind(ProcessHandle h) {
        String cmd;
        try {
            cmd = new String(
                    Files.readAllBytes(Path.of("/proc", Long.toString(h.pid()), "cmdline")),
                    java.nio.charset.StandardCharsets.UTF_8);
        } catch (IOException gone) {
            cmd = "";
        }
        String plugin = cmd.contains("bridge") ? "bridge" : cmd.contains("portmap") ? "portmap" : "?";
        return plugin + (cmd.contains("io.jcni.plugins.") ? " jvm" : " client");
    }

    // ---- GC ----

    private void gcLoop(SplittableRandom r) throws Exception {
        int next = GC_MIN + r.nextInt(GC_MAX - GC_MIN + 1);
        while (true) {
            int at = next;
            if (!await(() -> cyclesDone.get() >= at)) {
                return;
            }
            Map<String, String> liveBefore;
            gcGate.writeLock().lock();
            try {
                audit("before GC run " + (stats.gcRuns.sum() + 1));
                List<Attachment> list = List.copyOf(valid);
                liveBefore = Map.copyOf(live);
                long daemonKillsBefore = daemonKillsDone.get();
                GcReport report = cni.gc(w.net, list);
                boolean daemonKill = daemonKillsBegun.get() > daemonKillsBefore;
                stats.gcRuns.increment();
                for (CniError e : report.errors()) {
                    if (daemonKill && e.code() == CniError.TRY_AGAIN_LATER) {
                        stats.gcCutShort.increment();
                    } else {
                        fail("GC failed, and no daemon kill explains it: " + describe(e));
                    }
                }
                for (CachedAttachment a : report.deleted()) {
                    leak("GC found a cached attachment that is not on its list: " + a);
                }
            } finally {
                gcGate.writeLock().unlock();
            }
            liveAfterGc(liveBefore);
            next = cyclesDone.get() + GC_MIN + r.nextInt(GC_MAX - GC_MIN + 1);
        }
    }

    /**
     * Before GC (which would hide it): nothing of a deleted pod is left anywhere, and no pod holds
     * two addresses. Host veths not tagged yet (an ADD between creating and tagging it) are left
     * to the final look.
     */
    private void audit(String when) {
        List<String> left = leftovers(Set.copyOf(gone));
        if (!left.isEmpty()) {
            leak(when + ", of pods already deleted: " + left);
        }
        Map<String, List<String>> byOwner = new TreeMap<>();
        w.reservations()
                .forEach((ip, owner) ->
                        byOwner.computeIfAbsent(owner, k -> new ArrayList<>()).add(ip));
        byOwner.forEach((owner, ips) -> {
            if (ips.size() > 1) {
                duplicate(when + ": " + owner + " holds " + ips);
            }
        });
    }

    /**
     * GC must not take anything from a pod on its list: every pod live before GC and still live
     * after this look (so its DEL had not started when the state was read) has its reservation, its
     * masquerade element and its port mapping.
     */
    private void liveAfterGc(Map<String, String> liveBefore) {
        Map<String, String> reservations = w.reservations();
        List<SoakWorld.Element> elements = w.elements();
        for (var p : liveBefore.entrySet()) {
            String cid = p.getKey();
            List<String> missing = new ArrayList<>();
            if (!cid.equals(reservations.get(p.getValue()))) {
                missing.add("reservation of " + p.getValue());
            }
            if (elements.stream()
                    .noneMatch(e -> e.owner().equals(cid) && e.set().equals("pods4"))) {
                missing.add("masquerade element");
            }
            if (elements.stream()
                    .noneMatch(e -> e.owner().equals(cid) && e.set().equals("hostip4"))) {
                missing.add("port mapping");
            }
            if (!missing.isEmpty() && p.getValue().equals(live.get(cid))) {
                fail("GC took from live pod " + cid + ": " + missing);
            }
        }
    }

    // ---- the daemon ----

    private void daemonLoop(SplittableRandom r) throws Exception {
        int next = DAEMON_KILL_MIN + r.nextInt(DAEMON_KILL_MAX - DAEMON_KILL_MIN + 1);
        while (true) {
            int at = next;
            if (!await(() -> verbsDone.get() >= at)) {
                return;
            }
            daemonKillsBegun.incrementAndGet();
            w.killDaemon();
            daemonKillsDone.incrementAndGet();
            stats.daemonKills.increment();
            // the clients fall back to the standalone path until the daemon is back
            int until = verbsDone.get() + r.nextInt(DAEMON_DOWN_MAX + 1);
            if (!await(() -> verbsDone.get() >= until)) {
                return;
            }
            w.startDaemon();
            stats.daemonRestarts.increment();
            next = verbsDone.get() + DAEMON_KILL_MIN + r.nextInt(DAEMON_KILL_MAX - DAEMON_KILL_MIN + 1);
        }
    }

    // ---- the end ----

    /** Every pod is gone: nothing of the network may be left, seen through jcni's netlink code and through ip and nft. */
    private void finalAudit() {
        audit("at the end");
        List<String> left = new ArrayList<>();
        w.reservations().forEach((ip, owner) -> left.add("reservation " + ip + " of " + owner));
        w.elements().forEach(e -> left.add("nft " + e.table() + " " + e.set() + ": " + e.text()));
        w.hostLinks().forEach(l -> left.add("host link " + l.name() + " (alias " + l.alias() + ")"));
        w.cacheFiles().forEach(f -> left.add("cache file " + f));
        NamedNetns.list().stream().filter(ns -> ns.startsWith(w.prefix)).forEach(ns -> left.add("namespace " + ns));
        left.addAll(w.witnessedLeftovers());
        stats.tempFilesAtEnd =
                (int) w.dataFiles().stream().filter(f -> f.startsWith(".")).count();
        if (!left.isEmpty()) {
            leak("at the end: " + left);
        }
    }

    // ---- the figures ----

    static final class Stats {
        final Map<String, List<Long>> okNanos = new ConcurrentHashMap<>();
        final Map<String, LongAdder> counts = new ConcurrentHashMap<>();
        final LongAdder delRetries = new LongAdder(),
                daemonKills = new LongAdder(),
                daemonRestarts = new LongAdder(),
                gcRuns = new LongAdder(),
                gcCutShort = new LongAdder(),
                netnsGone = new LongAdder(),
                leaks = new LongAdder(),
                duplicates = new LongAdder(),
                unexpected = new LongAdder();
        volatile int tempFilesAtEnd;

        void bump(String key) {
            counts.computeIfAbsent(key, k -> new LongAdder()).increment();
        }

        long count(String key, String... more) {
            long n = counts.getOrDefault(key, new LongAdder()).sum();
            for (String k : more) {
                n += counts.getOrDefault(k, new LongAdder()).sum();
            }
            return n;
        }

        void record(Outcome o) {
            bump(o.verb());
            if (o.ok()) {
                bump(o.verb() + " ok");
            } else if (o.pluginKill() != null) {
                bump(o.verb() + " failed: plugin killed");
            } else if (o.explained()) {
                bump(o.verb() + " failed: daemon killed");
            } else {
                bump(o.verb() + " failed: unexplained");
            }
            if (o.pluginKill() != null) {
                bump("kill " + o.verb() + " " + o.pluginKill());
                if (o.ok()) {
                    bump("kill too late"); // the process was already exiting: the verb had done its work
                }
            }
            if (o.ok() && o.pluginKill() == null && !o.daemonKill()) {
                List<Long> l = okNanos.computeIfAbsent(o.verb(), k -> Collections.synchronizedList(new ArrayList<>()));
                l.add(o.nanos());
            }
        }

        /** Plugin processes killed so far (those too late to matter included). */
        long pluginKills() {
            long n = 0;
            for (var e : counts.entrySet()) {
                if (e.getKey().startsWith("kill ") && !e.getKey().equals("kill too late")) {
                    n += e.getValue().sum();
                }
            }
            return n;
        }

        /** The kill delay's scale: the median of the verb's recent uninterrupted runs. */
        long typical(String verb) {
            List<Long> l = okNanos.get(verb);
            List<Long> recent;
            if (l == null) {
                return TimeUnit.MILLISECONDS.toNanos(150);
            }
            synchronized (l) {
                if (l.isEmpty()) {
                    return TimeUnit.MILLISECONDS.toNanos(150);
                }
                recent = new ArrayList<>(l.subList(Math.max(0, l.size() - 50), l.size()));
            }
            Collections.sort(recent);
            return recent.get(recent.size() / 2);
        }

        static String percentiles(List<Long> l) {
            if (l == null || l.isEmpty()) {
                return "n/a";
            }
            List<Long> s;
            synchronized (l) {
                s = new ArrayList<>(l);
            }
            Collections.sort(s);
            long p50 = s.get((s.size() - 1) / 2), p99 = s.get((int) Math.ceil(s.size() * 0.99) - 1);
            return String.format("p50 %d ms  p99 %d ms  (n=%d)", p50 / 1_000_000, p99 / 1_000_000, s.size());
        }

        String report(SoakWorld w, long seed, long wallNanos, List<String> failures) {
            Map<String, Long> kills = new TreeMap<>();
            counts.forEach((k, v) -> {
                if (k.startsWith("kill ") && !k.equals("kill too late")) {
                    kills.put(k.substring(5), v.sum());
                }
            });
            long pluginKills =
                    kills.values().stream().mapToLong(Long::longValue).sum();
            Map<String, Long> perVerb = new HashMap<>();
            kills.forEach((k, v) -> perVerb.merge(k.substring(0, k.indexOf(' ')), v, Long::sum));
            StringBuilder b = new StringBuilder();
            b.append(String.format(
                    "jcni soak: %d cycles, %d pods at once, network %s, seed %d%n",
                    CYCLES, PODS, w == null ? "-" : w.network, seed));
            b.append(String.format("  wall time           %.1f s%n", wallNanos / 1e9));
            for (String v : List.of("ADD", "CHECK", "DEL")) {
                b.append(String.format(
                        "  %-6s %5d runs: %d ok, %d cut short by a plugin kill, %d by a daemon kill, %d unexplained failures%n",
                        v,
                        count(v),
                        count(v + " ok"),
                        count(v + " failed: plugin killed"),
                        count(v + " failed: daemon killed"),
                        count(v + " failed: unexplained")));
            }
            b.append(String.format("  ADD latency         %s%n", percentiles(okNanos.get("ADD"))));
            b.append(String.format("  DEL latency         %s%n", percentiles(okNanos.get("DEL"))));
            b.append(String.format(
                    "  plugin kills        %d (ADD %d, CHECK %d, DEL %d; %d too late to matter): %s%n",
                    pluginKills,
                    perVerb.getOrDefault("ADD", 0L),
                    perVerb.getOrDefault("CHECK", 0L),
                    perVerb.getOrDefault("DEL", 0L),
                    count("kill too late"),
                    kills));
            b.append(
                    String.format("  daemon kills        %d (restarts %d)%n", daemonKills.sum(), daemonRestarts.sum()));
            b.append(String.format("  DEL retries         %d%n", delRetries.sum()));
            b.append(String.format(
                    "  GC runs             %d (%d cut short by a daemon kill)%n", gcRuns.sum(), gcCutShort.sum()));
            b.append(String.format("  netns gone at DEL   %d%n", netnsGone.sum()));
            b.append(String.format("  temp files at end   %d%n", tempFilesAtEnd));
            b.append(String.format("  duplicate IPs       %d%n", duplicates.sum()));
            b.append(String.format("  leaks found         %d%n", leaks.sum()));
            b.append(String.format("  other failures      %d%n", unexpected.sum()));
            b.append(failures.isEmpty() ? "  PASS" : "  FAIL: " + failures.size() + " failures");
            synchronized (failures) {
                for (String f : failures.subList(0, Math.min(20, failures.size()))) {
                    b.append("\n    ").append(f.length() > 2000 ? f.substring(0, 2000) + " …" : f);
                }
            }
            return b.toString();
        }
    }
}
