package io.jcni.plugins.bridge;

import io.jcni.cni.CniError;
import io.jcni.cni.Invocation;
import io.jcni.cni.Result;
import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.route.Address;
import io.jcni.netlink.route.Link;
import io.jcni.netlink.route.Route;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.netlink.route.Rtnl;
import java.util.ArrayList;
import java.util.List;

/**
 * CHECK: the attachment described by prevResult is still what ADD made. Reads only; the first
 * difference found is the error, naming what differs.
 */
final class BridgeCheck {
    private BridgeCheck() {}

    static void check(Invocation inv, BridgeConfig c, Ipam ipam) throws CniError {
        Result prev = inv.prevResult();
        if (prev == null) {
            throw CniError.invalidConfig("Required prevResult missing");
        }
        if (ipam != null) {
            ipam.check(inv);
        }
        try (RouteNetlink host = RouteNetlink.open(Trace.OFF);
                RouteNetlink pod = RouteNetlink.open(inv.netns(), Trace.OFF)) {
            Link br = checkBridge(host, c, prev);
            Link cl = checkContainerInterface(pod, inv, prev);
            checkHostPort(host, inv, c, br, cl);
            checkAddresses(pod, inv, prev);
            checkRoutes(pod, prev);
            if (c.ipMasq && !prev.ips().isEmpty()) {
                List<IpPrefix> addresses = new ArrayList<>();
                for (Result.IpConfig ip : prev.ips()) {
                    addresses.add(ip.address());
                }
                List<String> missing = new PodNat(Trace.OFF, inv, ipam).missing(addresses);
                if (!missing.isEmpty()) {
                    throw failed(String.join("; ", missing));
                }
            }
        }
    }

    private static Link checkBridge(RouteNetlink host, BridgeConfig c, Result prev) throws CniError {
        Link br = host.links().find(c.bridge).orElseThrow(() -> failed("bridge " + c.bridge + " does not exist"));
        if (!"bridge".equals(br.kind())) {
            throw failed("\"" + c.bridge + "\" is not a bridge");
        }
        if (c.promiscMode && !br.isPromiscuous()) {
            throw failed("bridge " + c.bridge + " is not in promiscuous mode");
        }
        for (Result.Interface i : prev.interfaces()) {
            if (i.name().equals(c.bridge) && i.mac() != null && !i.mac().equalsIgnoreCase(String.valueOf(br.mac()))) {
                throw failed("bridge " + c.bridge + " has MAC " + br.mac() + ", the result says " + i.mac());
            }
        }
        return br;
    }

    private static Link checkContainerInterface(RouteNetlink pod, Invocation inv, Result prev) throws CniError {
        Result.Interface container = null;
        for (Result.Interface i : prev.interfaces()) {
            if (i.name().equals(inv.ifname()) && inv.netnsPath().equals(i.sandbox())) {
                container = i;
            }
        }
        if (container == null) {
            throw failed("prevResult has no interface " + inv.ifname() + " in sandbox " + inv.netnsPath());
        }
        Link cl = pod.links()
                .find(inv.ifname())
                .orElseThrow(() -> failed("interface " + inv.ifname() + " is missing in " + inv.netnsPath()));
        if (!"veth".equals(cl.kind())) {
            throw failed(inv.ifname() + " is not a veth");
        }
        if (container.mac() != null && !container.mac().equalsIgnoreCase(String.valueOf(cl.mac()))) {
            throw failed(inv.ifname() + " has MAC " + cl.mac() + ", the result says " + container.mac());
        }
        return cl;
    }

    private static void checkHostPort(RouteNetlink host, Invocation inv, BridgeConfig c, Link br, Link cl)
            throws CniError {
        Link peer;
        try {
            peer = host.links().get(cl.peerIndex());
        } catch (NoSuchObjectException e) {
            throw failed("the host end of " + inv.ifname() + " is missing");
        }
        if (peer.masterIndex() != br.index()) {
            throw failed("host veth " + peer.name() + " is not attached to " + c.bridge);
        }
        String tag = Attachment.alias(inv.network(), inv.containerId(), inv.ifname());
        if (!tag.equals(peer.alias())) {
            throw failed("host veth " + peer.name() + " is not tagged as this attachment's (alias "
                    + (peer.alias() == null ? "none" : "\"" + peer.alias() + "\"") + ", expected \"" + tag + "\")");
        }
        if (c.macspoofchk && !new SpoofCheck(Trace.OFF).covers(peer.name(), cl.mac())) {
            throw failed("no MAC spoof check for port " + peer.name() + " and " + cl.mac());
        }
    }

    private static void checkAddresses(RouteNetlink pod, Invocation inv, Result prev) throws CniError {
        List<Address> have = pod.addresses().list(inv.ifname());
        for (Result.IpConfig ip : prev.ips()) {
            if (ip.interfaceIndex() != null
                    && ip.interfaceIndex() < prev.interfaces().size()
                    && !prev.interfaces().get(ip.interfaceIndex()).name().equals(inv.ifname())) {
                continue;
            }
            boolean found = false;
            for (Address a : have) {
                found |= a.prefix().equals(ip.address());
            }
            if (!found) {
                throw failed("address " + ip.address() + " is missing on " + inv.ifname());
            }
        }
    }

    private static void checkRoutes(RouteNetlink pod, Result prev) throws CniError {
        List<Route> routes = pod.routes().list(Rtnl.AF_UNSPEC, 0);
        for (Result.RouteEntry r : prev.routes()) {
            boolean found = false;
            for (Route k : routes) {
                if (k.destination().network().equals(r.dst().network())
                        && (r.gw() == null || r.gw().equals(k.gateway()))) {
                    found = true;
                }
            }
            if (!found) {
                throw failed("route " + r.dst() + (r.gw() == null ? "" : " via " + r.gw()) + " is missing");
            }
        }
    }

    private static CniError failed(String what) {
        return new CniError(CniError.CHECK_FAILED, "CHECK failed", what);
    }
}
