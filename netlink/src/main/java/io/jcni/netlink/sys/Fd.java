package io.jcni.netlink.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Owns one file descriptor and closes it exactly once. Every descriptor jcni opens lives in one
 * of these, so a leak is a missing try-with-resources, visible in review.
 */
public final class Fd implements AutoCloseable {
    public static final int O_RDONLY = 0,
            O_WRONLY = 1,
            O_RDWR = 2,
            O_CREAT = 0100,
            O_EXCL = 0200,
            O_TRUNC = 01000,
            O_NONBLOCK = 04000,
            O_DIRECTORY = 0200000,
            O_CLOEXEC = 02000000;
    /** openat's "relative to the current directory". */
    static final long AT_FDCWD = -100;

    private final AtomicInteger fd;
    private final String label;

    /** Takes ownership of {@code fd}; {@code label} names it in error messages (usually a path). */
    public Fd(int fd, String label) {
        this.fd = new AtomicInteger(fd);
        this.label = label;
    }

    /** open(2) with O_CLOEXEC always added: no descriptor of ours leaks into a spawned process. */
    public static Fd open(String path, int flags, int mode) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocateFrom(path);
            long r = Syscall.callRestarting(
                    "open", path, SyscallNumbers.OPENAT, AT_FDCWD, p.address(), flags | O_CLOEXEC, mode, 0, 0);
            return new Fd((int) r, path);
        }
    }

    public static Fd open(String path, int flags) {
        return open(path, flags, 0);
    }

    /** The raw number; valid until {@link #close()}. */
    public int get() {
        int v = fd.get();
        if (v < 0) {
            throw new IllegalStateException("file descriptor for " + label + " is closed");
        }
        return v;
    }

    public String label() {
        return label;
    }

    public boolean isOpen() {
        return fd.get() >= 0;
    }

    /** Reads up to {@code max} bytes from the current position. */
    public byte[] read(int max) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(max);
            long n = Syscall.callRestarting("read", label, SyscallNumbers.READ, get(), buf.address(), max, 0, 0, 0);
            return buf.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        }
    }

    /** Writes all of {@code data}. */
    public void write(byte[] data) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(Math.max(1, data.length));
            MemorySegment.copy(data, 0, buf, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, data.length);
            long off = 0;
            while (off < data.length) {
                off += Syscall.callRestarting(
                        "write", label, SyscallNumbers.WRITE, get(), buf.address() + off, data.length - off, 0, 0, 0);
            }
        }
    }

    public void write(String text) {
        write(text.getBytes(StandardCharsets.UTF_8));
    }

    private static final int LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8;

    /**
     * flock(2) exclusive lock, waiting for it. flock, not fcntl: Java's FileChannel.lock uses
     * POSIX record locks, which do not exclude flock holders such as the Go reference plugins.
     */
    public void lockExclusive() {
        Syscall.callRestarting("flock", label, SyscallNumbers.FLOCK, get(), LOCK_EX, 0, 0, 0, 0);
    }

    /** flock(2) exclusive lock without waiting; false when another holder has it. */
    public boolean tryLockExclusive() {
        long r = Syscall.raw(SyscallNumbers.FLOCK, get(), LOCK_EX | LOCK_NB, 0, 0, 0, 0);
        if (r == -Errno.EAGAIN) {
            return false;
        }
        if (r < 0) {
            throw io.jcni.netlink.KernelException.of("flock", label, (int) -r, null);
        }
        return true;
    }

    public void unlock() {
        Syscall.raw(SyscallNumbers.FLOCK, get(), LOCK_UN, 0, 0, 0, 0);
    }

    /** fsync(2): the data is on disk when this returns. */
    public void sync() {
        Syscall.callRestarting("fsync", label, SyscallNumbers.FSYNC, get(), 0, 0, 0, 0, 0);
    }

    @Override
    public void close() {
        int v = fd.getAndSet(-1);
        if (v >= 0) {
            // Linux releases the descriptor even when close reports an error; never retry.
            Syscall.raw(SyscallNumbers.CLOSE, v, 0, 0, 0, 0, 0);
        }
    }

    @Override
    public String toString() {
        return "Fd[" + fd.get() + " " + label + "]";
    }
}
