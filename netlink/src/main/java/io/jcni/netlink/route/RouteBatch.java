package io.jcni.netlink.route;

import static io.jcni.netlink.NlRequest.NLM_F_CREATE;
import static io.jcni.netlink.NlRequest.NLM_F_REPLACE;
import static io.jcni.netlink.route.Rtnl.RTM_NEWNEIGH;
import static io.jcni.netlink.route.Rtnl.RTM_NEWROUTE;

import io.jcni.netlink.NlRequest;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.MacAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToIntFunction;

/**
 * Route, neighbour and FDB replacements sent to the kernel together ({@link RouteNetlink#batch}):
 * each link name is looked up once for the whole batch, and the requests go in datagrams of up to
 * {@value #PER_SEND}, where one at a time costs a link lookup and a request with its answer each.
 * Programming thousands of peers so takes a few dozen system calls instead of tens of thousands.
 *
 * <p>Not a transaction: the kernel applies each request on its own, in order, and
 * {@link #execute} throws the first error after every request was tried; the caller then finds
 * out, one request at a time, which failed. The requests are those of
 * {@link Neighbours#replace}, {@link Neighbours#replaceFdb} and {@link Routes#replace}.
 */
public final class RouteBatch {
    /** Requests per datagram (each well under 100 bytes). */
    static final int PER_SEND = 256;

    private interface Op {
        NlRequest request(ToIntFunction<String> index);
    }

    private final RouteNetlink nl;
    private final List<Op> ops = new ArrayList<>();
    private final List<Runnable> traces = new ArrayList<>();

    RouteBatch(RouteNetlink nl) {
        this.nl = nl;
    }

    /** {@code ip neigh replace IP lladdr MAC dev LINK nud STATE}. */
    public RouteBatch replaceNeighbour(String link, IpAddress ip, MacAddress mac, int state) {
        ops.add(index -> Neighbours.neighbourRequest(
                RTM_NEWNEIGH,
                NLM_F_CREATE | NLM_F_REPLACE,
                "replace neighbour",
                link,
                index.applyAsInt(link),
                ip,
                mac,
                state));
        traces.add(() -> nl.traceIp("neigh replace " + ip + " lladdr " + mac + " dev " + link));
        return this;
    }

    /** {@code bridge fdb replace MAC dev DEV dst DST …}. */
    public RouteBatch replaceFdb(String dev, MacAddress mac, IpAddress dst, int ntfFlags, int state) {
        ops.add(index -> Neighbours.fdbRequest(
                RTM_NEWNEIGH,
                NLM_F_CREATE | NLM_F_REPLACE,
                "replace fdb entry",
                dev,
                index.applyAsInt(dev),
                mac,
                dst,
                ntfFlags,
                state));
        traces.add(() -> nl.traceBridge("fdb replace " + mac + " dev " + dev + (dst == null ? "" : " dst " + dst)));
        return this;
    }

    /** {@code ip route replace …}. */
    public RouteBatch replaceRoute(Route route) {
        ops.add(index ->
                nl.routes().message(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, "replace route", route, false, index));
        traces.add(() -> nl.traceIp((route.isV4() ? "" : "-6 ") + "route replace " + route.toIpArgs()));
        return this;
    }

    public int size() {
        return ops.size();
    }

    /**
     * Sends every request (none when empty); throws the first error the kernel reported, or a
     * {@link io.jcni.netlink.KernelException} when a link named is not there (then nothing was sent).
     */
    public void execute() {
        if (ops.isEmpty()) {
            return;
        }
        Map<String, Integer> indexes = new HashMap<>();
        ToIntFunction<String> index =
                name -> indexes.computeIfAbsent(name, n -> nl.links().get(n).index());
        List<NlRequest> requests = new ArrayList<>(ops.size());
        for (Op op : ops) {
            requests.add(op.request(index));
        }
        RuntimeException first = null;
        for (int i = 0; i < requests.size(); i += PER_SEND) {
            try {
                nl.socket().executeBatch(requests.subList(i, Math.min(requests.size(), i + PER_SEND)));
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        if (nl.trace().enabled()) {
            traces.forEach(Runnable::run);
        }
        if (first != null) {
            throw first;
        }
    }
}
