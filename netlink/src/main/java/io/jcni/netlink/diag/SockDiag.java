package io.jcni.netlink.diag;

import io.jcni.netlink.NetlinkSocket;
import io.jcni.netlink.NlAttrs;
import io.jcni.netlink.NlMessage;
import io.jcni.netlink.NlRequest;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ns.NetNs;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The TCP and UDP sockets of one namespace, as {@code ss} lists them: an {@code inet_diag} dump
 * ({@code SOCK_DIAG_BY_FAMILY} with an {@code inet_diag_req_v2}) over a {@code NETLINK_SOCK_DIAG}
 * socket opened inside the namespace, which is what limits the dump to that namespace's sockets.
 *
 * <pre>{@code
 * try (SockDiag diag = SockDiag.open(pod)) {
 *     for (InetSocket s : diag.listening()) { ... }   // ss -ltnu
 * }
 * }</pre>
 */
public final class SockDiag implements AutoCloseable {
    /** linux/netlink.h. */
    public static final int NETLINK_SOCK_DIAG = 4;

    static final int SOCK_DIAG_BY_FAMILY = 20;
    public static final int AF_INET = 2, AF_INET6 = 10, IPPROTO_TCP = 6, IPPROTO_UDP = 17;
    /** TCP states (net/tcp_states.h); an unconnected UDP socket is in TCP_CLOSE. */
    public static final int TCP_ESTABLISHED = 1, TCP_CLOSE = 7, TCP_LISTEN = 10;
    /** inet_diag_req_v2: family, protocol, ext, pad, states, then a 48-byte inet_diag_sockid. */
    private static final int SOCKID_LEN = 48;
    /** inet_diag_msg: family, state, timer, retrans, sockid, expires, rqueue, wqueue, uid, inode. */
    private static final int INET_DIAG_MSG_LEN = 4 + SOCKID_LEN + 20;

    private static final int INET_DIAG_SKV6ONLY = 11;

    private final NetlinkSocket socket;

    private SockDiag(NetlinkSocket socket) {
        this.socket = socket;
    }

    /** A handle on {@code netns} (null: the calling thread's namespace); the caller keeps {@code netns} open. */
    public static SockDiag open(NetNs netns) {
        return new SockDiag(NetlinkSocket.openIn(netns, NETLINK_SOCK_DIAG));
    }

    /**
     * What {@code ss -ltu} shows: TCP sockets in LISTEN and UDP sockets that are not connected
     * (UNCONN), IPv4 and IPv6, in the kernel's order (family, then protocol).
     */
    public List<InetSocket> listening() {
        List<InetSocket> out = new ArrayList<>();
        for (int family : new int[] {AF_INET, AF_INET6}) {
            out.addAll(dump(family, IPPROTO_TCP, 1 << TCP_LISTEN));
            out.addAll(dump(family, IPPROTO_UDP, 1 << TCP_CLOSE));
        }
        return out;
    }

    /**
     * Every socket of {@code family} ({@link #AF_INET}, {@link #AF_INET6}) and {@code protocol}
     * ({@link #IPPROTO_TCP}, {@link #IPPROTO_UDP}) whose state's bit is set in {@code stateMask}.
     */
    public List<InetSocket> dump(int family, int protocol, int stateMask) {
        String proto = protocol == IPPROTO_TCP ? "tcp" : protocol == IPPROTO_UDP ? "udp" : Integer.toString(protocol);
        NlRequest r = new NlRequest(
                        SOCK_DIAG_BY_FAMILY, 0, "list " + proto + " sockets", family == AF_INET ? "ipv4" : "ipv6")
                .u8(family)
                .u8(protocol)
                .u8(0)
                .u8(0)
                .u32(stateMask)
                .bytes(new byte[SOCKID_LEN]);
        List<InetSocket> out = new ArrayList<>();
        for (NlMessage m : socket.dump(r)) {
            if (m.type() != SOCK_DIAG_BY_FAMILY || m.length() < NlMessage.PAYLOAD + INET_DIAG_MSG_LEN) {
                continue;
            }
            out.add(parse(m, proto));
        }
        return out;
    }

    static final int AF_UNIX = 1, UDIAG_SHOW_NAME = 1, UDIAG_SHOW_VFS = 2, UNIX_DIAG_NAME = 0, UNIX_DIAG_VFS = 1;
    /** unix_diag_msg: family, type, state, pad, ino, cookie[2]. */
    private static final int UNIX_DIAG_MSG_LEN = 16;

    /**
     * The listening Unix sockets with their bound path and the inode of their file ({@code ss -xl}):
     * a unix_diag dump ({@code unix_diag_req} with UDIAG_SHOW_NAME and UDIAG_SHOW_VFS). A socket
     * file found by its path is matched by its file's inode, which survives a rename.
     */
    public List<UnixListener> unixListening() {
        NlRequest r = new NlRequest(SOCK_DIAG_BY_FAMILY, 0, "list unix sockets", null)
                .u8(AF_UNIX)
                .u8(0)
                .u16(0)
                .u32(1 << TCP_LISTEN)
                .u32(0)
                .u32(UDIAG_SHOW_NAME | UDIAG_SHOW_VFS)
                .u32(-1)
                .u32(-1);
        List<UnixListener> out = new ArrayList<>();
        for (NlMessage m : socket.dump(r)) {
            if (m.type() != SOCK_DIAG_BY_FAMILY || m.length() < NlMessage.PAYLOAD + UNIX_DIAG_MSG_LEN) {
                continue;
            }
            long inode = Integer.toUnsignedLong(m.s32(4));
            NlAttrs a = m.attrs(UNIX_DIAG_MSG_LEN);
            byte[] name = a.bytes(UNIX_DIAG_NAME);
            String path = null;
            if (name != null && name.length > 0 && name[0] != 0) { // a leading NUL is an abstract name, not a path
                int len = name.length;
                while (len > 0 && name[len - 1] == 0) {
                    len--;
                }
                path = new String(name, 0, len, java.nio.charset.StandardCharsets.UTF_8);
            }
            byte[] vfs = a.bytes(UNIX_DIAG_VFS);
            long vfsInode = vfs != null && vfs.length >= 4
                    ? Integer.toUnsignedLong(ByteBuffer.wrap(vfs)
                            .order(java.nio.ByteOrder.nativeOrder())
                            .getInt(0))
                    : 0;
            out.add(new UnixListener(inode, path, vfsInode));
        }
        return out;
    }

    private static InetSocket parse(NlMessage m, String proto) {
        ByteBuffer b = m.buffer();
        int base = NlMessage.PAYLOAD;
        int family = m.u8(0);
        int state = m.u8(1);
        int id = base + 4;
        int n = family == AF_INET ? 4 : 16;
        // sockid: sport, dport (big-endian), src[16], dst[16], if, cookie[2]
        int sport = ((b.get(id) & 0xff) << 8) | (b.get(id + 1) & 0xff);
        int dport = ((b.get(id + 2) & 0xff) << 8) | (b.get(id + 3) & 0xff);
        byte[] src = new byte[n];
        byte[] dst = new byte[n];
        b.get(id + 4, src);
        b.get(id + 20, dst);
        int ifindex = b.getInt(id + 36);
        int tail = id + SOCKID_LEN; // expires, rqueue, wqueue, uid, inode
        int uid = b.getInt(tail + 12);
        long inode = Integer.toUnsignedLong(b.getInt(tail + 16));
        NlAttrs a = m.attrs(INET_DIAG_MSG_LEN);
        Boolean v6only = family == AF_INET6 && a.has(INET_DIAG_SKV6ONLY) ? a.u8(INET_DIAG_SKV6ONLY, 0) != 0 : null;
        return new InetSocket(
                proto, state, IpAddress.of(src), sport, IpAddress.of(dst), dport, ifindex, uid, inode, v6only);
    }

    /** A state number as {@code ss} prints it. */
    static String stateName(String protocol, int state) {
        if (protocol.equals("udp")) {
            return state == TCP_CLOSE ? "UNCONN" : state == TCP_ESTABLISHED ? "ESTAB" : Integer.toString(state);
        }
        return switch (state) {
            case 1 -> "ESTAB";
            case 2 -> "SYN-SENT";
            case 3 -> "SYN-RECV";
            case 4 -> "FIN-WAIT-1";
            case 5 -> "FIN-WAIT-2";
            case 6 -> "TIME-WAIT";
            case 7 -> "UNCONN";
            case 8 -> "CLOSE-WAIT";
            case 9 -> "LAST-ACK";
            case 10 -> "LISTEN";
            case 11 -> "CLOSING";
            default -> Integer.toString(state);
        };
    }

    @Override
    public void close() {
        socket.close();
    }
}
