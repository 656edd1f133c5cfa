package io.jcni.runtime;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One attachment's runtime parameters (libcni's {@code RuntimeConf}).
 *
 * @param containerId    CNI_CONTAINERID
 * @param netns          CNI_NETNS (a path such as {@code /run/netns/web}; may be "" on DEL)
 * @param ifName         CNI_IFNAME
 * @param args           CNI_ARGS as ordered pairs (joined {@code K=V;K=V})
 * @param capabilityArgs capability arguments ({@code portMappings}, {@code ips}, {@code mac}, …),
 *                       copied into {@code runtimeConfig} of plugins that opted in
 */
public record RuntimeConf(
        String containerId,
        String netns,
        String ifName,
        List<Map.Entry<String, String>> args,
        Map<String, Object> capabilityArgs) {
    public RuntimeConf {
        containerId = containerId == null ? "" : containerId;
        netns = netns == null ? "" : netns;
        ifName = ifName == null ? "" : ifName;
        args = args == null ? List.of() : List.copyOf(args);
        capabilityArgs = capabilityArgs == null
                ? Map.of()
                : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(capabilityArgs));
    }

    public RuntimeConf(String containerId, String netns, String ifName) {
        this(containerId, netns, ifName, List.of(), Map.of());
    }

    public RuntimeConf withArgs(List<Map.Entry<String, String>> a) {
        return new RuntimeConf(containerId, netns, ifName, a, capabilityArgs);
    }

    public RuntimeConf withCapabilityArgs(Map<String, Object> c) {
        return new RuntimeConf(containerId, netns, ifName, args, c);
    }

    public RuntimeConf withNetns(String n) {
        return new RuntimeConf(containerId, n, ifName, args, capabilityArgs);
    }

    /** The CNI_ARGS value. */
    public String cniArgs() {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, String> e : args) {
            sb.append(sb.isEmpty() ? "" : ";").append(e.getKey()).append('=').append(e.getValue());
        }
        return sb.toString();
    }

    /**
     * Parses {@code K=V;K=V} as cnitool does: every pair needs exactly one '=' and a non-empty key
     * and value.
     */
    public static List<Map.Entry<String, String>> parseArgs(String s) {
        List<Map.Entry<String, String>> out = new ArrayList<>();
        if (s == null || s.isEmpty()) {
            return out;
        }
        for (String pair : s.split(";")) {
            String[] kv = pair.split("=", -1);
            if (kv.length != 2 || kv[0].isEmpty() || kv[1].isEmpty()) {
                throw new IllegalArgumentException("invalid CNI_ARGS pair \"" + pair + "\" (expected K=V;K=V)");
            }
            out.add(Map.entry(kv[0], kv[1]));
        }
        return out;
    }
}
