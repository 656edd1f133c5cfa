package io.jcni.cli.inspect;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Builds the ordered maps and lists that {@code -o json} prints (keys in the order given, nulls left out). */
final class J {
    private J() {}

    static Map<String, Object> obj(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i + 1 < kv.length; i += 2) {
            Object v = kv[i + 1];
            if (v != null) {
                m.put((String) kv[i], v instanceof Enum<?> e ? e.name().toLowerCase(java.util.Locale.ROOT) : v);
            }
        }
        return m;
    }

    /**
     * A link as {@code ip -j link} names its fields (ifindex, ifname, kind, address, mtu,
     * operstate, up), followed by {@code more} key/value pairs as {@link #obj} takes them.
     */
    static Map<String, Object> link(io.jcni.netlink.route.Link l, Object... more) {
        Map<String, Object> m = obj(
                "ifindex",
                l.index(),
                "ifname",
                l.name(),
                "kind",
                l.kind(),
                "address",
                str(l.mac()),
                "mtu",
                l.mtu(),
                "operstate",
                l.operStateName(),
                "up",
                l.isUp());
        m.putAll(obj(more));
        return m;
    }

    /**
     * An address as {@code ip -j addr} names its fields (ifname, family, local, prefixlen, scope),
     * followed by {@code more} key/value pairs as {@link #obj} takes them.
     */
    static Map<String, Object> address(io.jcni.netlink.route.Address a, String ifname, Object... more) {
        Map<String, Object> m = obj(
                "ifname",
                ifname,
                "family",
                Text.family(a.prefix().isV4()),
                "local",
                a.prefix().address().toString(),
                "prefixlen",
                a.prefix().length(),
                "scope",
                Text.scope(a.scope()));
        m.putAll(obj(more));
        return m;
    }

    static <T> List<Object> list(List<T> items, java.util.function.Function<T, Object> f) {
        List<Object> out = new ArrayList<>(items.size());
        for (T t : items) {
            out.add(f.apply(t));
        }
        return out;
    }

    static String str(Object o) {
        return o == null ? null : o.toString();
    }
}
