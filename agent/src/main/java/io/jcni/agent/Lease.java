package io.jcni.agent;

import io.jcni.cni.json.Json;
import io.jcni.cni.json.JsonException;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ip.MacAddress;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One node's hold on one pod subnet: the key {@code <prefix>/subnets/10.244.3.0-24} with the value
 * {@code {"PublicIP":"198.18.0.11","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"…"}}}
 * (flannel's layout), attached to an etcd lease that expires unless its holder renews it.
 *
 * @param subnet      the node's pod subnet
 * @param publicIp    the node's address on the underlay: where its pods' traffic is sent
 * @param backendType {@code host-gw} or {@code vxlan}
 * @param vtepMac     for vxlan, the MAC of the node's VXLAN device; null otherwise
 * @param vni         for vxlan, the VNI the node listens on; 0 otherwise
 * @param storeLease  the store's lease id (etcd's), 0 when unknown or not applicable
 */
public record Lease(
        IpPrefix subnet, IpAddress publicIp, String backendType, MacAddress vtepMac, int vni, long storeLease) {

    /** The key's last element for {@code subnet}: {@code 10.244.3.0-24}. */
    public static String keyName(IpPrefix subnet) {
        return subnet.address() + "-" + subnet.length();
    }

    /** The subnet a key's last element names, or null when it is not of the {@code a.b.c.d-len} form. */
    public static IpPrefix subnetOfKeyName(String name) {
        int dash = name.lastIndexOf('-');
        if (dash < 0) {
            return null;
        }
        try {
            IpPrefix p = IpPrefix.parse(name.substring(0, dash) + "/" + name.substring(dash + 1));
            return p.isV4() && p.network().equals(p) ? p : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** This lease with another store lease id. */
    public Lease withStoreLease(long id) {
        return new Lease(subnet, publicIp, backendType, vtepMac, vni, id);
    }

    /** The stored value (flannel's shape). */
    public String valueJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("PublicIP", publicIp.toString());
        m.put("BackendType", backendType);
        Map<String, Object> data = new LinkedHashMap<>();
        if (vtepMac != null) {
            data.put("VNI", (long) vni);
            data.put("VtepMAC", vtepMac.toString());
        }
        m.put("BackendData", data);
        return Json.write(m);
    }

    /** Reads a stored value; {@link IllegalArgumentException} naming the problem when it is not a lease. */
    public static Lease parse(IpPrefix subnet, byte[] value, long storeLease) {
        Map<String, Object> m;
        try {
            m = Json.parseObject(value);
        } catch (JsonException e) {
            throw new IllegalArgumentException("lease " + keyName(subnet) + ": not JSON: " + e.getMessage());
        }
        IpAddress publicIp = m.get("PublicIP") instanceof String s ? IpAddress.tryParse(s) : null;
        if (publicIp == null) {
            throw new IllegalArgumentException(
                    "lease " + keyName(subnet) + ": \"PublicIP\" is missing or not an address");
        }
        String type = m.get("BackendType") instanceof String s ? s : NetworkConfig.HOST_GW;
        MacAddress mac = null;
        int vni = 0;
        if (m.get("BackendData") instanceof Map<?, ?> data) {
            if (data.get("VtepMAC") instanceof String s) {
                try {
                    mac = MacAddress.parse(s);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(
                            "lease " + keyName(subnet) + ": \"BackendData.VtepMAC\" " + s + " is not a MAC");
                }
            }
            if (data.get("VNI") instanceof Long l) {
                vni = l.intValue();
            }
        }
        if (NetworkConfig.VXLAN.equals(type) && mac == null) {
            throw new IllegalArgumentException(
                    "lease " + keyName(subnet) + ": a vxlan lease without \"BackendData.VtepMAC\"");
        }
        return new Lease(subnet, publicIp, type, mac, vni, storeLease);
    }

    public static Lease parse(IpPrefix subnet, String value, long storeLease) {
        return parse(subnet, value.getBytes(StandardCharsets.UTF_8), storeLease);
    }
}
