package io.jcni.agent;

import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.route.Address;
import io.jcni.netlink.route.Link;
import io.jcni.netlink.route.Route;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.netlink.route.Rtnl;

/**
 * The interface that faces the other nodes and this node's address on it, found the way flannel
 * finds them: {@code --iface} as a name or as an address held by an interface, else the interface
 * of the IPv4 default route; {@code --public-ip}, else the interface's first global IPv4 address.
 *
 * @param iface    the interface's name
 * @param publicIp the address the other nodes send this node's pods' traffic to
 */
public record Underlay(String iface, IpAddress publicIp) {

    /** Resolves the flags against the kernel; {@link IllegalStateException} says what is missing. */
    public static Underlay resolve(RouteNetlink nl, String ifaceFlag, String publicIpFlag) {
        String iface = ifaceFlag == null ? defaultRouteInterface(nl) : interfaceOf(nl, ifaceFlag);
        IpAddress publicIp;
        if (publicIpFlag != null) {
            publicIp = IpAddress.tryParse(publicIpFlag);
            if (publicIp == null || !publicIp.isV4()) {
                throw new IllegalStateException("--public-ip " + publicIpFlag + " is not an IPv4 address");
            }
        } else {
            publicIp = firstV4(nl, iface);
        }
        return new Underlay(iface, publicIp);
    }

    private static String interfaceOf(RouteNetlink nl, String flag) {
        IpAddress a = IpAddress.tryParse(flag);
        if (a == null) {
            if (nl.links().find(flag).isEmpty()) {
                throw new IllegalStateException("--iface " + flag + ": no such interface");
            }
            return flag;
        }
        for (Link l : nl.links().list()) {
            for (Address addr : nl.addresses().list(l.name())) {
                if (addr.prefix().address().equals(a)) {
                    return l.name();
                }
            }
        }
        throw new IllegalStateException("--iface " + flag + ": no interface holds this address");
    }

    private static String defaultRouteInterface(RouteNetlink nl) {
        for (Route r : nl.routes().list(Rtnl.AF_INET, Rtnl.RT_TABLE_MAIN)) {
            if (r.isDefault() && r.device() != null) {
                return r.device();
            }
        }
        throw new IllegalStateException("no IPv4 default route to take the interface from: name it with --iface");
    }

    private static IpAddress firstV4(RouteNetlink nl, String iface) {
        for (Address a : nl.addresses().list(iface)) {
            if (a.prefix().isV4() && a.scope() == Rtnl.RT_SCOPE_UNIVERSE) {
                return a.prefix().address();
            }
        }
        throw new IllegalStateException("interface " + iface + " has no IPv4 address: give one with --public-ip");
    }
}
