package io.jcni.agent;

import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.route.RouteEvents;
import io.jcni.netlink.route.Rtnl;

import java.util.List;

/**
 * Tells the agent at once when the kernel lost something it owns, instead of at the next
 * periodic pass: a route of {@link Dataplane#ROUTE_PROTOCOL} deleted (by hand, or by the kernel
 * when the underlay went down), a permanent neighbour or FDB entry deleted, the underlay or a
 * {@code jcni.*} device added, removed or flapped. Changes the agent's own passes make wake it
 * too; such a pass finds nothing to do. The periodic pass stays as the safety net.
 */
final class KernelWatch implements AutoCloseable {
    /** How long one wait for notifications lasts: the reader checks for close this often. */
    private static final int WAIT_MILLIS = 1000;

    private final RouteEvents events;
    private final String underlay;
    private final Runnable onChange;
    private final Thread reader;
    private volatile boolean closed;

    private KernelWatch(RouteEvents events, String underlay, Runnable onChange) {
        this.events = events;
        this.underlay = underlay;
        this.onChange = onChange;
        this.reader = Thread.ofPlatform().daemon().name("jcni-agent-kernel-watch").unstarted(this::read);
    }

    /** Watches the namespace {@code netns} (null: this process's); {@code onChange} runs on the reader thread. */
    static KernelWatch start(NetNs netns, String underlay, Runnable onChange) {
        KernelWatch w = new KernelWatch(RouteEvents.open(netns, WAIT_MILLIS), underlay, onChange);
        w.reader.start();
        return w;
    }

    private void read() {
        try {
            while (!closed) {
                List<RouteEvents.Change> changes = events.next();
                if (changes != null && (changes.isEmpty() || changes.stream().anyMatch(this::concernsUs))) {
                    onChange.run(); // empty: notifications were dropped, so anything may have changed
                }
            }
        } catch (RuntimeException e) {
            if (!closed) {
                onChange.run(); // the watch is gone; the periodic pass carries on
            }
        } finally {
            events.close();
        }
    }

    boolean concernsUs(RouteEvents.Change c) {
        return switch (c.type()) {
            case Rtnl.RTM_DELROUTE -> c.routeProtocol() == Dataplane.ROUTE_PROTOCOL;
            case Rtnl.RTM_DELNEIGH -> (c.neighbourState() & Rtnl.NUD_PERMANENT) != 0;
            case Rtnl.RTM_NEWLINK, Rtnl.RTM_DELLINK -> c.linkName() != null
                    && (c.linkName().equals(underlay) || c.linkName().startsWith(Dataplane.VXLAN_PREFIX));
            default -> false;
        };
    }

    @Override
    public void close() {
        closed = true;
    }
}
