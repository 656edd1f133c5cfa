package io.jcni.plugins.hostlocal;

import io.jcni.cni.CniError;
import io.jcni.cni.ConfigObject;
import io.jcni.cni.Invocation;
import io.jcni.cni.Plugin;
import io.jcni.cni.Result;
import io.jcni.netlink.KernelException;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.sys.Fd;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code host-local} IPAM: one address per range set from files under
 * {@code <dataDir>/<network>}, in the reference plugin's on-disk format so both can share a data
 * directory. Reads the {@code ipam} object of the full network configuration, so a main plugin
 * ({@code bridge}) calls it in-process with its own {@link Invocation}:
 * {@code new HostLocal().add(inv)} and likewise del/check/gc/status.
 *
 * <p>Error codes: 7 invalid configuration or request (bad range, requested IP not in any range
 * or the gateway); 101 {@link CniError#NO_ADDRESSES} range set exhausted or requested IP taken;
 * {@link #DUPLICATE_ALLOCATION} 110 (id, ifname) already holds an address of the set;
 * {@link #NOT_ALLOCATED} 111 CHECK found no (or not all) reservations; 5 store I/O failures in
 * DEL/GC; 50 STATUS not ready.
 */
public final class HostLocal implements Plugin {
    /** ADD: this (containerID, ifname) already holds an address in the range set. */
    public static final int DUPLICATE_ALLOCATION = 110;
    /** CHECK: no reservation (or not the one in prevResult) for this (containerID, ifname). */
    public static final int NOT_ALLOCATED = 111;

    private static final Set<String> KNOWN_ARGS = Set.of("IP");

    /**
     * GC leaves a reservation younger than this alone even when its owner is not in the valid
     * list: an ADD in flight has reserved its address but is not in the runtime's cache (the list
     * GC is given) until the whole chain has returned — which the runtime bounds by its plugin
     * timeout (60 s in jcni's runtime).
     */
    static final long GC_GRACE_MS = 120_000;

    @Override
    public String name() {
        return "host-local";
    }

    @Override
    public Set<String> knownArgs() {
        return KNOWN_ARGS;
    }

    // ---- ADD ----

    @Override
    public Result add(Invocation inv) throws CniError {
        IpamConfig cfg = IpamConfig.load(inv);
        Result.Dns dns = cfg.resolvConf.isEmpty() ? Result.Dns.EMPTY : parseResolvConf(cfg.resolvConf);
        Store store = trustedStore(cfg);
        String id = inv.containerId();
        String ifname = inv.ifname();
        List<IpAddress> reserved = new ArrayList<>();
        List<Result.IpConfig> ips = new ArrayList<>();
        try {
            store.create();
            trustedStore(cfg); // again, now that every directory exists
            List<IpAddress> requested = new ArrayList<>(cfg.requested);
            for (int i = 0; i < cfg.rangeSets.size(); i++) {
                RangeSet set = cfg.rangeSets.get(i);
                IpAddress want = null;
                for (int k = 0; k < requested.size(); k++) {
                    if (set.contains(requested.get(k))) {
                        want = requested.remove(k);
                        break;
                    }
                }
                ips.add(allocate(store, set, i, want, id, ifname, reserved, i == 0));
            }
            if (!requested.isEmpty()) {
                StringBuilder sb = new StringBuilder("failed to allocate all requested IPs:");
                for (IpAddress a : requested) {
                    sb.append(' ').append(a);
                }
                throw CniError.invalidConfig(sb.toString() + " (not inside any range set)");
            }
        } catch (CniError | RuntimeException e) {
            rollback(store, reserved, id, ifname);
            if (e instanceof KernelException ke) {
                throw new CniError(CniError.KERNEL_REFUSED, "host-local: store operation failed", ke.getMessage());
            }
            throw e;
        }
        return new Result(null, ips, new ArrayList<>(cfg.routes), dns);
    }

    /** One range set's allocation, under the network lock (as the reference holds it). */
    private static Result.IpConfig allocate(
            Store store,
            RangeSet set,
            int index,
            IpAddress want,
            String id,
            String ifname,
            List<IpAddress> reserved,
            boolean cleanTemps)
            throws CniError {
        try (Fd lock = store.lock()) {
            if (cleanTemps) {
                housekeeping(store);
            }
            if (want != null) {
                Range r = set.rangeFor(want);
                if (want.equals(r.gateway())) {
                    throw CniError.invalidConfig("failed to allocate for range " + index + ": requested ip " + want
                            + " is subnet's gateway");
                }
                if (!store.reserve(want, id, ifname, index)) {
                    throw new CniError(
                            CniError.NO_ADDRESSES,
                            "requested IP address " + want + " is not available in range set " + set,
                            "failed to allocate for range " + index);
                }
                reserved.add(want);
                return new Result.IpConfig(null, new IpPrefix(want, r.subnet().length()), r.gateway());
            }
            List<IpAddress> mine = store.findByOwner(id, ifname);
            for (int k = 0; k < mine.size(); k++) {
                if (set.contains(mine.get(k))) {
                    throw new CniError(
                            DUPLICATE_ALLOCATION,
                            mine.get(k) + " has been allocated to " + id + ", duplicate allocation is not allowed",
                            "failed to allocate for range " + index);
                }
            }
            List<Range> ranges = set.ranges();
            int n = ranges.size();
            int ri = 0;
            IpAddress cur = null;
            IpAddress startIp = null;
            IpAddress last = store.lastReserved(index);
            if (last != null) {
                for (int k = 0; k < n; k++) {
                    if (ranges.get(k).contains(last)) {
                        ri = k;
                        cur = last;
                        break;
                    }
                }
            }
            // The reference RangeIter: +1 per step, rangeEnd wraps to the next range's rangeStart,
            // gateways skipped, give up when back at the first address tried.
            while (true) {
                Range r = ranges.get(ri);
                if (cur == null) {
                    cur = r.start();
                    startIp = cur;
                } else {
                    if (cur.equals(r.end())) {
                        ri = (ri + 1) % n;
                        r = ranges.get(ri);
                        cur = r.start();
                    } else {
                        cur = cur.next();
                    }
                    if (startIp == null) {
                        startIp = cur;
                    } else if (cur.equals(startIp)) {
                        throw new CniError(
                                CniError.NO_ADDRESSES,
                                "no IP addresses available in range set: " + set,
                                "failed to allocate for range " + index + " (" + set.path() + ")");
                    }
                }
                if (cur.equals(r.gateway())) {
                    continue;
                }
                if (store.reserve(cur, id, ifname, index)) {
                    reserved.add(cur);
                    return new Result.IpConfig(
                            null, new IpPrefix(cur, r.subnet().length()), r.gateway());
                }
            }
        }
    }

    /**
     * The store of {@code cfg}'s network once its path passed {@link DataDir#problem}; 7 when it
     * did not (a symlink, a non-directory, a directory not owned by root or writable by others).
     */
    private static Store trustedStore(IpamConfig cfg) throws CniError {
        String problem = DataDir.problem(cfg.networkDir(), cfg.dataDir.length());
        if (problem != null) {
            throw CniError.invalidConfig("ipam.dataDir: refusing an untrusted data directory: " + problem);
        }
        return new Store(cfg.networkDir());
    }

    /**
     * What every writing verb does first under the lock: remove a dead writer's temp files and
     * free the reservations of an earlier boot (their pods died with it).
     */
    private static void housekeeping(Store store) {
        store.cleanTemps(Store.TEMP_MAX_AGE_MS);
        String boot = Store.currentBootId();
        if (boot != null) {
            store.forgetPreviousBoot(boot);
        }
    }

    /** Undoes this ADD's reservations (only files still holding our content). */
    private static void rollback(Store store, List<IpAddress> reserved, String id, String ifname) {
        if (reserved.isEmpty()) {
            return;
        }
        try (Fd lock = store.lock()) {
            for (int i = 0; i < reserved.size(); i++) {
                try {
                    store.releaseIfOwned(reserved.get(i), id, ifname);
                } catch (RuntimeException e) {
                    // keep going: DEL will retry
                }
            }
        } catch (RuntimeException e) {
            // the lock itself failed; DEL will release by owner
        }
    }

    // ---- DEL ----

    @Override
    public void del(Invocation inv) throws CniError {
        IpamConfig cfg = IpamConfig.load(inv);
        Store store = trustedStore(cfg);
        if (!store.exists()) {
            return;
        }
        List<String> errors = new ArrayList<>();
        for (int i = 0; i < cfg.rangeSets.size(); i++) {
            try (Fd lock = store.lock()) {
                if (i == 0) {
                    housekeeping(store);
                }
                errors.addAll(store.releaseByOwner(inv.containerId(), inv.ifname()));
            } catch (KernelException e) {
                errors.add(e.getMessage());
            }
        }
        if (!errors.isEmpty()) {
            throw new CniError(
                    CniError.IO_FAILURE, "host-local: failed to release addresses", String.join("; ", errors));
        }
    }

    // ---- CHECK ----

    @Override
    public void check(Invocation inv) throws CniError {
        IpamConfig cfg = IpamConfig.load(inv);
        Result prev = inv.prevResult();
        Store store = trustedStore(cfg);
        String id = inv.containerId();
        String ifname = inv.ifname();
        if (!store.exists()) {
            throw new CniError(
                    NOT_ALLOCATED,
                    "host-local: Failed to find address added by container " + id,
                    "no data directory " + store.dir());
        }
        try (Fd lock = store.lock()) {
            if (store.findByOwner(id, ifname).isEmpty()) {
                throw new CniError(
                        NOT_ALLOCATED,
                        "host-local: Failed to find address added by container " + id,
                        "interface " + ifname + ", data directory " + store.dir());
            }
            if (prev != null) {
                for (Result.IpConfig ip : prev.ips()) {
                    IpAddress a = ip.address().address();
                    boolean ours = false;
                    for (RangeSet set : cfg.rangeSets) {
                        ours |= set.contains(a);
                    }
                    if (ours && !Store.owns(store.read(a.toString()), id, ifname)) {
                        throw new CniError(
                                NOT_ALLOCATED,
                                "host-local: address " + a + " of prevResult is not reserved by container " + id,
                                "interface " + ifname + ", data directory " + store.dir());
                    }
                }
            }
        } catch (KernelException e) {
            throw new CniError(CniError.KERNEL_REFUSED, "host-local: store operation failed", e.getMessage());
        }
    }

    // ---- GC ----

    @Override
    public void gc(Invocation inv) throws CniError {
        IpamConfig cfg = IpamConfig.load(inv);
        Store store = trustedStore(cfg);
        ConfigObject conf = inv.config();
        String key = conf.has("cni.dev/valid-attachments") ? "cni.dev/valid-attachments" : "cni.dev/attachments";
        boolean listed = conf.has(key);
        Set<String> valid = new HashSet<>();
        Set<String> validIds = new HashSet<>();
        if (listed) {
            for (ConfigObject a : conf.objects(key)) {
                String cid = a.string("containerID", "");
                valid.add(Store.content(cid, a.string("ifname", "")));
                validIds.add(cid.trim());
            }
        }
        if (!store.exists()) {
            return;
        }
        List<String> errors = new ArrayList<>();
        try (Fd lock = store.lock()) {
            housekeeping(store); // frees an earlier boot's reservations, list or no list
            if (!listed) {
                return; // no list at all: nothing else is known to be stale
            }
            long now = System.currentTimeMillis();
            for (String name : store.names()) {
                if (Store.addressOf(name) == null) {
                    continue;
                }
                try {
                    String c = store.read(name);
                    if (c == null) {
                        continue; // already gone
                    }
                    boolean keep = valid.contains(c) || (c.indexOf('\n') < 0 && validIds.contains(c));
                    if (!keep && !inGrace(store.ageMs(name, now))) {
                        store.unlinkCollecting(name, errors);
                    }
                } catch (RuntimeException e) {
                    errors.add(name + ": " + e.getMessage());
                }
            }
        } catch (KernelException e) {
            errors.add(e.getMessage());
        }
        if (!errors.isEmpty()) {
            throw new CniError(
                    CniError.IO_FAILURE, "host-local: garbage collection incomplete", String.join("; ", errors));
        }
    }

    /**
     * A reservation young enough to belong to an ADD still in flight. A clock stepped back by
     * more than the grace period makes an old file look young forever: such a future time does
     * not count.
     */
    private static boolean inGrace(long ageMs) {
        return ageMs > -GC_GRACE_MS && ageMs < GC_GRACE_MS;
    }

    // ---- STATUS ----

    @Override
    public void status(Invocation inv) throws CniError {
        IpamConfig cfg = IpamConfig.load(inv);
        Store store = trustedStore(cfg);
        String writable = store.exists() ? store.dir() : nearestExisting(store.dir());
        if (writable == null || !new File(writable).canWrite()) {
            throw new CniError(
                    CniError.PLUGIN_NOT_AVAILABLE,
                    "host-local: data directory is not writable",
                    writable == null ? store.dir() : writable);
        }
        Set<String> taken = new HashSet<>();
        for (String name : store.names()) {
            taken.add(name);
        }
        for (int i = 0; i < cfg.rangeSets.size(); i++) {
            RangeSet set = cfg.rangeSets.get(i);
            if (!hasFree(set, taken)) {
                throw new CniError(
                        CniError.PLUGIN_NOT_AVAILABLE,
                        "no IP addresses available in range set: " + set,
                        "range set " + i + " (" + set.path() + ") is exhausted");
            }
        }
    }

    private static boolean hasFree(RangeSet set, Set<String> taken) {
        for (Range r : set.ranges()) {
            IpAddress a = r.start();
            while (true) {
                if (!a.equals(r.gateway()) && !taken.contains(a.toString())) {
                    return true;
                }
                if (a.equals(r.end())) {
                    break;
                }
                a = a.next();
            }
        }
        return false;
    }

    private static String nearestExisting(String path) {
        File f = new File(path);
        while (f != null && !f.exists()) {
            f = f.getParentFile();
        }
        return f == null ? null : f.getPath();
    }

    // ---- resolv.conf ----

    /** Whitespace-separated words (Go's strings.Fields), without loading java.util.regex. */
    private static List<String> fields(String line) {
        List<String> out = new ArrayList<>();
        int i = 0;
        int n = line.length();
        while (i < n) {
            while (i < n && Character.isWhitespace(line.charAt(i))) {
                i++;
            }
            int start = i;
            while (i < n && !Character.isWhitespace(line.charAt(i))) {
                i++;
            }
            if (i > start) {
                out.add(line.substring(start, i));
            }
        }
        return out;
    }

    static Result.Dns parseResolvConf(String path) throws CniError {
        byte[] data;
        try {
            data = Store.readAll(path, 1 << 20);
        } catch (KernelException e) {
            throw CniError.invalidConfig("ipam.resolvConf: " + e.getMessage());
        }
        if (data == null) {
            throw CniError.invalidConfig("ipam.resolvConf: cannot read " + path + ": no such file");
        }
        List<String> ns = new ArrayList<>();
        List<String> search = new ArrayList<>();
        List<String> options = new ArrayList<>();
        String domain = "";
        for (String raw : new String(data, StandardCharsets.UTF_8).split("\n")) {
            String line = raw.trim();
            if (line.isEmpty() || line.charAt(0) == '#' || line.charAt(0) == ';') {
                continue;
            }
            List<String> fl = fields(line);
            String[] f = fl.toArray(new String[0]);
            if (f.length < 2) {
                continue;
            }
            switch (f[0]) {
                case "nameserver" -> ns.add(f[1]);
                case "domain" -> domain = f[1];
                case "search" -> {
                    for (int i = 1; i < f.length; i++) {
                        search.add(f[i]);
                    }
                }
                case "options" -> {
                    for (int i = 1; i < f.length; i++) {
                        options.add(f[i]);
                    }
                }
                default -> {}
            }
        }
        return new Result.Dns(ns, domain, search, options);
    }
}
