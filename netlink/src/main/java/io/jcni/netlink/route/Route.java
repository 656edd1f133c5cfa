package io.jcni.netlink.route;

import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;

/**
 * A route. Build one with {@link #to} / {@link #defaultVia} and the {@code with…} methods; read
 * ones come back from {@link Routes#list}.
 *
 * @param destination the destination prefix; for a default route {@code 0.0.0.0/0} or {@code ::/0}
 * @param gateway     next hop, or null for a directly connected route
 * @param device      output interface name, or null (resolved by the kernel from the gateway)
 * @param table       routing table ({@link Rtnl#RT_TABLE_MAIN} unless set)
 * @param scope       {@link Rtnl#RT_SCOPE_UNIVERSE}, {@link Rtnl#RT_SCOPE_LINK}, …; -1 = what {@code ip route} picks
 * @param onlink      pretend the next hop is on-link even if no address covers it
 * @param metric      RTA_PRIORITY, 0 when unset
 * @param source      preferred source address (RTA_PREFSRC), or null
 * @param protocol    who installed it (RTPROT_BOOT for routes added by hand, RTPROT_KERNEL, …)
 * @param type        RTN_UNICAST, RTN_LOCAL, …
 */
public record Route(
        IpPrefix destination,
        IpAddress gateway,
        String device,
        int table,
        int scope,
        boolean onlink,
        int metric,
        IpAddress source,
        int protocol,
        int type) {

    /** A unicast route to {@code destination} in the main table. */
    public static Route to(IpPrefix destination) {
        return new Route(
                destination.network(),
                null,
                null,
                Rtnl.RT_TABLE_MAIN,
                -1,
                false,
                0,
                null,
                Rtnl.RTPROT_BOOT,
                Rtnl.RTN_UNICAST);
    }

    /** The default route of {@code gateway}'s family through {@code gateway}. */
    public static Route defaultVia(IpAddress gateway) {
        IpPrefix any = new IpPrefix(IpAddress.parse(gateway.isV4() ? "0.0.0.0" : "::"), 0);
        return to(any).via(gateway);
    }

    public Route via(IpAddress gw) {
        return new Route(destination, gw, device, table, scope, onlink, metric, source, protocol, type);
    }

    public Route dev(String dev) {
        return new Route(destination, gateway, dev, table, scope, onlink, metric, source, protocol, type);
    }

    public Route table(int t) {
        return new Route(destination, gateway, device, t, scope, onlink, metric, source, protocol, type);
    }

    public Route scope(int s) {
        return new Route(destination, gateway, device, table, s, onlink, metric, source, protocol, type);
    }

    public Route withOnlink() {
        return new Route(destination, gateway, device, table, scope, true, metric, source, protocol, type);
    }

    public Route metric(int m) {
        return new Route(destination, gateway, device, table, scope, onlink, m, source, protocol, type);
    }

    public Route src(IpAddress s) {
        return new Route(destination, gateway, device, table, scope, onlink, metric, s, protocol, type);
    }

    /** Route type: {@link Rtnl#RTN_BLACKHOLE}, {@link Rtnl#RTN_UNREACHABLE}, {@link Rtnl#RTN_PROHIBIT}, … */
    public Route type(int t) {
        return new Route(destination, gateway, device, table, scope, onlink, metric, source, protocol, t);
    }

    /** Who installed it ({@link Rtnl#RTPROT_STATIC}, …; {@link Rtnl#RTPROT_BOOT} unless set). */
    public Route protocol(int p) {
        return new Route(destination, gateway, device, table, scope, onlink, metric, source, p, type);
    }

    public boolean isDefault() {
        return destination.length() == 0;
    }

    public boolean isV4() {
        return destination.isV4();
    }

    /** The scope the kernel is asked for: when unset, what {@code ip route} picks for this type and next hop. */
    int effectiveScope() {
        return scope >= 0 ? scope : defaultScope();
    }

    /** iproute2's default: host for local/nat, link for broadcast/anycast/multicast and gateway-less unicast. */
    private int defaultScope() {
        return switch (type) {
            case Rtnl.RTN_LOCAL, 10 -> Rtnl.RT_SCOPE_HOST;
            case Rtnl.RTN_BROADCAST, 4, 5 -> Rtnl.RT_SCOPE_LINK;
            case Rtnl.RTN_UNICAST, Rtnl.RTN_UNSPEC -> gateway == null ? Rtnl.RT_SCOPE_LINK : Rtnl.RT_SCOPE_UNIVERSE;
            default -> Rtnl.RT_SCOPE_UNIVERSE;
        };
    }

    /** The route as {@code ip route} arguments (without the verb). */
    public String toIpArgs() {
        StringBuilder sb = new StringBuilder();
        if (type != Rtnl.RTN_UNICAST && type != Rtnl.RTN_UNSPEC) {
            sb.append(typeName(type)).append(' '); // else ip route would make a unicast route
        }
        sb.append(isDefault() ? "default" : destination.toString());
        if (gateway != null) {
            sb.append(" via ").append(gateway);
        }
        if (device != null) {
            sb.append(" dev ").append(device);
        }
        if (table != Rtnl.RT_TABLE_MAIN && table != 0) {
            sb.append(" table ").append(table);
        }
        if (scope >= 0 && scope != defaultScope()) {
            sb.append(" scope ").append(scopeName(scope));
        }
        if (source != null) {
            sb.append(" src ").append(source);
        }
        if (protocol != Rtnl.RTPROT_BOOT && protocol != Rtnl.RTPROT_UNSPEC) {
            sb.append(" proto ")
                    .append(
                            protocol == Rtnl.RTPROT_KERNEL
                                    ? "kernel"
                                    : protocol == Rtnl.RTPROT_STATIC ? "static" : Integer.toString(protocol));
        }
        if (metric != 0) {
            sb.append(" metric ").append(metric);
        }
        if (onlink) {
            sb.append(" onlink");
        }
        return sb.toString();
    }

    /** A route type as {@code ip route} spells it (unicast, local, blackhole, …), else the number. */
    public static String typeName(int type) {
        return switch (type) {
            case Rtnl.RTN_LOCAL -> "local";
            case Rtnl.RTN_BROADCAST -> "broadcast";
            case 4 -> "anycast";
            case 5 -> "multicast";
            case Rtnl.RTN_BLACKHOLE -> "blackhole";
            case Rtnl.RTN_UNREACHABLE -> "unreachable";
            case Rtnl.RTN_PROHIBIT -> "prohibit";
            case 9 -> "throw";
            case 10 -> "nat";
            default -> Integer.toString(type);
        };
    }

    /** A scope as {@code ip} spells it (global, link, host, …), else the number. */
    public static String scopeName(int scope) {
        return switch (scope) {
            case Rtnl.RT_SCOPE_UNIVERSE -> "global";
            case Rtnl.RT_SCOPE_SITE -> "site";
            case Rtnl.RT_SCOPE_LINK -> "link";
            case Rtnl.RT_SCOPE_HOST -> "host";
            case Rtnl.RT_SCOPE_NOWHERE -> "nowhere";
            default -> Integer.toString(scope);
        };
    }

    @Override
    public String toString() {
        return toIpArgs();
    }
}
