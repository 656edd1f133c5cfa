package io.jcni.plugins.bridge;

import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.ObjectExistsException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.nft.ChainHook;
import io.jcni.netlink.nft.NftBatch;
import io.jcni.netlink.nft.NftElement;
import io.jcni.netlink.nft.NftSet;
import io.jcni.netlink.nft.Nftables;
import io.jcni.netlink.nft.Rule;
import io.jcni.netlink.nft.SetKeyType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * ipMasq through nftables: one table, {@code inet jcni}, and one postrouting chain serve every
 * network, so a network costs set elements only and nothing of it outlives its last pod:
 *
 * <pre>
 * set pods4  { type ipv4_addr; }                                # a pod address, comment: its attachment
 * set local4 { type ipv4_addr . ipv4_addr; flags interval; }    # a pod address . its own subnet, comment: its attachment
 * set pods6, local6                                             # the same for IPv6
 * chain postrouting { type nat hook postrouting priority srcnat;
 *     ip saddr . ip daddr @local4 return                        # a pod talking to its own subnet keeps its address
 *     ip saddr @pods4 ip daddr != 224.0.0.0/4 masquerade
 *     ip6 saddr . ip6 daddr @local6 return
 *     ip6 saddr @pods6 ip6 daddr != ff00::/8 masquerade }
 * </pre>
 *
 * <p>Every element carries its attachment ({@link Attachment#comment}) and is removed by that
 * owner only, never by address alone: a late DEL of a container whose address was already given
 * to another one leaves the new owner's elements alone, and an ADD takes over an element of its
 * address that a previous owner left behind (add, delete, add in one transaction).
 *
 * <p>Every ADD sends the objects and the four rules again (idempotent, flush and re-add in the
 * same transaction), so a deleted table, chain, set or rule comes back with the next ADD.
 */
final class Masquerade {
    static final String TABLE = "jcni", CHAIN = "postrouting";
    static final String PODS4 = "pods4", PODS6 = "pods6", LOCAL4 = "local4", LOCAL6 = "local6";
    static final List<String> SETS = List.of(PODS4, LOCAL4, PODS6, LOCAL6);
    /** The rules {@link #ensure} puts in the chain. */
    static final int RULES = 4;

    private static final int FAMILY = Nftables.INET;
    private static final IpPrefix MULTICAST4 = IpPrefix.parse("224.0.0.0/4");
    private static final IpPrefix MULTICAST6 = IpPrefix.parse("ff00::/8");

    /** One pod address to masquerade and the owner of its elements. */
    record Entry(IpPrefix address, String owner) {}

    private final Trace trace;

    Masquerade(Trace trace) {
        this.trace = trace;
    }

    static String podSet(boolean v4) {
        return v4 ? PODS4 : PODS6;
    }

    static String localSet(boolean v4) {
        return v4 ? LOCAL4 : LOCAL6;
    }

    /**
     * Masquerades {@code entries}' addresses leaving their subnets, recreating whatever of the
     * table is missing. An element of the same address left by another owner is taken over.
     */
    void add(List<Entry> entries) {
        try (Nftables nft = Nftables.open(trace)) {
            try {
                commitAdd(nft, entries);
            } catch (ObjectExistsException overlap) {
                // A range of the same pod address with another subnet (a stale owner's, from a network
                // with another prefix) overlaps ours: the address is ours now, so drop its ranges and retry.
                dropRangesOf(nft, entries);
                commitAdd(nft, entries);
            }
        }
    }

    private static void commitAdd(Nftables nft, List<Entry> entries) {
        NftBatch b = nft.batch();
        ensure(b);
        for (Entry e : entries) {
            IpAddress a = e.address().address();
            boolean v4 = a.isV4();
            byte[] key = a.bytes();
            String text = a.toString();
            // add (no-op when present), delete, add with our comment: the element is ours whoever had it.
            b.addElement(FAMILY, TABLE, podSet(v4), key, null, null, text);
            b.deleteElement(FAMILY, TABLE, podSet(v4), key, text);
            b.addElement(FAMILY, TABLE, podSet(v4), key, null, e.owner(), text);
            byte[][] range = range(e.address());
            String rtext = a + " . " + e.address().network();
            b.addRangeElement(FAMILY, TABLE, localSet(v4), range[0], range[1], null, rtext);
            b.deleteRangeElement(FAMILY, TABLE, localSet(v4), range[0], range[1], rtext);
            b.addRangeElement(FAMILY, TABLE, localSet(v4), range[0], range[1], e.owner(), rtext);
        }
        b.commit();
    }

    /** The {@code local} element of a pod address: (address . first of its subnet) to (address . last of it). */
    static byte[][] range(IpPrefix address) {
        IpAddress a = address.address();
        IpPrefix net = address.network();
        return new byte[][] {SetKeyType.addressPair(a, net.address()), SetKeyType.addressPair(a, net.lastAddress())};
    }

    private void dropRangesOf(Nftables nft, List<Entry> entries) {
        List<NftElement> doomed = new ArrayList<>();
        List<String> sets = new ArrayList<>();
        for (Entry e : entries) {
            boolean v4 = e.address().isV4();
            byte[] a = e.address().address().bytes();
            for (NftElement el : nft.elements(FAMILY, TABLE, localSet(v4))) {
                if (el.keyEnd() != null && Arrays.equals(Arrays.copyOf(el.key(), a.length), a)) {
                    doomed.add(el);
                    sets.add(localSet(v4));
                }
            }
        }
        delete(nft, sets, doomed);
    }

    /** The table, its sets and its chain with its four rules, idempotently (the rules are rewritten). */
    static void ensure(NftBatch b) {
        b.addTable(FAMILY, TABLE);
        b.addSet(FAMILY, TABLE, PODS4, SetKeyType.IPV4_ADDR, false);
        b.addSet(FAMILY, TABLE, PODS6, SetKeyType.IPV6_ADDR, false);
        b.addSet(FAMILY, TABLE, LOCAL4, SetKeyType.IPV4_ADDR_IPV4_ADDR, true);
        b.addSet(FAMILY, TABLE, LOCAL6, SetKeyType.IPV6_ADDR_IPV6_ADDR, true);
        b.addChain(FAMILY, TABLE, CHAIN, ChainHook.nat("postrouting", 100));
        b.flushChain(FAMILY, TABLE, CHAIN);
        // per family: a pod to its own subnet returns unchanged; a pod to anything else but multicast is masqueraded
        for (boolean v4 : new boolean[] {true, false}) {
            Rule.Field saddr = v4 ? Rule.Field.IP_SADDR : Rule.Field.IP6_SADDR;
            Rule.Field daddr = v4 ? Rule.Field.IP_DADDR : Rule.Field.IP6_DADDR;
            b.addRule(
                    FAMILY,
                    TABLE,
                    CHAIN,
                    Rule.create().pairInSet(saddr, daddr, localSet(v4)).ret(),
                    "jcni ipMasq: a pod to its own subnet");
            b.addRule(
                    FAMILY,
                    TABLE,
                    CHAIN,
                    Rule.create()
                            .inSet(saddr, podSet(v4))
                            .isNot(daddr, v4 ? MULTICAST4 : MULTICAST6)
                            .masquerade(),
                    "jcni ipMasq");
        }
    }

    /**
     * Removes every element whose owner is {@code owner}; none is fine. Returns the pod addresses
     * it stopped masquerading.
     */
    List<IpAddress> removeOwner(String owner) {
        return removeWhere(el -> owner.equals(el.comment()));
    }

    /**
     * Removes {@code owner}'s elements of the pod addresses {@code addresses} (each with its
     * subnet's length), looked up by key: a few requests and one transaction, whatever the number
     * of pods. An element of one of these addresses that another owner holds now stays. Without
     * addresses, every element is looked at ({@link #removeOwner(String)}).
     */
    List<IpAddress> removeOwner(String owner, java.util.Collection<IpPrefix> addresses) {
        if (addresses.isEmpty()) {
            return removeOwner(owner);
        }
        List<IpAddress> removed = new ArrayList<>();
        boolean rangeNotFound = false;
        try (Nftables nft = Nftables.open(trace)) {
            List<String> sets = new ArrayList<>();
            List<NftElement> els = new ArrayList<>();
            for (IpPrefix p : addresses) {
                IpAddress a = p.address();
                boolean v4 = a.isV4();
                NftElement pod;
                NftElement local;
                try {
                    pod = nft.element(FAMILY, TABLE, podSet(v4), a.bytes());
                    byte[][] range = range(p);
                    local = nft.element(FAMILY, TABLE, localSet(v4), range[0], range[1]);
                } catch (NoSuchObjectException noSet) {
                    continue; // the table or set is gone: nothing of anyone's is left there
                }
                if (pod != null && owner.equals(pod.comment())) {
                    sets.add(podSet(v4));
                    els.add(pod);
                    removed.add(a);
                }
                if (local != null && owner.equals(local.comment())) {
                    sets.add(localSet(v4));
                    els.add(local);
                } else if (pod != null && owner.equals(pod.comment())) {
                    rangeNotFound = true; // our address, but its range under another prefix than we were told
                }
            }
            delete(nft, sets, els);
        }
        if (rangeNotFound) {
            removed.addAll(removeOwner(owner)); // what the lookups missed, by a walk over every element
        }
        return removed;
    }

    /**
     * GC: removes every element of {@code network} (by its comment) whose (address, owner) is not
     * in {@code keep}, the reservations (address → owner) the IPAM holds. Returns what it removed.
     */
    List<IpAddress> retainOnly(String network, Map<IpAddress, String> keep) {
        String mine = Attachment.networkTag(network) + "/";
        return removeWhere(el -> el.comment() != null
                && el.comment().startsWith(mine)
                && !el.comment().equals(keep.get(podAddress(el))));
    }

    private static IpAddress podAddress(NftElement el) {
        byte[] k = el.key();
        return IpAddress.of(Arrays.copyOf(k, el.keyEnd() == null ? k.length : k.length / 2));
    }

    private List<IpAddress> removeWhere(java.util.function.Predicate<NftElement> doomed) {
        List<IpAddress> removed = new ArrayList<>();
        try (Nftables nft = Nftables.open(trace)) {
            List<String> sets = new ArrayList<>();
            List<NftElement> els = new ArrayList<>();
            for (String set : SETS) {
                List<NftElement> all;
                try {
                    all = nft.elements(FAMILY, TABLE, set);
                } catch (NoSuchObjectException none) {
                    continue; // the table or set is gone: nothing of anyone's is left there
                }
                for (NftElement el : all) {
                    if (doomed.test(el)) {
                        sets.add(set);
                        els.add(el);
                        if (el.keyEnd() == null) {
                            removed.add(podAddress(el));
                        }
                    }
                }
            }
            delete(nft, sets, els);
        }
        return removed;
    }

    /** Deletes elements in one transaction; if some vanished meanwhile, each on its own. */
    private static void delete(Nftables nft, List<String> sets, List<NftElement> els) {
        if (els.isEmpty()) {
            return;
        }
        try {
            NftBatch b = nft.batch();
            for (int i = 0; i < els.size(); i++) {
                deleteOne(b, sets.get(i), els.get(i));
            }
            b.commit();
        } catch (NoSuchObjectException someAlreadyGone) {
            for (int i = 0; i < els.size(); i++) {
                try {
                    NftBatch b = nft.batch();
                    deleteOne(b, sets.get(i), els.get(i));
                    b.commit();
                } catch (NoSuchObjectException gone) {
                    // already removed
                }
            }
        }
    }

    private static void deleteOne(NftBatch b, String set, NftElement el) {
        if (el.keyEnd() != null) {
            b.deleteRangeElement(FAMILY, TABLE, set, el.key(), el.keyEnd(), el.toString());
        } else {
            b.deleteElement(FAMILY, TABLE, set, el.key(), podAddress(el).toString());
        }
    }

    /**
     * What is missing for {@code entries} to be masqueraded — the table's objects, its rules, an
     * element or its owner — one line each; empty when all is in place.
     */
    List<String> missing(List<Entry> entries) {
        List<String> out = new ArrayList<>();
        try (Nftables nft = Nftables.open(Trace.OFF)) {
            boolean table = false;
            for (io.jcni.netlink.nft.NftTable t : nft.tables()) {
                table |= t.family() == FAMILY && t.name().equals(TABLE);
            }
            if (!table) {
                out.add("nft table inet " + TABLE + " is missing");
                return out;
            }
            Set<String> have = new HashSet<>();
            for (NftSet s : nft.sets(FAMILY, TABLE)) {
                have.add(s.name());
            }
            for (String s : SETS) {
                if (!have.contains(s)) {
                    out.add("nft set inet " + TABLE + " " + s + " is missing");
                }
            }
            try {
                int rules = nft.rules(FAMILY, TABLE, CHAIN).size();
                if (rules != RULES) {
                    out.add("nft chain inet " + TABLE + " " + CHAIN + " has " + rules + " rules, not " + RULES);
                }
            } catch (NoSuchObjectException noChain) {
                out.add("nft chain inet " + TABLE + " " + CHAIN + " is missing");
            }
            if (!out.isEmpty()) {
                return out;
            }
            for (Entry e : entries) {
                IpAddress a = e.address().address();
                NftElement pod = nft.element(FAMILY, TABLE, podSet(a.isV4()), a.bytes());
                if (pod == null || !e.owner().equals(pod.comment())) {
                    out.add("address " + a + " is not masqueraded for " + e.owner() + " (nft set " + podSet(a.isV4())
                            + (pod == null ? "" : " has it for " + pod.comment()) + ")");
                    continue;
                }
                byte[][] range = range(e.address());
                boolean local = false;
                for (NftElement el : nft.elements(FAMILY, TABLE, localSet(a.isV4()))) {
                    local |= Arrays.equals(el.key(), range[0])
                            && Arrays.equals(el.keyEnd(), range[1])
                            && e.owner().equals(el.comment());
                }
                if (!local) {
                    out.add("nft set " + localSet(a.isV4()) + " lacks " + a + " . "
                            + e.address().network() + " for " + e.owner());
                }
            }
        }
        return out;
    }

    /** Whether nftables answers (STATUS). */
    static void probe() {
        try (Nftables nft = Nftables.open(Trace.OFF)) {
            nft.tables();
        }
    }
}
