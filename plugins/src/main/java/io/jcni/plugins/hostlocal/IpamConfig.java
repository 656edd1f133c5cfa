package io.jcni.plugins.hostlocal;

import io.jcni.cni.CniError;
import io.jcni.cni.ConfigObject;
import io.jcni.cni.Invocation;
import io.jcni.cni.Result;
import io.jcni.cni.json.Json;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * host-local's view of the full network configuration: the final list of
 * range sets (runtimeConfig.ipRanges, then the legacy top-level range, then {@code ranges}),
 * validated as the reference validates them; routes, data directory, resolv.conf path, and the
 * requested addresses. Every validation failure is code 7 with details naming the offending
 * range by its path in the request.
 */
final class IpamConfig {
    static final String DEFAULT_DATA_DIR = "/var/lib/cni/networks";

    final String network;
    final List<RangeSet> rangeSets;
    final List<Result.RouteEntry> routes;
    final String dataDir;
    final String resolvConf;
    /** Requested addresses, in the order given (duplicates removed). */
    final List<IpAddress> requested;

    private IpamConfig(
            String network,
            List<RangeSet> rangeSets,
            List<Result.RouteEntry> routes,
            String dataDir,
            String resolvConf,
            List<IpAddress> requested) {
        this.network = network;
        this.rangeSets = rangeSets;
        this.routes = routes;
        this.dataDir = dataDir;
        this.resolvConf = resolvConf;
        this.requested = requested;
    }

    /** {@code ipam.dataDir} as host-local reads it: the default when unset, without trailing slashes. */
    static String dataDir(ConfigObject ipam) throws CniError {
        String dataDir = ipam == null ? "" : ipam.string("dataDir", "");
        if (dataDir.isEmpty()) {
            dataDir = DEFAULT_DATA_DIR;
        }
        while (dataDir.length() > 1 && dataDir.endsWith("/")) {
            dataDir = dataDir.substring(0, dataDir.length() - 1);
        }
        return dataDir;
    }

    /** The network's state directory: {@code <dataDir>/<network name>}. */
    String networkDir() {
        return dataDir + "/" + network;
    }

    static IpamConfig load(Invocation inv) throws CniError {
        ConfigObject conf = inv.config();
        ConfigObject ipam = conf.object("ipam");
        if (ipam == null) {
            throw CniError.invalidConfig("IPAM config missing 'ipam' key");
        }
        ConfigObject runtime = conf.object("runtimeConfig");

        List<RangeSet> sets = new ArrayList<>();
        if (runtime != null) {
            parseRangeSets(runtime, "ipRanges", sets);
        }
        String legacySubnet = ipam.string("subnet", "");
        if (!legacySubnet.isEmpty()) {
            List<Range> one = new ArrayList<>();
            one.add(parseRange(ipam, "ipam"));
            sets.add(new RangeSet(one, "ipam"));
        }
        parseRangeSets(ipam, "ranges", sets);
        if (sets.isEmpty()) {
            throw CniError.invalidConfig("ipam: no IP ranges specified");
        }
        for (int i = 0; i < sets.size() - 1; i++) {
            for (int j = i + 1; j < sets.size(); j++) {
                if (sets.get(i).overlaps(sets.get(j))) {
                    throw CniError.invalidConfig(sets.get(j).path() + ": range set " + i + " overlaps with " + j + " ("
                            + sets.get(i).path() + " and " + sets.get(j).path() + ")");
                }
            }
        }

        List<Result.RouteEntry> routes = new ArrayList<>();
        for (ConfigObject r : ipam.objects("routes")) {
            routes.add(Result.route(r));
        }
        String dataDir = dataDir(ipam);
        if (dataDir.charAt(0) != '/') {
            // relative to whatever directory the runtime or daemon started the plugin in
            throw CniError.invalidConfig("ipam.dataDir: \"" + dataDir + "\" is not an absolute path");
        }
        String resolvConf = ipam.string("resolvConf", "");

        // Requested addresses: the config-level channels (runtimeConfig.ips, args.cni.ips); CNI_ARGS
        // IP only when neither is present (spec: a duplicate of an `args` key wins over CNI_ARGS).
        List<IpAddress> requested = new ArrayList<>();
        if (runtime != null) {
            addRequested(runtime.strings("ips"), "runtimeConfig.ips", requested);
        }
        ConfigObject args = conf.object("args");
        ConfigObject cniArgs = args == null ? null : args.object("cni");
        if (cniArgs != null) {
            addRequested(cniArgs.strings("ips"), "args.cni.ips", requested);
        }
        if (requested.isEmpty()) {
            String ipArg = inv.args().get("IP");
            if (ipArg != null && !ipArg.isEmpty()) {
                List<String> parts = new ArrayList<>();
                for (String p : ipArg.split(",")) {
                    parts.add(p.trim());
                }
                addRequested(parts, "CNI_ARGS IP", requested);
            }
        }
        return new IpamConfig(inv.network(), sets, routes, dataDir, resolvConf, requested);
    }

    private static void addRequested(List<String> texts, String where, List<IpAddress> out) throws CniError {
        for (int i = 0; i < texts.size(); i++) {
            String t = texts.get(i).trim();
            int slash = t.indexOf('/');
            IpAddress a = IpAddress.tryParse(slash >= 0 ? t.substring(0, slash) : t);
            if (a == null || (slash >= 0 && !validPrefixLength(t.substring(slash + 1), a))) {
                throw CniError.invalidConfig(where + "[" + i + "]: invalid IP \"" + texts.get(i) + "\"");
            }
            if (!out.contains(a)) {
                out.add(a);
            }
        }
    }

    private static boolean validPrefixLength(String s, IpAddress a) {
        if (s.isEmpty() || s.length() > 3) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return false;
            }
        }
        return Integer.parseInt(s) <= a.bits();
    }

    @SuppressWarnings("unchecked")
    private static void parseRangeSets(ConfigObject parent, String key, List<RangeSet> out) throws CniError {
        List<Object> l = parent.list(key);
        if (l == null) {
            return;
        }
        String base = parent.path().isEmpty() ? key : parent.path() + "." + key;
        for (int i = 0; i < l.size(); i++) {
            String setPath = base + "[" + i + "]";
            Object o = l.get(i);
            if (!(o instanceof List)) {
                throw CniError.invalidConfig(setPath + ": expected array of ranges, got " + Json.typeName(o));
            }
            List<Object> items = (List<Object>) o;
            if (items.isEmpty()) {
                throw CniError.invalidConfig(setPath + ": empty range set");
            }
            List<Range> ranges = new ArrayList<>();
            for (int j = 0; j < items.size(); j++) {
                String rPath = setPath + "[" + j + "]";
                if (!(items.get(j) instanceof Map)) {
                    throw CniError.invalidConfig(rPath + ": expected object, got " + Json.typeName(items.get(j)));
                }
                Range r = parseRange(new ConfigObject((Map<String, Object>) items.get(j), rPath), rPath);
                if (!ranges.isEmpty()
                        && r.start().isV4() != ranges.get(0).start().isV4()) {
                    throw CniError.invalidConfig(rPath + ": mixed address families in range set " + setPath);
                }
                for (Range prev : ranges) {
                    if (prev.overlaps(r)) {
                        throw CniError.invalidConfig(rPath + ": subnets " + prev + " and " + r + " overlap");
                    }
                }
                ranges.add(r);
            }
            out.add(new RangeSet(ranges, setPath));
        }
    }

    /** The reference's Range.Canonicalize, with its messages. */
    private static Range parseRange(ConfigObject o, String path) throws CniError {
        String subnetText = o.string("subnet", "");
        if (subnetText.isEmpty()) {
            throw CniError.invalidConfig(path + ": subnet is required");
        }
        IpPrefix subnet;
        try {
            subnet = IpPrefix.parse(subnetText);
        } catch (IllegalArgumentException e) {
            throw CniError.invalidConfig(path + ".subnet: " + e.getMessage());
        }
        int bits = subnet.address().bits();
        if (subnet.length() > bits - 2) {
            throw CniError.invalidConfig(path + ": Network " + subnet + " too small to allocate from");
        }
        IpPrefix network = subnet.network();
        if (!network.address().equals(subnet.address())) {
            throw CniError.invalidConfig(path + ": Network has host bits set. For a subnet mask of length "
                    + subnet.length() + " the network address is " + network.address());
        }
        IpAddress gateway = optionalIp(o, "gateway", path);
        if (gateway == null) {
            gateway = subnet.address().next();
        }
        IpAddress start = optionalIpIn(o, "rangeStart", "RangeStart", subnet, path);
        if (start == null) {
            start = subnet.address().next();
        }
        IpAddress end = optionalIpIn(o, "rangeEnd", "RangeEnd", subnet, path);
        if (end == null) {
            end = subnet.lastAddress();
            if (end.isV4()) {
                end = end.previous();
            }
        }
        if (start.compareTo(end) > 0) {
            throw CniError.invalidConfig(path + ": RangeStart " + start + " is after RangeEnd " + end);
        }
        return new Range(network, start, end, gateway, path);
    }

    /** An optional address field that must lie in {@code subnet}; {@code name} is how the reference's errors spell it. */
    private static IpAddress optionalIpIn(ConfigObject o, String key, String name, IpPrefix subnet, String path)
            throws CniError {
        IpAddress a = optionalIp(o, key, path);
        if (a != null && !subnet.contains(a)) {
            throw CniError.invalidConfig(path + ": " + name + " " + a + " not in network " + subnet);
        }
        return a;
    }

    /** An optional address field; must parse (a family mismatch then shows as "not in network"). */
    private static IpAddress optionalIp(ConfigObject o, String key, String path) throws CniError {
        String s = o.string(key, "");
        if (s.isEmpty()) {
            return null;
        }
        IpAddress a = IpAddress.tryParse(s);
        if (a == null) {
            throw CniError.invalidConfig(path + "." + key + ": invalid IP address \"" + s + "\"");
        }
        return a;
    }
}
