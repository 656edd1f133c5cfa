package io.jcni.netlink.nft;

import io.jcni.netlink.ip.IpAddress;

/**
 * A set element as the kernel lists it: its key bytes, the key as an address when the set's key
 * is an address (else null), and whether it closes an interval (NFT_SET_ELEM_INTERVAL_END).
 */
public record NftElement(byte[] key, IpAddress address, boolean intervalEnd) {
    @Override
    public byte[] key() {
        return key.clone();
    }

    @Override
    public String toString() {
        return (intervalEnd ? "end " : "") + SetKeyType.keyText(key);
    }
}
