package io.jcni.plugins.loopback;

import io.jcni.cni.CniError;
import io.jcni.cni.Invocation;
import io.jcni.cni.Plugin;
import io.jcni.cni.Result;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.route.Address;
import io.jcni.netlink.route.Link;
import io.jcni.netlink.route.RouteNetlink;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** {@code loopback}: brings {@code lo} up in the container (ADD), down again (DEL), checks it (CHECK). */
public final class Loopback implements Plugin {
    @Override
    public String name() {
        return "loopback";
    }

    @Override
    public Set<String> knownArgs() {
        return Set.of();
    }

    @Override
    public Result add(Invocation inv) throws CniError {
        try (RouteNetlink nl = RouteNetlink.open(inv.netns(), Trace.OFF)) {
            nl.links().setUp("lo");
            for (Address a : nl.addresses().list("lo")) {
                byte[] b = a.prefix().address().bytes();
                boolean loop = a.prefix().isV4()
                        ? (b[0] == 127)
                        : a.prefix().address().toString().equals("::1");
                if (!loop) {
                    throw new CniError(
                            CniError.INVALID_NETWORK_CONFIG,
                            "loopback interface found with non-loopback address \""
                                    + a.prefix().address() + "\"");
                }
            }
        }
        Result prev = inv.prevResult();
        if (prev != null) {
            return prev; // chained: pass the previous result through, in the request's version
        }
        List<Result.Interface> ifs = new ArrayList<>();
        ifs.add(new Result.Interface("lo", "00:00:00:00:00:00", inv.netnsPath()));
        List<Result.IpConfig> ips = new ArrayList<>();
        ips.add(new Result.IpConfig(0, IpPrefix.parse("127.0.0.1/8"), null));
        ips.add(new Result.IpConfig(0, IpPrefix.parse("::1/128"), null));
        return new Result(ifs, ips, null, null);
    }

    @Override
    public void del(Invocation inv) {
        if (inv.netns() == null) {
            return; // the namespace is gone, and lo with it
        }
        try (RouteNetlink nl = RouteNetlink.open(inv.netns(), Trace.OFF)) {
            nl.links().setDown("lo");
        }
    }

    @Override
    public void check(Invocation inv) throws CniError {
        try (RouteNetlink nl = RouteNetlink.open(inv.netns(), Trace.OFF)) {
            Link lo = nl.links().get("lo");
            if (!lo.isUp()) {
                throw new CniError(CniError.INVALID_NETWORK_CONFIG, "loopback interface is down");
            }
        }
    }

    @Override
    public void gc(Invocation inv) {
        // nothing outside the container to collect
    }

    @Override
    public void status(Invocation inv) {
        // always ready: it needs nothing but the kernel
    }
}
