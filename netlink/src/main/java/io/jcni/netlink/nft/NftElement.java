package io.jcni.netlink.nft;

import io.jcni.netlink.ip.IpAddress;
import java.util.Arrays;
import java.util.Objects;

/**
 * A set element as the kernel lists it: its key bytes, the key as an address when the set's key
 * is an address (else null), whether it closes an interval (NFT_SET_ELEM_INTERVAL_END), and for
 * map elements the data bytes (null in a plain set); its comment, or null; and in an interval
 * set with a concatenated key, the range's end key (NFTA_SET_ELEM_KEY_END), else null.
 */
public record NftElement(
        byte[] key, IpAddress address, boolean intervalEnd, byte[] data, String comment, byte[] keyEnd) {
    public NftElement(byte[] key, IpAddress address, boolean intervalEnd) {
        this(key, address, intervalEnd, null, null, null);
    }

    public NftElement(byte[] key, IpAddress address, boolean intervalEnd, byte[] data, String comment) {
        this(key, address, intervalEnd, data, comment, null);
    }

    @Override
    public byte[] keyEnd() {
        return keyEnd == null ? null : keyEnd.clone();
    }

    @Override
    public byte[] key() {
        return key.clone();
    }

    @Override
    public byte[] data() {
        return data == null ? null : data.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NftElement e
                && intervalEnd == e.intervalEnd
                && Arrays.equals(key, e.key)
                && Arrays.equals(data, e.data)
                && Objects.equals(comment, e.comment)
                && Arrays.equals(keyEnd, e.keyEnd);
    }

    @Override
    public int hashCode() {
        return (Arrays.hashCode(key) * 31 + Arrays.hashCode(data)) * 31 + (intervalEnd ? 1 : 0);
    }

    @Override
    public String toString() {
        return (intervalEnd ? "end " : "")
                + SetKeyType.keyText(key)
                + (keyEnd == null ? "" : "-" + SetKeyType.keyText(keyEnd))
                + (comment == null ? "" : " comment \"" + comment + "\"")
                + (data == null ? "" : " : " + SetKeyType.keyText(data));
    }
}
