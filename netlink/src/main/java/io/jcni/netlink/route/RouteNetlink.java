package io.jcni.netlink.route;

import io.jcni.netlink.NetlinkSocket;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ns.NetNs;

/**
 * A handle on one namespace's rtnetlink: links, addresses, routes, neighbours and bridge FDB.
 * The socket is opened inside the namespace (on a short-lived platform thread) and then used
 * from the caller's thread; the handle never changes any thread's namespace afterwards.
 *
 * <pre>{@code
 * try (NetNs pod = NetNs.openNamed("pod1");
 *      RouteNetlink host = RouteNetlink.open(Trace.OFF);
 *      RouteNetlink inPod = RouteNetlink.open(pod, Trace.OFF)) {
 *     host.links().add(LinkSpec.veth("veth1a", "eth0").peerNetns(pod));
 *     inPod.addresses().add("eth0", IpPrefix.parse("10.1.0.2/24"));
 * }
 * }</pre>
 */
public final class RouteNetlink implements AutoCloseable {
    private final NetlinkSocket socket;
    private final NetNs netns;
    private final Trace trace;
    private final Links links;
    private final Addresses addresses;
    private final Routes routes;
    private final Neighbours neighbours;

    private RouteNetlink(NetlinkSocket socket, NetNs netns, Trace trace) {
        this.socket = socket;
        this.netns = netns;
        this.trace = trace;
        this.links = new Links(this);
        this.addresses = new Addresses(this);
        this.routes = new Routes(this);
        this.neighbours = new Neighbours(this);
    }

    /** A handle on the calling thread's namespace. */
    public static RouteNetlink open(Trace trace) {
        return new RouteNetlink(new NetlinkSocket(NetlinkSocket.NETLINK_ROUTE), null, trace);
    }

    /** A handle on {@code netns} (which the caller keeps open and closes). */
    public static RouteNetlink open(NetNs netns, Trace trace) {
        return new RouteNetlink(NetlinkSocket.openIn(netns, NetlinkSocket.NETLINK_ROUTE), netns, trace);
    }

    public Links links() {
        return links;
    }

    public Addresses addresses() {
        return addresses;
    }

    /** A new, empty batch of route, neighbour and FDB replacements on this handle. */
    public RouteBatch batch() {
        return new RouteBatch(this);
    }

    public Routes routes() {
        return routes;
    }

    public Neighbours neighbours() {
        return neighbours;
    }

    /** The namespace this handle works in, or null for the opener's own. */
    public NetNs netns() {
        return netns;
    }

    NetlinkSocket socket() {
        return socket;
    }

    Trace trace() {
        return trace;
    }

    /** Reports {@code ip ARGS} (run in this handle's namespace) to the trace. */
    void traceIp(String args) {
        if (trace.enabled()) {
            trace.command((netns == null ? "ip " : netns.ipCommand() + " ") + args);
        }
    }

    /** Reports {@code bridge ARGS} (run in this handle's namespace) to the trace. */
    void traceBridge(String args) {
        if (trace.enabled()) {
            trace.command((netns == null ? "" : netns.execPrefix()) + "bridge " + args);
        }
    }

    @Override
    public void close() {
        socket.close();
    }
}
