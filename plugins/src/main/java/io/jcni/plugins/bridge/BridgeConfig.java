package io.jcni.plugins.bridge;

import io.jcni.cni.CniError;
import io.jcni.cni.ConfigObject;
import io.jcni.cni.Invocation;
import io.jcni.cni.Result;
import io.jcni.netlink.ip.MacAddress;
import java.util.ArrayList;
import java.util.List;

/** The {@code bridge} plugin's options, validated with the reference's messages. */
final class BridgeConfig {
    String bridge = "cni0";
    boolean isGateway;
    boolean isDefaultGateway;
    boolean forceAddress;
    boolean ipMasq;
    int mtu;
    boolean hairpinMode;
    boolean promiscMode;
    int vlan;
    List<Integer> vlanTrunk = new ArrayList<>();
    boolean preserveDefaultVlan;
    boolean macspoofchk;
    boolean enabledad;
    boolean disableContainerInterface;
    boolean portIsolation;
    /** The IPAM plugin's type, or null for an L2-only network. */
    String ipamType;

    Result.Dns dns = Result.Dns.EMPTY;
    MacAddress mac;

    static BridgeConfig parse(Invocation inv) throws CniError {
        ConfigObject o = inv.config();
        BridgeConfig c = new BridgeConfig();
        String br = o.string("bridge", "");
        if (!br.isEmpty()) {
            c.bridge = br;
        }
        c.isDefaultGateway = o.bool("isDefaultGateway", false);
        c.isGateway = o.bool("isGateway", false) || c.isDefaultGateway;
        c.forceAddress = o.bool("forceAddress", false);
        c.ipMasq = o.bool("ipMasq", false);
        String backend = o.string("ipMasqBackend", "");
        if (!backend.isEmpty() && !backend.equals("nftables") && !backend.equals("iptables")) {
            throw CniError.invalidConfig("unknown ipmasq backend \"" + backend + "\"");
        }
        c.mtu = (int) o.integer("mtu", 0, 0, 65535);
        c.hairpinMode = o.bool("hairpinMode", false);
        c.promiscMode = o.bool("promiscMode", false);
        if (c.hairpinMode && c.promiscMode) {
            throw CniError.invalidConfig("cannot set hairpin mode and promiscuous mode at the same time");
        }
        long vlan = o.integer("vlan", 0, Long.MIN_VALUE, Long.MAX_VALUE);
        if (vlan < 0 || vlan > 4094) {
            throw CniError.invalidConfig("invalid VLAN ID " + vlan + " (must be between 0 and 4094)");
        }
        c.vlan = (int) vlan;
        for (ConfigObject t : o.objects("vlanTrunk")) {
            if (t.has("id")) {
                c.vlanTrunk.add(vlanId(t, "id"));
            }
            if (t.has("minID") || t.has("maxID")) {
                if (!t.has("minID") || !t.has("maxID")) {
                    throw CniError.invalidConfig(t.path() + ": minID and maxID must be given together");
                }
                int min = vlanId(t, "minID"), max = vlanId(t, "maxID");
                if (min > max) {
                    throw CniError.invalidConfig(t.path() + ": minID is greater than maxID");
                }
                for (int v = min; v <= max; v++) {
                    c.vlanTrunk.add(v);
                }
            }
        }
        c.preserveDefaultVlan = o.bool("preserveDefaultVlan", false);
        c.macspoofchk = o.bool("macspoofchk", false);
        c.enabledad = o.bool("enabledad", false);
        c.disableContainerInterface = o.bool("disableContainerInterface", false);
        // portIsolation: a bool, as the reference code; the documented string "true" is accepted too.
        Object iso = o.raw("portIsolation");
        if (iso instanceof String s && (s.equals("true") || s.equals("false"))) {
            c.portIsolation = s.equals("true");
        } else {
            c.portIsolation = o.bool("portIsolation", false);
        }
        ConfigObject ipam = o.object("ipam");
        if (ipam != null) {
            String t = ipam.string("type", "");
            c.ipamType = t.isEmpty() ? null : t;
        }
        if (c.disableContainerInterface && c.ipamType != null) {
            throw CniError.invalidConfig("cannot use IPAM when DisableContainerInterface flag is set");
        }
        ConfigObject d = o.object("dns");
        if (d != null) {
            c.dns = new Result.Dns(
                    d.strings("nameservers"), d.string("domain", ""), d.strings("search"), d.strings("options"));
        }
        c.mac = requestedMac(inv);
        if (c.vlan != 0 && c.isGateway && !c.vlanTrunk.isEmpty()) {
            throw new CniError(
                    CniError.UNSUPPORTED_FIELD,
                    "unsupported field",
                    "isGateway with both vlan and vlanTrunk is not supported");
        }
        return c;
    }

    private static int vlanId(ConfigObject t, String key) throws CniError {
        long v = t.integer(key, 0, Long.MIN_VALUE, Long.MAX_VALUE);
        if (v < 1 || v > 4094) {
            throw CniError.invalidConfig(
                    "incorrect trunk " + key + " parameter " + v + " (must be between 1 and 4094)");
        }
        return (int) v;
    }

    /** The container MAC: runtimeConfig.mac, else args.cni.mac, else CNI_ARGS MAC. */
    private static MacAddress requestedMac(Invocation inv) throws CniError {
        String text = null;
        ConfigObject rc = inv.config().object("runtimeConfig");
        if (rc != null) {
            text = rc.string("mac", null);
        }
        if (text == null) {
            ConfigObject args = inv.config().object("args");
            ConfigObject cni = args == null ? null : args.object("cni");
            if (cni != null) {
                text = cni.string("mac", null);
            }
        }
        if (text == null) {
            text = inv.args().get("MAC");
        }
        if (text == null || text.isEmpty()) {
            return null;
        }
        try {
            return MacAddress.parse(text);
        } catch (IllegalArgumentException e) {
            throw CniError.invalidConfig(e.getMessage());
        }
    }

    boolean vlanFiltering() {
        return vlan != 0 || !vlanTrunk.isEmpty();
    }
}
