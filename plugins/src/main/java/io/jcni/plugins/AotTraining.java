package io.jcni.plugins;

import io.jcni.cni.Plugin;
import io.jcni.cni.PluginRequest;
import io.jcni.cni.PluginResponse;
import io.jcni.cni.Skeleton;
import io.jcni.netlink.Trace;
import io.jcni.netlink.nft.Nftables;
import io.jcni.netlink.ns.NamedNetns;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.plugins.bridge.Bridge;
import io.jcni.plugins.hostlocal.HostLocal;
import io.jcni.plugins.loopback.Loopback;
import io.jcni.plugins.portmap.Portmap;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The training run of the plugins' JDK AOT cache ({@code jcni install} runs it with
 * {@code -XX:AOTCacheOutput} and exactly the plugin executables' JVM options and class path):
 * every plugin's verbs against a real namespace, so the classes and linkage of each plugin's
 * exec'd path are in the cache. Works on scratch objects it removes again: a namespace, a bridge,
 * an unused 10.249.N.0/29 subnet, an IPAM data dir, the network's nftables chain and sets, and
 * restores {@code net.ipv4.ip_forward}. Prints one line per step to stderr; exits non-zero if a
 * step fails (install then reports the cache as not built).
 *
 * <p>It runs only in a network namespace of its own ({@code jcni install} starts it with
 * {@code nsenter --net=} in a fresh one): the scratch bridge, nftables table and sysctl then
 * never exist in the host's namespace, and a training killed half-way leaves nothing there.
 * Started in the namespace of pid 1 it refuses to run (when it can see pid 1's).
 */
public final class AotTraining {
    private AotTraining() {}

    public static void main(String[] args) throws Exception {
        if (inInitialNetns()) {
            System.err.println("jcni aot training: refusing to run in the host's network namespace "
                    + "(jcni install runs it in a namespace of its own)");
            Runtime.getRuntime().halt(2);
        }
        String tag = Long.toString(ProcessHandle.current().pid() % 46656, 36);
        String ns = "jcni-aot-" + tag;
        String bridge = "jcniaot" + tag;
        String network = "jcniaottraining" + tag; // letters and digits: nft object names are then the network name
        Path forward = Path.of("/proc/sys/net/ipv4/ip_forward");
        String forwardBefore = Files.readString(forward).trim();
        Path data = Files.createTempDirectory("jcni-aot-");
        String subnet = freeSubnet();
        int failures = 0;
        boolean hadTable;
        try (Nftables nft = Nftables.open(Trace.OFF)) {
            hadTable = nft.tables().stream().anyMatch(t -> t.name().equals("jcni") && t.family() == Nftables.INET);
        }
        NamedNetns.create(ns, Trace.OFF);
        try {
            String netns = NamedNetns.pathOf(ns);
            failures += verbs(new Loopback(), netns, "lo", """
                    {"cniVersion": "1.1.0", "name": "%s", "type": "jcni-loopback"}""".formatted(network));
            failures += verbs(new HostLocal(), netns, "eth1", """
                    {"cniVersion": "1.1.0", "name": "%s", "type": "jcni-host-local",
                     "ipam": {"type": "jcni-host-local", "dataDir": "%s", "ranges": [[{"subnet": "10.249.255.0/29"}]]}}""".formatted(network + "-ipam", data.resolve("hl")));
            failures += verbs(new Bridge(), netns, "eth0", """
                    {"cniVersion": "1.1.0", "name": "%s", "type": "jcni-bridge", "bridge": "%s",
                     "isGateway": true, "ipMasq": true,
                     "ipam": {"type": "host-local", "dataDir": "%s",
                              "ranges": [[{"subnet": "%s"}]], "routes": [{"dst": "0.0.0.0/0"}]}}""".formatted(network, bridge, data.resolve("br"), subnet));
            failures += portmapVerbs(netns, """
                    {"cniVersion": "1.1.0", "name": "%s", "type": "jcni-bridge", "bridge": "%s",
                     "isGateway": true, "ipMasq": true,
                     "ipam": {"type": "host-local", "dataDir": "%s", "ranges": [[{"subnet": "%s"}]]}}""".formatted(network, bridge, data.resolve("pm"), subnet), network);
            // what the exec'd path loads besides the plugin: its main classes, the environment, the VERSION answer
            for (PluginRegistry.Entry e : PluginRegistry.ALL) {
                Class.forName(e.mainClass());
            }
            Class.forName("io.jcni.cni.PluginMain");
            System.getenv().size();
            Skeleton.handle(
                    new Bridge(),
                    new PluginRequest(
                            Map.of("CNI_COMMAND", "VERSION"),
                            "{\"cniVersion\": \"1.0.0\"}".getBytes(StandardCharsets.UTF_8)));
        } finally {
            cleanUp(ns, bridge, network, hadTable);
            Files.writeString(forward, forwardBefore + "\n");
            try (Stream<Path> s = Files.walk(data)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
        System.err.println("jcni aot training: " + (failures == 0 ? "ok" : failures + " step(s) failed"));
        System.out.flush();
        System.err.flush();
        Runtime.getRuntime()
                .halt(failures == 0 ? 0 : 1); // as the plugins end (PluginMain.exit); the cache is still written
    }

    /**
     * Is this process in the network namespace of pid 1 (the host's, or its container's)? False
     * when pid 1's namespace cannot be read (a sandbox may hide it even from root): then jcni
     * install's own namespace is the only guard.
     */
    private static boolean inInitialNetns() {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/ns/net"))
                    .equals(Files.readSymbolicLink(Path.of("/proc/1/ns/net")));
        } catch (IOException e) {
            return false;
        }
    }

    /** ADD, CHECK, DEL (and an error: CHECK after DEL) of one plugin; returns the number of failed steps. */
    private static int verbs(Plugin plugin, String netns, String ifname, String conf) {
        int failed = 0;
        String prev = null;
        for (String verb : List.of("ADD", "CHECK", "DEL", "DEL")) {
            String stdin = verb.equals("CHECK") && prev != null
                    ? conf.substring(0, conf.lastIndexOf('}')) + ", \"prevResult\": " + prev + "}"
                    : conf;
            Map<String, String> env = new HashMap<>();
            env.put("CNI_COMMAND", verb);
            env.put("CNI_CONTAINERID", "jcni-aot-training");
            env.put("CNI_NETNS", netns);
            env.put("CNI_IFNAME", ifname);
            env.put("CNI_PATH", "/nonexistent");
            PluginResponse r = Skeleton.handle(plugin, new PluginRequest(env, stdin.getBytes(StandardCharsets.UTF_8)));
            if (verb.equals("ADD") && r.exitCode() == 0) {
                prev = r.stdoutText();
            }
            if (r.exitCode() != 0) {
                failed++;
                System.err.println("jcni aot training: " + plugin.getClass().getSimpleName() + " " + verb + " failed: "
                        + r.stdoutText());
            }
        }
        return failed;
    }

    /**
     * portmap's ADD, CHECK, DEL and DEL again, chained after a bridge ADD as a conflist runs it (its
     * prevResult is the bridge's result); the bridge's DEL afterwards. Returns the failed steps.
     */
    private static int portmapVerbs(String netns, String bridgeConf, String network) {
        Map<String, String> env = new HashMap<>();
        env.put("CNI_CONTAINERID", "jcni-aot-portmap");
        env.put("CNI_NETNS", netns);
        env.put("CNI_IFNAME", "eth2");
        env.put("CNI_PATH", "/nonexistent");
        env.put("CNI_COMMAND", "ADD");
        PluginResponse add =
                Skeleton.handle(new Bridge(), new PluginRequest(env, bridgeConf.getBytes(StandardCharsets.UTF_8)));
        if (add.exitCode() != 0) {
            System.err.println("jcni aot training: the bridge ADD under portmap failed: " + add.stdoutText());
            return 1;
        }
        String conf = """
                {"cniVersion": "1.1.0", "name": "%s", "type": "jcni-portmap",
                 "runtimeConfig": {"portMappings": [{"hostPort": 18080, "containerPort": 80, "protocol": "tcp"}]},
                 "prevResult": %s}""".formatted(network, add.stdoutText());
        int failed = 0;
        for (String verb : List.of("ADD", "CHECK", "DEL", "DEL")) {
            env.put("CNI_COMMAND", verb);
            PluginResponse r =
                    Skeleton.handle(new Portmap(), new PluginRequest(env, conf.getBytes(StandardCharsets.UTF_8)));
            if (r.exitCode() != 0) {
                failed++;
                System.err.println("jcni aot training: Portmap " + verb + " failed: " + r.stdoutText());
            }
        }
        env.put("CNI_COMMAND", "DEL");
        PluginResponse del =
                Skeleton.handle(new Bridge(), new PluginRequest(env, bridgeConf.getBytes(StandardCharsets.UTF_8)));
        if (del.exitCode() != 0) {
            failed++;
            System.err.println("jcni aot training: the bridge DEL under portmap failed: " + del.stdoutText());
        }
        return failed;
    }

    /** A 10.249.N.0/29 that no IPv4 route of the host's main table overlaps. */
    private static String freeSubnet() throws IOException {
        List<String> routes = Files.readAllLines(Path.of("/proc/net/route"));
        for (int n = (int) (ProcessHandle.current().pid() % 200); n < 450; n++) {
            int third = n % 250;
            // /proc/net/route: destination in little-endian hex; any route into 10.249.third.0/24 counts
            String prefix = String.format("%02X%02X", third, 249);
            boolean used = false;
            for (String line : routes) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 1 && f[1].length() == 8 && f[1].endsWith(prefix + "0A")) {
                    used = true;
                }
            }
            if (!used) {
                return "10.249." + third + ".0/29";
            }
        }
        throw new IllegalStateException("no free 10.249.N.0/24 for the training bridge");
    }

    private static void cleanUp(String ns, String bridge, String network, boolean hadTable) {
        try {
            NamedNetns.delete(ns, Trace.OFF);
        } catch (RuntimeException e) {
            System.err.println("jcni aot training: cannot delete namespace " + ns + ": " + e.getMessage());
        }
        try (RouteNetlink nl = RouteNetlink.open(Trace.OFF)) {
            nl.links().deleteIfExists(bridge);
        } catch (RuntimeException e) {
            System.err.println("jcni aot training: cannot delete bridge " + bridge + ": " + e.getMessage());
        }
        // The bridge's NAT table is shared by every network and the training's DELs removed its
        // elements: the table goes only if the training made it and nobody else has an element in it.
        try (Nftables nft = Nftables.open(Trace.OFF)) {
            boolean others = false;
            for (var set : nft.sets(Nftables.INET, "jcni")) {
                others |= !nft.elements(Nftables.INET, "jcni", set.name()).isEmpty();
            }
            if (!hadTable && !others) {
                nft.batch().deleteTable(Nftables.INET, "jcni").commit();
            }
        } catch (RuntimeException e) {
            System.err.println(
                    "jcni aot training: cannot remove nftables objects of " + network + ": " + e.getMessage());
        }
    }
}
