package io.jcni.cli.inspect;

import io.jcni.netlink.diag.NetnsIds;
import io.jcni.netlink.ns.NetNs;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns the namespace ids a node's links report ({@code link-netnsid}) into namespace paths. A
 * veth's peer namespace is known to the node only by such an id; this asks the node's namespace
 * for the id of each candidate (the attachments' namespaces and /run/netns first, then every
 * process's {@code /proc/PID/ns/net}, for namespaces that have no name), as {@code ip link}
 * does for {@code link-netns NAME}.
 */
final class NetnsResolver implements AutoCloseable {
    private final NetnsIds ids;
    private final long viewerInode;
    private final List<String> preferred;
    private final Map<Integer, String> byId = new HashMap<>();
    private final Set<Long> seen = new HashSet<>();
    private boolean preferredDone, procDone;

    NetnsResolver(NetNs viewer, long viewerInode, Collection<String> preferred) {
        this.ids = NetnsIds.from(viewer);
        this.viewerInode = viewerInode;
        this.preferred = new ArrayList<>(new LinkedHashSet<>(preferred));
    }

    /** The path of the namespace with {@code nsid} as the node sees it, or null when none was found. */
    String pathOf(int nsid) {
        if (nsid < 0) {
            return null;
        }
        if (!byId.containsKey(nsid) && !preferredDone) {
            preferredDone = true;
            List<String> candidates = new ArrayList<>(preferred);
            String[] named = new java.io.File(NetNs.RUN_DIR).list();
            if (named != null) {
                java.util.Arrays.sort(named);
                for (String n : named) {
                    candidates.add(NetNs.RUN_DIR + "/" + n);
                }
            }
            for (String c : candidates) {
                probe(c, -1);
            }
        }
        if (!byId.containsKey(nsid) && !procDone) {
            procDone = true;
            try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"))) {
                for (Path p : procs) {
                    String name = p.getFileName().toString();
                    if (name.isEmpty() || !Character.isDigit(name.charAt(0))) {
                        continue;
                    }
                    long ino = inodeOfLink(p.resolve("ns/net"));
                    if (ino > 0 && !seen.contains(ino)) {
                        probe(p.resolve("ns/net").toString(), ino);
                    }
                }
            } catch (IOException e) {
                // no /proc: the peers stay unresolved
            }
        }
        return byId.get(nsid);
    }

    private void probe(String path, long knownInode) {
        if (knownInode > 0 && (seen.contains(knownInode) || knownInode == viewerInode)) {
            return;
        }
        try (NetNs ns = NetNs.open(path)) {
            long ino = ns.inode();
            if (!seen.add(ino) || ino == viewerInode) {
                return;
            }
            int id = ids.idOf(ns);
            if (id >= 0) {
                byId.putIfAbsent(id, path);
            }
        } catch (RuntimeException gone) {
            // vanished, or not a namespace: not a candidate
        }
    }

    /** The inode a /proc/PID/ns/net link names ({@code net:[4026531840]}), or -1. */
    static long inodeOfLink(Path link) {
        try {
            String t = Files.readSymbolicLink(link).toString();
            int a = t.indexOf('['), b = t.indexOf(']');
            return a > 0 && b > a ? Long.parseLong(t.substring(a + 1, b)) : -1;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    @Override
    public void close() {
        ids.close();
    }
}
