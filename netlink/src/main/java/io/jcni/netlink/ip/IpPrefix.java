package io.jcni.netlink.ip;

/**
 * An address with a prefix length, as written {@code 10.1.2.3/24}. The address keeps its host
 * bits (an interface address); {@link #network()} gives the masked form (a subnet or route).
 */
public record IpPrefix(IpAddress address, int length) {
    public IpPrefix {
        if (address == null) {
            throw new IllegalArgumentException("prefix without an address");
        }
        if (length < 0 || length > address.bits()) {
            throw new IllegalArgumentException("prefix length " + length + " is out of range for " + address);
        }
    }

    /** Parses {@code ADDR/LEN}; throws IllegalArgumentException with the offending text. */
    public static IpPrefix parse(String text) {
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("invalid CIDR address: \"" + text + "\" (no /length)");
        }
        IpAddress a = IpAddress.tryParse(text.substring(0, slash));
        String len = text.substring(slash + 1);
        if (a == null || len.isEmpty() || len.length() > 3 || !allDigits(len)) {
            throw new IllegalArgumentException("invalid CIDR address: \"" + text + "\"");
        }
        int l = Integer.parseInt(len);
        if (l > a.bits()) {
            throw new IllegalArgumentException("invalid CIDR address: \"" + text + "\" (length over " + a.bits() + ")");
        }
        return new IpPrefix(a, l);
    }

    private static boolean allDigits(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return false;
            }
        }
        return true;
    }

    /** A host prefix: /32 or /128. */
    public static IpPrefix host(IpAddress a) {
        return new IpPrefix(a, a.bits());
    }

    public boolean isV4() {
        return address.isV4();
    }

    /** The prefix with host bits cleared. */
    public IpPrefix network() {
        byte[] b = address.bytes();
        for (int bit = length; bit < b.length * 8; bit++) {
            b[bit / 8] &= (byte) ~(0x80 >> (bit % 8));
        }
        return new IpPrefix(IpAddress.of(b), length);
    }

    /** The last address of the prefix (the IPv4 broadcast address). */
    public IpAddress lastAddress() {
        byte[] b = address.bytes();
        for (int bit = length; bit < b.length * 8; bit++) {
            b[bit / 8] |= (byte) (0x80 >> (bit % 8));
        }
        return IpAddress.of(b);
    }

    public boolean contains(IpAddress a) {
        if (a.isV4() != address.isV4()) {
            return false;
        }
        return new IpPrefix(a, length).network().address().equals(network().address());
    }

    public boolean overlaps(IpPrefix other) {
        if (other.isV4() != isV4()) {
            return false;
        }
        return contains(other.network().address()) || other.contains(network().address());
    }

    @Override
    public String toString() {
        return address + "/" + length;
    }
}
