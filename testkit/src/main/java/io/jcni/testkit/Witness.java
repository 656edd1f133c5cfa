package io.jcni.testkit;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** iproute2's view of a namespace, parsed: the independent witness tests compare our API against. */
public final class Witness {
    private Witness() {}

    /** {@code ip -n NS -j -d link show dev NAME}, the single object. */
    public static Map<String, Object> link(String ns, String name) {
        List<Map<String, Object>> l = Json.objects(Commands.ip(ns, "-d", "link", "show", "dev", name));
        if (l.size() != 1) {
            throw new AssertionError("ip link show dev " + name + " gave " + l);
        }
        return l.get(0);
    }

    /** Names of all links in {@code ns}. */
    public static List<String> linkNames(String ns) {
        List<String> out = new ArrayList<>();
        for (Map<String, Object> m : Json.objects(Commands.ip(ns, "link", "show"))) {
            out.add((String) m.get("ifname"));
        }
        return out;
    }

    /** {@code local/prefixlen} strings of {@code dev}'s addresses, in iproute2's order. */
    public static List<String> addresses(String ns, String dev) {
        List<String> out = new ArrayList<>();
        for (Map<String, Object> m : Json.objects(Commands.ip(ns, "addr", "show", "dev", dev))) {
            for (Map<String, Object> a : list(m.get("addr_info"))) {
                out.add(a.get("local") + "/" + a.get("prefixlen"));
            }
        }
        return out;
    }

    /** The addr_info objects of {@code dev}. */
    public static List<Map<String, Object>> addrInfo(String ns, String dev) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Map<String, Object> m : Json.objects(Commands.ip(ns, "addr", "show", "dev", dev))) {
            out.addAll(list(m.get("addr_info")));
        }
        return out;
    }

    /** {@code ip [-6] -j route show table T}. */
    public static List<Map<String, Object>> routes(String ns, boolean v6, String table) {
        return v6
                ? Json.objects(Commands.ip(ns, "-6", "route", "show", "table", table))
                : Json.objects(Commands.ip(ns, "route", "show", "table", table));
    }

    /** {@code bridge -n NS -j ARGS}. */
    public static List<Map<String, Object>> bridge(String ns, String... args) {
        List<String> cmd = new ArrayList<>(List.of("bridge"));
        if (ns != null) {
            cmd.add("-n");
            cmd.add(ns);
        }
        cmd.add("-j");
        cmd.addAll(List.of(args));
        return Json.objects(Commands.run(cmd.toArray(new String[0])));
    }

    @SuppressWarnings("unchecked")
    public static List<Map<String, Object>> list(Object o) {
        return o == null ? List.of() : (List<Map<String, Object>>) o;
    }

    @SuppressWarnings("unchecked")
    public static Map<String, Object> map(Object o) {
        return o == null ? Map.of() : (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    public static List<String> strings(Object o) {
        return o == null ? List.of() : (List<String>) o;
    }
}
