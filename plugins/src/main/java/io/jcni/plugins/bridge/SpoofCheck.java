package io.jcni.plugins.bridge;

import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.MacAddress;
import io.jcni.netlink.nft.ChainHook;
import io.jcni.netlink.nft.NftBatch;
import io.jcni.netlink.nft.NftElement;
import io.jcni.netlink.nft.Nftables;
import io.jcni.netlink.nft.Rule;
import io.jcni.netlink.nft.SetKeyType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * macspoofchk, O(1) per pod: table {@code bridge jcni_spoofchk} has one rule,
 * {@code iifname @ports iifname . ether saddr != @allowed drop}, in a prerouting filter chain
 * (priority -300, as the reference). A pod adds its host port to {@code ports} and the pair
 * (port, container MAC) to {@code allowed}: frames from that port with any other source MAC are
 * dropped before the bridge forwards them. The reference adds two chains and three rules per pod.
 */
final class SpoofCheck {
    static final String TABLE = "jcni_spoofchk", CHAIN = "prerouting", PORTS = "ports", ALLOWED = "allowed";
    private static final int FAMILY = Nftables.BRIDGE;

    private final Trace trace;

    SpoofCheck(Trace trace) {
        this.trace = trace;
    }

    /** Lets only {@code mac} send from bridge port {@code hostVeth}. */
    void add(String hostVeth, MacAddress mac) {
        try (Nftables nft = Nftables.open(trace)) {
            try {
                elements(nft.batch(), hostVeth, mac).commit();
            } catch (NoSuchObjectException firstPod) {
                NftBatch b = nft.batch()
                        .addTable(FAMILY, TABLE)
                        .addChain(FAMILY, TABLE, CHAIN, ChainHook.filter("prerouting", -300))
                        .addSet(FAMILY, TABLE, PORTS, SetKeyType.IFNAME, false)
                        .addSet(FAMILY, TABLE, ALLOWED, SetKeyType.IFNAME_ETHER_ADDR, false)
                        .flushChain(FAMILY, TABLE, CHAIN)
                        .addRule(
                                FAMILY,
                                TABLE,
                                CHAIN,
                                Rule.create()
                                        .iifnameInSet(PORTS)
                                        .iifnameEtherSaddrNotInSet(ALLOWED)
                                        .drop(),
                                "jcni macspoofchk");
                elements(b, hostVeth, mac).commit();
            }
        }
    }

    private static NftBatch elements(NftBatch b, String hostVeth, MacAddress mac) {
        return b.addElementKeys(FAMILY, TABLE, PORTS, List.of(SetKeyType.ifname(hostVeth)), "\"" + hostVeth + "\"")
                .addElementKeys(
                        FAMILY,
                        TABLE,
                        ALLOWED,
                        List.of(SetKeyType.ifnameEther(hostVeth, mac)),
                        "\"" + hostVeth + "\" . " + mac);
    }

    /** Removes every entry of the ports {@code hostVeths}; ones already gone are fine. */
    void remove(List<String> hostVeths) {
        try (Nftables nft = Nftables.open(trace)) {
            List<NftElement> allowed;
            try {
                allowed = nft.elements(FAMILY, TABLE, ALLOWED);
            } catch (NoSuchObjectException noTable) {
                return; // spoof checking was never set up here
            }
            for (String port : hostVeths) {
                byte[] name = SetKeyType.ifname(port);
                for (NftElement e : allowed) {
                    if (e.key().length == 24 && Arrays.equals(Arrays.copyOf(e.key(), 16), name)) {
                        deleteQuietly(
                                nft,
                                ALLOWED,
                                e.key(),
                                "\"" + port + "\" . " + MacAddress.of(Arrays.copyOfRange(e.key(), 16, 22)));
                    }
                }
                deleteQuietly(nft, PORTS, name, "\"" + port + "\"");
            }
        }
    }

    private static void deleteQuietly(Nftables nft, String set, byte[] key, String text) {
        try {
            nft.batch()
                    .deleteElementKeys(FAMILY, TABLE, set, List.of(key), text)
                    .commit();
        } catch (NoSuchObjectException gone) {
            // already removed
        }
    }

    /** True when port {@code hostVeth} is checked and {@code mac} is its allowed source. */
    boolean covers(String hostVeth, MacAddress mac) {
        try (Nftables nft = Nftables.open(Trace.OFF)) {
            byte[] want = SetKeyType.ifnameEther(hostVeth, mac);
            boolean port = false, pair = false;
            for (NftElement e : nft.elements(FAMILY, TABLE, PORTS)) {
                port |= Arrays.equals(e.key(), SetKeyType.ifname(hostVeth));
            }
            for (NftElement e : nft.elements(FAMILY, TABLE, ALLOWED)) {
                pair |= Arrays.equals(e.key(), want);
            }
            return port && pair;
        } catch (NoSuchObjectException noTable) {
            return false;
        }
    }

    static List<String> names(String... candidates) {
        List<String> out = new ArrayList<>();
        for (String c : candidates) {
            if (c != null && !c.isEmpty() && !out.contains(c)) {
                out.add(c);
            }
        }
        return out;
    }
}
