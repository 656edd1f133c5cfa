package io.jcni.netlink.nft;

import io.jcni.netlink.ip.IpAddress;

import java.util.Arrays;

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
    public boolean equals(Object o) {
        return o instanceof NftElement e && intervalEnd == e.intervalEnd && Arrays.equals(key, e.key);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(key) * 31 + (intervalEnd ? 1 : 0);
    }

    @Override
    public String toString() {
        return (intervalEnd ? "end " : "") + SetKeyType.keyText(key);
    }
}
