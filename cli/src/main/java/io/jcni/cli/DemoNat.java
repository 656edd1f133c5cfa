package io.jcni.cli;

import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.nft.ChainHook;
import io.jcni.netlink.nft.Nftables;
import io.jcni.netlink.nft.Rule;
import io.jcni.netlink.nft.SetKeyType;
import java.util.List;

/**
 * The demo's masquerade, the way jcni's bridge plugin does it: one table, a set holding the
 * pods' addresses and a single rule, applied as one nftables transaction.
 */
final class DemoNat {
    private DemoNat() {}

    static void enable(Trace trace) {
        try (Nftables nft = Nftables.open(trace)) {
            nft.batch()
                    .addTable(Nftables.IP, DemoCommand.NFT_TABLE)
                    .addChain(
                            Nftables.IP,
                            DemoCommand.NFT_TABLE,
                            DemoCommand.NFT_CHAIN,
                            ChainHook.nat("postrouting", 100))
                    .addSet(Nftables.IP, DemoCommand.NFT_TABLE, DemoCommand.NFT_SET, SetKeyType.IPV4_ADDR, false)
                    .addElements(
                            Nftables.IP,
                            DemoCommand.NFT_TABLE,
                            DemoCommand.NFT_SET,
                            List.of(DemoCommand.POD1_IP, DemoCommand.POD2_IP))
                    .addRule(
                            Nftables.IP,
                            DemoCommand.NFT_TABLE,
                            DemoCommand.NFT_CHAIN,
                            Rule.create()
                                    .inSet(Rule.Field.IP_SADDR, DemoCommand.NFT_SET)
                                    .isNot(Rule.Field.IP_DADDR, DemoCommand.POD_NET)
                                    .masquerade(),
                            "jcni demo: pods leaving the node")
                    .commit();
        }
    }

    static void disable(Trace trace) {
        try (Nftables nft = Nftables.open(trace)) {
            nft.batch().deleteTable(Nftables.IP, DemoCommand.NFT_TABLE).commit();
        } catch (NoSuchObjectException gone) {
            // never created, or already removed
        }
    }
}
