package io.jcni.netlink.route;

/** Neighbour (ARP/NDP) entries and bridge FDB entries of one namespace. */
public final class Neighbours {
    private final RouteNetlink nl;

    Neighbours(RouteNetlink nl) {
        this.nl = nl;
    }
}
