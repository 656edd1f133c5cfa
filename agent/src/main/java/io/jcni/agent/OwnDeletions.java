package io.jcni.agent;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The deletions the agent's own passes are making, counted so that the {@link KernelWatch} can
 * tell the kernel's notifications of them from somebody else's: a pass that removes a peer that
 * left would otherwise wake the agent for a second full pass with nothing to do (at 5000 peers,
 * as long as the first). The {@link Dataplane} counts a deletion in before it asks the kernel and
 * out again when nothing was deleted; the watch takes one off per notification it swallows. A
 * deletion nobody announced still wakes the agent, and so do dropped notifications (which also
 * clear the counts: the pass they cause finds whatever happened).
 */
final class OwnDeletions {
    private final AtomicInteger routes = new AtomicInteger();
    private final AtomicInteger neighbours = new AtomicInteger();

    /** A route of {@link Dataplane#ROUTE_PROTOCOL} is about to be deleted. */
    void route() {
        routes.incrementAndGet();
    }

    /** A neighbour or FDB entry of the VXLAN device is about to be deleted. */
    void neighbour() {
        neighbours.incrementAndGet();
    }

    /** The announced route deletion did not happen (it was gone already, or failed). */
    void routeNotDeleted() {
        decrement(routes);
    }

    /** The announced neighbour or FDB deletion did not happen. */
    void neighbourNotDeleted() {
        decrement(neighbours);
    }

    /** Whether a route deletion the kernel reported was announced (and counts it off). */
    boolean takeRoute() {
        return decrement(routes);
    }

    /** Whether a neighbour or FDB deletion the kernel reported was announced (and counts it off). */
    boolean takeNeighbour() {
        return decrement(neighbours);
    }

    /** Notifications were lost: forget what was announced. */
    void clear() {
        routes.set(0);
        neighbours.set(0);
    }

    private static boolean decrement(AtomicInteger n) {
        return n.getAndUpdate(v -> v > 0 ? v - 1 : 0) > 0;
    }
}
