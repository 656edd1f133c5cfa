package io.jcni.deploy;

import static org.junit.jupiter.api.Assertions.*;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.jcni.agent.Handoff;
import io.jcni.agent.Lease;
import io.jcni.agent.NetworkConfig;
import io.jcni.cli.Main;
import io.jcni.cni.json.Json;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ip.MacAddress;
import io.jcni.testkit.Jars;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * deploy/kubernetes/jcni.yaml, read with fabric8's model classes: every object there, RBAC at least
 * privilege, the DaemonSet's host paths, probes, tolerations, capabilities, downward API and
 * resources, the init container's targets, the ConfigMap's network configuration, and the conflist
 * the agent would write for that network. Each rule is also shown to catch a manifest that breaks it.
 */
class KubernetesManifestTest {

    @Test
    void theManifestBreaksNoRule() {
        List<String> problems = Manifest.problems(Manifest.text());
        assertEquals(List.of(), problems, Manifest.file() + " breaks rules");
    }

    @Test
    void everyObjectKindIsThereWithItsName() {
        List<HasMetadata> objects = Manifest.parse(Manifest.text());
        List<String> kinds = objects.stream()
                .map(o -> o.getKind() + " " + o.getMetadata().getName())
                .toList();
        assertEquals(
                List.of(
                        "Namespace kube-jcni",
                        "ServiceAccount jcni",
                        "ClusterRole jcni",
                        "ClusterRoleBinding jcni",
                        "ConfigMap jcni-config",
                        "DaemonSet jcni"),
                kinds);
    }

    /** One broken variant of the manifest per rule: the text replaced, and what the checks must then say. */
    record Broken(String what, String from, String to, String expected) {
        @Override
        public String toString() {
            return what;
        }
    }

    static Stream<Broken> brokenManifests() {
        return Stream.of(
                new Broken("hostNetwork false", "hostNetwork: true", "hostNetwork: false", "hostNetwork"),
                new Broken(
                        "a toleration limited to one effect",
                        "- operator: Exists",
                        "- operator: Exists\n          effect: NoSchedule",
                        "toleration"),
                new Broken(
                        "another priority class",
                        "system-node-critical",
                        "system-cluster-critical",
                        "priorityClassName"),
                new Broken(
                        "the liveness probe on another port",
                        "              port: 9964\n            initialDelaySeconds",
                        "              port: 9965\n            initialDelaySeconds",
                        "liveness probe"),
                new Broken(
                        "the liveness probe on another path",
                        "              path: /livez\n              port: 9964\n            initialDelaySeconds",
                        "              path: /metrics\n              port: 9964\n            initialDelaySeconds",
                        "liveness probe"),
                new Broken(
                        "SYS_ADMIN instead of NET_ADMIN",
                        "add: [\"NET_ADMIN\"]",
                        "add: [\"SYS_ADMIN\"]",
                        "NET_ADMIN alone"),
                new Broken(
                        "a privileged agent",
                        "            privileged: false",
                        "            privileged: true",
                        "privileged"),
                new Broken(
                        "NODE_NAME from the pod's name",
                        "fieldPath: spec.nodeName",
                        "fieldPath: metadata.name",
                        "NODE_NAME"),
                new Broken(
                        "a memory limit below the request",
                        "              memory: 320Mi",
                        "              memory: 64Mi",
                        "below the request"),
                new Broken(
                        "no resources",
                        "          resources:\n            # measured RSS",
                        "          xresources:\n            # measured RSS",
                        "unknown field"),
                new Broken(
                        "plugins installed elsewhere",
                        "args: [\"--dir\", \"/opt/cni/bin\"",
                        "args: [\"--dir\", \"/usr/lib/cni\"",
                        "--dir"),
                new Broken(
                        "a host path mounted elsewhere",
                        "            - name: cni-bin\n              mountPath: /opt/cni/bin",
                        "            - name: cni-bin\n              mountPath: /host/opt/cni/bin",
                        "not at the same path"),
                new Broken(
                        "one more host path",
                        "            path: /opt/jcni\n",
                        "            path: /var/lib/cni\n",
                        "host paths"),
                new Broken(
                        "a writable conf dir in the init container",
                        "              mountPath: /etc/cni/net.d\n              readOnly: true",
                        "              mountPath: /etc/cni/net.d\n              readOnly: false",
                        "read-only"),
                new Broken(
                        "an unprivileged init container",
                        "          securityContext:\n            privileged: true",
                        "          securityContext:\n            privileged: false",
                        "install-cni must be privileged"),
                new Broken(
                        "a wider ClusterRole",
                        "verbs: [\"get\", \"list\", \"watch\", \"patch\"]",
                        "verbs: [\"*\"]",
                        "least privilege"),
                new Broken(
                        "another namespace name",
                        "  name: kube-jcni\n  labels",
                        "  name: kube-flannel\n  labels",
                        "Namespace kube-jcni"),
                new Broken(
                        "a bad network",
                        "\"Network\": \"10.244.0.0/16\"",
                        "\"Network\": \"10.244.0.0/33\"",
                        "net-conf.json"),
                new Broken(
                        "--net-conf not from the ConfigMap",
                        "- /etc/jcni/net-conf.json",
                        "- /etc/kube-flannel/net-conf.json",
                        "is not a key of the ConfigMap"),
                new Broken("a misspelt field", "hostNetwork: true", "hostNetwrok: true", "unknown field"),
                new Broken("no longer YAML", "kind: DaemonSet", "kind: [DaemonSet", "does not parse"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("brokenManifests")
    void aBrokenManifestIsCaught(Broken b) {
        String text = Manifest.text();
        assertTrue(text.contains(b.from()), "the manifest no longer holds the text this case breaks: " + b.from());
        List<String> problems = Manifest.problems(text.replaceFirst(
                java.util.regex.Pattern.quote(b.from()), java.util.regex.Matcher.quoteReplacement(b.to())));
        assertTrue(
                problems.stream().anyMatch(s -> s.contains(b.expected())),
                b.what() + ": expected a problem mentioning \"" + b.expected() + "\", got " + problems);
    }

    /**
     * The conflist is not in the manifest: the agent writes it once the node is programmed. Here it is
     * written as the agent would for the ConfigMap's network (through the agent's own Handoff), and
     * must be valid JSON with a cniVersion and plugins that the init container installs.
     */
    @Test
    void theConflistTheAgentWritesForThisNetworkNamesOnlyInstalledPlugins(@TempDir Path tmp) throws Exception {
        List<HasMetadata> objects = Manifest.parse(Manifest.text());
        ConfigMap cm = Manifest.one(objects, ConfigMap.class);
        NetworkConfig config = NetworkConfig.parse(cm.getData().get("net-conf.json"));
        assertEquals(IpPrefix.parse("10.244.0.0/16"), config.network());
        assertEquals("vxlan", config.backend().type());

        Path confDir = Files.createDirectories(tmp.resolve("net.d"));
        Handoff handoff = new Handoff(tmp.resolve("subnet.env"), confDir, "jcni0");
        Lease own = new Lease(
                config.subnet(0), IpAddress.parse("198.18.0.11"), "vxlan", MacAddress.parse("02:00:00:00:00:01"), 1, 0);
        handoff.write(config, own, 1450, true);
        Object parsed = Json.parse(Files.readString(handoff.conflist()));
        assertInstanceOf(Map.class, parsed);
        Map<?, ?> conflist = (Map<?, ?>) parsed;
        assertInstanceOf(String.class, conflist.get("cniVersion"));
        assertFalse(((String) conflist.get("cniVersion")).isBlank());
        assertInstanceOf(List.class, conflist.get("plugins"));
        List<?> plugins = (List<?>) conflist.get("plugins");
        assertFalse(plugins.isEmpty());
        Set<String> types = new TreeSet<>();
        for (Object o : plugins) {
            Map<?, ?> plugin = (Map<?, ?>) o;
            types.add((String) plugin.get("type"));
            if (plugin.get("ipam") instanceof Map<?, ?> ipam) {
                types.add((String) ipam.get("type"));
            }
        }
        Set<String> installed = installedExecutables(tmp);
        assertTrue(installed.containsAll(types), "the conflist names " + types + ", install-cni installs " + installed);

        DaemonSet ds = Manifest.one(objects, DaemonSet.class);
        String confDirOfInit = null;
        List<String> initArgs =
                ds.getSpec().getTemplate().getSpec().getInitContainers().get(0).getArgs();
        for (int i = 0; i + 1 < initArgs.size(); i++) {
            if (initArgs.get(i).equals("--conf-dir")) {
                confDirOfInit = initArgs.get(i + 1);
            }
        }
        assertEquals("/etc/cni/net.d", confDirOfInit, "the agent's conflist goes to its default --cni-conf-dir");
        assertEquals(
                Handoff.CONFLIST,
                "10-jcni.conflist",
                "install-cni warns about configurations sorting before this name");
    }

    /**
     * The executables 'jcni install' writes, from its print mode (nothing is installed), with the jars
     * the image installs from (cli/target/lib, once packaged), else jars made from the class path.
     */
    private static Set<String> installedExecutables(Path tmp) throws Exception {
        Path packaged = Manifest.root().resolve("cli/target/lib");
        Path jars = Files.isDirectory(packaged)
                ? packaged
                : Jars.fromClassPath(Files.createDirectories(tmp.resolve("jars")));
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = Main.run(
                new String[] {
                    "install",
                    "--print",
                    "--no-aot-cache",
                    "--dir",
                    tmp.resolve("bin").toString(),
                    "--lib-dir",
                    tmp.resolve("lib").toString(),
                    "--from",
                    jars.toString()
                },
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, code, "jcni install --print: " + out + err);
        Set<String> names = new TreeSet<>();
        String prefix = tmp.resolve("bin") + "/";
        for (String line : out.toString(StandardCharsets.UTF_8).lines().toList()) {
            List<String> words = new ArrayList<>(List.of(line.split(" ")));
            if (words.size() >= 5
                    && words.get(0).equals("install")
                    && words.get(2).equals("0755")) {
                String target = words.get(4);
                if (target.startsWith(prefix)) {
                    names.add(target.substring(prefix.length()));
                }
            }
        }
        assertFalse(names.isEmpty(), "no executables in: " + out);
        return names;
    }
}
