package io.jcni.netlink.route;

import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.MacAddress;

/**
 * A neighbour (ARP or NDP) entry as the kernel reports it.
 *
 * @param linkIndex the interface it belongs to
 * @param link      the interface's name (null when the listing could not resolve it)
 * @param address   the neighbour's IP address
 * @param mac       its link-layer address, null while unresolved (INCOMPLETE, FAILED)
 * @param state     NUD_* bits ({@link Rtnl#NUD_PERMANENT}, {@link Rtnl#NUD_REACHABLE}, …)
 * @param flags     NTF_* bits
 */
public record Neighbour(int linkIndex, String link, IpAddress address, MacAddress mac, int state, int flags) {

    public boolean isPermanent() {
        return (state & Rtnl.NUD_PERMANENT) != 0;
    }

    /** The state as {@code ip neigh} spells it after {@code nud} ({@code permanent}, {@code reachable}, …). */
    public String stateName() {
        return Neighbours.stateName(state);
    }
}
