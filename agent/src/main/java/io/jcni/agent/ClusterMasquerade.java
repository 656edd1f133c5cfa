package io.jcni.agent;

import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.nft.ChainHook;
import io.jcni.netlink.nft.NftBatch;
import io.jcni.netlink.nft.NftChain;
import io.jcni.netlink.nft.NftRule;
import io.jcni.netlink.nft.NftTable;
import io.jcni.netlink.nft.Nftables;
import io.jcni.netlink.nft.Rule;
import java.util.ArrayList;
import java.util.List;

/**
 * The cluster's masquerade, flannel's rules in the table {@code inet jcni_cluster}, chain
 * {@code postrouting} (nat, srcnat):
 * <pre>
 * ip saddr NETWORK ip daddr NETWORK return                          # pod to pod: never NAT
 * ip saddr NETWORK ip daddr != 224.0.0.0/4 masquerade               # pod to outside
 * ip saddr != NETWORK ip daddr NETWORK ip daddr != OWN masquerade   # host/outside to another node's pod
 * </pre>
 * Each rule's comment names what it does and the prefixes it was made for, so the listing tells
 * whether the table is exactly as wanted; when it is not, the whole table is replaced in one
 * transaction (no moment without the rules). The table is wholly this agent's.
 */
final class ClusterMasquerade {
    static final String CHAIN = "postrouting";
    private static final int F = Nftables.INET;
    private static final ChainHook HOOK = ChainHook.nat("postrouting", 100);
    private static final IpPrefix MULTICAST4 = IpPrefix.parse("224.0.0.0/4");

    private final Nftables nft;

    ClusterMasquerade(Nftables nft) {
        this.nft = nft;
    }

    private record Wanted(Rule rule, String comment) {}

    private static List<Wanted> wanted(IpPrefix network, IpPrefix own) {
        IpPrefix n = network.network();
        IpPrefix o = own.network();
        return List.of(
                new Wanted(
                        Rule.create()
                                .is(Rule.Field.IP_SADDR, n)
                                .is(Rule.Field.IP_DADDR, n)
                                .ret(),
                        "jcni cluster " + n + ": pod to pod, no NAT"),
                new Wanted(
                        Rule.create()
                                .is(Rule.Field.IP_SADDR, n)
                                .isNot(Rule.Field.IP_DADDR, MULTICAST4)
                                .masquerade(),
                        "jcni cluster " + n + ": pod to outside, masquerade"),
                new Wanted(
                        Rule.create()
                                .isNot(Rule.Field.IP_SADDR, n)
                                .is(Rule.Field.IP_DADDR, n)
                                .isNot(Rule.Field.IP_DADDR, o)
                                .masquerade(),
                        "jcni cluster " + n + ": to pods of other nodes than " + o + ", masquerade"));
    }

    boolean tableExists() {
        for (NftTable t : nft.tables()) {
            if (t.family() == F && t.name().equals(Dataplane.NFT_TABLE)) {
                return true;
            }
        }
        return false;
    }

    /** Whether the existing table holds exactly the wanted chain and rules (nothing else). */
    private boolean upToDate(List<Wanted> wanted) {
        List<NftChain> chains = nft.chains(F, Dataplane.NFT_TABLE);
        if (chains.size() != 1
                || !chains.get(0).name().equals(CHAIN)
                || !HOOK.equals(chains.get(0).hook())
                || !nft.sets(F, Dataplane.NFT_TABLE).isEmpty()) {
            return false;
        }
        List<NftRule> rules = nft.rules(F, Dataplane.NFT_TABLE, CHAIN);
        if (rules.size() != wanted.size()) {
            return false;
        }
        for (int i = 0; i < rules.size(); i++) {
            if (!wanted.get(i).comment().equals(rules.get(i).comment())) {
                return false;
            }
        }
        return true;
    }

    /** Makes the table exactly as wanted when it is not; records the commands in {@code pass}. */
    void ensure(Pass pass, IpPrefix network, IpPrefix own) {
        List<Wanted> wanted = wanted(network, own);
        boolean exists = tableExists();
        if (exists && upToDate(wanted)) {
            return;
        }
        String t = Nftables.familyName(F) + " " + Dataplane.NFT_TABLE;
        // "add; delete; add" in one transaction: replaces whatever is there, or creates it, atomically.
        NftBatch b = nft.batch()
                .addTable(F, Dataplane.NFT_TABLE)
                .deleteTable(F, Dataplane.NFT_TABLE)
                .addTable(F, Dataplane.NFT_TABLE)
                .addChain(F, Dataplane.NFT_TABLE, CHAIN, HOOK);
        List<String> commands = new ArrayList<>();
        if (exists) {
            commands.add("nft delete table " + t);
        }
        commands.add("nft add table " + t);
        commands.add(
                "nft 'add chain " + t + " " + CHAIN + " { type nat hook postrouting priority 100 ; policy accept ; }'");
        for (Wanted w : wanted) {
            b.addRule(F, Dataplane.NFT_TABLE, CHAIN, w.rule(), w.comment());
            commands.add(
                    "nft 'add rule " + t + " " + CHAIN + " " + w.rule().text(F) + " comment \"" + w.comment() + "\"'");
        }
        b.commit();
        commands.forEach(pass::changed);
    }

    /** Deletes the table if it exists; records the command in {@code pass}. */
    void remove(Pass pass) {
        if (tableExists()) {
            nft.batch().deleteTable(F, Dataplane.NFT_TABLE).commit();
            pass.changed("nft delete table " + Nftables.familyName(F) + " " + Dataplane.NFT_TABLE);
        }
    }
}
