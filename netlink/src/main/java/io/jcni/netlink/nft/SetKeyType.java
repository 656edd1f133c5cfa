package io.jcni.netlink.nft;

import io.jcni.netlink.ip.IpAddress;

/**
 * The key types jcni's sets use, with nft's datatype numbers (concatenations are
 * {@code (type1 << 6) | type2}) and the key length the kernel sees (each field padded to 4 bytes).
 */
public enum SetKeyType {
    IPV4_ADDR("ipv4_addr", 7, 4, null),
    IPV6_ADDR("ipv6_addr", 8, 16, null),
    INET_SERVICE("inet_service", 13, 2, null),
    IPV4_ADDR_INET_SERVICE("ipv4_addr . inet_service", (7 << 6) | 13, 8, new int[] {4, 2}),
    IPV6_ADDR_INET_SERVICE("ipv6_addr . inet_service", (8 << 6) | 13, 20, new int[] {16, 2}),
    /** An interface name (IFNAMSIZ bytes, NUL-padded). */
    IFNAME("ifname", 41, 16, null),
    /** An interface name and an Ethernet address: which MAC may send on which port. */
    IFNAME_ETHER_ADDR("ifname . ether_addr", (41 << 6) | 9, 24, new int[] {16, 6}),
    /** A layer-4 protocol and a port ({@code meta l4proto . th dport}): hostPort map keys. */
    INET_PROTO_INET_SERVICE("inet_proto . inet_service", (12 << 6) | 13, 8, new int[] {1, 2}),
    /** An address, a protocol and a port ({@code ip daddr . meta l4proto . th dport}). */
    IPV4_ADDR_INET_PROTO_INET_SERVICE(
            "ipv4_addr . inet_proto . inet_service", (((7 << 6) | 12) << 6) | 13, 12, new int[] {4, 1, 2}),
    IPV6_ADDR_INET_PROTO_INET_SERVICE(
            "ipv6_addr . inet_proto . inet_service", (((8 << 6) | 12) << 6) | 13, 24, new int[] {16, 1, 2}),
    /** Two addresses ({@code ip saddr . ip daddr}). */
    IPV4_ADDR_IPV4_ADDR("ipv4_addr . ipv4_addr", (7 << 6) | 7, 8, new int[] {4, 4}),
    IPV6_ADDR_IPV6_ADDR("ipv6_addr . ipv6_addr", (8 << 6) | 8, 32, new int[] {16, 16});

    private final String nftName;
    final int nftType;
    final int keyLength;
    /** Field lengths of a concatenation, null for a single field. */
    final int[] fields;

    SetKeyType(String nftName, int nftType, int keyLength, int[] fields) {
        this.nftName = nftName;
        this.nftType = nftType;
        this.keyLength = keyLength;
        this.fields = fields;
    }

    /** The name nft uses ({@code ipv4_addr . inet_service}). */
    public String nftName() {
        return nftName;
    }

    /** The key type with nft's datatype number {@code nftType}, or null for another type. */
    public static SetKeyType ofNftType(int nftType) {
        for (SetKeyType t : values()) {
            if (t.nftType == nftType) {
                return t;
            }
        }
        return null;
    }

    /** Key bytes of an {@code inet_service} element (a port, network order). */
    public static byte[] port(int port) {
        return new byte[] {(byte) (port >> 8), (byte) port};
    }

    /** Key bytes of an {@code ipvN_addr . inet_service} element: the address, then the port padded to 4 bytes. */
    public static byte[] addressPort(IpAddress address, int port) {
        byte[] a = address.bytes();
        byte[] k = new byte[a.length + 4];
        System.arraycopy(a, 0, k, 0, a.length);
        k[a.length] = (byte) (port >> 8);
        k[a.length + 1] = (byte) port;
        return k;
    }

    /**
     * Key bytes of a concatenation: each field's bytes, padded to a multiple of 4 bytes as the
     * kernel's 32-bit registers hold them ({@code concat(new byte[] {6}, port(80))} for
     * {@code tcp . 80}).
     */
    public static byte[] concat(byte[]... fields) {
        int n = 0;
        for (byte[] f : fields) {
            n += (f.length + 3) & ~3;
        }
        byte[] k = new byte[n];
        int off = 0;
        for (byte[] f : fields) {
            System.arraycopy(f, 0, k, off, f.length);
            off += (f.length + 3) & ~3;
        }
        return k;
    }

    /** Key bytes of an {@code inet_proto . inet_service} element ({@code protocol}: 6 tcp, 17 udp, 132 sctp). */
    public static byte[] protoPort(int protocol, int port) {
        return concat(new byte[] {(byte) protocol}, port(port));
    }

    /** Key bytes of an {@code ipvN_addr . inet_proto . inet_service} element. */
    public static byte[] addressProtoPort(IpAddress address, int protocol, int port) {
        return concat(address.bytes(), new byte[] {(byte) protocol}, port(port));
    }

    /** Key bytes of an {@code ipvN_addr . ipvN_addr} element. */
    public static byte[] addressPair(IpAddress a, IpAddress b) {
        return concat(a.bytes(), b.bytes());
    }

    /** The key length the kernel sees (each field padded to 4 bytes). */
    public int keyLength() {
        return keyLength;
    }

    /**
     * nft's text for key bytes of this type: {@code tcp . 8080}, {@code 10.0.0.2 . 80},
     * {@code "veth0" . 02:00:00:00:00:01}.
     */
    public String format(byte[] key) {
        String[] names = nftName.split(" \\. ");
        int[] lens = fields == null ? new int[] {keyLength} : fields;
        StringBuilder sb = new StringBuilder();
        int off = 0;
        for (int i = 0; i < names.length && off + lens[i] <= key.length; i++) {
            byte[] f = java.util.Arrays.copyOfRange(key, off, off + lens[i]);
            sb.append(i == 0 ? "" : " . ")
                    .append(
                            switch (names[i]) {
                                case "ipv4_addr", "ipv6_addr" -> IpAddress.of(f).toString();
                                case "inet_service" -> Integer.toString(((f[0] & 0xff) << 8) | (f[1] & 0xff));
                                case "inet_proto" -> protocolName(f[0] & 0xff);
                                case "ether_addr" ->
                                    io.jcni.netlink.ip.MacAddress.of(f).toString();
                                case "ifname" ->
                                    "\"" + new String(f, java.nio.charset.StandardCharsets.UTF_8).replace("\0", "")
                                            + "\"";
                                default -> keyText(f);
                            });
            off += (lens[i] + 3) & ~3;
        }
        return sb.toString();
    }

    /** nft's name of a layer-4 protocol number ({@code tcp}, {@code udp}, {@code sctp}), else the number. */
    public static String protocolName(int protocol) {
        return switch (protocol) {
            case 6 -> "tcp";
            case 17 -> "udp";
            case 132 -> "sctp";
            case 1 -> "icmp";
            case 58 -> "ipv6-icmp";
            default -> Integer.toString(protocol);
        };
    }

    /** Key bytes of an {@code ifname} element. */
    public static byte[] ifname(String name) {
        byte[] n = name.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (n.length > 15) {
            throw new IllegalArgumentException("an interface name is at most 15 bytes: " + name);
        }
        byte[] k = new byte[16];
        System.arraycopy(n, 0, k, 0, n.length);
        return k;
    }

    /** Key bytes of an {@code ifname . ether_addr} element: the name, then the MAC padded to 8 bytes. */
    public static byte[] ifnameEther(String name, io.jcni.netlink.ip.MacAddress mac) {
        byte[] k = new byte[24];
        System.arraycopy(ifname(name), 0, k, 0, 16);
        System.arraycopy(mac.bytes(), 0, k, 16, 6);
        return k;
    }

    /** nft's text for key bytes, guessed from their length (4, 16: address; 2: port; 8, 20: address . port). */
    static String keyText(byte[] key) {
        switch (key.length) {
            case 4, 16 -> {
                return IpAddress.of(key).toString();
            }
            case 2 -> {
                return Integer.toString(((key[0] & 0xff) << 8) | (key[1] & 0xff));
            }
            case 8, 20 -> {
                int n = key.length - 4;
                byte[] a = new byte[n];
                System.arraycopy(key, 0, a, 0, n);
                return IpAddress.of(a) + " . " + (((key[n] & 0xff) << 8) | (key[n + 1] & 0xff));
            }
            default -> {
                StringBuilder sb = new StringBuilder("0x");
                for (byte b : key) {
                    sb.append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
                }
                return sb.toString();
            }
        }
    }
}
