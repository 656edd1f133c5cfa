package io.jcni.netlink.ip;

import java.math.BigInteger;
import java.util.Arrays;

/**
 * An IPv4 or IPv6 address as its network-order bytes. Parsed and printed here rather than with
 * {@link java.net.InetAddress}, which drags name-service machinery into the plugin's start-up and
 * accepts host names where only literals are valid.
 */
public final class IpAddress implements Comparable<IpAddress> {
    private final byte[] bytes;

    private IpAddress(byte[] bytes) {
        this.bytes = bytes;
    }

    /** From 4 or 16 network-order bytes (copied). */
    public static IpAddress of(byte[] bytes) {
        if (bytes.length != 4 && bytes.length != 16) {
            throw new IllegalArgumentException("an IP address has 4 or 16 bytes, not " + bytes.length);
        }
        return new IpAddress(bytes.clone());
    }

    /** Parses a literal ({@code 10.1.2.3}, {@code fd00::1}, {@code ::ffff:1.2.3.4}); throws IllegalArgumentException otherwise. */
    public static IpAddress parse(String text) {
        byte[] b = text.indexOf(':') >= 0 ? parse6(text) : parse4(text);
        if (b == null) {
            throw new IllegalArgumentException("invalid IP address: \"" + text + "\"");
        }
        return new IpAddress(b);
    }

    /** Like {@link #parse} but null for anything that is not a literal. */
    public static IpAddress tryParse(String text) {
        if (text == null) {
            return null;
        }
        byte[] b = text.indexOf(':') >= 0 ? parse6(text) : parse4(text);
        return b == null ? null : new IpAddress(b);
    }

    private static byte[] parse4(String s) {
        byte[] out = new byte[4];
        int part = 0, value = -1, digits = 0;
        for (int i = 0; i <= s.length(); i++) {
            char c = i < s.length() ? s.charAt(i) : '.';
            if (c >= '0' && c <= '9') {
                if (digits > 0 && value == 0) {
                    return null; // leading zeros are ambiguous (octal in some parsers): refuse
                }
                value = (value < 0 ? 0 : value * 10) + (c - '0');
                if (value > 255 || ++digits > 3) {
                    return null;
                }
            } else if (c == '.') {
                if (value < 0 || part > 3) {
                    return null;
                }
                out[part++] = (byte) value;
                value = -1;
                digits = 0;
            } else {
                return null;
            }
        }
        return part == 4 ? out : null;
    }

    private static byte[] parse6(String s) {
        if (s.isEmpty() || s.length() > 45) {
            return null;
        }
        byte[] out = new byte[16];
        int pos = 0, gap = -1, i = 0, n = s.length();
        if (s.startsWith("::")) {
            gap = 0;
            i = 2;
            if (n == 2) {
                return out;
            }
        } else if (s.charAt(0) == ':') {
            return null;
        }
        while (i < n) {
            int end = i;
            while (end < n && s.charAt(end) != ':') {
                end++;
            }
            String group = s.substring(i, end);
            if (group.indexOf('.') >= 0) {
                if (end != n || pos > 12) {
                    return null;
                }
                byte[] v4 = parse4(group);
                if (v4 == null) {
                    return null;
                }
                System.arraycopy(v4, 0, out, pos, 4);
                pos += 4;
                i = n;
                break;
            }
            if (group.isEmpty() || group.length() > 4 || pos > 14) {
                return null;
            }
            int v = 0;
            for (int k = 0; k < group.length(); k++) {
                int d = Character.digit(group.charAt(k), 16);
                if (d < 0) {
                    return null;
                }
                v = v * 16 + d;
            }
            out[pos++] = (byte) (v >> 8);
            out[pos++] = (byte) v;
            if (end == n) {
                i = n;
            } else if (end + 1 < n && s.charAt(end + 1) == ':') {
                if (gap >= 0) {
                    return null;
                }
                gap = pos;
                i = end + 2;
            } else if (end + 1 == n) {
                return null; // trailing single ':'
            } else {
                i = end + 1;
            }
        }
        if (gap >= 0) {
            int tail = pos - gap;
            if (pos == 16) {
                return null; // "::" must stand for at least one group
            }
            System.arraycopy(out, gap, out, 16 - tail, tail);
            Arrays.fill(out, gap, 16 - tail, (byte) 0);
        } else if (pos != 16) {
            return null;
        }
        return out;
    }

    public boolean isV4() {
        return bytes.length == 4;
    }

    public boolean isV6() {
        return bytes.length == 16;
    }

    /** Bits in an address of this family: 32 or 128. */
    public int bits() {
        return bytes.length * 8;
    }

    /** A copy of the network-order bytes. */
    public byte[] bytes() {
        return bytes.clone();
    }

    /** The address plus {@code delta} (may be negative), wrapping within the family's space. */
    public IpAddress add(long delta) {
        byte[] b = bytes.clone();
        long carry = delta;
        for (int i = b.length - 1; i >= 0 && carry != 0; i--) {
            long sum = (b[i] & 0xff) + (carry & 0xff);
            b[i] = (byte) sum;
            carry = (carry >> 8) + (sum >> 8);
        }
        return new IpAddress(b);
    }

    public IpAddress next() {
        return add(1);
    }

    public IpAddress previous() {
        return add(-1);
    }

    /** The address as an unsigned integer (for range arithmetic). */
    public BigInteger toBigInteger() {
        return new BigInteger(1, bytes);
    }

    @Override
    public int compareTo(IpAddress o) {
        if (bytes.length != o.bytes.length) {
            return Integer.compare(bytes.length, o.bytes.length);
        }
        return Arrays.compareUnsigned(bytes, o.bytes);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IpAddress a && Arrays.equals(bytes, a.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    /** Dotted quad for IPv4; RFC 5952 canonical text for IPv6 (what Go and iproute2 print). */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(39);
        if (isV4()) {
            for (int i = 0; i < 4; i++) {
                if (i > 0) {
                    sb.append('.');
                }
                sb.append(bytes[i] & 0xff);
            }
            return sb.toString();
        }
        int[] g = new int[8];
        for (int i = 0; i < 8; i++) {
            g[i] = ((bytes[2 * i] & 0xff) << 8) | (bytes[2 * i + 1] & 0xff);
        }
        int bestStart = -1, bestLen = 1;
        for (int i = 0; i < 8; ) {
            if (g[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && g[j] == 0) {
                j++;
            }
            if (j - i > bestLen) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j;
        }
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(g[i]));
        }
        return sb.toString();
    }
}
