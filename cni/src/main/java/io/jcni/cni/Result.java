package io.jcni.cni;

import io.jcni.cni.json.Json;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A success result, version-neutral: {@link #toJson} writes it in any supported
 * version (0.3.x/0.4.0 add {@code ips[].version} and drop the 1.1-only interface fields), and
 * {@link #parse} reads any of them. Field order and omission rules follow the reference types so
 * caches and outputs look the same as the Go plugins'.
 */
public record Result(List<Interface> interfaces, List<IpConfig> ips, List<RouteEntry> routes, Dns dns) {

    public Result {
        interfaces = interfaces == null ? new ArrayList<>() : interfaces;
        ips = ips == null ? new ArrayList<>() : ips;
        routes = routes == null ? new ArrayList<>() : routes;
        dns = dns == null ? Dns.EMPTY : dns;
    }

    public static Result empty() {
        return new Result(new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), Dns.EMPTY);
    }

    /** An interface the attachment created or uses; {@code sandbox} is CNI_NETNS for in-container ones. */
    public record Interface(String name, String mac, Integer mtu, String sandbox, String socketPath, String pciID) {
        public Interface(String name, String mac, String sandbox) {
            this(name, mac, null, sandbox, null, null);
        }
    }

    /** An assigned address (host bits kept), its gateway, and the index of its interface (null for IPAM results). */
    public record IpConfig(Integer interfaceIndex, IpPrefix address, IpAddress gateway) {
        public IpConfig withInterface(Integer index) {
            return new IpConfig(index, address, gateway);
        }

        public IpConfig withGateway(IpAddress gw) {
            return new IpConfig(interfaceIndex, address, gw);
        }
    }

    /** A route; the 1.1 fields are null when unset. */
    public record RouteEntry(
            IpPrefix dst, IpAddress gw, Integer mtu, Integer advmss, Integer priority, Integer table, Integer scope) {
        public RouteEntry(IpPrefix dst, IpAddress gw) {
            this(dst, gw, null, null, null, null, null);
        }
    }

    public record Dns(List<String> nameservers, String domain, List<String> search, List<String> options) {
        public static final Dns EMPTY = new Dns(List.of(), "", List.of(), List.of());

        public Dns {
            nameservers = nameservers == null ? List.of() : nameservers;
            domain = domain == null ? "" : domain;
            search = search == null ? List.of() : search;
            options = options == null ? List.of() : options;
        }

        public boolean isEmpty() {
            return nameservers.isEmpty() && domain.isEmpty() && search.isEmpty() && options.isEmpty();
        }
    }

    // ---- writing ----

    /** The result in {@code version}'s shape. */
    public Map<String, Object> toJson(String version) {
        boolean v1 = !CniVersion.hasIpVersionField(version);
        // 1.1's interface fields are written for 1.0.0 too, as libcni does (same Go type);
        // converting to 0.x keeps name/mac/sandbox only.
        boolean v11 = v1;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cniVersion", version);
        if (!interfaces.isEmpty()) {
            List<Object> l = new ArrayList<>();
            for (Interface i : interfaces) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("name", i.name() == null ? "" : i.name());
                putIfSet(o, "mac", i.mac());
                if (v11 && i.mtu() != null && i.mtu() != 0) {
                    o.put("mtu", (long) i.mtu());
                }
                putIfSet(o, "sandbox", i.sandbox());
                if (v11) {
                    putIfSet(o, "socketPath", i.socketPath());
                    putIfSet(o, "pciID", i.pciID());
                }
                l.add(o);
            }
            m.put("interfaces", l);
        }
        if (!ips.isEmpty()) {
            List<Object> l = new ArrayList<>();
            for (IpConfig ip : ips) {
                Map<String, Object> o = new LinkedHashMap<>();
                if (!v1) {
                    o.put("version", ip.address().isV4() ? "4" : "6");
                }
                if (ip.interfaceIndex() != null) {
                    o.put("interface", (long) ip.interfaceIndex());
                }
                o.put("address", ip.address().toString());
                if (ip.gateway() != null) {
                    o.put("gateway", ip.gateway().toString());
                }
                l.add(o);
            }
            m.put("ips", l);
        }
        if (!routes.isEmpty()) {
            List<Object> l = new ArrayList<>();
            for (RouteEntry r : routes) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("dst", r.dst().toString());
                if (r.gw() != null) {
                    o.put("gw", r.gw().toString());
                }
                putPositive(o, "mtu", r.mtu());
                putPositive(o, "advmss", r.advmss());
                putPositive(o, "priority", r.priority());
                if (r.table() != null) {
                    o.put("table", (long) r.table());
                }
                if (r.scope() != null) {
                    o.put("scope", (long) r.scope());
                }
                l.add(o);
            }
            m.put("routes", l);
        }
        if (!dns.isEmpty()) {
            Map<String, Object> o = new LinkedHashMap<>();
            if (!dns.nameservers().isEmpty()) {
                o.put("nameservers", new ArrayList<Object>(dns.nameservers()));
            }
            putIfSet(o, "domain", dns.domain());
            if (!dns.search().isEmpty()) {
                o.put("search", new ArrayList<Object>(dns.search()));
            }
            if (!dns.options().isEmpty()) {
                o.put("options", new ArrayList<Object>(dns.options()));
            }
            m.put("dns", o);
        }
        return m;
    }

    private static void putIfSet(Map<String, Object> o, String key, String v) {
        if (v != null && !v.isEmpty()) {
            o.put(key, v);
        }
    }

    private static void putPositive(Map<String, Object> o, String key, Integer v) {
        if (v != null && v > 0) {
            o.put(key, (long) v);
        }
    }

    // ---- reading ----

    /**
     * Reads a result of any supported version ({@code cniVersion} inside wins over
     * {@code defaultVersion}); malformed content is a configuration error naming the field.
     */
    public static Result parse(Map<String, Object> map, String where) throws CniError {
        ConfigObject o = new ConfigObject(map, where);
        List<Interface> ifs = new ArrayList<>();
        for (ConfigObject i : o.objects("interfaces")) {
            Long mtu = i.has("mtu") ? i.integer("mtu", 0, 0, Integer.MAX_VALUE) : null;
            ifs.add(new Interface(
                    i.string("name", ""),
                    i.string("mac", null),
                    mtu == null ? null : mtu.intValue(),
                    i.string("sandbox", null),
                    i.string("socketPath", null),
                    i.string("pciID", null)));
        }
        List<IpConfig> ips = new ArrayList<>();
        for (ConfigObject i : o.objects("ips")) {
            IpPrefix addr = i.prefix("address");
            if (addr == null) {
                throw CniError.invalidConfig(i.path() + ".address is required");
            }
            Long idx = i.has("interface") ? i.integer("interface", 0, 0, Integer.MAX_VALUE) : null;
            ips.add(new IpConfig(idx == null ? null : idx.intValue(), addr, i.ip("gateway")));
        }
        List<RouteEntry> routes = new ArrayList<>();
        for (ConfigObject r : o.objects("routes")) {
            routes.add(route(r));
        }
        Dns dns = Dns.EMPTY;
        ConfigObject d = o.object("dns");
        if (d != null) {
            dns = new Dns(d.strings("nameservers"), d.string("domain", ""), d.strings("search"), d.strings("options"));
        }
        return new Result(ifs, ips, routes, dns);
    }

    /** A route object as found in results and in host-local's {@code routes}. */
    public static RouteEntry route(ConfigObject r) throws CniError {
        IpPrefix dst = r.prefix("dst");
        if (dst == null) {
            throw CniError.invalidConfig(r.path() + ".dst is required");
        }
        return new RouteEntry(
                dst,
                r.ip("gw"),
                optInt(r, "mtu"),
                optInt(r, "advmss"),
                optInt(r, "priority"),
                optInt(r, "table"),
                optInt(r, "scope"));
    }

    private static Integer optInt(ConfigObject o, String key) throws CniError {
        return o.has(key) ? (int) o.integer(key, 0, 0, Integer.MAX_VALUE) : null;
    }

    @Override
    public String toString() {
        return Json.write(toJson(CniVersion.LATEST));
    }
}
