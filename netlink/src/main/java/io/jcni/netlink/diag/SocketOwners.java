package io.jcni.netlink.diag;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which processes hold which sockets, the way {@code netstat -p} and {@code ss -p} find out: every
 * {@code /proc/PID/fd/N} that links to {@code socket:[INODE]}. The kernel's socket dump gives the
 * inode only; the process is found here. Socket inodes are unique across namespaces, so one scan
 * serves every namespace. Processes that exit during the scan are skipped; a socket can have
 * several holders (a forked server, a passed descriptor), all are kept.
 */
public final class SocketOwners {
    /** One process holding a socket: its pid, {@code comm}, command line (NULs as spaces) and descriptor. */
    public record Owner(int pid, String program, String cmdline, int fd) {}

    private final Map<Long, List<Owner>> byInode;

    private SocketOwners(Map<Long, List<Owner>> byInode) {
        this.byInode = byInode;
    }

    /** Scans {@code /proc} for the holders of {@code inodes} (the only ones kept, to keep the result small). */
    public static SocketOwners scan(Collection<Long> inodes) {
        return scan(Path.of("/proc"), inodes);
    }

    static SocketOwners scan(Path proc, Collection<Long> inodes) {
        Set<Long> wanted = new HashSet<>(inodes);
        Map<Long, List<Owner>> out = new HashMap<>();
        if (wanted.isEmpty()) {
            return new SocketOwners(out);
        }
        try (DirectoryStream<Path> pids = Files.newDirectoryStream(proc)) {
            for (Path p : pids) {
                String name = p.getFileName().toString();
                if (name.isEmpty() || !Character.isDigit(name.charAt(0))) {
                    continue;
                }
                int pid;
                try {
                    pid = Integer.parseInt(name);
                } catch (NumberFormatException e) {
                    continue;
                }
                scanProcess(p, pid, wanted, out);
            }
        } catch (IOException e) {
            // /proc unreadable: no owners known, the sockets are still listed
        }
        return new SocketOwners(out);
    }

    private static void scanProcess(Path dir, int pid, Set<Long> wanted, Map<Long, List<Owner>> out) {
        String program = null;
        String cmdline = null;
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(dir.resolve("fd"))) {
            for (Path fd : fds) {
                String target;
                try {
                    target = Files.readSymbolicLink(fd).toString();
                } catch (IOException | UnsupportedOperationException gone) {
                    continue; // closed meanwhile
                }
                if (!target.startsWith("socket:[") || !target.endsWith("]")) {
                    continue;
                }
                long inode;
                try {
                    inode = Long.parseLong(target, 8, target.length() - 1, 10);
                } catch (NumberFormatException e) {
                    continue;
                }
                if (!wanted.contains(inode)) {
                    continue;
                }
                if (program == null) {
                    program = read(dir.resolve("comm")).strip();
                    cmdline = read(dir.resolve("cmdline")).replace('\0', ' ').strip();
                }
                int fdNumber;
                try {
                    fdNumber = Integer.parseInt(fd.getFileName().toString());
                } catch (NumberFormatException e) {
                    fdNumber = -1;
                }
                out.computeIfAbsent(inode, k -> new ArrayList<>()).add(new Owner(pid, program, cmdline, fdNumber));
            }
        } catch (IOException | SecurityException e) {
            // exited, or not ours to read
        }
    }

    private static String read(Path f) {
        try {
            return new String(Files.readAllBytes(f), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    /** The processes holding the socket with {@code inode}, by pid then descriptor; empty when none was found. */
    public List<Owner> of(long inode) {
        List<Owner> l = new ArrayList<>(byInode.getOrDefault(inode, List.of()));
        l.sort((a, b) -> a.pid() != b.pid() ? Integer.compare(a.pid(), b.pid()) : Integer.compare(a.fd(), b.fd()));
        return l;
    }
}
