package io.jcni.cli.inspect;

import io.jcni.cni.CniError;
import io.jcni.cni.ConfigObject;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.plugins.hostlocal.Reservations;
import io.jcni.runtime.CachedAttachment;
import io.jcni.runtime.CniRuntime;
import io.jcni.runtime.ConfException;
import io.jcni.runtime.NetworkConfigList;
import io.jcni.runtime.NetworkConfigs;
import io.jcni.runtime.PluginConfig;
import io.jcni.runtime.ResultCache;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The node's CNI state on disk, read where the runtime side reads it: the network configurations
 * (the configuration directory), the attachments (libcni's result cache) and, for networks whose
 * IPAM is host-local, the reservations (its store, {@code <dataDir>/<network>/<address>}).
 */
public final class CniState {
    /** host-local's default store, as the plugin's. */
    public static final String DEFAULT_DATA_DIR = "/var/lib/cni/networks";

    /** One allocatable range of a host-local range set, with host-local's defaults filled in. */
    public record Range(IpPrefix subnet, IpAddress start, IpAddress end, IpAddress gateway) {
        public boolean contains(IpAddress a) {
            return a.isV4() == start.isV4() && subnet.contains(a) && a.compareTo(start) >= 0 && a.compareTo(end) <= 0;
        }

        /** Addresses host-local may hand out: the interval without the gateway. */
        public BigInteger size() {
            BigInteger n = end.toBigInteger().subtract(start.toBigInteger()).add(BigInteger.ONE);
            return gateway != null && contains(gateway) ? n.subtract(BigInteger.ONE) : n;
        }
    }

    /**
     * One network configuration and what the node's views need of it.
     *
     * @param bridgeType the bridge plugin's type ({@code jcni-bridge}, {@code bridge}) or null when the chain has none
     * @param bridge     the bridge's name ({@code cni0} unless configured)
     * @param ipamType   the bridge's IPAM type, or null
     * @param dataDir    host-local's data directory, null for another IPAM
     * @param ranges     host-local's ranges, every range set flattened (empty for another IPAM)
     * @param portmap    the chain has a portmap plugin
     */
    public record Network(
            String name,
            String file,
            String cniVersion,
            List<String> plugins,
            NetworkConfigList conf,
            String bridgeType,
            String bridge,
            boolean isGateway,
            boolean ipMasq,
            int mtu,
            String ipamType,
            Map<String, Object> ipam,
            String dataDir,
            List<Range> ranges,
            boolean portmap) {
        /** jcni's bridge: its host veths carry an alias, its NAT is {@code inet jcni}. */
        public boolean jcniBridge() {
            return "jcni-bridge".equals(bridgeType);
        }

        public boolean hostLocal() {
            return dataDir != null;
        }

        /** The network's store directory. */
        public Path store() {
            return dataDir == null ? null : Path.of(dataDir, name);
        }

        /** The range holding {@code a}, or null. */
        public Range rangeOf(IpAddress a) {
            for (Range r : ranges) {
                if (r.subnet().contains(a)) {
                    return r;
                }
            }
            return null;
        }
    }

    /** One host-local reservation: the address, its owner and the file that holds it. */
    public record Reservation(
            String network, IpAddress address, String containerId, String ifname, Path file, long ageMillis) {
        public Owners.Id owner() {
            return new Owners.Id(network, containerId, ifname);
        }
    }

    private final Path netconf;
    private final List<Network> networks = new ArrayList<>();
    private final List<String> errors = new ArrayList<>();
    private final List<CachedAttachment> attachments;
    private final Map<String, List<Reservation>> reservations = new LinkedHashMap<>();
    private final ResultCache cache;

    private CniState(Path netconf, Path cacheDir) {
        this.netconf = netconf;
        this.cache = new ResultCache(cacheDir);
        this.attachments = cache.list(null);
    }

    /** Reads everything; what cannot be read becomes an entry of {@link #errors}, never an exception. */
    public static CniState load(Path netconf, Path cacheDir) {
        CniState s = new CniState(netconf, cacheDir);
        NetworkConfigs all;
        try {
            all = CniRuntime.loadNetworks(netconf);
        } catch (ConfException e) {
            s.errors.add(e.getMessage());
            return s;
        }
        if (!Files.isDirectory(netconf)) {
            s.errors.add("no configuration directory " + netconf);
        }
        for (ConfException e : all.errors()) {
            s.errors.add(e.file() + ": " + e.reason());
        }
        for (NetworkConfigList n : all.networks()) {
            if (s.network(n.name()) != null) {
                continue; // libcni uses the first one of a name; the others are never run
            }
            Network net = describe(n);
            s.networks.add(net);
            if (net.hostLocal()) {
                s.reservations.put(net.name(), s.readReservations(net));
            }
        }
        return s;
    }

    @SuppressWarnings("unchecked")
    static Network describe(NetworkConfigList n) {
        List<String> types = new ArrayList<>();
        String bridgeType = null, bridge = null, ipamType = null, dataDir = null;
        boolean gw = false, masq = false, portmap = false;
        int mtu = 0;
        Map<String, Object> ipam = Map.of();
        List<Range> ranges = new ArrayList<>();
        for (PluginConfig p : n.plugins()) {
            types.add(p.type());
            Map<String, Object> c = p.config();
            if (p.type().equals("portmap") || p.type().equals("jcni-portmap")) {
                portmap = true;
            }
            if (bridgeType == null && (p.type().equals("bridge") || p.type().equals("jcni-bridge"))) {
                bridgeType = p.type();
                bridge = c.get("bridge") instanceof String b && !b.isEmpty() ? b : "cni0";
                gw = Boolean.TRUE.equals(c.get("isGateway")) || Boolean.TRUE.equals(c.get("isDefaultGateway"));
                masq = Boolean.TRUE.equals(c.get("ipMasq"));
                mtu = c.get("mtu") instanceof Number m ? m.intValue() : 0;
                if (c.get("ipam") instanceof Map<?, ?> i) {
                    ipam = (Map<String, Object>) i;
                    ipamType = ipam.get("type") instanceof String t ? t : null;
                    if ("host-local".equals(ipamType) || "jcni-host-local".equals(ipamType)) {
                        dataDir = ipam.get("dataDir") instanceof String d && !d.isEmpty() ? d : DEFAULT_DATA_DIR;
                        while (dataDir.length() > 1 && dataDir.endsWith("/")) {
                            dataDir = dataDir.substring(0, dataDir.length() - 1);
                        }
                        ranges.addAll(ranges(ipam));
                    }
                }
            }
        }
        return new Network(
                n.name(),
                n.file(),
                n.cniVersion(),
                types,
                n,
                bridgeType,
                bridge,
                gw,
                masq,
                mtu,
                ipamType,
                ipam,
                dataDir,
                ranges,
                portmap);
    }

    /** host-local's ranges: the legacy top-level range first, then every set of {@code ranges}; unreadable ones skipped. */
    private static List<Range> ranges(Map<String, Object> ipam) {
        List<Range> out = new ArrayList<>();
        if (ipam.get("subnet") instanceof String) {
            Range r = range(ipam);
            if (r != null) {
                out.add(r);
            }
        }
        if (ipam.get("ranges") instanceof List<?> sets) {
            for (Object set : sets) {
                if (set instanceof List<?> l) {
                    for (Object o : l) {
                        if (o instanceof Map<?, ?> m) {
                            @SuppressWarnings("unchecked")
                            Range r = range((Map<String, Object>) m);
                            if (r != null) {
                                out.add(r);
                            }
                        }
                    }
                }
            }
        }
        return out;
    }

    private static Range range(Map<String, Object> m) {
        try {
            IpPrefix subnet = IpPrefix.parse((String) m.get("subnet")).network();
            IpAddress first = subnet.address().next();
            IpAddress last = subnet.isV4() ? subnet.lastAddress().previous() : subnet.lastAddress();
            IpAddress start = m.get("rangeStart") instanceof String s ? IpAddress.parse(s) : first;
            IpAddress end = m.get("rangeEnd") instanceof String s ? IpAddress.parse(s) : last;
            IpAddress gw = m.get("gateway") instanceof String s ? IpAddress.parse(s) : first;
            return new Range(subnet, start, end, gw);
        } catch (RuntimeException e) {
            return null; // the plugin refuses such a configuration with its own message
        }
    }

    private List<Reservation> readReservations(Network net) {
        List<Reservation> out = new ArrayList<>();
        Map<IpAddress, Reservations.Owner> owners;
        try {
            owners = Reservations.of(new ConfigObject(net.ipam(), "ipam"), net.name())
                    .owners();
        } catch (CniError | RuntimeException e) {
            errors.add("network " + net.name() + ": cannot read the reservations in " + net.store() + ": "
                    + e.getMessage());
            return out;
        }
        long now = System.currentTimeMillis();
        for (Map.Entry<IpAddress, Reservations.Owner> e : owners.entrySet()) {
            Path f = net.store().resolve(e.getKey().toString());
            long age;
            try {
                age = now - Files.getLastModifiedTime(f).toMillis();
            } catch (IOException gone) {
                continue; // released while we looked
            }
            out.add(new Reservation(
                    net.name(),
                    e.getKey(),
                    e.getValue().containerId(),
                    e.getValue().ifname(),
                    f,
                    age));
        }
        out.sort((a, b) -> a.address().compareTo(b.address()));
        return out;
    }

    public Path netconf() {
        return netconf;
    }

    public ResultCache cache() {
        return cache;
    }

    public List<Network> networks() {
        return networks;
    }

    public Network network(String name) {
        for (Network n : networks) {
            if (n.name().equals(name)) {
                return n;
            }
        }
        return null;
    }

    /** Files that could not be loaded and stores that could not be read, one line each. */
    public List<String> errors() {
        return errors;
    }

    public List<CachedAttachment> attachments() {
        return attachments;
    }

    /** The reservations of {@code network} (empty when it is not host-local or has none). */
    public List<Reservation> reservations(String network) {
        return reservations.getOrDefault(network, List.of());
    }

    public List<Reservation> allReservations() {
        List<Reservation> out = new ArrayList<>();
        reservations.values().forEach(out::addAll);
        return out;
    }

    /** The cached attachment of {@code id}, or null. */
    public CachedAttachment attachment(Owners.Id id) {
        for (CachedAttachment a : attachments) {
            if (a.networkName().equals(id.network())
                    && a.containerId().equals(id.containerId())
                    && a.ifName().equals(id.ifname())) {
                return a;
            }
        }
        return null;
    }

    public static Owners.Id idOf(CachedAttachment a) {
        return new Owners.Id(a.networkName(), a.containerId(), a.ifName());
    }

    /**
     * A readable name for a pod: the name given to {@code jcni pod create} (its container ID is
     * {@code jcni-pod-NAME}), else the namespace's name under /run/netns, else the container ID.
     */
    public static String podName(String containerId, String netns) {
        if (containerId.startsWith("jcni-pod-")) {
            return containerId.substring("jcni-pod-".length());
        }
        if (netns != null && netns.startsWith("/run/netns/") && netns.indexOf('/', "/run/netns/".length()) < 0) {
            return netns.substring("/run/netns/".length());
        }
        return containerId.length() > 16 ? containerId.substring(0, 12) : containerId;
    }

    /** The addresses of an attachment's cached result ({@code ips[].address}). */
    public static List<IpPrefix> cachedAddresses(CachedAttachment a) {
        return cachedPrefixes(a, "ips", "address");
    }

    /**
     * The prefixes in the cached result's list {@code list}, one from each entry's field
     * {@code field} ({@code ips[].address}, {@code routes[].dst}).
     */
    static List<IpPrefix> cachedPrefixes(CachedAttachment a, String list, String field) {
        List<IpPrefix> out = new ArrayList<>();
        if (a.result() != null && a.result().get(list) instanceof List<?> entries) {
            for (Object entry : entries) {
                if (entry instanceof Map<?, ?> m && m.get(field) instanceof String s) {
                    try {
                        out.add(IpPrefix.parse(s));
                    } catch (IllegalArgumentException bad) {
                        // not a prefix: the runtime wrote what the plugin said; skip it
                    }
                }
            }
        }
        return out;
    }
}
