package io.jcni.cli.inspect;

import io.jcni.netlink.route.Address;
import io.jcni.netlink.route.Neighbour;
import io.jcni.netlink.route.Route;
import java.util.Map;

/** How the views spell kernel objects, in the words of {@code ip}: scopes, protocols, states. */
final class Text {
    private Text() {}

    static String scope(int scope) {
        return Route.scopeName(scope);
    }

    /** As {@code ip -j route} spells a protocol (names from iproute2's rt_protos, else the number). */
    static String protocol(int p) {
        return switch (p) {
            case 0 -> "unspec";
            case 1 -> "redirect";
            case 2 -> "kernel";
            case 3 -> "boot";
            case 4 -> "static";
            case 8 -> "gated";
            case 9 -> "ra";
            case 10 -> "mrt";
            case 11 -> "zebra";
            case 12 -> "bird";
            case 13 -> "dnrouted";
            case 14 -> "xorp";
            case 15 -> "ntk";
            case 16 -> "dhcp";
            case 17 -> "mrouted";
            case 18 -> "keepalived";
            case 42 -> "babel";
            case 99 -> "openr";
            case 186 -> "bgp";
            case 187 -> "isis";
            case 188 -> "ospf";
            case 189 -> "rip";
            case 192 -> "eigrp";
            default -> Integer.toString(p);
        };
    }

    static String routeType(int t) {
        return Route.typeName(t);
    }

    /** A route's destination as {@code ip route} prints it ({@code default} for /0). */
    static String dst(Route r) {
        return r.isDefault()
                ? "default"
                : r.destination().length() == r.destination().address().bits()
                        ? r.destination().address().toString()
                        : r.destination().toString();
    }

    /** A neighbour state in {@code ip -j neigh}'s upper case ({@code REACHABLE}, {@code PERMANENT}). */
    static String neighState(Neighbour n) {
        return n.stateName().toUpperCase(java.util.Locale.ROOT);
    }

    static String family(boolean v4) {
        return v4 ? "inet" : "inet6";
    }

    static String addr(Address a) {
        return a.prefix().toString();
    }

    static String nz(Object o) {
        return o == null ? "-" : o.toString();
    }

    static String env(Map<String, String> m) {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, String> e : m.entrySet()) {
            sb.append(sb.isEmpty() ? "" : " ").append(e.getKey()).append('=').append(e.getValue());
        }
        return sb.toString();
    }
}
