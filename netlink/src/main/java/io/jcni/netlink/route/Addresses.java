package io.jcni.netlink.route;

import static io.jcni.netlink.NlRequest.NLM_F_CREATE;
import static io.jcni.netlink.NlRequest.NLM_F_EXCL;
import static io.jcni.netlink.route.Rtnl.*;

import io.jcni.netlink.NlAttrs;
import io.jcni.netlink.NlMessage;
import io.jcni.netlink.NlRequest;
import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import java.util.ArrayList;
import java.util.List;

/** Interface addresses (IPv4 and IPv6) of one namespace. */
public final class Addresses {
    /** Skip IPv6 duplicate address detection: the address is usable at once. */
    public static final int NO_DAD = IFA_F_NODAD;
    /** Do not add the connected route for the prefix. */
    public static final int NO_PREFIX_ROUTE = IFA_F_NOPREFIXROUTE;

    private final RouteNetlink nl;

    Addresses(RouteNetlink nl) {
        this.nl = nl;
    }

    public void add(String link, IpPrefix prefix) {
        add(link, prefix, 0);
    }

    /**
     * Adds {@code prefix} to {@code link} ({@code ip addr add}); IPv4 addresses get the subnet's
     * broadcast address as {@code brd +} would. {@code flags}: {@link #NO_DAD}, {@link #NO_PREFIX_ROUTE}.
     */
    public void add(String link, IpPrefix prefix, int flags) {
        int index = nl.links().get(link).index();
        NlRequest r =
                message(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, "add address", prefix + " dev " + link, index, prefix);
        boolean brd = prefix.isV4() && prefix.length() < 31;
        if (brd) {
            r.attr(IFA_BROADCAST, prefix.lastAddress().bytes());
        }
        if (flags != 0) {
            r.attrU32(IFA_FLAGS, flags);
        }
        nl.socket().execute(r);
        if (nl.trace().enabled()) {
            nl.traceIp("addr add " + prefix + (brd ? " brd +" : "") + " dev " + link
                    + ((flags & NO_DAD) != 0 ? " nodad" : "")
                    + ((flags & NO_PREFIX_ROUTE) != 0 ? " noprefixroute" : ""));
        }
    }

    /** Removes {@code prefix} from {@code link}; {@link NoSuchObjectException} when it is not there. */
    public void delete(String link, IpPrefix prefix) {
        int index = nl.links().get(link).index();
        nl.socket().execute(message(RTM_DELADDR, 0, "delete address", prefix + " dev " + link, index, prefix));
        nl.traceIp("addr del " + prefix + " dev " + link);
    }

    private static NlRequest message(int type, int flags, String op, String object, int index, IpPrefix prefix) {
        byte[] a = prefix.address().bytes();
        return new NlRequest(type, flags, op, object)
                .u8(prefix.isV4() ? AF_INET : AF_INET6)
                .u8(prefix.length())
                .u8(0)
                .u8(RT_SCOPE_UNIVERSE)
                .u32(index)
                .attr(IFA_LOCAL, a)
                .attr(IFA_ADDRESS, a);
    }

    /** Addresses of {@code link} (all links when null), both families. */
    public List<Address> list(String link) {
        int index = link == null ? 0 : nl.links().get(link).index();
        List<Address> out = new ArrayList<>();
        NlRequest r = new NlRequest(RTM_GETADDR, 0, "list addresses", link)
                .u8(AF_UNSPEC)
                .u8(0)
                .u8(0)
                .u8(0)
                .u32(index);
        for (NlMessage m : nl.socket().dump(r)) {
            if (m.type() != RTM_NEWADDR) {
                continue;
            }
            int ifindex = m.s32(4);
            if (index != 0 && ifindex != index) {
                continue; // kernels without strict dump checking ignore the filter
            }
            NlAttrs a = m.attrs(IFADDRMSG_LEN);
            byte[] addr = a.has(IFA_LOCAL) ? a.bytes(IFA_LOCAL) : a.bytes(IFA_ADDRESS);
            if (addr == null) {
                continue;
            }
            int flags = a.u32(IFA_FLAGS, m.u8(2));
            out.add(new Address(
                    ifindex, new IpPrefix(IpAddress.of(addr), m.u8(1)), m.u8(3), flags, a.string(IFA_LABEL)));
        }
        return out;
    }
}
