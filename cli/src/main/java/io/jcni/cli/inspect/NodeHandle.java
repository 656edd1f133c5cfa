package io.jcni.cli.inspect;

import io.jcni.netlink.Trace;
import io.jcni.netlink.nft.Nftables;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.route.RouteNetlink;

/**
 * The node's namespace, open: the caller's own (no {@code --netns}), or a named one or a path
 * ({@code --netns NAME|PATH}), with the kernel handles the views use, all opened inside it.
 */
public final class NodeHandle implements AutoCloseable {
    private final NetNs ns;
    private final RouteNetlink rt;
    private final Trace trace;
    private Nftables nft;

    private NodeHandle(NetNs ns, Trace trace) {
        this.ns = ns;
        this.trace = trace;
        RouteNetlink r;
        try {
            r = ns == null ? RouteNetlink.open(trace) : RouteNetlink.open(ns, trace);
        } catch (RuntimeException e) {
            if (ns != null) {
                ns.close();
            }
            throw e;
        }
        this.rt = r;
    }

    /** {@code netns}: null for the caller's namespace, a name under /run/netns, or a path. */
    public static NodeHandle open(String netns, Trace trace) {
        return new NodeHandle(openNetns(netns), trace);
    }

    /** A name under /run/netns, or a path (anything with a '/'). */
    public static NetNs openNetns(String arg) {
        if (arg == null) {
            return null;
        }
        return arg.indexOf('/') >= 0 ? NetNs.open(arg) : NetNs.openNamed(arg);
    }

    /** The namespace, or null for the caller's own. */
    public NetNs netns() {
        return ns;
    }

    /** How the views name the node: the namespace's name or path, or "host". */
    public String label() {
        return ns == null ? "host" : ns.ipName();
    }

    /** {@code ip}, or the prefix that runs it in the node's namespace ({@code ip -n NODE}): for the fixes' command lines. */
    public String ip() {
        return ns == null ? "ip" : ns.ipCommand();
    }

    /** "" or the prefix that runs any command in the node's namespace ({@code ip netns exec NODE }). */
    public String exec() {
        return ns == null ? "" : ns.execPrefix();
    }

    public RouteNetlink rt() {
        return rt;
    }

    public Trace trace() {
        return trace;
    }

    public synchronized Nftables nft() {
        if (nft == null) {
            nft = ns == null ? Nftables.open(trace) : Nftables.open(ns, trace);
        }
        return nft;
    }

    /** The namespace's inode (what /proc/PID/ns/net links to), to find the processes that live in it. */
    public long inode() {
        if (ns != null) {
            return ns.inode();
        }
        try (NetNs self = NetNs.current()) {
            return self.inode();
        }
    }

    /** Runs {@code work} on a thread inside the node's namespace (the caller's thread when it is the caller's). */
    public <T> T run(NetNs.Work<T> work) {
        return ns == null ? work.run() : ns.run(work);
    }

    @Override
    public void close() {
        if (nft != null) {
            nft.close();
        }
        rt.close();
        if (ns != null) {
            ns.close();
        }
    }
}
