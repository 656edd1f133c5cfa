package io.jcni.daemon;

import io.jcni.netlink.sys.Errno;
import io.jcni.netlink.sys.Syscall;
import io.jcni.netlink.sys.SyscallNumbers;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A Unix stream socket on raw descriptors: the JDK's channels do not give the peer's pid
 * ({@code SO_PEERCRED} as {@code UnixDomainPrincipal} has only uid and gid), and the daemon needs it
 * to check the caller's capabilities and namespaces.
 *
 * <p>Blocking calls run on platform threads. A descriptor is closed only by its owner thread;
 * other threads wake a blocked call with {@link #shutdown} (closing a descriptor another thread
 * is blocked on does not wake it, and its number could be reused under it).
 */
final class UnixSocket implements AutoCloseable {
    private static final boolean ARM64 = "aarch64".equals(System.getProperty("os.arch"));
    private static final long LISTEN = ARM64 ? 201 : 50, ACCEPT4 = ARM64 ? 242 : 288, SHUTDOWN = ARM64 ? 210 : 48;
    private static final long PIDFD_SEND_SIGNAL = 424;
    private static final int AF_UNIX = 1,
            SOCK_STREAM = 1,
            SOCK_CLOEXEC = 02000000,
            SOL_SOCKET = 1,
            SO_PEERCRED = 17,
            SO_PEERPIDFD = 77,
            MSG_NOSIGNAL = 0x4000,
            MSG_DONTWAIT = 0x40;
    private static final int ECONNABORTED = 103;
    static final int SHUT_RD = 0, SHUT_WR = 1, SHUT_RDWR = 2;

    private final AtomicInteger fd;

    private UnixSocket(int fd) {
        this.fd = new AtomicInteger(fd);
    }

    /** A listening socket bound at {@code path}. */
    static UnixSocket listen(Path path, int backlog) throws IOException {
        byte[] name = path.toString().getBytes(StandardCharsets.UTF_8);
        if (name.length > 107) {
            throw new IOException(path + ": a Unix socket path has at most 107 bytes");
        }
        int s = (int) check(
                Syscall.raw(SyscallNumbers.SOCKET, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, 0, 0, 0), "socket", path);
        UnixSocket sock = new UnixSocket(s);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment addr = a.allocate(110);
            addr.set(ValueLayout.JAVA_SHORT, 0, (short) AF_UNIX);
            MemorySegment.copy(name, 0, addr, ValueLayout.JAVA_BYTE, 2, name.length);
            check(Syscall.raw(SyscallNumbers.BIND, s, addr.address(), 2 + name.length + 1, 0, 0, 0), "bind", path);
            check(Syscall.raw(LISTEN, s, backlog, 0, 0, 0, 0), "listen", path);
            return sock;
        } catch (IOException | RuntimeException e) {
            sock.close();
            throw e;
        }
    }

    /** The next connection; an IOException once {@link #shutdown} was called on this listener. */
    UnixSocket accept() throws IOException {
        while (true) {
            long r = Syscall.raw(ACCEPT4, fd(), 0, 0, SOCK_CLOEXEC, 0, 0);
            if (r >= 0) {
                return new UnixSocket((int) r);
            }
            if (r != -Errno.EINTR && r != -ECONNABORTED) {
                throw new IOException("accept: " + Errno.describe((int) -r));
            }
        }
    }

    /** The peer's credentials as the kernel recorded them at connect: pid (0 when not visible here), uid, gid. */
    record Peer(int pid, int uid, int gid) {}

    Peer peer() throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cred = a.allocate(12);
            MemorySegment len = a.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, 12);
            check(
                    Syscall.raw(
                            SyscallNumbers.GETSOCKOPT, fd(), SOL_SOCKET, SO_PEERCRED, cred.address(), len.address(), 0),
                    "SO_PEERCRED",
                    null);
            return new Peer(
                    cred.get(ValueLayout.JAVA_INT, 0),
                    cred.get(ValueLayout.JAVA_INT, 4),
                    cred.get(ValueLayout.JAVA_INT, 8));
        }
    }

    /**
     * A pidfd for the peer process (SO_PEERPIDFD, Linux 6.5), or -1 when the kernel has none. It
     * pins the caller's identity: while {@link #alive} says yes, its pid names that same process.
     */
    int peerPidfd() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            MemorySegment len = a.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, 4);
            long r = Syscall.raw(
                    SyscallNumbers.GETSOCKOPT, fd.get(), SOL_SOCKET, SO_PEERPIDFD, v.address(), len.address(), 0);
            return r < 0 ? -1 : v.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /** Whether the process behind {@code pidfd} is still running (signal 0 sends nothing). */
    static boolean alive(int pidfd) {
        return Syscall.raw(PIDFD_SEND_SIGNAL, pidfd, 0, 0, 0, 0, 0) == 0;
    }

    static void closeFd(int fd) {
        if (fd >= 0) {
            Syscall.raw(SyscallNumbers.CLOSE, fd, 0, 0, 0, 0, 0);
        }
    }

    /** Reads at most {@code max} bytes; 0 at the end of the stream (or after a shutdown). */
    int read(byte[] b, int off, int max) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(Math.max(1, max));
            while (true) {
                long r = Syscall.raw(SyscallNumbers.READ, fd(), buf.address(), max, 0, 0, 0);
                if (r >= 0) {
                    MemorySegment.copy(buf, ValueLayout.JAVA_BYTE, 0, b, off, (int) r);
                    return (int) r;
                }
                if (r != -Errno.EINTR) {
                    throw new IOException("read: " + Errno.describe((int) -r));
                }
            }
        }
    }

    /** Writes all of {@code data}; a peer gone is an IOException (EPIPE), never SIGPIPE. */
    void writeAll(byte[] data) throws IOException {
        send(data, 0);
    }

    /** Writes what fits without waiting (the busy reply: the acceptor must never block on a client). */
    void writeNow(byte[] data) throws IOException {
        send(data, MSG_DONTWAIT);
    }

    private void send(byte[] data, int flags) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocateFrom(ValueLayout.JAVA_BYTE, data);
            long off = 0;
            while (off < data.length) {
                long r = Syscall.raw(
                        SyscallNumbers.SENDTO,
                        fd(),
                        buf.address() + off,
                        data.length - off,
                        MSG_NOSIGNAL | flags,
                        0,
                        0);
                if (r == -Errno.EINTR) {
                    continue;
                }
                if (r < 0) {
                    throw new IOException("write: " + Errno.describe((int) -r));
                }
                off += r;
            }
        }
    }

    /** The socket's input as a stream (reads exactly what is asked: nothing beyond the request is consumed). */
    InputStream input() {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) <= 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (len == 0) {
                    return 0;
                }
                int n = UnixSocket.this.read(b, off, Math.min(len, 1 << 16));
                return n == 0 ? -1 : n;
            }
        };
    }

    /** Wakes whoever is blocked on this socket; safe from any thread, a no-op once closed. */
    void shutdown(int how) {
        int v = fd.get();
        if (v >= 0) {
            Syscall.raw(SHUTDOWN, v, how, 0, 0, 0, 0);
        }
    }

    private int fd() throws IOException {
        int v = fd.get();
        if (v < 0) {
            throw new IOException("socket closed");
        }
        return v;
    }

    @Override
    public void close() {
        int v = fd.getAndSet(-1);
        if (v >= 0) {
            Syscall.raw(SyscallNumbers.CLOSE, v, 0, 0, 0, 0, 0);
        }
    }

    private static long check(long r, String op, Path path) throws IOException {
        if (r < 0) {
            throw new IOException(op + (path == null ? "" : " " + path) + ": " + Errno.describe((int) -r));
        }
        return r;
    }
}
