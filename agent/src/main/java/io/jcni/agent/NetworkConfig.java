package io.jcni.agent;

import io.jcni.cni.json.Json;
import io.jcni.cni.json.JsonException;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The cluster network's configuration, stored at {@code <prefix>/config} in flannel's
 * {@code net-conf.json} shape so that flannel's documentation and an existing
 * {@code etcdctl put <prefix>/config '{"Network": …}'} work unchanged:
 * <pre>{@code
 * {"Network": "10.244.0.0/16", "SubnetLen": 24, "SubnetMin": "10.244.1.0", "SubnetMax": "10.244.255.0",
 *  "Backend": {"Type": "vxlan", "VNI": 1, "Port": 8472, "DirectRouting": false}}
 * }</pre>
 * Only IPv4 pod networks are supported.
 *
 * @param network   the whole pod network, every node's subnet lies inside it
 * @param subnetLen prefix length of one node's subnet (default 24)
 * @param subnetMin first subnet that may be leased (default: the second subnet of the network)
 * @param subnetMax last subnet that may be leased (default: the last subnet of the network)
 * @param backend   how nodes reach each other
 */
public record NetworkConfig(
        IpPrefix network, int subnetLen, IpAddress subnetMin, IpAddress subnetMax, Backend backend) {
    public static final String HOST_GW = "host-gw";
    public static final String VXLAN = "vxlan";

    /**
     * @param type          {@link #HOST_GW} or {@link #VXLAN}
     * @param vni           VXLAN network identifier (default 1)
     * @param port          VXLAN UDP port (default 8472, the Linux kernel's and flannel's)
     * @param directRouting VXLAN only: host-gw routes to peers on the same L2 subnet
     */
    public record Backend(String type, int vni, int port, boolean directRouting) {
        public boolean isVxlan() {
            return VXLAN.equals(type);
        }
    }

    /** A configuration that fails validation; the message names the key. */
    public static final class InvalidConfigException extends Exception {
        private static final long serialVersionUID = 1L;

        public InvalidConfigException(String message) {
            super(message);
        }
    }

    /** Number of subnets between {@link #subnetMin} and {@link #subnetMax}, both included. */
    public long subnetCount() {
        return ((v4(subnetMax) - v4(subnetMin)) >>> (32 - subnetLen)) + 1;
    }

    /** The {@code i}-th leasable subnet (0 = {@link #subnetMin}). */
    public IpPrefix subnet(long i) {
        return new IpPrefix(subnetMin.add(i << (32 - subnetLen)), subnetLen);
    }

    /** Whether {@code subnet} is one this configuration could lease (right length, aligned, in range). */
    public boolean leasable(IpPrefix subnet) {
        return subnet.isV4()
                && subnet.length() == subnetLen
                && subnet.network().equals(subnet)
                && network.contains(subnet.address())
                && subnet.address().compareTo(subnetMin) >= 0
                && subnet.address().compareTo(subnetMax) <= 0;
    }

    /** MTU of the pods' interfaces given the underlay's: VXLAN's outer headers take 50 bytes. */
    public int podMtu(int underlayMtu) {
        return backend.isVxlan() ? underlayMtu - 50 : underlayMtu;
    }

    /** Parses and validates {@code json}; every error names the offending key. */
    public static NetworkConfig parse(String json) throws InvalidConfigException {
        Map<String, Object> m;
        try {
            m = Json.parseObject(json.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        } catch (JsonException e) {
            throw new InvalidConfigException("not valid JSON: " + e.getMessage());
        }
        Object net = m.get("Network");
        if (net == null) {
            throw new InvalidConfigException("\"Network\" is missing (the pod network, e.g. \"10.244.0.0/16\")");
        }
        IpPrefix network = prefix("Network", net);
        if (!network.isV4()) {
            throw new InvalidConfigException("\"Network\" " + net + ": only IPv4 pod networks are supported");
        }
        if (!network.network().equals(network)) {
            throw new InvalidConfigException(
                    "\"Network\" " + net + " has host bits set (did you mean " + network.network() + "?)");
        }
        int subnetLen = (int) integer(m, "SubnetLen", 24);
        if (network.length() >= 28 && !m.containsKey("SubnetLen")) {
            subnetLen = network.length() + 1; // flannel's default for small networks
        }
        if (subnetLen <= network.length() || subnetLen > 30) {
            throw new InvalidConfigException("\"SubnetLen\" " + subnetLen + " must be longer than the network's /"
                    + network.length() + " and at most 30");
        }
        IpAddress first = network.address().add(1L << (32 - subnetLen));
        IpAddress last = network.lastAddress().add(-((1L << (32 - subnetLen)) - 1));
        IpAddress min = m.containsKey("SubnetMin") ? subnetBoundary(m, "SubnetMin", network, subnetLen) : first;
        IpAddress max = m.containsKey("SubnetMax") ? subnetBoundary(m, "SubnetMax", network, subnetLen) : last;
        if (min.compareTo(max) > 0) {
            throw new InvalidConfigException("\"SubnetMin\" " + min + " is after \"SubnetMax\" " + max);
        }
        Object b = m.getOrDefault("Backend", Map.of("Type", VXLAN));
        if (!(b instanceof Map<?, ?> bm)) {
            throw new InvalidConfigException("\"Backend\" must be an object such as {\"Type\": \"vxlan\"}");
        }
        Object type = bm.containsKey("Type") ? bm.get("Type") : VXLAN;
        if (!HOST_GW.equals(type) && !VXLAN.equals(type)) {
            throw new InvalidConfigException(
                    "\"Backend.Type\" " + Json.write(type) + " is not supported (host-gw or vxlan)");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> backend = (Map<String, Object>) bm;
        long vni = integer(backend, "VNI", 1, "Backend.VNI");
        if (vni < 1 || vni > 0xFFFFFF) {
            throw new InvalidConfigException("\"Backend.VNI\" " + vni + " is outside 1..16777215");
        }
        long port = integer(backend, "Port", 8472, "Backend.Port");
        if (port < 1 || port > 65535) {
            throw new InvalidConfigException("\"Backend.Port\" " + port + " is outside 1..65535");
        }
        Object direct = backend.getOrDefault("DirectRouting", Boolean.FALSE);
        if (!(direct instanceof Boolean)) {
            throw new InvalidConfigException(
                    "\"Backend.DirectRouting\" must be true or false, not " + Json.write(direct));
        }
        return new NetworkConfig(
                network, subnetLen, min, max, new Backend((String) type, (int) vni, (int) port, (Boolean) direct));
    }

    /** The configuration in the stored shape ({@link #parse} reads it back equal). */
    public String toJson() {
        return Json.write(toMap());
    }

    /** The stored shape as JSON values. */
    public Map<String, Object> toMap() {
        Map<String, Object> backendMap = new LinkedHashMap<>();
        backendMap.put("Type", backend.type());
        if (backend.isVxlan()) {
            backendMap.put("VNI", (long) backend.vni());
            backendMap.put("Port", (long) backend.port());
            backendMap.put("DirectRouting", backend.directRouting());
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("Network", network.toString());
        m.put("SubnetLen", (long) subnetLen);
        m.put("SubnetMin", subnetMin.toString());
        m.put("SubnetMax", subnetMax.toString());
        m.put("Backend", backendMap);
        return m;
    }

    private static IpPrefix prefix(String key, Object v) throws InvalidConfigException {
        if (v instanceof String s) {
            try {
                return IpPrefix.parse(s);
            } catch (IllegalArgumentException e) {
                // fall through
            }
        }
        throw new InvalidConfigException(
                "\"" + key + "\" " + Json.write(v) + " is not a CIDR such as \"10.244.0.0/16\"");
    }

    private static IpAddress subnetBoundary(Map<String, Object> m, String key, IpPrefix network, int subnetLen)
            throws InvalidConfigException {
        Object v = m.get(key);
        IpAddress a = v instanceof String s ? IpAddress.tryParse(s) : null;
        if (a == null || !a.isV4()) {
            throw new InvalidConfigException("\"" + key + "\" " + Json.write(v) + " is not an IPv4 address");
        }
        if (!network.contains(a)) {
            throw new InvalidConfigException("\"" + key + "\" " + a + " is outside \"Network\" " + network);
        }
        if ((v4(a) & ((1L << (32 - subnetLen)) - 1)) != 0) {
            throw new InvalidConfigException(
                    "\"" + key + "\" " + a + " is not the start of a /" + subnetLen + " subnet");
        }
        return a;
    }

    private static long integer(Map<String, Object> m, String key, long def) throws InvalidConfigException {
        return integer(m, key, def, key);
    }

    private static long integer(Map<String, Object> m, String key, long def, String name)
            throws InvalidConfigException {
        Object v = m.get(key);
        if (v == null) {
            return def;
        }
        if (v instanceof Long l) {
            return l;
        }
        throw new InvalidConfigException("\"" + name + "\" must be a whole number, not " + Json.write(v));
    }

    static long v4(IpAddress a) {
        return a.toBigInteger().longValue();
    }
}
