package io.jcni.plugins.bridge;

import io.jcni.cni.CniError;
import io.jcni.cni.ConfigObject;
import io.jcni.cni.Invocation;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.sys.Fd;
import io.jcni.plugins.hostlocal.Reservations;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The bridge's NAT duty: an attachment's masquerade elements ({@link Masquerade}), kept in step
 * with its IPAM reservation. When IPAM is the in-process host-local, every change here is made
 * under the store's lock, so GC's comparison of elements with reservations never sees half an ADD
 * or half a DEL.
 */
final class PodNat {
    private final Trace trace;
    private final Invocation inv;
    private final Ipam ipam;

    PodNat(Trace trace, Invocation inv, Ipam ipam) {
        this.trace = trace;
        this.inv = inv;
        this.ipam = ipam;
    }

    private String owner() {
        return Attachment.comment(inv.network(), inv.containerId(), inv.ifname());
    }

    /** The in-process host-local's store, or null for an IPAM whose reservations this plugin cannot read. */
    private Reservations store() throws CniError {
        return ipam instanceof Ipam.InProcess ? Reservations.of(inv.config().object("ipam"), inv.network()) : null;
    }

    /** Every reservation of the network: address → the NAT comment of its owner. Hold the store's lock. */
    private Map<IpAddress, String> owners(Reservations store) {
        Map<IpAddress, String> out = new HashMap<>();
        store.owners().forEach((a, o) -> out.put(a, Attachment.comment(inv.network(), o.containerId(), o.ifname())));
        return out;
    }

    /**
     * Masquerades the pod's addresses. When the table's objects were missing (a flushed ruleset,
     * a deleted table, chain or set), the elements of every pod of this network are put back too,
     * derived from the store: each reservation's address, its owner, and the configured subnet
     * that holds it.
     */
    void add(List<IpPrefix> addresses) throws CniError {
        String owner = owner();
        List<Masquerade.Entry> entries = new ArrayList<>();
        for (IpPrefix p : addresses) {
            entries.add(new Masquerade.Entry(p, owner));
        }
        Masquerade m = new Masquerade(trace);
        Reservations store = store();
        try (Fd lock = store == null ? null : store.lock()) {
            if (lock != null && !m.missing(List.of()).isEmpty()) {
                List<IpPrefix> subnets = subnets();
                for (Map.Entry<IpAddress, String> r : owners(store).entrySet()) {
                    if (r.getValue().equals(owner)) {
                        continue;
                    }
                    for (IpPrefix net : subnets) {
                        if (net.contains(r.getKey())) {
                            entries.add(new Masquerade.Entry(new IpPrefix(r.getKey(), net.length()), r.getValue()));
                            inv.log("ADD: restoring the NAT elements of " + r.getKey() + " (" + r.getValue() + ")");
                            break;
                        }
                    }
                }
            }
            m.add(entries);
        }
    }

    /**
     * Removes the NAT elements of this attachment, matched by owner, never by address alone (the
     * address may be another pod's by now). The addresses to look at are {@code known} (from
     * prevResult) and those the attachment still has reserved, so the removal costs a few
     * lookups, not a walk over every pod's elements; with neither, every element is looked at.
     */
    void remove(List<IpPrefix> known) throws CniError {
        Reservations store = store();
        try (Fd lock = store == null ? null : store.lock()) {
            java.util.Set<IpPrefix> addresses = new java.util.LinkedHashSet<>(known);
            if (lock != null) {
                List<IpPrefix> subnets = subnets();
                for (IpAddress a : store.addressesOf(inv.containerId(), inv.ifname())) {
                    IpPrefix net = subnets.stream()
                            .filter(n -> n.contains(a))
                            .findFirst()
                            .orElse(null);
                    if (net == null) {
                        // reserved outside today's configured subnets (the configuration changed):
                        // its range element's key is unknown, so look at every element instead
                        addresses.clear();
                        break;
                    }
                    addresses.add(new IpPrefix(a, net.length()));
                }
            }
            new Masquerade(trace).removeOwner(owner(), addresses);
        }
    }

    /**
     * Drops the network's NAT elements whose (address, owner) is no longer a reservation, read
     * under the store's lock so an ADD or DEL cannot change either between the read and the removal.
     */
    void collectGarbage() throws CniError {
        Reservations store = store();
        if (store == null) {
            inv.log("GC: this IPAM cannot list its reservations; NAT elements left as they are");
            return;
        }
        try (Fd lock = store.lock()) {
            Map<IpAddress, String> held = lock == null ? Map.of() : owners(store);
            for (IpAddress gone : new Masquerade(trace).retainOnly(inv.network(), held)) {
                inv.log("GC: removed the NAT elements of " + gone);
            }
        }
    }

    /** The attachment's elements that CHECK finds missing, each named; empty when all are there. */
    List<String> missing(List<IpPrefix> addresses) {
        List<Masquerade.Entry> entries = new ArrayList<>();
        for (IpPrefix a : addresses) {
            entries.add(new Masquerade.Entry(a, owner()));
        }
        return new Masquerade(Trace.OFF).missing(entries);
    }

    /** The configured subnets (runtimeConfig.ipRanges, the legacy {@code subnet}, {@code ranges}); bad ones skipped. */
    private List<IpPrefix> subnets() throws CniError {
        List<IpPrefix> out = new ArrayList<>();
        ConfigObject runtime = inv.config().object("runtimeConfig");
        if (runtime != null) {
            collect(runtime, "ipRanges", out);
        }
        ConfigObject ipam = inv.config().object("ipam");
        if (ipam != null) {
            add(ipam.string("subnet", ""), out);
            collect(ipam, "ranges", out);
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static void collect(ConfigObject parent, String key, List<IpPrefix> out) throws CniError {
        List<Object> sets = parent.list(key);
        if (sets == null) {
            return;
        }
        for (Object set : sets) {
            if (set instanceof List<?> ranges) {
                for (Object r : ranges) {
                    if (r instanceof Map<?, ?> m && m.get("subnet") instanceof String subnet) {
                        add(subnet, out);
                    }
                }
            }
        }
    }

    private static void add(String subnet, List<IpPrefix> out) {
        if (!subnet.isEmpty()) {
            try {
                out.add(IpPrefix.parse(subnet).network());
            } catch (RuntimeException bad) {
                // not a prefix: host-local refuses it on its own
            }
        }
    }
}
