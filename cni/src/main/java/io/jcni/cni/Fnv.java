package io.jcni.cni;

/**
 * FNV-1a, 64 bits, over a string's UTF-16 units: the short, stable hash behind the names jcni
 * derives (a host veth's {@code veth<8 hex>}, an owner tag for a long network name). Not a
 * security measure: names derived from it can collide, so what is deleted by such a name is
 * checked against its full owner tag first.
 */
public final class Fnv {
    private static final long OFFSET_BASIS = 0xcbf29ce484222325L;
    private static final long PRIME = 0x100000001b3L;

    private Fnv() {}

    public static long hash64(String s) {
        long h = OFFSET_BASIS;
        for (int i = 0; i < s.length(); i++) {
            h = (h ^ s.charAt(i)) * PRIME;
        }
        return h;
    }

    /** The low 32 bits as 8 hex digits, leading zeros kept. */
    public static String hex8(long h) {
        return Long.toHexString((h & 0xffffffffL) | 0x100000000L).substring(1);
    }
}
