package io.jcni.plugins.bridge;

import io.jcni.cni.CniError;
import io.jcni.cni.Invocation;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.sys.Fd;

import java.util.ArrayList;
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

    private HostLocalStore store() throws CniError {
        return ipam instanceof Ipam.InProcess ? HostLocalStore.of(inv) : null;
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
        HostLocalStore store = store();
        try (Fd lock = store == null ? null : store.lock()) {
            if (lock != null && !m.missing(List.of()).isEmpty()) {
                List<IpPrefix> subnets = HostLocalStore.subnets(inv);
                for (Map.Entry<IpAddress, String> r : store.owners(inv.network()).entrySet()) {
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

    /** Removes the NAT elements of this attachment (by owner, never by address: it may be another pod's by now). */
    void remove() throws CniError {
        HostLocalStore store = store();
        try (Fd lock = store == null ? null : store.lock()) {
            new Masquerade(trace).removeOwner(owner());
        }
    }

    /**
     * Drops the network's NAT elements whose (address, owner) is no longer a reservation, read
     * under the store's lock so an ADD or DEL cannot change either between the read and the removal.
     */
    void collectGarbage() throws CniError {
        HostLocalStore store = store();
        if (store == null) {
            inv.log("GC: this IPAM cannot list its reservations; NAT elements left as they are");
            return;
        }
        try (Fd lock = store.lock()) {
            Map<IpAddress, String> held = lock == null ? Map.of() : store.owners(inv.network());
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
}
