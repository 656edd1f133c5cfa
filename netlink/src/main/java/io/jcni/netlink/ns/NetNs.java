package io.jcni.netlink.ns;

import io.jcni.netlink.KernelException;
import io.jcni.netlink.NotANamespaceException;
import io.jcni.netlink.sys.Errno;
import io.jcni.netlink.sys.Fd;
import io.jcni.netlink.sys.Syscall;
import io.jcni.netlink.sys.SyscallNumbers;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * An open network namespace (a descriptor on its nsfs file) and the one way jcni works inside
 * it: {@link #run} executes on a fresh <em>platform</em> thread that has {@code setns}'d into
 * the namespace and ends afterwards, so no pooled or virtual thread, and never the caller's
 * thread, changes namespace.
 */
public final class NetNs implements AutoCloseable {
    /** Where {@code ip netns add} and jcni bind-mount named namespaces. */
    public static final String RUN_DIR = "/run/netns";

    static final int CLONE_NEWNET = 0x40000000;
    private static final long NSFS_MAGIC = 0x6e736673L;
    private static final long NS_GET_NSTYPE = 0xb703L; // _IO(0xb7, 0x3)

    private final Fd fd;
    private final String path;

    private NetNs(Fd fd, String path) {
        this.fd = fd;
        this.path = path;
    }

    /**
     * Opens the namespace at {@code path} ({@code /run/netns/NAME}, {@code /proc/PID/ns/net}, …).
     * Refuses anything that is not a network namespace: a regular file, a directory, a mount or
     * PID namespace ({@link NotANamespaceException}); a missing path gives {@link io.jcni.netlink.NoSuchObjectException}.
     */
    public static NetNs open(String path) {
        Fd fd = Fd.open(path, Fd.O_RDONLY);
        try {
            verify(fd, path);
            return new NetNs(fd, path);
        } catch (RuntimeException e) {
            fd.close();
            throw e;
        }
    }

    /** Opens {@code /run/netns/NAME}. */
    public static NetNs openNamed(String name) {
        NamedNetns.validateName("open netns", name);
        return open(RUN_DIR + "/" + name);
    }

    /** The calling thread's own namespace. */
    public static NetNs current() {
        return open("/proc/thread-self/ns/net");
    }

    private static void verify(Fd fd, String path) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment statfs = arena.allocate(120, 8);
            Syscall.call("statfs", path, SyscallNumbers.FSTATFS, fd.get(), statfs.address(), 0);
            long type = statfs.get(ValueLayout.JAVA_LONG, 0);
            if (type != NSFS_MAGIC) {
                throw new NotANamespaceException(
                        path, "not a namespace file (filesystem type 0x" + Long.toHexString(type) + ")");
            }
        }
        long nstype = Syscall.raw(SyscallNumbers.IOCTL, fd.get(), NS_GET_NSTYPE, 0, 0, 0, 0);
        if (nstype >= 0 && nstype != CLONE_NEWNET) {
            throw new NotANamespaceException(path, "a namespace, but not a network namespace");
        }
        if (nstype < 0 && nstype != -Errno.ENOTTY && nstype != -Errno.EINVAL) {
            throw KernelException.of("query namespace type", path, (int) -nstype, null);
        }
    }

    public String path() {
        return path;
    }

    /** The name under {@code /run/netns}, or null for namespaces known only by path. */
    public String name() {
        return nameOf(path);
    }

    static String nameOf(String path) {
        for (String dir : new String[] {RUN_DIR + "/", "/var" + RUN_DIR + "/"}) {
            if (path.startsWith(dir) && path.indexOf('/', dir.length()) < 0) {
                return path.substring(dir.length());
            }
        }
        return null;
    }

    /** How iproute2 names this namespace in {@code ip link set … netns X}: the name, else the path. */
    public String ipName() {
        String n = name();
        return n != null ? n : path;
    }

    /** The command prefix that runs an {@code ip} command inside this namespace. */
    public String ipCommand() {
        String n = name();
        return n != null ? "ip -n " + n : "nsenter --net=" + path + " ip";
    }

    /** The command prefix that runs any other command inside this namespace. */
    public String execPrefix() {
        String n = name();
        return n != null ? "ip netns exec " + n + " " : "nsenter --net=" + path + " ";
    }

    public int fd() {
        return fd.get();
    }

    /** The namespace's inode number: two handles refer to the same namespace when these are equal. */
    public long inode() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment stat = arena.allocate(256, 8);
            Syscall.call("stat", path, SyscallNumbers.FSTAT, fd.get(), stat.address(), 0);
            return stat.get(ValueLayout.JAVA_LONG, 8); // st_ino follows the 8-byte st_dev on x86_64 and aarch64
        }
    }

    /** Work done inside a namespace; may throw unchecked exceptions only. */
    @FunctionalInterface
    public interface Work<T> {
        T run();
    }

    /**
     * Runs {@code work} inside this namespace on a new platform thread, waits for it and returns
     * its result (its exception is rethrown). Sockets created inside stay in this namespace and
     * may be used from any thread afterwards.
     */
    public <T> T run(Work<T> work) {
        return runIn(this, work);
    }

    static <T> T runIn(NetNs target, Work<T> work) {
        Object[] result = new Object[1];
        Throwable[] failure = new Throwable[1];
        Thread thread = Thread.ofPlatform()
                .name(target == null ? "netns-new" : "netns " + target.path)
                .unstarted(new Runnable() {
                    @Override
                    public void run() {
                        try {
                            if (target == null) {
                                Syscall.call(
                                        "unshare", "network namespace", SyscallNumbers.UNSHARE, CLONE_NEWNET, 0, 0);
                            } else {
                                Syscall.call("setns", target.path, SyscallNumbers.SETNS, target.fd(), CLONE_NEWNET, 0);
                            }
                            // The thread ends after this: its namespace change dies with it.
                            result[0] = work.run();
                        } catch (Throwable t) {
                            failure[0] = t;
                        }
                    }
                });
        thread.start();
        boolean interrupted = false;
        while (true) {
            try {
                thread.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // the work can't be abandoned half-done; finish, then re-assert
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (failure[0] instanceof RuntimeException re) {
            throw re;
        }
        if (failure[0] instanceof Error err) {
            throw err;
        }
        if (failure[0] != null) {
            throw new IllegalStateException(failure[0]);
        }
        @SuppressWarnings("unchecked")
        T t = (T) result[0];
        return t;
    }

    @Override
    public void close() {
        fd.close();
    }

    @Override
    public String toString() {
        return "netns " + path;
    }
}
