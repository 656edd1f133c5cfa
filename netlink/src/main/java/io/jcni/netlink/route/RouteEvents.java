package io.jcni.netlink.route;

import static io.jcni.netlink.route.Rtnl.*;

import io.jcni.netlink.NetlinkSocket;
import io.jcni.netlink.NlMessage;
import io.jcni.netlink.ns.NetNs;
import java.util.ArrayList;
import java.util.List;

/**
 * The kernel's notifications of link, IPv4 route and neighbour/FDB changes in one namespace,
 * what {@code ip monitor link route neigh} shows: a watcher learns at once that a route it owns
 * was deleted or a link flapped, instead of at its next periodic check.
 */
public final class RouteEvents implements AutoCloseable {
    private static final int RTMGRP_LINK = 0x1, RTMGRP_NEIGH = 0x4, RTMGRP_IPV4_ROUTE = 0x40;
    private static final int RTMSG_PROTOCOL_OFFSET = 5;
    private static final int NDMSG_STATE_OFFSET = 8;

    private final NetlinkSocket socket;

    private RouteEvents(NetlinkSocket socket) {
        this.socket = socket;
    }

    /**
     * Subscribes in {@code netns} (null: the caller's namespace); {@link #next} waits at most
     * {@code timeoutMillis}, so a reader thread can notice that it should stop.
     */
    public static RouteEvents open(NetNs netns, int timeoutMillis) {
        return new RouteEvents(NetlinkSocket.subscribe(
                netns, NetlinkSocket.NETLINK_ROUTE, RTMGRP_LINK | RTMGRP_NEIGH | RTMGRP_IPV4_ROUTE, timeoutMillis));
    }

    /**
     * Like {@link #open}, for link changes alone: a caller waiting for one link's RTM_DELLINK is not
     * woken by every route and neighbour change of a busy node.
     */
    public static RouteEvents openLinks(NetNs netns, int timeoutMillis) {
        return new RouteEvents(NetlinkSocket.subscribe(netns, NetlinkSocket.NETLINK_ROUTE, RTMGRP_LINK, timeoutMillis));
    }

    /**
     * One change the kernel reported.
     *
     * @param type          RTM_NEWLINK, RTM_DELLINK, RTM_NEWROUTE, RTM_DELROUTE, RTM_NEWNEIGH or RTM_DELNEIGH
     * @param linkIndex     the interface concerned (a route's output interface), 0 when none
     * @param linkName      for link changes, the interface's name; else null
     * @param routeProtocol for route changes, the route's protocol; else -1
     * @param neighbourState for neighbour/FDB changes, the NUD_* state the kernel reported (for a
     *                       deletion that is the dead entry's, not the state it had); else -1
     */
    public record Change(int type, int linkIndex, String linkName, int routeProtocol, int neighbourState) {
        public boolean isDelete() {
            return type == RTM_DELLINK || type == RTM_DELROUTE || type == RTM_DELNEIGH;
        }
    }

    /**
     * The next changes: null when none came within the timeout; an empty list when the kernel
     * dropped notifications (they came faster than they were read), so anything may have changed.
     */
    public List<Change> next() {
        List<NlMessage> messages = socket.notifications();
        if (messages == null) {
            return null;
        }
        List<Change> out = new ArrayList<>(messages.size());
        for (NlMessage m : messages) {
            switch (m.type()) {
                case RTM_NEWLINK, RTM_DELLINK ->
                    out.add(new Change(
                            m.type(), m.s32(4), m.attrs(IFINFOMSG_LEN).string(IFLA_IFNAME), -1, -1));
                case RTM_NEWROUTE, RTM_DELROUTE ->
                    out.add(new Change(
                            m.type(), m.attrs(RTMSG_LEN).u32(RTA_OIF, 0), null, m.u8(RTMSG_PROTOCOL_OFFSET), -1));
                case RTM_NEWNEIGH, RTM_DELNEIGH ->
                    out.add(new Change(m.type(), m.s32(4), null, -1, m.u16(NDMSG_STATE_OFFSET)));
                default -> {} // not subscribed
            }
        }
        return out;
    }

    @Override
    public void close() {
        socket.close();
    }
}
