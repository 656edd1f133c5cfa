package io.jcni.netlink.nft;

/**
 * A set as the kernel lists it. {@code keyType} is null for key types jcni does not use
 * ({@code nftKeyType} holds nft's number then); {@code flags} are NFT_SET_* bits.
 */
public record NftSet(
        int family,
        String table,
        String name,
        long handle,
        SetKeyType keyType,
        int nftKeyType,
        int keyLength,
        int flags) {
    public boolean isInterval() {
        return (flags & Nft.NFT_SET_INTERVAL) != 0;
    }

    public boolean isAnonymous() {
        return (flags & Nft.NFT_SET_ANONYMOUS) != 0;
    }

    @Override
    public String toString() {
        return "set " + Nftables.familyName(family) + " " + table + " " + name;
    }
}
