package io.jcni.netlink.ip;

import java.util.Arrays;

/** A 6-byte Ethernet address, printed lower-case colon-separated as iproute2 does. */
public final class MacAddress {
    private final byte[] bytes;

    private MacAddress(byte[] b) {
        this.bytes = b;
    }

    public static MacAddress of(byte[] b) {
        if (b.length != 6) {
            throw new IllegalArgumentException("a MAC address has 6 bytes, not " + b.length);
        }
        return new MacAddress(b.clone());
    }

    public static MacAddress parse(String s) {
        String[] parts = s.split("[:-]", -1);
        if (parts.length != 6) {
            throw new IllegalArgumentException("invalid MAC address: \"" + s + "\"");
        }
        byte[] b = new byte[6];
        for (int i = 0; i < 6; i++) {
            if (parts[i].length() != 2) {
                throw new IllegalArgumentException("invalid MAC address: \"" + s + "\"");
            }
            int hi = Character.digit(parts[i].charAt(0), 16), lo = Character.digit(parts[i].charAt(1), 16);
            if (hi < 0 || lo < 0) {
                throw new IllegalArgumentException("invalid MAC address: \"" + s + "\"");
            }
            b[i] = (byte) (hi * 16 + lo);
        }
        return new MacAddress(b);
    }

    public byte[] bytes() {
        return bytes.clone();
    }

    /** True for a locally administered unicast address (what jcni generates). */
    public boolean isLocalUnicast() {
        return (bytes[0] & 0x03) == 0x02;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MacAddress m && Arrays.equals(bytes, m.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(17);
        for (int i = 0; i < 6; i++) {
            if (i > 0) {
                sb.append(':');
            }
            sb.append(Character.forDigit((bytes[i] >> 4) & 0xf, 16)).append(Character.forDigit(bytes[i] & 0xf, 16));
        }
        return sb.toString();
    }
}
