package io.jcni.agent;

import io.jcni.netlink.KernelException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.route.RouteEvents;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.netlink.route.Rtnl;
import java.util.List;

/**
 * Tells the agent at once when the kernel lost something it owns, instead of at the next
 * periodic pass: a route of {@link Dataplane#ROUTE_PROTOCOL} deleted (by hand, or by the kernel
 * when the underlay went down), a neighbour or FDB entry of a VXLAN device deleted, the underlay or a
 * {@code jcni.*} device added, removed or flapped. The deletions the agent's own passes make are
 * announced in {@link OwnDeletions} and do not wake it (a peer leaving would otherwise cost a
 * second full pass); its own link changes do, and such a pass finds nothing to do. The periodic
 * pass stays as the safety net.
 */
final class KernelWatch implements AutoCloseable {
    /** How long one wait for notifications lasts: the reader checks for close this often. */
    private static final int WAIT_MILLIS = 1000;

    private final RouteEvents events;
    /** Names the interface of a neighbour notification, which carries only its index. */
    private final RouteNetlink names;

    private final String underlay;
    private final Runnable onChange;
    private final OwnDeletions own;
    private final Thread reader;
    private volatile boolean closed;

    private KernelWatch(RouteEvents events, RouteNetlink names, String underlay, Runnable onChange, OwnDeletions own) {
        this.own = own;
        this.events = events;
        this.names = names;
        this.underlay = underlay;
        this.onChange = onChange;
        this.reader =
                Thread.ofPlatform().daemon().name("jcni-agent-kernel-watch").unstarted(this::read);
    }

    /** Watches the namespace {@code netns} (null: this process's); {@code onChange} runs on the reader thread. */
    static KernelWatch start(NetNs netns, String underlay, Runnable onChange) {
        return start(netns, underlay, onChange, new OwnDeletions());
    }

    /** Like {@link #start(NetNs, String, Runnable)}, not waking for the deletions announced in {@code own}. */
    static KernelWatch start(NetNs netns, String underlay, Runnable onChange, OwnDeletions own) {
        RouteEvents events = RouteEvents.open(netns, WAIT_MILLIS);
        RouteNetlink names;
        try {
            names = netns == null ? RouteNetlink.open(Trace.OFF) : RouteNetlink.open(netns, Trace.OFF);
        } catch (RuntimeException e) {
            events.close();
            throw e;
        }
        KernelWatch w = new KernelWatch(events, names, underlay, onChange, own);
        w.reader.start();
        return w;
    }

    private void read() {
        try {
            while (!closed) {
                List<RouteEvents.Change> changes = events.next();
                if (changes == null) {
                    continue;
                }
                if (changes.isEmpty()) {
                    own.clear();
                    onChange.run(); // notifications were dropped, so anything may have changed
                    continue;
                }
                boolean wake = false;
                for (RouteEvents.Change c : changes) {
                    wake |= concernsUs(c) && !announced(c); // every one looked at: each announced one is counted off
                }
                if (wake) {
                    onChange.run();
                }
            }
        } catch (RuntimeException e) {
            if (!closed) {
                onChange.run(); // the watch is gone; the periodic pass carries on
            }
        } finally {
            events.close();
            names.close();
        }
    }

    boolean concernsUs(RouteEvents.Change c) {
        return switch (c.type()) {
            case Rtnl.RTM_DELROUTE -> c.routeProtocol() == Dataplane.ROUTE_PROTOCOL;
            // a neighbour or FDB entry of a VXLAN device of ours (the pod bridge's learned entries come and go)
            case Rtnl.RTM_DELNEIGH -> ours(c.linkIndex());
            case Rtnl.RTM_NEWLINK, Rtnl.RTM_DELLINK ->
                c.linkName() != null
                        && (c.linkName().equals(underlay) || c.linkName().startsWith(Dataplane.VXLAN_PREFIX));
            default -> false;
        };
    }

    /** Whether {@code c} (one that concerns us) is a deletion the agent's own pass announced. */
    private boolean announced(RouteEvents.Change c) {
        return switch (c.type()) {
            case Rtnl.RTM_DELROUTE -> own.takeRoute();
            case Rtnl.RTM_DELNEIGH -> own.takeNeighbour();
            default -> false;
        };
    }

    private boolean ours(int linkIndex) {
        try {
            return names.links().get(linkIndex).name().startsWith(Dataplane.VXLAN_PREFIX);
        } catch (KernelException gone) {
            return false; // the device itself went: its own notification says so
        }
    }

    @Override
    public void close() {
        closed = true;
    }
}
