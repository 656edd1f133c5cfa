package io.jcni.plugins.portmap;

import static io.jcni.plugins.testing.PluginFixture.call;
import static io.jcni.plugins.testing.PluginFixture.env;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jcni.cni.PluginResponse;
import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.nft.NftChain;
import io.jcni.netlink.nft.NftElement;
import io.jcni.netlink.nft.Nftables;
import io.jcni.netlink.ns.NetNs;
import io.jcni.plugins.bridge.Bridge;
import io.jcni.plugins.testing.PluginFixture;
import io.jcni.testkit.Commands;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A node of its own for portmap tests: a fresh "node" namespace (its nftables, conntrack and
 * sysctls are the test's alone) in which the jcni bridge plugin attaches pod namespaces to a
 * bridge and portmap runs — every plugin call is made from a thread inside the node namespace.
 * Closing the fixture deletes the namespaces, and everything in them with them.
 */
final class PortmapWorld implements AutoCloseable {
    static final String SUBNET = "10.77.0.0/24", GATEWAY = "10.77.0.1";

    final PluginFixture f;
    final String nodePath;
    final NetNs node;
    /** Whether the bridge masquerades (ipMasq). */
    boolean ipMasq;

    PortmapWorld(String tag) {
        f = new PluginFixture(tag);
        try {
            nodePath = f.netns("n");
            node = NetNs.open(nodePath);
            Commands.run("ip", "-n", PluginFixture.nsName(nodePath), "link", "set", "lo", "up");
        } catch (RuntimeException e) {
            f.close();
            throw e;
        }
    }

    String bridgeConfig(String version) {
        return """
                {"cniVersion": "%s", "name": "%s", "type": "bridge", "bridge": "%s", "isGateway": true, "hairpinMode": true,
                 "ipMasq": %s,
                 "ipam": {"type": "host-local", "dataDir": "%s", "ranges": [[{"subnet": "%s"}]],
                          "routes": [{"dst": "0.0.0.0/0"}]}}
                """.formatted(version, f.network, f.bridge, ipMasq, f.dataDir, SUBNET);
    }

    /** A pod namespace attached to the node's bridge; returns {netns path, bridge ADD result}. */
    String[] pod(String what, String containerId, String version) {
        return pod(what, containerId, version, "");
    }

    /** {@link #pod(String, String, String)} with CNI_ARGS ({@code IP=10.77.0.50} asks for an address). */
    String[] pod(String what, String containerId, String version, String cniArgs) {
        String ns = f.netns(what);
        Map<String, String> env = env("ADD", containerId, ns, "eth0");
        env.put("CNI_ARGS", cniArgs);
        PluginResponse r = inNode(() -> call(new Bridge(), env, bridgeConfig(version)));
        assertEquals(0, r.exitCode(), r.stdoutText() + r.stderr());
        return new String[] {ns, r.stdoutText()};
    }

    /** The portmap plugin config: mappings (JSON array or null), extra keys ("" or ending in ','), prevResult (or null). */
    String portmapConfig(String version, String mappings, String extra, String prevResult) {
        return "{\"cniVersion\": \"" + version + "\", \"name\": \"" + f.network + "\", \"type\": \"portmap\", "
                + "\"capabilities\": {\"portMappings\": true}, " + extra
                + (mappings == null ? "" : "\"runtimeConfig\": {\"portMappings\": " + mappings + "}, ")
                + (prevResult == null ? "" : "\"prevResult\": " + prevResult + ", ")
                + "\"x\": 0}";
    }

    PluginResponse portmap(String command, String containerId, String ns, String config) {
        return inNode(() -> call(new Portmap(), env(command, containerId, ns, "eth0"), config));
    }

    <T> T inNode(NetNs.Work<T> work) {
        return node.run(work);
    }

    /**
     * "set: element" lines of every portmap map and set in the node, sorted: a set lists its
     * elements in its hash order, which can change with no element added or removed (an aborted
     * transaction's inserts).
     */
    List<String> elements() {
        List<String> out = new ArrayList<>();
        try (Nftables nft = Nftables.open(node, Trace.OFF)) {
            for (PortmapTable.TableSet set : PortmapTable.TableSet.values()) {
                for (NftElement element : nft.elements(Nftables.INET, PortmapTable.TABLE, set.nftName)) {
                    out.add(set.nftName + ": " + set.keyType.format(element.key())
                            + (element.comment() == null ? "" : " comment " + element.comment()));
                }
            }
        } catch (NoSuchObjectException noTable) {
            // nothing mapped yet
        }
        out.sort(null);
        return out;
    }

    /** How many rules the portmap table holds, over all its chains. */
    int rules() {
        int n = 0;
        try (Nftables nft = Nftables.open(node, Trace.OFF)) {
            for (NftChain c : nft.chains(Nftables.INET, PortmapTable.TABLE)) {
                n += nft.rules(Nftables.INET, PortmapTable.TABLE, c.name()).size();
            }
        } catch (NoSuchObjectException noTable) {
            return 0;
        }
        return n;
    }

    String nft(String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", PluginFixture.nsName(nodePath), "nft"));
        cmd.addAll(List.of(args));
        return Commands.run(cmd.toArray(new String[0]));
    }

    static String withoutLast(String json) {
        return json.trim();
    }

    @SuppressWarnings("unchecked")
    static String podAddress(String bridgeResult) {
        Map<String, Object> r = PluginFixture.json(new PluginResponse(bridgeResult.getBytes(), "", 0));
        String a = (String) ((List<Map<String, Object>>) r.get("ips")).get(0).get("address");
        return a.substring(0, a.indexOf('/'));
    }

    @Override
    public void close() {
        try {
            node.close();
        } finally {
            f.close();
        }
    }
}
