package io.jcni.plugins.bridge;

import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.nft.ChainHook;
import io.jcni.netlink.nft.NftBatch;
import io.jcni.netlink.nft.NftElement;
import io.jcni.netlink.nft.Nftables;
import io.jcni.netlink.nft.Rule;
import io.jcni.netlink.nft.SetKeyType;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * ipMasq through nftables, O(1) per pod: table {@code inet jcni} holds, per network, a base
 * chain {@code masq_<net>} (nat, postrouting, srcnat) with one rule per family —
 * {@code ip saddr @pods4_<net> ip daddr != 224.0.0.0/4 ip daddr != @local4_<net> masquerade} —
 * and a pod is one set element. The network's subnets go into {@code local4/6_<net>} (interval
 * sets) so pod-to-pod traffic is not masqueraded.
 *
 * <p>Creating the network's objects is idempotent and atomic (add table/chain/sets, flush the
 * chain, add its rules, in one transaction), so concurrent first ADDs cannot duplicate rules.
 * The common path is a single batch that adds the element; only if the network's objects are
 * missing is the set-up batch sent.
 */
final class Masquerade {
    static final String TABLE = "jcni";
    private static final int F = Nftables.INET;
    private static final IpPrefix MULTICAST4 = IpPrefix.parse("224.0.0.0/4");
    private static final IpPrefix MULTICAST6 = IpPrefix.parse("ff00::/8");

    private final Trace trace;

    Masquerade(Trace trace) {
        this.trace = trace;
    }

    /** nft object names for a network: network names allow '-' and '.', nft identifiers do not. */
    static String id(String network) {
        StringBuilder sb = new StringBuilder(network.length());
        boolean changed = false;
        for (int i = 0; i < network.length(); i++) {
            char c = network.charAt(i);
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_') {
                sb.append(c);
            } else {
                sb.append('_');
                changed = true;
            }
        }
        if (changed) {
            long h = 0xcbf29ce484222325L; // FNV-1a keeps "a-b" and "a_b" apart
            for (int i = 0; i < network.length(); i++) {
                h = (h ^ network.charAt(i)) * 0x100000001b3L;
            }
            sb.append('_').append(Long.toHexString(h & 0xffffffL));
        }
        return sb.toString();
    }

    static String podSet(String network, boolean v4) {
        return (v4 ? "pods4_" : "pods6_") + id(network);
    }

    static String localSet(String network, boolean v4) {
        return (v4 ? "local4_" : "local6_") + id(network);
    }

    static String chain(String network) {
        return "masq_" + id(network);
    }

    /** Masquerades traffic from {@code addresses} leaving their subnets. */
    void add(String network, List<IpPrefix> addresses) {
        try (Nftables nft = Nftables.open(trace)) {
            try {
                NftBatch b = nft.batch();
                addElements(b, network, addresses);
                b.commit();
            } catch (NoSuchObjectException firstPodOfNetwork) {
                NftBatch b = nft.batch();
                setUp(b, network);
                addElements(b, network, addresses);
                b.commit();
            }
        }
    }

    private static void addElements(NftBatch b, String network, List<IpPrefix> addresses) {
        for (IpPrefix a : addresses) {
            b.addElements(F, TABLE, podSet(network, a.isV4()), List.of(a.address()));
            b.addPrefixes(F, TABLE, localSet(network, a.isV4()), List.of(a.network()));
        }
    }

    private static void setUp(NftBatch b, String network) {
        String chain = chain(network);
        b.addTable(F, TABLE);
        b.addSet(F, TABLE, podSet(network, true), SetKeyType.IPV4_ADDR, false);
        b.addSet(F, TABLE, podSet(network, false), SetKeyType.IPV6_ADDR, false);
        b.addSet(F, TABLE, localSet(network, true), SetKeyType.IPV4_ADDR, true);
        b.addSet(F, TABLE, localSet(network, false), SetKeyType.IPV6_ADDR, true);
        b.addChain(F, TABLE, chain, ChainHook.nat("postrouting", 100));
        b.flushChain(F, TABLE, chain);
        b.addRule(F, TABLE, chain, Rule.create().inSet(Rule.Field.IP_SADDR, podSet(network, true))
                .isNot(Rule.Field.IP_DADDR, MULTICAST4).notInSet(Rule.Field.IP_DADDR, localSet(network, true))
                .masquerade(), "jcni ipMasq for network " + network);
        b.addRule(F, TABLE, chain, Rule.create().inSet(Rule.Field.IP6_SADDR, podSet(network, false))
                .isNot(Rule.Field.IP6_DADDR, MULTICAST6).notInSet(Rule.Field.IP6_DADDR, localSet(network, false))
                .masquerade(), "jcni ipMasq for network " + network);
    }

    /** Stops masquerading {@code addresses}; addresses (or whole sets) already gone are fine. */
    void remove(String network, List<IpAddress> addresses) {
        if (addresses.isEmpty()) {
            return;
        }
        try (Nftables nft = Nftables.open(trace)) {
            try {
                NftBatch b = nft.batch();
                for (IpAddress a : addresses) {
                    b.deleteElements(F, TABLE, podSet(network, a.isV4()), List.of(a));
                }
                b.commit();
            } catch (NoSuchObjectException someAlreadyGone) {
                // One missing element fails the whole transaction: retry each on its own.
                for (IpAddress a : addresses) {
                    try {
                        nft.batch().deleteElements(F, TABLE, podSet(network, a.isV4()), List.of(a)).commit();
                    } catch (NoSuchObjectException gone) {
                        // already removed
                    }
                }
            }
        }
    }

    /** The addresses masqueraded for {@code network} (both families). */
    List<IpAddress> members(String network) {
        List<IpAddress> out = new ArrayList<>();
        try (Nftables nft = Nftables.open(Trace.OFF)) {
            for (boolean v4 : new boolean[] {true, false}) {
                try {
                    for (NftElement e : nft.elements(F, TABLE, podSet(network, v4))) {
                        if (e.address() != null) {
                            out.add(e.address());
                        }
                    }
                } catch (NoSuchObjectException none) {
                    // no pod of this family yet
                }
            }
        }
        return out;
    }

    /** GC: removes every member not in {@code keep}. */
    List<IpAddress> retainOnly(String network, Set<IpAddress> keep) {
        List<IpAddress> stale = new ArrayList<>();
        for (IpAddress a : members(network)) {
            if (!keep.contains(a)) {
                stale.add(a);
            }
        }
        remove(network, stale);
        return stale;
    }
}
