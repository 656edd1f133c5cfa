package io.jcni.netlink.diag;

import io.jcni.netlink.ip.IpAddress;

/**
 * One TCP or UDP socket as {@code inet_diag} reports it.
 *
 * @param protocol   {@code tcp} or {@code udp}
 * @param state      the kernel's TCP state number ({@link SockDiag#TCP_LISTEN}, {@link SockDiag#TCP_CLOSE} for an
 *                   unconnected UDP socket, …)
 * @param local      the bound address ({@code 0.0.0.0} or {@code ::} for any)
 * @param localPort  the bound port
 * @param remote     the connected peer's address (any address when not connected)
 * @param remotePort the peer's port, 0 when not connected
 * @param ifindex    the device the socket is bound to ({@code SO_BINDTODEVICE}), 0 when none
 * @param uid        the owner's user id
 * @param inode      the socket's inode: {@code /proc/PID/fd/N} links to {@code socket:[inode]}
 * @param v6only     for an IPv6 socket bound to {@code ::}: whether it refuses IPv4 (null for IPv4 sockets and
 *                   when the kernel did not say)
 */
public record InetSocket(
        String protocol,
        int state,
        IpAddress local,
        int localPort,
        IpAddress remote,
        int remotePort,
        int ifindex,
        int uid,
        long inode,
        Boolean v6only) {

    public boolean isV4() {
        return local.isV4();
    }

    /** The state as {@code ss} names it ({@code LISTEN}, {@code UNCONN}, {@code ESTAB}, …). */
    public String stateName() {
        return SockDiag.stateName(protocol, state);
    }

    /**
     * The local end as {@code ss -n} prints it: {@code 0.0.0.0:22}, {@code [::1]:53}, and {@code *:8080}
     * for an IPv6 socket on {@code ::} that also takes IPv4 (a dual-stack listener, such as Java's);
     * an IPv4-mapped address as {@code [::ffff:127.0.0.1]} (Java binds IPv4 addresses on IPv6 sockets).
     */
    public String localText() {
        if (!local.isV4() && Boolean.FALSE.equals(v6only) && local.equals(IpAddress.parse("::"))) {
            return "*:" + localPort;
        }
        return (local.isV4() ? local.toString() : "[" + v6Text(local) + "]") + ":" + localPort;
    }

    /** An IPv6 address with an IPv4-mapped one written the way ss and ip write it. */
    static String v6Text(IpAddress a) {
        byte[] b = a.bytes();
        for (int i = 0; i < 10; i++) {
            if (b[i] != 0) {
                return a.toString();
            }
        }
        if (b[10] != (byte) 0xff || b[11] != (byte) 0xff) {
            return a.toString();
        }
        return "::ffff:" + IpAddress.of(java.util.Arrays.copyOfRange(b, 12, 16));
    }
}
