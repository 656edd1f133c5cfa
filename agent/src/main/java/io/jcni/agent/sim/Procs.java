package io.jcni.agent.sim;

import io.jcni.cni.io.Processes;
import io.jcni.netlink.ns.NamedNetns;
import io.jcni.netlink.ns.NetNs;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;

/** Processes of the simulation: running to completion, stopping, and finding those inside a namespace. */
final class Procs {
    private Procs() {}

    private static final long SELF = ProcessHandle.current().pid();

    /** Starts {@code pb} with stdout and stderr captured and waits up to {@code timeout}; kills it (and its children) then. */
    static ExecResult exec(ProcessBuilder pb, Duration timeout) {
        Process p;
        try {
            p = pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + pb.command() + ": " + e.getMessage(), e);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        // readers only copy bytes (no namespace change): virtual threads are fine here
        Thread outReader = Thread.ofVirtual().start(() -> copy(p.getInputStream(), out));
        Thread errReader = Thread.ofVirtual().start(() -> copy(p.getErrorStream(), err));
        long deadline = System.nanoTime() + timeout.toNanos();
        boolean done;
        try {
            done = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (!done) {
                kill(p);
            }
            // a background child may keep the pipes open after the command exited: read until the deadline at most
            outReader.join(Duration.ofNanos(Math.max(100_000_000L, deadline - System.nanoTime())));
            errReader.join(Duration.ofNanos(Math.max(100_000_000L, deadline - System.nanoTime())));
        } catch (InterruptedException e) {
            kill(p);
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + pb.command(), e);
        }
        ExecResult r = new ExecResult(
                p.isAlive() ? -1 : p.exitValue(),
                out.toString(StandardCharsets.UTF_8),
                err.toString(StandardCharsets.UTF_8));
        if (!done) {
            throw new IllegalStateException(
                    "timed out after " + timeout.toSeconds() + " s: " + pb.command() + "\n" + r.output());
        }
        return r;
    }

    private static void copy(InputStream in, ByteArrayOutputStream to) {
        try (in) {
            in.transferTo(to);
        } catch (IOException ignored) {
            // the process was killed: keep what was read
        }
    }

    /** SIGKILL to {@code p} and every descendant, then waits (10 s at most) for {@code p} to be gone. */
    static void kill(Process p) {
        Processes.killTree(p, Duration.ofSeconds(10));
    }

    /** SIGTERM, up to {@code grace} to exit, then SIGKILL. Returns the exit code. */
    static int stop(Process p, Duration grace) {
        p.destroy();
        try {
            if (!p.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                kill(p);
            }
            return p.waitFor();
        } catch (InterruptedException e) {
            kill(p);
            Thread.currentThread().interrupt();
            return p.isAlive() ? -1 : p.exitValue();
        }
    }

    private static final Pattern PLAIN_WORD = Pattern.compile("[A-Za-z0-9_./:=,@%+-]+");

    /** {@code cmd} as a shell would need it typed: words with spaces or specials single-quoted. */
    static String shellJoin(List<String> cmd) {
        StringBuilder sb = new StringBuilder();
        for (String a : cmd) {
            if (!sb.isEmpty()) {
                sb.append(' ');
            }
            sb.append(PLAIN_WORD.matcher(a).matches() ? a : "'" + a.replace("'", "'\\''") + "'");
        }
        return sb.toString();
    }

    /** Polls {@code condition} every few milliseconds until it holds (true) or {@code within} passed (false). */
    static boolean await(BooleanSupplier condition, Duration within) {
        long deadline = System.nanoTime() + within.toNanos();
        while (true) {
            if (condition.getAsBoolean()) {
                return true;
            }
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
    }

    /** The inode of each named namespace that (still) exists: what {@code /proc/PID/ns/net} of a process inside links to. */
    static Set<Long> inodes(Collection<String> netnsNames) {
        Set<Long> out = new HashSet<>();
        for (String n : netnsNames) {
            try (NetNs ns = NetNs.openNamed(n)) {
                out.add(ns.inode());
            } catch (RuntimeException gone) {
                // removed meanwhile, or half made: nothing can be inside
            }
        }
        return out;
    }

    /** Other processes whose network namespace is one of {@code inodes}. */
    static List<ProcessHandle> inNamespaces(Set<Long> inodes) {
        List<ProcessHandle> out = new ArrayList<>();
        if (inodes.isEmpty()) {
            return out;
        }
        for (ProcessHandle h : ProcessHandle.allProcesses().toList()) {
            if (h.pid() != SELF && inodes.contains(netnsInode(h.pid()))) {
                out.add(h);
            }
        }
        return out;
    }

    private static long netnsInode(long pid) {
        try {
            return parseInode(
                    Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "ns", "net"))
                            .toString(),
                    "net:[");
        } catch (IOException | RuntimeException e) {
            return -1; // exited, or a kernel thread
        }
    }

    private static long parseInode(String link, String kind) {
        if (!link.startsWith(kind) || !link.endsWith("]")) {
            return -1;
        }
        return Long.parseLong(link.substring(kind.length(), link.length() - 1));
    }

    /**
     * SIGKILLs every process inside the namespaces {@code inodes} and waits for them to be gone
     * (up to {@code within}); repeats, since one may have forked meanwhile. Returns how many
     * are left (0 normally).
     */
    static int killInNamespaces(Set<Long> inodes, Duration within) {
        long deadline = System.nanoTime() + within.toNanos();
        List<ProcessHandle> left = inNamespaces(inodes);
        while (!left.isEmpty() && System.nanoTime() - deadline < 0) {
            for (ProcessHandle h : left) {
                h.destroyForcibly();
            }
            for (ProcessHandle h : left) {
                try {
                    h.onExit().get(Math.max(1, (deadline - System.nanoTime()) / 1_000_000), TimeUnit.MILLISECONDS);
                } catch (Exception stillThere) {
                    break; // counted again below
                }
            }
            left = inNamespaces(inodes);
        }
        return left.size();
    }

    /**
     * Whether any process (this one included) holds a descriptor open on the named namespace
     * {@code netns}: a running {@link SimulatedCluster} keeps its underlay namespace open for its
     * whole life, which tells a live cluster from one left by a crashed run. A descriptor opened
     * by path reads back as that path, one from {@code /proc/PID/ns/net} as {@code net:[inode]}.
     */
    static boolean heldOpen(String netns) {
        Set<Long> inode = inodes(List.of(netns));
        if (inode.isEmpty()) {
            return false;
        }
        Set<String> wanted =
                Set.of(NamedNetns.pathOf(netns), "net:[" + inode.iterator().next() + "]");
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path proc : procs) {
                try (DirectoryStream<Path> fds = Files.newDirectoryStream(proc.resolve("fd"))) {
                    for (Path fd : fds) {
                        try {
                            if (wanted.contains(Files.readSymbolicLink(fd).toString())) {
                                return true;
                            }
                        } catch (IOException closed) {
                            // closed meanwhile
                        }
                    }
                } catch (IOException | RuntimeException exited) {
                    // exited meanwhile
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot list /proc: " + e.getMessage(), e);
        }
        return false;
    }

    /** rm -rf, without following symbolic links; a missing {@code dir} is fine. */
    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                try {
                    Files.delete(file);
                } catch (NoSuchFileException gone) {
                    // removed meanwhile (a socket's owner exiting)
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                if (e != null) {
                    throw e;
                }
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
