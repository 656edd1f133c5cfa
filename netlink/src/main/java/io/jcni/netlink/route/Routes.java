package io.jcni.netlink.route;

import static io.jcni.netlink.NlRequest.NLM_F_CREATE;
import static io.jcni.netlink.NlRequest.NLM_F_EXCL;
import static io.jcni.netlink.NlRequest.NLM_F_REPLACE;
import static io.jcni.netlink.route.Rtnl.*;

import io.jcni.netlink.NlAttrs;
import io.jcni.netlink.NlMessage;
import io.jcni.netlink.NlRequest;
import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Routes (IPv4 and IPv6, any table) of one namespace. */
public final class Routes {
    private final RouteNetlink nl;

    Routes(RouteNetlink nl) {
        this.nl = nl;
    }

    /** {@code ip route add}: {@link io.jcni.netlink.ObjectExistsException} when an equal route exists. */
    public void add(Route route) {
        nl.socket().execute(message(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, "add route", route));
        nl.traceIp((route.isV4() ? "" : "-6 ") + "route add " + route.toIpArgs());
    }

    /** {@code ip route replace}: adds, or replaces the route with the same destination, table and metric. */
    public void replace(Route route) {
        nl.socket().execute(message(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, "replace route", route));
        nl.traceIp((route.isV4() ? "" : "-6 ") + "route replace " + route.toIpArgs());
    }

    /** {@code ip route del}: {@link NoSuchObjectException} when no route matches. */
    public void delete(Route route) {
        nl.socket().execute(message(RTM_DELROUTE, 0, "delete route", route));
        nl.traceIp((route.isV4() ? "" : "-6 ") + "route del " + route.toIpArgs());
    }

    public boolean deleteIfExists(Route route) {
        try {
            delete(route);
            return true;
        } catch (NoSuchObjectException e) {
            return false;
        }
    }

    /**
     * Deletes a route only if one of {@code route}'s protocol matches ({@code ip route del … proto P}):
     * {@link #delete} matches any protocol, so it may take a route someone else installed to the same
     * destination through the same next hop. For owners that mark their routes with a protocol
     * number. False when there is no such route.
     */
    public boolean deleteOfProtocolIfExists(Route route) {
        try {
            nl.socket().execute(message(RTM_DELROUTE, 0, "delete route", route, true));
        } catch (NoSuchObjectException e) {
            return false;
        }
        nl.traceIp((route.isV4() ? "" : "-6 ") + "route del " + route.toIpArgs()
                + (route.protocol() == RTPROT_BOOT ? " proto boot" : ""));
        return true;
    }

    private NlRequest message(int type, int flags, String op, Route route) {
        return message(type, flags, op, route, false);
    }

    private NlRequest message(int type, int flags, String op, Route route, boolean sameProtocol) {
        return message(
                type,
                flags,
                op,
                route,
                sameProtocol,
                name -> nl.links().get(name).index());
    }

    /** The request for {@code route}, its device's index from {@code index} (a {@link RouteBatch} resolves each name once). */
    NlRequest message(
            int type,
            int flags,
            String op,
            Route route,
            boolean sameProtocol,
            java.util.function.ToIntFunction<String> index) {
        IpPrefix dst = route.destination();
        boolean del = type == RTM_DELROUTE;
        NlRequest r = new NlRequest(type, flags, op, route.toIpArgs())
                .u8(dst.isV4() ? AF_INET : AF_INET6)
                .u8(dst.length())
                .u8(0)
                .u8(0)
                .u8(route.table() < 256 ? route.table() : RT_TABLE_UNSPEC)
                .u8(del && !sameProtocol ? RTPROT_UNSPEC : route.protocol())
                .u8(del && route.scope() < 0 ? RT_SCOPE_NOWHERE : route.effectiveScope())
                .u8(route.type())
                .u32(route.onlink() ? RTNH_F_ONLINK : 0);
        if (dst.length() > 0) {
            r.attr(RTA_DST, dst.network().address().bytes());
        }
        if (route.gateway() != null) {
            r.attr(RTA_GATEWAY, route.gateway().bytes());
        }
        if (route.device() != null) {
            r.attrU32(RTA_OIF, index.applyAsInt(route.device()));
        }
        if (route.source() != null) {
            r.attr(RTA_PREFSRC, route.source().bytes());
        }
        if (route.metric() != 0) {
            r.attrU32(RTA_PRIORITY, route.metric());
        }
        if (route.table() >= 256) {
            r.attrU32(RTA_TABLE, route.table());
        }
        return r;
    }

    /**
     * {@code ip route get DESTINATION}: the name of the interface the kernel would send a packet
     * to {@code destination} through, or null when it has no route (or only a route without a
     * device, e.g. unreachable). A local address gives {@code lo}.
     */
    public String outputDevice(IpAddress destination) {
        NlRequest r = new NlRequest(RTM_GETROUTE, 0, "get route", destination.toString())
                .u8(destination.isV4() ? AF_INET : AF_INET6)
                .u8(destination.bits())
                .u8(0)
                .u8(0)
                .u8(0)
                .u8(0)
                .u8(0)
                .u8(0)
                .u32(0)
                .attr(RTA_DST, destination.bytes());
        List<NlMessage> replies;
        try {
            replies = nl.socket().execute(r);
        } catch (io.jcni.netlink.KernelException unreachable) {
            return null;
        }
        for (NlMessage m : replies) {
            if (m.type() != RTM_NEWROUTE) {
                continue;
            }
            int oif = m.attrs(RTMSG_LEN).u32(RTA_OIF, 0);
            if (oif != 0) {
                // one link by index, not a dump of all: a dump is interrupted by every link change
                // meanwhile, and on a busy node links change all the time
                try {
                    return nl.links().get(oif).name();
                } catch (NoSuchObjectException gone) {
                    return null;
                }
            }
        }
        return null;
    }

    /**
     * Routes of {@code family} ({@link Rtnl#AF_INET}, {@link Rtnl#AF_INET6} or {@link Rtnl#AF_UNSPEC})
     * in {@code table} (0: every table), device names resolved.
     */
    public List<Route> list(int family, int table) {
        Map<Integer, String> names = new HashMap<>();
        for (Link l : nl.links().list()) {
            names.put(l.index(), l.name());
        }
        NlRequest r = new NlRequest(RTM_GETROUTE, 0, "list routes", null)
                .u8(family)
                .u8(0)
                .u8(0)
                .u8(0)
                .u8(table < 256 ? table : 0)
                .u8(0)
                .u8(0)
                .u8(0)
                .u32(0);
        if (table >= 256) {
            r.attrU32(RTA_TABLE, table);
        }
        List<Route> out = new ArrayList<>();
        for (NlMessage m : nl.socket().dump(r)) {
            if (m.type() != RTM_NEWROUTE) {
                continue;
            }
            int fam = m.u8(0);
            NlAttrs a = m.attrs(RTMSG_LEN);
            int tbl = a.u32(RTA_TABLE, m.u8(4));
            if (table != 0 && tbl != table) {
                continue;
            }
            byte[] dst = a.bytes(RTA_DST);
            IpAddress d = dst != null ? IpAddress.of(dst) : IpAddress.parse(fam == AF_INET ? "0.0.0.0" : "::");
            byte[] gw = a.bytes(RTA_GATEWAY);
            byte[] src = a.bytes(RTA_PREFSRC);
            int oif = a.u32(RTA_OIF, 0);
            out.add(new Route(
                    new IpPrefix(d, m.u8(1)),
                    gw == null ? null : IpAddress.of(gw),
                    oif == 0 ? null : names.getOrDefault(oif, "if" + oif),
                    tbl,
                    m.u8(6),
                    (m.s32(8) & RTNH_F_ONLINK) != 0,
                    a.u32(RTA_PRIORITY, 0),
                    src == null ? null : IpAddress.of(src),
                    m.u8(5),
                    m.u8(7)));
        }
        return out;
    }
}
