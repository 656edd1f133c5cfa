package io.jcni.plugins.bridge;

import io.jcni.cni.CniError;
import io.jcni.cni.Invocation;
import io.jcni.cni.Result;
import io.jcni.netlink.ObjectExistsException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.ns.Sysctl;
import io.jcni.netlink.route.Address;
import io.jcni.netlink.route.Addresses;
import io.jcni.netlink.route.Link;
import io.jcni.netlink.route.Route;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.netlink.route.Rtnl;
import io.jcni.netlink.sys.KernelFiles;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The bridge's duties inside the pod's namespace: the container interface's sysctls, addresses,
 * state and routes. Everything here lives on the container end of the veth, so deleting the
 * pair takes it all back.
 */
final class PodSide {
    private final Trace trace;

    PodSide(Trace trace) {
        this.trace = trace;
    }

    /** IPAM's result with interface indexes, gateways and (isDefaultGateway) default routes filled in. */
    static Result assembleL3(BridgeConfig c, Result ipam) throws CniError {
        if (ipam.ips().isEmpty()) {
            throw new CniError(CniError.DELEGATE_FAILED, "IPAM plugin returned missing IP config");
        }
        List<Result.IpConfig> ips = new ArrayList<>();
        List<Result.RouteEntry> routes = new ArrayList<>(ipam.routes());
        for (Result.IpConfig ip : ipam.ips()) {
            Result.IpConfig x = ip.withInterface(2);
            if (x.gateway() == null && c.isGateway) {
                x = x.withGateway(ip.address().network().address().next());
            }
            ips.add(x);
        }
        if (c.isDefaultGateway) {
            for (Result.IpConfig ip : ips) {
                boolean v4 = ip.address().isV4();
                boolean have = false;
                for (Result.RouteEntry r : routes) {
                    if (r.dst().isV4() == v4 && r.dst().length() == 0 && r.gw() != null) {
                        have = true;
                    }
                }
                if (!have && ip.gateway() != null) {
                    routes.add(new Result.RouteEntry(IpPrefix.parse(v4 ? "0.0.0.0/0" : "::/0"), ip.gateway()));
                }
            }
        }
        return new Result(null, ips, routes, ipam.dns());
    }

    /** Sysctls, addresses, link up, routes. */
    void configure(RouteNetlink pod, Invocation inv, BridgeConfig c, Result result) throws CniError {
        String ifname = inv.ifname();
        boolean v4 = false, v6 = false;
        for (Result.IpConfig ip : result.ips()) {
            v4 |= ip.address().isV4();
            v6 |= !ip.address().isV4();
        }
        List<String[]> sysctls = new ArrayList<>();
        if (v4) {
            sysctls.add(new String[] {"net/ipv4/conf/" + ifname + "/arp_notify", "1"});
        }
        if (v6) {
            sysctls.add(new String[] {"net/ipv6/conf/lo/disable_ipv6", "0"});
            sysctls.add(new String[] {"net/ipv6/conf/" + ifname + "/disable_ipv6", "0"});
            sysctls.add(new String[] {"net/ipv6/conf/" + ifname + "/keep_addr_on_down", "1"});
            sysctls.add(new String[] {"net/ipv6/conf/" + ifname + "/accept_dad", c.enabledad ? "1" : "0"});
            if (c.enabledad) {
                sysctls.add(new String[] {"net/ipv6/conf/" + ifname + "/enhanced_dad", "1"});
            }
        }
        writeSysctls(inv.netns(), sysctls);
        for (Result.IpConfig ip : result.ips()) {
            pod.addresses().add(ifname, ip.address(), ip.address().isV4() || c.enabledad ? 0 : Addresses.NO_DAD);
        }
        pod.links().setUp(ifname);
        if (v6 && c.enabledad) {
            waitForDad(pod, ifname);
        }
        for (Result.RouteEntry r : result.routes()) {
            IpAddress gw = r.gw();
            if (gw == null) {
                for (Result.IpConfig ip : result.ips()) {
                    if (ip.gateway() != null && ip.gateway().isV4() == r.dst().isV4()) {
                        gw = ip.gateway();
                        break;
                    }
                }
            }
            Route route = Route.to(r.dst()).dev(ifname);
            if (gw != null) {
                route = route.via(gw);
            }
            if (r.priority() != null) {
                route = route.metric(r.priority());
            }
            if (r.table() != null) {
                route = route.table(r.table());
            }
            if (r.scope() != null) {
                route = route.scope(r.scope());
            }
            try {
                pod.routes().add(route);
            } catch (ObjectExistsException already) {
                // the kernel added it with the address (a connected route), or a duplicate entry in the result
            }
        }
    }

    private void writeSysctls(NetNs ns, List<String[]> sysctls) {
        if (sysctls.isEmpty()) {
            return;
        }
        ns.run(new NetNs.Work<Void>() {
            @Override
            public Void run() {
                for (String[] kv : sysctls) {
                    String path = Sysctl.pathOf(kv[0]);
                    if (KernelFiles.exists(path)) {
                        KernelFiles.writeSmall(path, kv[1]);
                    }
                }
                return null;
            }
        });
        if (trace.enabled()) {
            for (String[] kv : sysctls) {
                trace.command(ns.execPrefix() + "sysctl -w " + kv[0].replace('/', '.') + "=" + kv[1]);
            }
        }
    }

    private static void waitForDad(RouteNetlink pod, String ifname) throws CniError {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (true) {
            boolean tentative = false;
            for (Address a : pod.addresses().list(ifname)) {
                if ((a.flags() & Rtnl.IFA_F_DADFAILED) != 0) {
                    throw new CniError(
                            CniError.KERNEL_REFUSED,
                            "duplicate address detection failed",
                            a.prefix().toString());
                }
                tentative |= !a.prefix().isV4() && a.isTentative();
            }
            if (!tentative) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new CniError(CniError.TRY_AGAIN_LATER, "IPv6 addresses still tentative after 5 s", ifname);
            }
            sleep(50);
        }
    }

    /**
     * Deletes the container interface (which removes the pair) and returns its host peer's name,
     * or null when the pod has no such interface.
     */
    String deleteInterface(Invocation inv) {
        try (RouteNetlink pod = RouteNetlink.open(inv.netns(), trace)) {
            Optional<Link> container = pod.links().find(inv.ifname());
            if (container.isEmpty()) {
                return null;
            }
            String peer = HostSide.hostPeer(container.get());
            pod.links().deleteIfExists(inv.ifname());
            return peer;
        }
    }

    static void sleep(long ms) {
        if (ms <= 0) {
            return;
        }
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
