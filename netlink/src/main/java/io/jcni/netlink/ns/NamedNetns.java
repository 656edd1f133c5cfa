package io.jcni.netlink.ns;

import io.jcni.netlink.InvalidNameException;
import io.jcni.netlink.KernelException;
import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.ObjectExistsException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.sys.Errno;
import io.jcni.netlink.sys.Fd;
import io.jcni.netlink.sys.KernelFiles;
import io.jcni.netlink.sys.Syscall;
import io.jcni.netlink.sys.SyscallNumbers;
import java.io.File;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Named namespaces exactly as {@code ip netns} keeps them: a file under {@code /run/netns} with
 * the namespace bind-mounted on it, the directory itself a shared mount so the mount is seen in
 * every mount namespace. Namespaces made here and by iproute2 are interchangeable.
 */
public final class NamedNetns {
    private NamedNetns() {}

    private static final long MS_BIND = 4096, MS_REC = 16384, MS_SHARED = 1 << 20;
    private static final int MNT_DETACH = 2;

    /** Refuses names iproute2 refuses: empty, {@code .}, {@code ..}, containing {@code /}, longer than 255 bytes. */
    public static void validateName(String operation, String name) {
        if (name == null || name.isEmpty()) {
            throw new InvalidNameException(operation, name, "a namespace name cannot be empty");
        }
        if (name.equals(".") || name.equals("..")) {
            throw new InvalidNameException(operation, name, "a namespace name cannot be . or ..");
        }
        if (name.indexOf('/') >= 0 || name.indexOf('\0') >= 0) {
            throw new InvalidNameException(operation, name, "a namespace name cannot contain '/'");
        }
        if (name.getBytes(StandardCharsets.UTF_8).length > 255) {
            throw new InvalidNameException(
                    operation,
                    name.substring(0, 16) + "…",
                    "a namespace name is at most 255 bytes, this one has "
                            + name.getBytes(StandardCharsets.UTF_8).length);
        }
    }

    public static String pathOf(String name) {
        return NetNs.RUN_DIR + "/" + name;
    }

    /** Creates {@code /run/netns/NAME} holding a new, empty network namespace. */
    public static void create(String name, Trace trace) {
        validateName("create netns", name);
        String path = pathOf(name);
        ensureRunDir();
        try (Fd ignored = Fd.open(path, Fd.O_RDONLY | Fd.O_CREAT | Fd.O_EXCL, 0)) {
            // an empty mount point for the namespace
        } catch (ObjectExistsException e) {
            throw new ObjectExistsException(
                    "create netns", name, Errno.EEXIST, "namespace \"" + name + "\" already exists");
        }
        try {
            NetNs.runIn(null, new NetNs.Work<Void>() {
                @Override
                public Void run() {
                    mount("/proc/thread-self/ns/net", path, MS_BIND, "bind netns");
                    return null;
                }
            });
        } catch (RuntimeException e) {
            KernelFiles.unlink(path);
            throw e;
        }
        trace.command("ip netns add " + name);
    }

    /** Removes a named namespace (its interfaces go when the last user leaves it). */
    public static void delete(String name, Trace trace) {
        validateName("delete netns", name);
        String path = pathOf(name);
        if (!KernelFiles.exists(path)) {
            throw new NoSuchObjectException(
                    "delete netns", name, Errno.ENOENT, "no namespace \"" + name + "\" under " + NetNs.RUN_DIR);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocateFrom(path);
            long r = Syscall.raw(SyscallNumbers.UMOUNT2, p.address(), MNT_DETACH, 0, 0, 0, 0);
            if (r < 0 && r != -Errno.EINVAL) { // EINVAL: not mounted (a half-made entry): just unlink it
                throw KernelException.of("unmount netns", path, (int) -r, null);
            }
        }
        KernelFiles.unlink(path);
        trace.command("ip netns del " + name);
    }

    public static boolean exists(String name) {
        return KernelFiles.exists(pathOf(name));
    }

    /** Names under {@code /run/netns}, sorted. */
    public static List<String> list() {
        String[] names = new File(NetNs.RUN_DIR).list();
        List<String> out = new ArrayList<>(names == null ? List.of() : Arrays.asList(names));
        out.sort(null);
        return out;
    }

    /** mkdir /run/netns and make it a shared mount point, as iproute2 does (once). */
    private static void ensureRunDir() {
        KernelFiles.mkdir("/run", 0755);
        KernelFiles.mkdir(NetNs.RUN_DIR, 0755);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment dir = arena.allocateFrom(NetNs.RUN_DIR);
            MemorySegment none = arena.allocateFrom("none");
            MemorySegment empty = arena.allocateFrom("");
            long r = Syscall.raw(
                    SyscallNumbers.MOUNT, empty.address(), dir.address(), none.address(), MS_SHARED | MS_REC, 0, 0);
            if (r == -Errno.EINVAL) {
                // Not a mount point yet: bind it onto itself, then make it shared.
                Syscall.call(
                        "mount",
                        NetNs.RUN_DIR,
                        SyscallNumbers.MOUNT,
                        dir.address(),
                        dir.address(),
                        none.address(),
                        MS_BIND | MS_REC,
                        0,
                        0);
                Syscall.call(
                        "mount",
                        NetNs.RUN_DIR,
                        SyscallNumbers.MOUNT,
                        empty.address(),
                        dir.address(),
                        none.address(),
                        MS_SHARED | MS_REC,
                        0,
                        0);
            } else if (r < 0) {
                throw KernelException.of("mount", NetNs.RUN_DIR, (int) -r, null);
            }
        }
    }

    private static void mount(String source, String target, long flags, String operation) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = arena.allocateFrom(source);
            MemorySegment dst = arena.allocateFrom(target);
            MemorySegment none = arena.allocateFrom("none");
            Syscall.call(
                    operation, target, SyscallNumbers.MOUNT, src.address(), dst.address(), none.address(), flags, 0, 0);
        }
    }
}
