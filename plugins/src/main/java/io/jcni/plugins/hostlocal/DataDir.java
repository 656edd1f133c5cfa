package io.jcni.plugins.hostlocal;

import io.jcni.netlink.KernelException;
import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.sys.Fd;
import io.jcni.netlink.sys.Syscall;
import io.jcni.netlink.sys.SyscallNumbers;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The trust check of host-local's state directory. host-local runs as root and writes, links and
 * removes files there, so every existing component of the path must be a real directory owned by
 * root — no symlink (which would redirect the writes), FIFO or device on the way — and none may
 * let another user swap what follows it: an ancestor may be writable by others only with the
 * sticky bit (as {@code /tmp}), the data directory and the network directory not at all.
 * Components that do not exist yet are fine: host-local creates them (root, 0755), and the check
 * runs again once they exist. Uses {@code open(O_PATH|O_NOFOLLOW)} and {@code fstat}, which see a
 * symlink itself rather than its target.
 */
final class DataDir {
    private DataDir() {}

    private static final boolean ARM64 = "aarch64".equals(System.getProperty("os.arch"));
    private static final int O_PATH = 010000000;
    private static final int O_NOFOLLOW = ARM64 ? 0100000 : 0400000;
    /** struct stat offsets of st_mode and st_uid (the generic layout on aarch64, its own on x86_64). */
    private static final long ST_MODE = ARM64 ? 16 : 24;

    private static final long ST_UID = ARM64 ? 24 : 28;
    private static final int S_IFMT = 0170000, S_IFDIR = 0040000, S_ISVTX = 01000;

    /**
     * Why {@code path} cannot hold host-local's state, or null when it can. {@code trustedFrom} is
     * the length of the prefix that is host-local's own (the data directory): from there on no
     * component may be writable by group or others, sticky or not.
     */
    static String problem(String path, int trustedFrom) {
        if (path.isEmpty() || path.charAt(0) != '/') {
            return path + " is not an absolute path";
        }
        int end = 0;
        while (end < path.length()) {
            int next = path.indexOf('/', end + 1);
            if (next < 0) {
                next = path.length();
            }
            String component = path.substring(end + 1, next);
            if (component.equals(".") || component.equals("..")) {
                return path + " has a \"" + component + "\" component";
            }
            if (component.isEmpty()) {
                end = next;
                continue; // "/" itself, or "a//b"
            }
            String prefix = path.substring(0, next);
            int[] st;
            try {
                st = stat(prefix);
            } catch (NoSuchObjectException e) {
                return null; // the rest is created by host-local itself
            } catch (KernelException e) {
                return prefix + ": " + e.getMessage();
            }
            int mode = st[0];
            if ((mode & S_IFMT) != S_IFDIR) {
                return prefix + " is not a directory (" + kind(mode) + ")";
            }
            if (st[1] != 0) {
                return prefix + " is owned by uid " + st[1] + ", not root";
            }
            boolean own = next >= trustedFrom;
            if ((mode & 0022) != 0 && (own || (mode & S_ISVTX) == 0)) {
                return prefix + " is writable by "
                        + ((mode & 0022) == 0022 ? "its group and others" : (mode & 0020) != 0 ? "its group" : "others")
                        + " (mode " + Integer.toOctalString(mode & 07777) + ")";
            }
            end = next;
        }
        return null;
    }

    private static String kind(int mode) {
        return switch (mode & S_IFMT) {
            case 0120000 -> "a symbolic link";
            case 0010000 -> "a FIFO";
            case 0020000 -> "a character device";
            case 0060000 -> "a block device";
            case 0140000 -> "a socket";
            default -> "a file";
        };
    }

    /** {mode, uid} of {@code path} itself (a symlink is not followed). */
    private static int[] stat(String path) {
        try (Fd fd = Fd.open(path, O_PATH | O_NOFOLLOW);
                Arena arena = Arena.ofConfined()) {
            MemorySegment st = arena.allocate(256, 8);
            Syscall.call("stat", path, SyscallNumbers.FSTAT, fd.get(), st.address(), 0);
            return new int[] {st.get(ValueLayout.JAVA_INT, ST_MODE), st.get(ValueLayout.JAVA_INT, ST_UID)};
        }
    }
}
