package io.jcni.agent;

import io.jcni.cni.io.AtomicFiles;
import io.jcni.cni.json.Json;
import io.jcni.netlink.ip.IpPrefix;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the agent hands to the rest of the node once the node is programmed:
 * <ul>
 * <li>{@code subnet.env}, flannel's hand-off file with the {@code JCNI_} prefix, for scripts;</li>
 * <li>{@code <cni-conf-dir>/10-jcni.conflist}, the network {@code jcni}: jcni-bridge with
 * jcni-host-local in the node's subnet and a default route through the bridge, the pod MTU, then
 * jcni-portmap and jcni-loopback.</li>
 * </ul>
 * kubelet and containerd read the conflist's existence as "the node's network is ready", so it is
 * written only once the node is programmed, and atomically: nobody ever reads half of it. A file
 * that already holds the same bytes is not rewritten (no spurious change events for watchers).
 */
public final class Handoff {
    public static final String NETWORK_NAME = "jcni";
    public static final String CONFLIST = "10-jcni.conflist";
    /** The CNI version the conflist declares: what containerd 1.6's and podman 4's libcni accept. */
    static final String CNI_VERSION = "1.0.0";

    private final Path subnetFile;
    private final Path confDir;
    private final String bridge;

    public Handoff(Path subnetFile, Path confDir, String bridge) {
        this.subnetFile = subnetFile;
        this.confDir = confDir;
        this.bridge = bridge;
    }

    public Path subnetFile() {
        return subnetFile;
    }

    public Path conflist() {
        return confDir.resolve(CONFLIST);
    }

    /** Writes both files for {@code own}'s subnet; returns the files whose content changed. */
    public List<Path> write(NetworkConfig config, Lease own, int podMtu, boolean ipMasq) throws IOException {
        List<Path> changed = new java.util.ArrayList<>();
        if (writeIfChanged(subnetFile, subnetEnv(config, own.subnet(), podMtu, ipMasq), "rw-r--r--")) {
            changed.add(subnetFile);
        }
        if (writeIfChanged(conflist(), conflist(own.subnet(), podMtu), "rw-r--r--")) {
            changed.add(conflist());
        }
        return changed;
    }

    /** The subnet this node had before, from an earlier {@code subnet.env}; null when unknown. */
    public IpPrefix previousSubnet() {
        try {
            for (String line : Files.readAllLines(subnetFile, StandardCharsets.UTF_8)) {
                if (line.startsWith("JCNI_SUBNET=")) {
                    IpPrefix p = IpPrefix.parse(
                            line.substring("JCNI_SUBNET=".length()).strip());
                    return p.network();
                }
            }
        } catch (IOException | IllegalArgumentException e) {
            // none, or unreadable: no preference
        }
        return null;
    }

    /** Removes both files (for {@code jcni cluster leave}); returns those that existed. */
    public List<Path> remove() throws IOException {
        List<Path> removed = new java.util.ArrayList<>();
        for (Path f : List.of(conflist(), subnetFile)) {
            if (Files.deleteIfExists(f)) {
                removed.add(f);
            }
        }
        return removed;
    }

    /**
     * flannel's {@code subnet.env} keys with our prefix. {@code JCNI_SUBNET} is the bridge's gateway
     * address with the subnet's length, as flannel writes it ({@code 10.244.1.1/24}).
     */
    static String subnetEnv(NetworkConfig config, IpPrefix subnet, int mtu, boolean ipMasq) {
        return "JCNI_NETWORK=" + config.network() + "\n"
                + "JCNI_SUBNET=" + gateway(subnet) + "\n"
                + "JCNI_MTU=" + mtu + "\n"
                + "JCNI_IPMASQ=" + ipMasq + "\n";
    }

    /** The pods' gateway: the subnet's first address, held by the bridge. */
    static IpPrefix gateway(IpPrefix subnet) {
        return new IpPrefix(subnet.network().address().next(), subnet.length());
    }

    /**
     * The network {@code jcni}. The bridge does not masquerade: the agent's masquerade knows the
     * whole cluster network and leaves pod-to-pod traffic between nodes untouched, which the
     * bridge's (everything outside the node's subnet) would not.
     */
    String conflist(IpPrefix subnet, int mtu) {
        Map<String, Object> ipam = new LinkedHashMap<>();
        ipam.put("type", "jcni-host-local");
        ipam.put("ranges", List.of(List.of(Map.of("subnet", subnet.network().toString()))));
        ipam.put("routes", List.of(Map.of("dst", "0.0.0.0/0")));
        Map<String, Object> br = new LinkedHashMap<>();
        br.put("type", "jcni-bridge");
        br.put("bridge", bridge);
        br.put("isGateway", true);
        br.put("ipMasq", false);
        br.put("hairpinMode", true);
        br.put("mtu", (long) mtu);
        br.put("ipam", ipam);
        Map<String, Object> portmap = new LinkedHashMap<>();
        portmap.put("type", "jcni-portmap");
        portmap.put("capabilities", Map.of("portMappings", true));
        Map<String, Object> list = new LinkedHashMap<>();
        list.put("cniVersion", CNI_VERSION);
        list.put("name", NETWORK_NAME);
        list.put("plugins", List.of(br, portmap, Map.of("type", "jcni-loopback")));
        return Json.writeIndented(list) + "\n";
    }

    private static boolean writeIfChanged(Path file, String content, String perms) throws IOException {
        byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
        try {
            if (java.util.Arrays.equals(Files.readAllBytes(file), bytes)) {
                return false;
            }
        } catch (IOException missing) {
            // write it
        }
        AtomicFiles.write(file, bytes, perms, "rwxr-xr-x");
        return true;
    }
}
