package io.jcni.netlink.sys;

import io.jcni.netlink.KernelException;
import io.jcni.netlink.NoSuchObjectException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

/**
 * The few file operations the kernel layer needs (procfs, sysfs, /run/netns), straight through
 * {@link Syscall}: reading {@code /proc/sys} with java.nio would load far more classes than the
 * plugin's exec path can afford.
 */
public final class KernelFiles {
    private KernelFiles() {}

    private static final int AT_REMOVEDIR = 0x200;

    /** Reads a small text file (procfs/sysfs), trimmed of its trailing newline. */
    public static String readSmall(String path) {
        try (Fd fd = Fd.open(path, Fd.O_RDONLY)) {
            byte[] data = fd.read(4096);
            int len = data.length;
            while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == 0)) {
                len--;
            }
            return new String(data, 0, len, StandardCharsets.UTF_8);
        }
    }

    /** Writes a value to an existing procfs/sysfs file (no create, no truncate semantics needed). */
    public static void writeSmall(String path, String value) {
        try (Fd fd = Fd.open(path, Fd.O_WRONLY)) {
            fd.write(value);
        }
    }

    /** mkdir(2); true when created, false when it already existed. */
    public static boolean mkdir(String path, int mode) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocateFrom(path);
            long r = Syscall.raw(SyscallNumbers.MKDIRAT, Fd.AT_FDCWD, p.address(), mode, 0, 0, 0);
            if (r == -Errno.EEXIST) {
                return false;
            }
            if (r < 0) {
                throw KernelException.of("mkdir", path, (int) -r, null);
            }
            return true;
        }
    }

    /** unlink(2); false when it did not exist. */
    public static boolean unlink(String path) {
        return unlinkAt(path, 0);
    }

    /** rmdir(2); false when it did not exist. */
    public static boolean rmdir(String path) {
        return unlinkAt(path, AT_REMOVEDIR);
    }

    private static boolean unlinkAt(String path, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocateFrom(path);
            long r = Syscall.raw(SyscallNumbers.UNLINKAT, Fd.AT_FDCWD, p.address(), flags, 0, 0, 0);
            if (r == -Errno.ENOENT) {
                return false;
            }
            if (r < 0) {
                throw KernelException.of(flags == 0 ? "unlink" : "rmdir", path, (int) -r, null);
            }
            return true;
        }
    }

    /**
     * link(2): makes {@code newPath} name the file {@code existing} names; false when
     * {@code newPath} already exists. Writing a file under a temporary name and linking it into
     * place publishes it whole and exclusively in one step (what O_EXCL alone cannot).
     */
    public static boolean link(String existing, String newPath) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocateFrom(existing);
            MemorySegment b = arena.allocateFrom(newPath);
            long r = Syscall.raw(SyscallNumbers.LINKAT, Fd.AT_FDCWD, a.address(), Fd.AT_FDCWD, b.address(), 0, 0);
            if (r == -Errno.EEXIST) {
                return false;
            }
            if (r < 0) {
                throw KernelException.of("link", newPath, (int) -r, null);
            }
            return true;
        }
    }

    /** rename(2): atomically replaces {@code to} with {@code from}. */
    public static void rename(String from, String to) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocateFrom(from);
            MemorySegment b = arena.allocateFrom(to);
            Syscall.call(
                    "rename",
                    from + " to " + to,
                    SyscallNumbers.RENAMEAT,
                    Fd.AT_FDCWD,
                    a.address(),
                    Fd.AT_FDCWD,
                    b.address(),
                    0,
                    0);
        }
    }

    /** True when the path exists (any type). */
    public static boolean exists(String path) {
        try (Fd ignored = Fd.open(path, Fd.O_RDONLY | 010000000 /* O_PATH */)) {
            return true;
        } catch (NoSuchObjectException e) {
            return false;
        }
    }
}
