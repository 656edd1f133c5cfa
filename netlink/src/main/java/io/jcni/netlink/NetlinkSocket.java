package io.jcni.netlink;

import io.jcni.netlink.sys.Errno;
import io.jcni.netlink.sys.Fd;
import io.jcni.netlink.sys.Syscall;
import io.jcni.netlink.sys.SyscallNumbers;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * A netlink socket bound in the namespace of the thread that created it (it stays there: to work
 * in a pod, create it on a thread inside the pod, then use it from anywhere).
 *
 * <p>Three exchanges: {@link #execute} (a request and its ACK, with any replies),
 * {@link #dump} (a multipart dump, retried when the kernel marks it interrupted) and
 * {@link #executeBatch} (nf_tables transactions: many messages in one send, all-or-nothing).
 * Replies are matched by sequence number; extended ACKs are requested so the kernel's own
 * explanation reaches the exception.
 */
public final class NetlinkSocket implements AutoCloseable {
    public static final int NETLINK_ROUTE = 0, NETLINK_NETFILTER = 12;
    static final int NLMSG_NOOP = 1, NLMSG_ERROR = 2, NLMSG_DONE = 3, NLMSG_OVERRUN = 4;
    private static final int AF_NETLINK = 16, SOCK_RAW = 3, SOCK_CLOEXEC = 0x80000;
    private static final int SOL_NETLINK = 270, NETLINK_CAP_ACK = 10, NETLINK_EXT_ACK = 11, NETLINK_GET_STRICT_CHK = 12;
    private static final int MSG_DONTWAIT = 0x40, MSG_TRUNC = 0x20;
    private static final int SOL_SOCKET = 1, SO_RCVTIMEO = 20;
    private static final int NLMSGERR_ATTR_MSG = 1;
    private static final int RECV_BUFFER = 64 * 1024;
    private static final int DUMP_ATTEMPTS = 8;

    private final Fd fd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment recvBuffer;
    private int seq;

    /** Opens a socket of {@code protocol} (NETLINK_ROUTE, NETLINK_NETFILTER) in the calling thread's namespace. */
    public NetlinkSocket(int protocol) {
        this(protocol, 0);
    }

    /** A socket that also receives the notifications of the multicast {@code groups} (RTMGRP_* bits). */
    private NetlinkSocket(int protocol, int groups) {
        int raw = (int) Syscall.call(
                "open netlink socket", null, SyscallNumbers.SOCKET, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
        this.fd = new Fd(raw, "netlink socket");
        try {
            MemorySegment one = arena.allocateFrom(ValueLayout.JAVA_INT, 1);
            // Best effort: old kernels lack these, and everything still works without the kernel's text.
            Syscall.raw(SyscallNumbers.SETSOCKOPT, raw, SOL_NETLINK, NETLINK_EXT_ACK, one.address(), 4, 0);
            Syscall.raw(SyscallNumbers.SETSOCKOPT, raw, SOL_NETLINK, NETLINK_CAP_ACK, one.address(), 4, 0);
            if (protocol == NETLINK_ROUTE) {
                // Lets the kernel filter dumps (addresses of one link, routes of one table) itself.
                Syscall.raw(SyscallNumbers.SETSOCKOPT, raw, SOL_NETLINK, NETLINK_GET_STRICT_CHK, one.address(), 4, 0);
            }
            MemorySegment addr = arena.allocate(12);
            addr.set(ValueLayout.JAVA_SHORT, 0, (short) AF_NETLINK);
            addr.set(ValueLayout.JAVA_INT, 8, groups); // nl_groups
            Syscall.call("bind netlink socket", null, SyscallNumbers.BIND, raw, addr.address(), 12);
            this.recvBuffer = arena.allocate(RECV_BUFFER, 8);
            this.seq = (int) (System.nanoTime() & 0x3fffffff);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * Opens a socket of {@code protocol} inside {@code netns} (null: the caller's namespace): the
     * namespace is entered on a short-lived platform thread only to create the socket, which then
     * stays there and may be used from any thread.
     */
    public static NetlinkSocket openIn(io.jcni.netlink.ns.NetNs netns, int protocol) {
        if (netns == null) {
            return new NetlinkSocket(protocol);
        }
        return netns.run(new io.jcni.netlink.ns.NetNs.Work<NetlinkSocket>() {
            @Override
            public NetlinkSocket run() {
                return new NetlinkSocket(protocol);
            }
        });
    }

    /**
     * A socket in {@code netns} (null: the caller's) that receives the kernel's change notifications
     * of the multicast {@code groups} (e.g. RTMGRP_LINK | RTMGRP_IPV4_ROUTE), read with
     * {@link #notifications}, which waits at most {@code timeoutMillis} for one.
     */
    public static NetlinkSocket subscribe(io.jcni.netlink.ns.NetNs netns, int protocol, int groups, int timeoutMillis) {
        io.jcni.netlink.ns.NetNs.Work<NetlinkSocket> open = new io.jcni.netlink.ns.NetNs.Work<>() {
            @Override
            public NetlinkSocket run() {
                return new NetlinkSocket(protocol, groups);
            }
        };
        NetlinkSocket s = netns == null ? open.run() : netns.run(open);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment tv = a.allocate(16, 8); // struct timeval
            tv.set(ValueLayout.JAVA_LONG, 0, timeoutMillis / 1000);
            tv.set(ValueLayout.JAVA_LONG, 8, (timeoutMillis % 1000) * 1000L);
            Syscall.call(
                    "set the notification timeout",
                    null,
                    SyscallNumbers.SETSOCKOPT,
                    s.fd.get(),
                    SOL_SOCKET,
                    SO_RCVTIMEO,
                    tv.address(),
                    16,
                    0);
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
        return s;
    }

    /**
     * The next notifications of a {@link #subscribe subscribed} socket: null when none came within
     * its timeout, an empty list when the kernel dropped some because they came faster than they
     * were read (ENOBUFS: assume anything may have changed), else the messages of one datagram.
     */
    public List<NlMessage> notifications() {
        try {
            return receive(0);
        } catch (KernelException e) {
            if (e.errno() == Errno.EAGAIN) {
                return null; // the receive timeout passed
            }
            if (e.errno() == Errno.ENOBUFS) {
                return List.of();
            }
            throw e;
        }
    }

    /**
     * Sends a request with NLM_F_ACK and waits for its ACK. Returns the replies that came before
     * the ACK (for GET by name, or NLM_F_ECHO), usually none.
     */
    public synchronized List<NlMessage> execute(NlRequest request) {
        request.setFlags(request.flags() | NlRequest.NLM_F_ACK);
        int s = ++seq;
        send(request.bytes(s));
        List<NlMessage> replies = new ArrayList<>(1);
        while (true) {
            for (NlMessage m : receive(0)) {
                if (m.seq() != s) {
                    continue; // a stale reply to an earlier, abandoned request
                }
                if (m.type() == NLMSG_ERROR) {
                    int error = m.buffer().getInt(NlMessage.PAYLOAD);
                    if (error == 0) {
                        return replies;
                    }
                    throw KernelException.of(request.operation(), request.object(), -error, extAckMessage(m));
                }
                replies.add(m);
            }
        }
    }

    /** Runs a dump to NLMSG_DONE; repeated when the kernel says the dump was interrupted by a change. */
    public synchronized List<NlMessage> dump(NlRequest request) {
        request.setFlags(request.flags() | NlRequest.NLM_F_DUMP);
        for (int attempt = 1; ; attempt++) {
            int s = ++seq;
            send(request.bytes(s));
            List<NlMessage> out = new ArrayList<>();
            boolean interrupted = false;
            boolean done = false;
            while (!done) {
                for (NlMessage m : receive(0)) {
                    if (m.seq() != s) {
                        continue;
                    }
                    if ((m.flags() & NlRequest.NLM_F_DUMP_INTR) != 0) {
                        interrupted = true;
                    }
                    if (m.type() == NLMSG_DONE) {
                        int error =
                                m.length() >= NlMessage.PAYLOAD + 4 ? m.buffer().getInt(NlMessage.PAYLOAD) : 0;
                        if (error < 0) {
                            throw KernelException.of(request.operation(), request.object(), -error, extAckMessage(m));
                        }
                        done = true;
                    } else if (m.type() == NLMSG_ERROR) {
                        int error = m.buffer().getInt(NlMessage.PAYLOAD);
                        if (error != 0) {
                            throw KernelException.of(request.operation(), request.object(), -error, extAckMessage(m));
                        }
                        done = true;
                    } else {
                        out.add(m);
                    }
                }
            }
            if (!interrupted) {
                return out;
            }
            if (attempt == DUMP_ATTEMPTS) {
                throw new KernelException(
                        request.operation(),
                        request.object(),
                        Errno.EAGAIN,
                        "dump interrupted by concurrent changes " + DUMP_ATTEMPTS + " times");
            }
        }
    }

    /**
     * Sends {@code requests} in one datagram (for nf_tables: BATCH_BEGIN … BATCH_END, applied as
     * one transaction) and collects every ACK and error. The kernel processes a netlink send
     * synchronously, so all answers are queued when the send returns and are drained without
     * blocking. The first error is thrown, naming the request it belongs to.
     */
    public synchronized void executeBatch(List<NlRequest> requests) {
        int[] seqs = new int[requests.size()];
        int total = 0;
        List<byte[]> encoded = new ArrayList<>(requests.size());
        for (int i = 0; i < requests.size(); i++) {
            seqs[i] = ++seq;
            byte[] b = requests.get(i).bytes(seqs[i]);
            encoded.add(b);
            total += b.length;
        }
        byte[] all = new byte[total];
        int off = 0;
        for (byte[] b : encoded) {
            System.arraycopy(b, 0, all, off, b.length);
            off += b.length;
        }
        send(all);
        KernelException first = null;
        while (true) {
            List<NlMessage> got = receive(MSG_DONTWAIT);
            if (got == null) {
                break;
            }
            for (NlMessage m : got) {
                if (m.type() != NLMSG_ERROR) {
                    continue;
                }
                int error = m.buffer().getInt(NlMessage.PAYLOAD);
                if (error == 0 || first != null) {
                    continue;
                }
                NlRequest culprit = requests.get(0);
                for (int i = 0; i < seqs.length; i++) {
                    if (seqs[i] == m.seq()) {
                        culprit = requests.get(i);
                    }
                }
                first = KernelException.of(culprit.operation(), culprit.object(), -error, extAckMessage(m));
            }
        }
        if (first != null) {
            throw first;
        }
    }

    private void send(byte[] message) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(message.length, 8);
            MemorySegment.copy(message, 0, seg, ValueLayout.JAVA_BYTE, 0, message.length);
            Syscall.callRestarting(
                    "send netlink request",
                    null,
                    SyscallNumbers.SENDTO,
                    fd.get(),
                    seg.address(),
                    message.length,
                    0,
                    0,
                    0);
        }
    }

    /** One datagram, split into messages; null when {@code flags} has MSG_DONTWAIT and nothing is queued. */
    private List<NlMessage> receive(int flags) {
        long n;
        while (true) {
            n = Syscall.raw(
                    SyscallNumbers.RECVFROM, fd.get(), recvBuffer.address(), RECV_BUFFER, flags | MSG_TRUNC, 0, 0);
            if (n == -Errno.EINTR) {
                continue;
            }
            if (n == -Errno.EAGAIN && (flags & MSG_DONTWAIT) != 0) {
                return null;
            }
            if (n < 0) {
                throw KernelException.of("receive netlink reply", null, (int) -n, null);
            }
            break;
        }
        if (n > RECV_BUFFER) {
            throw new KernelException(
                    "receive netlink reply",
                    null,
                    Errno.EMSGSIZE,
                    "a " + n + "-byte reply does not fit the " + RECV_BUFFER + "-byte buffer");
        }
        List<NlMessage> out = new ArrayList<>();
        int pos = 0;
        while (pos + NlRequest.HEADER_LEN <= n) {
            int len = recvBuffer.get(ValueLayout.JAVA_INT_UNALIGNED, pos);
            if (len < NlRequest.HEADER_LEN || pos + len > n) {
                break;
            }
            byte[] copy = new byte[len];
            MemorySegment.copy(recvBuffer, ValueLayout.JAVA_BYTE, pos, copy, 0, len);
            out.add(new NlMessage(ByteBuffer.wrap(copy).order(ByteOrder.nativeOrder())));
            pos += (len + 3) & ~3;
        }
        return out;
    }

    /** The kernel's text from an extended ACK (NLMSGERR_ATTR_MSG), or null. */
    private static String extAckMessage(NlMessage m) {
        if ((m.flags() & NlRequest.NLM_F_ACK_TLVS) == 0) {
            return null;
        }
        ByteBuffer b = m.buffer();
        int start;
        if (m.type() == NLMSG_DONE) {
            start = NlMessage.PAYLOAD + 4;
        } else {
            // error code, then the original header, then (unless capped) the original payload
            int origLen = b.getInt(NlMessage.PAYLOAD + 4);
            start = NlMessage.PAYLOAD
                    + 4
                    + ((m.flags() & NlRequest.NLM_F_CAPPED) != 0 ? NlRequest.HEADER_LEN : origLen);
        }
        start = (start + 3) & ~3;
        if (start >= b.capacity()) {
            return null;
        }
        String msg = NlAttrs.parse(b, start, b.capacity()).string(NLMSGERR_ATTR_MSG);
        return msg == null || msg.isEmpty() ? null : msg;
    }

    @Override
    public void close() {
        fd.close();
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }
}
