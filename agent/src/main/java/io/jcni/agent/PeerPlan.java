package io.jcni.agent;

import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ip.MacAddress;
import io.jcni.netlink.route.Route;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What one peer needs on this node. {@code neighbour}, {@code mac} and {@code fdbDst} are null
 * when the peer is reached by a plain route through the underlay (host-gw, or DirectRouting).
 *
 * @param route     the route to the peer's subnet, protocol {@link Dataplane#ROUTE_PROTOCOL}
 * @param neighbour the peer's VTEP address on the VXLAN device (its subnet's network address)
 * @param mac       the peer's VTEP MAC
 * @param fdbDst    where frames for {@code mac} are sent: the peer's public IP
 */
record PeerPlan(Lease peer, Route route, IpAddress neighbour, MacAddress mac, IpAddress fdbDst) {

    boolean overlay() {
        return neighbour != null;
    }

    /**
     * The plans for every peer in {@code leases}: every lease except this node's own. Leases that
     * cannot be programmed (outside the network, vxlan without a VTEP MAC, a MAC another peer
     * already publishes) are left out with an error each.
     *
     * @param vxlanDevice the VXLAN device's name, or null for host-gw
     * @param direct      for vxlan with DirectRouting: the underlay's connected subnets; else empty
     */
    static List<PeerPlan> of(
            NetworkConfig config,
            Lease own,
            Collection<Lease> leases,
            String underlay,
            String vxlanDevice,
            List<IpPrefix> direct,
            List<String> errors) {
        Map<IpPrefix, Lease> bySubnet = new LinkedHashMap<>();
        for (Lease l : leases) {
            bySubnet.put(l.subnet().network(), l);
        }
        List<PeerPlan> plans = new ArrayList<>();
        Map<MacAddress, Lease> macs = new HashMap<>();
        for (Lease l : bySubnet.values()) {
            IpPrefix subnet = l.subnet().network();
            if (subnet.equals(own.subnet().network())) {
                continue;
            }
            if (l.publicIp().equals(own.publicIp())) {
                // A lease naming this node's address but another subnet is one this node held
                // before (it expires on its own): routing to it would point at ourselves.
                continue;
            }
            if (!subnet.isV4()
                    || subnet.length() < config.network().length()
                    || !config.network().contains(subnet.address())) {
                errors.add(
                        "lease " + Lease.keyName(subnet) + ": outside the network " + config.network() + ", ignored");
                continue;
            }
            if (!l.publicIp().isV4()) {
                errors.add("lease " + Lease.keyName(subnet) + ": public IP " + l.publicIp() + " is not IPv4, ignored");
                continue;
            }
            if (vxlanDevice == null || onAny(direct, l.publicIp())) {
                plans.add(new PeerPlan(
                        l,
                        Route.to(subnet).via(l.publicIp()).dev(underlay).protocol(Dataplane.ROUTE_PROTOCOL),
                        null,
                        null,
                        null));
                continue;
            }
            if (l.vtepMac() == null) {
                errors.add("lease " + Lease.keyName(subnet) + ": no VTEP MAC (the peer runs backend " + l.backendType()
                        + "), not reachable over " + vxlanDevice);
                continue;
            }
            Lease other = macs.putIfAbsent(l.vtepMac(), l);
            if (other != null) {
                errors.add("lease " + Lease.keyName(subnet) + ": VTEP MAC " + l.vtepMac()
                        + " is also published by lease " + Lease.keyName(other.subnet()) + ", ignored");
                continue;
            }
            IpAddress vtep = subnet.address();
            plans.add(new PeerPlan(
                    l,
                    Route.to(subnet).via(vtep).dev(vxlanDevice).withOnlink().protocol(Dataplane.ROUTE_PROTOCOL),
                    vtep,
                    l.vtepMac(),
                    l.publicIp()));
        }
        return plans;
    }

    private static boolean onAny(List<IpPrefix> prefixes, IpAddress a) {
        for (IpPrefix p : prefixes) {
            if (p.contains(a)) {
                return true;
            }
        }
        return false;
    }

    /** Arguments of {@code ip neigh replace} that make the neighbour entry. */
    String neighbourArgs() {
        return neighbour + " lladdr " + mac + " dev " + route.device() + " nud permanent";
    }

    /** Arguments of {@code bridge fdb replace} that make the FDB entry. */
    String fdbArgs() {
        return mac + " dev " + route.device() + " dst " + fdbDst + " self permanent";
    }
}
