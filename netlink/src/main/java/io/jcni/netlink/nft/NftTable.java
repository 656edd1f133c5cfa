package io.jcni.netlink.nft;

/** A table as the kernel lists it; {@code family} is {@link Nftables#INET}, {@link Nftables#IP} or {@link Nftables#IP6}. */
public record NftTable(int family, String name, long handle) {
    @Override
    public String toString() {
        return "table " + Nftables.familyName(family) + " " + name;
    }
}
