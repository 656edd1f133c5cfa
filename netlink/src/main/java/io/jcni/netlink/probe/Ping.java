package io.jcni.netlink.probe;

import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.sys.Errno;
import io.jcni.netlink.sys.Fd;
import io.jcni.netlink.sys.Syscall;
import io.jcni.netlink.sys.SyscallNumbers;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.ThreadLocalRandom;

/**
 * ICMP echo (IPv4) from inside a namespace, on a raw socket: what {@code ping -c1} shows, with no
 * dependency on iputils being installed. Used by the demo and by tests for connectivity.
 */
public final class Ping {
    private Ping() {}

    private static final int AF_INET = 2, SOCK_RAW = 3, SOCK_CLOEXEC = 0x80000, IPPROTO_ICMP = 1;
    private static final int SOL_SOCKET = 1, SO_RCVTIMEO = 20;

    /**
     * Sends one echo request from {@code from} (null: the caller's namespace) to {@code to} and
     * waits up to {@code timeoutMillis} for the reply. Returns the round-trip time in
     * microseconds, or -1 when no reply came.
     */
    public static long once(NetNs from, IpAddress to, int timeoutMillis) {
        if (!to.isV4()) {
            throw new IllegalArgumentException("Ping supports IPv4 only: " + to);
        }
        NetNs.Work<Long> work = new NetNs.Work<>() {
            @Override
            public Long run() {
                return exchange(to, timeoutMillis);
            }
        };
        return from == null ? work.run() : from.run(work);
    }

    private static long exchange(IpAddress to, int timeoutMillis) {
        int id = ThreadLocalRandom.current().nextInt(1, 0xffff);
        int seq = 1;
        try (Fd fd = new Fd(
                        (int) Syscall.call(
                                "open ICMP socket",
                                to.toString(),
                                SyscallNumbers.SOCKET,
                                AF_INET,
                                SOCK_RAW | SOCK_CLOEXEC,
                                IPPROTO_ICMP),
                        "icmp socket");
                Arena arena = Arena.ofConfined()) {
            MemorySegment tv = arena.allocate(16, 8);
            tv.set(ValueLayout.JAVA_LONG, 0, timeoutMillis / 1000);
            tv.set(ValueLayout.JAVA_LONG, 8, (timeoutMillis % 1000) * 1000L);
            Syscall.call(
                    "set receive timeout",
                    null,
                    SyscallNumbers.SETSOCKOPT,
                    fd.get(),
                    SOL_SOCKET,
                    SO_RCVTIMEO,
                    tv.address(),
                    16,
                    0);

            byte[] packet = new byte[64];
            packet[0] = 8; // echo request
            packet[4] = (byte) (id >> 8);
            packet[5] = (byte) id;
            packet[6] = (byte) (seq >> 8);
            packet[7] = (byte) seq;
            for (int i = 8; i < packet.length; i++) {
                packet[i] = (byte) i;
            }
            int sum = checksum(packet);
            packet[2] = (byte) (sum >> 8);
            packet[3] = (byte) sum;

            MemorySegment out = arena.allocate(packet.length);
            MemorySegment.copy(packet, 0, out, ValueLayout.JAVA_BYTE, 0, packet.length);
            MemorySegment addr = arena.allocate(16, 4);
            addr.set(ValueLayout.JAVA_SHORT, 0, (short) AF_INET);
            MemorySegment.copy(to.bytes(), 0, addr, ValueLayout.JAVA_BYTE, 4, 4);

            long start = System.nanoTime();
            long deadline = start + timeoutMillis * 1_000_000L;
            long sent =
                    Syscall.raw(SyscallNumbers.SENDTO, fd.get(), out.address(), packet.length, 0, addr.address(), 16);
            if (sent < 0) {
                return -1; // e.g. ENETUNREACH: no route, which is "no reply" to the caller
            }
            MemorySegment in = arena.allocate(1500);
            while (System.nanoTime() < deadline) {
                long n = Syscall.raw(SyscallNumbers.RECVFROM, fd.get(), in.address(), 1500, 0, 0, 0);
                if (n == -Errno.EAGAIN || n == -Errno.EINTR) {
                    continue;
                }
                if (n < 28) {
                    return -1;
                }
                int ihl = (in.get(ValueLayout.JAVA_BYTE, 0) & 0x0f) * 4;
                byte[] src = in.asSlice(12, 4).toArray(ValueLayout.JAVA_BYTE);
                int type = in.get(ValueLayout.JAVA_BYTE, ihl) & 0xff;
                int rid = ((in.get(ValueLayout.JAVA_BYTE, ihl + 4) & 0xff) << 8)
                        | (in.get(ValueLayout.JAVA_BYTE, ihl + 5) & 0xff);
                if (type == 0 && rid == id && IpAddress.of(src).equals(to)) {
                    return (System.nanoTime() - start) / 1000;
                }
            }
            return -1;
        }
    }

    static int checksum(byte[] b) {
        long sum = 0;
        for (int i = 0; i + 1 < b.length; i += 2) {
            sum += ((b[i] & 0xff) << 8) | (b[i + 1] & 0xff);
        }
        if ((b.length & 1) != 0) {
            sum += (b[b.length - 1] & 0xff) << 8;
        }
        while ((sum >> 16) != 0) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (int) (~sum & 0xffff);
    }
}
