package io.jcni.netlink.nft;

/** A chain as the kernel lists it; {@code hook} is null for a regular (non-base) chain. */
public record NftChain(int family, String table, String name, long handle, ChainHook hook) {
    @Override
    public String toString() {
        return "chain " + Nftables.familyName(family) + " " + table + " " + name;
    }
}
