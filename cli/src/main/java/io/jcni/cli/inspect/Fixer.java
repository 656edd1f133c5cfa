package io.jcni.cli.inspect;

import io.jcni.netlink.Trace;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.route.RouteNetlink;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a {@link Finding.Repair} works with: the node's namespace, opened with a trace that reports
 * every change as its command ({@code ip}, {@code nft}, {@code sysctl}, through the netlink
 * layer's {@link Trace}), and the same trace for the file changes, which are reported as the
 * shell command that does the same ({@code rm FILE}).
 */
public final class Fixer {
    private final NodeHandle node;
    private final Trace trace;

    Fixer(NodeHandle node, Trace trace) {
        this.node = node;
        this.trace = trace;
    }

    public NodeHandle node() {
        return node;
    }

    public Trace trace() {
        return trace;
    }

    /** A handle on a pod's namespace, with the same trace; the caller closes it and {@code ns}. */
    RouteNetlink in(NetNs ns) {
        return RouteNetlink.open(ns, trace);
    }

    /** Removes a file, reported as {@code rm FILE}; false when it was already gone. */
    boolean remove(Path f) throws IOException {
        boolean gone = Files.deleteIfExists(f);
        if (gone) {
            trace.command("rm " + shell(f.toString()));
        }
        return gone;
    }

    static String shell(String s) {
        return s.matches("[A-Za-z0-9_./:@%+=,-]+") ? s : "'" + s.replace("'", "'\\''") + "'";
    }
}
