package io.jcni.deploy;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesList;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.jcni.agent.NetworkConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * deploy/kubernetes/jcni.yaml read with fabric8's model classes, and what it must say. {@link #problems}
 * returns every rule the manifest breaks, in words, so that a test can show both that the real
 * manifest breaks none and that a broken one is caught.
 */
final class Manifest {
    static final String NAMESPACE = "kube-jcni";
    static final String NAME = "jcni";
    /** Every host path the DaemonSet may mount, and nothing else (least privilege). */
    static final Set<String> HOST_PATHS = Set.of("/run/jcni", "/etc/cni/net.d", "/opt/cni/bin", "/opt/jcni");

    static final String CNI_BIN = "/opt/cni/bin", CNI_CONF = "/etc/cni/net.d";
    static final String METRICS_HOST = "127.0.0.1";
    static final int METRICS_PORT = 9964;

    /** Costly to make (its object mappers), safe to share. */
    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

    private Manifest() {}

    static Path file() {
        return root().resolve("deploy/kubernetes/jcni.yaml");
    }

    /** The checkout: -Djcni.root from the pom, else the parent of the module directory. */
    static Path root() {
        String r = System.getProperty("jcni.root");
        return (r != null ? Path.of(r) : Path.of("").toAbsolutePath().getParent())
                .toAbsolutePath()
                .normalize();
    }

    static String text() {
        try {
            return Files.readString(file());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every object of a multi-document YAML text, in order. */
    static List<HasMetadata> parse(String yaml) {
        Object o = SERIALIZATION.unmarshal(yaml);
        List<HasMetadata> out = new ArrayList<>();
        if (o instanceof KubernetesList l) {
            out.addAll(l.getItems());
        } else if (o instanceof Collection<?> c) {
            for (Object x : c) {
                out.add((HasMetadata) x);
            }
        } else if (o instanceof HasMetadata h) {
            out.add(h);
        } else {
            throw new IllegalArgumentException("not Kubernetes objects: "
                    + (o == null ? "nothing" : o.getClass().getName()));
        }
        return out;
    }

    /** The objects of the kind {@code type}. */
    static <T extends HasMetadata> List<T> all(List<HasMetadata> objects, Class<T> type) {
        return objects.stream().filter(type::isInstance).map(type::cast).toList();
    }

    static <T extends HasMetadata> T one(List<HasMetadata> objects, Class<T> type) {
        List<T> found = all(objects, type);
        return found.size() == 1 ? found.get(0) : null;
    }

    /** The DaemonSet's agent container (its only container). */
    static Container agent(DaemonSet ds) {
        List<Container> cs = ds.getSpec().getTemplate().getSpec().getContainers();
        return cs.size() == 1 ? cs.get(0) : null;
    }

    /** Everything {@code yaml} gets wrong; empty when nothing. */
    static List<String> problems(String yaml) {
        List<String> p = new ArrayList<>();
        List<HasMetadata> objects;
        try {
            objects = parse(yaml);
        } catch (RuntimeException e) {
            return List.of("the manifest does not parse: " + e);
        }
        for (HasMetadata o : objects) {
            unknownFields(o, o.getKind() + " " + o.getMetadata().getName(), p);
            if (!Set.of(
                            Namespace.class,
                            ServiceAccount.class,
                            ClusterRole.class,
                            ClusterRoleBinding.class,
                            ConfigMap.class,
                            DaemonSet.class)
                    .contains(o.getClass())) {
                p.add("unexpected object " + o.getKind() + " " + o.getMetadata().getName());
            }
        }
        Namespace ns = one(objects, Namespace.class);
        if (ns == null || !NAMESPACE.equals(ns.getMetadata().getName())) {
            p.add("one Namespace " + NAMESPACE + " expected");
        }
        ServiceAccount sa = one(objects, ServiceAccount.class);
        if (sa == null || !NAME.equals(sa.getMetadata().getName())) {
            p.add("one ServiceAccount " + NAME + " expected");
        }
        for (HasMetadata o : objects) {
            boolean namespaced = o instanceof ServiceAccount || o instanceof ConfigMap || o instanceof DaemonSet;
            if (namespaced && !NAMESPACE.equals(o.getMetadata().getNamespace())) {
                p.add(o.getKind() + " " + o.getMetadata().getName() + " is not in namespace " + NAMESPACE);
            }
        }
        rbac(objects, p);
        ConfigMap cm = one(objects, ConfigMap.class);
        if (cm == null) {
            p.add("one ConfigMap expected");
        } else {
            configMap(cm, p);
        }
        DaemonSet ds = one(objects, DaemonSet.class);
        if (ds == null || !NAME.equals(ds.getMetadata().getName())) {
            p.add("one DaemonSet " + NAME + " expected");
        } else {
            daemonSet(ds, cm, p);
        }
        return p;
    }

    private static void rbac(List<HasMetadata> objects, List<String> p) {
        ClusterRole role = one(objects, ClusterRole.class);
        if (role == null || !NAME.equals(role.getMetadata().getName())) {
            p.add("one ClusterRole " + NAME + " expected");
        } else {
            // resource -> verbs, over every rule; only the core API group
            Map<String, Set<String>> granted = new TreeMap<>();
            for (PolicyRule r : role.getRules()) {
                if (!List.of("").equals(r.getApiGroups())) {
                    p.add("ClusterRole " + NAME + ": a rule for API groups " + r.getApiGroups()
                            + " (only the core group \"\" is needed)");
                }
                if (!r.getNonResourceURLs().isEmpty() || !r.getResourceNames().isEmpty()) {
                    p.add("ClusterRole " + NAME + ": nonResourceURLs/resourceNames are not expected");
                }
                for (String res : r.getResources()) {
                    granted.computeIfAbsent(res, k -> new TreeSet<>()).addAll(r.getVerbs());
                }
            }
            Map<String, Set<String>> expected = Map.of(
                    "nodes",
                    new TreeSet<>(List.of("get", "list", "watch", "patch")),
                    "nodes/status",
                    new TreeSet<>(List.of("patch")));
            if (!new TreeMap<>(expected).equals(granted)) {
                p.add("ClusterRole " + NAME + " grants " + granted + ", least privilege is " + new TreeMap<>(expected));
            }
        }
        ClusterRoleBinding binding = one(objects, ClusterRoleBinding.class);
        if (binding == null || !NAME.equals(binding.getMetadata().getName())) {
            p.add("one ClusterRoleBinding " + NAME + " expected");
        } else {
            var ref = binding.getRoleRef();
            if (!"ClusterRole".equals(ref.getKind())
                    || !NAME.equals(ref.getName())
                    || !"rbac.authorization.k8s.io".equals(ref.getApiGroup())) {
                p.add("ClusterRoleBinding " + NAME + " must refer to ClusterRole " + NAME);
            }
            List<Subject> s = binding.getSubjects();
            if (s.size() != 1
                    || !"ServiceAccount".equals(s.get(0).getKind())
                    || !NAME.equals(s.get(0).getName())
                    || !NAMESPACE.equals(s.get(0).getNamespace())) {
                p.add("ClusterRoleBinding " + NAME + " must bind ServiceAccount " + NAMESPACE + "/" + NAME
                        + " and no one else");
            }
        }
    }

    private static void configMap(ConfigMap cm, List<String> p) {
        Map<String, String> data = cm.getData() == null ? Map.of() : cm.getData();
        if (!Set.of("net-conf.json").equals(data.keySet())) {
            p.add(
                    "ConfigMap " + cm.getMetadata().getName() + " holds " + data.keySet()
                            + ", expected net-conf.json only "
                            + "(the agent writes the conflist once the node is ready; a static one would announce readiness too early)");
        }
        String netConf = data.get("net-conf.json");
        if (netConf != null) {
            try {
                NetworkConfig.parse(netConf);
            } catch (NetworkConfig.InvalidConfigException | RuntimeException e) {
                p.add("net-conf.json is not a valid network configuration: " + e.getMessage());
            }
        }
    }

    private static void daemonSet(DaemonSet ds, ConfigMap cm, List<String> p) {
        var spec = ds.getSpec();
        PodSpec pod = spec.getTemplate().getSpec();
        Map<String, String> labels = spec.getTemplate().getMetadata().getLabels();
        Map<String, String> selector = spec.getSelector().getMatchLabels();
        if (selector == null
                || selector.isEmpty()
                || labels == null
                || !labels.entrySet().containsAll(selector.entrySet())) {
            p.add("the DaemonSet's selector must match its pods' labels");
        }
        if (spec.getUpdateStrategy() == null
                || !"RollingUpdate".equals(spec.getUpdateStrategy().getType())) {
            p.add("the DaemonSet must update by RollingUpdate");
        }
        if (!NAME.equals(pod.getServiceAccountName())) {
            p.add("the pods must run as ServiceAccount " + NAME);
        }
        if (!Boolean.TRUE.equals(pod.getHostNetwork())) {
            p.add("hostNetwork must be true (the agent programs the node's network namespace)");
        }
        if (!"system-node-critical".equals(pod.getPriorityClassName())) {
            p.add("priorityClassName must be system-node-critical");
        }
        boolean everyTaint = false;
        for (Toleration t : pod.getTolerations()) {
            everyTaint |= "Exists".equals(t.getOperator()) && isBlank(t.getKey()) && isBlank(t.getEffect());
        }
        if (!everyTaint) {
            p.add(
                    "a toleration {operator: Exists} without key and effect is needed: the agent runs whatever the node's taints");
        }

        // host paths: exactly the expected ones, each mounted at its own path (install-cni writes
        // the paths it sees into the plugins' files, which the node reads)
        Map<String, String> hostPathOf = new TreeMap<>();
        Map<String, String> configMapOf = new TreeMap<>();
        for (Volume v : pod.getVolumes()) {
            if (v.getHostPath() != null) {
                hostPathOf.put(v.getName(), v.getHostPath().getPath());
            }
            if (v.getConfigMap() != null) {
                configMapOf.put(v.getName(), v.getConfigMap().getName());
            }
        }
        if (!HOST_PATHS.equals(new TreeSet<>(hostPathOf.values()))) {
            p.add("host paths " + new TreeSet<>(hostPathOf.values()) + ", expected exactly "
                    + new TreeSet<>(HOST_PATHS));
        }
        List<Container> all = new ArrayList<>(pod.getInitContainers());
        all.addAll(pod.getContainers());
        String image = null;
        for (Container c : all) {
            for (VolumeMount m : c.getVolumeMounts()) {
                String host = hostPathOf.get(m.getName());
                if (host != null && !host.equals(m.getMountPath())) {
                    p.add(c.getName() + ": host path " + host + " is mounted at " + m.getMountPath()
                            + ", not at the same path");
                }
            }
            resources(c, p);
            if (image != null && !image.equals(c.getImage())) {
                p.add(c.getName() + ": image " + c.getImage() + " differs from " + image);
            }
            image = c.getImage();
        }
        String version = System.getProperty("jcni.version");
        if (version != null && image != null && !image.equals("localhost/jcni:" + version)) {
            p.add("the image is " + image + ", deploy/image/build.sh tags this build localhost/jcni:" + version);
        }

        // the init container: the plugins into /opt/cni/bin; /etc/cni/net.d only read
        if (pod.getInitContainers().size() != 1) {
            p.add("one init container (install-cni) expected");
        } else {
            Container init = pod.getInitContainers().get(0);
            List<String> cmd = new ArrayList<>(init.getCommand());
            cmd.addAll(init.getArgs());
            if (cmd.isEmpty() || !cmd.get(0).endsWith("/install-cni")) {
                p.add("the init container must run install-cni, not " + cmd);
            }
            if (!CNI_BIN.equals(valueAfter(cmd, "--dir"))) {
                p.add("install-cni must install the plugins into " + CNI_BIN + " (--dir), not "
                        + valueAfter(cmd, "--dir"));
            }
            if (!CNI_CONF.equals(valueAfter(cmd, "--conf-dir"))) {
                p.add("install-cni must look at " + CNI_CONF + " (--conf-dir), not " + valueAfter(cmd, "--conf-dir"));
            }
            mount(init, hostPathOf, CNI_BIN, false, p);
            mount(init, hostPathOf, "/opt/jcni", false, p);
            mount(init, hostPathOf, CNI_CONF, true, p);
            SecurityContext sc = init.getSecurityContext();
            if (sc == null || !Boolean.TRUE.equals(sc.getPrivileged())) {
                p.add(
                        "install-cni must be privileged: the AOT training needs a writable /proc/sys and its own /run/netns mounts");
            }
        }

        Container agent = agent(ds);
        if (agent == null) {
            p.add("one container (the agent) expected");
            return;
        }
        List<String> args = new ArrayList<>(agent.getCommand());
        args.addAll(agent.getArgs());
        if (args.isEmpty() || !args.get(0).equals("agent")) {
            p.add("the agent container must run 'jcni agent' (args starting with agent), not " + args);
        }
        if (!args.contains("--kube-subnet-mgr")) {
            p.add("the agent must run with --kube-subnet-mgr");
        }
        if (!args.contains("--no-plugin-socket")) {
            p.add(
                    "the agent must not serve the plugins' socket (--no-plugin-socket): the plugins run on the node, in another mount namespace");
        }
        String netConf = valueAfter(args, "--net-conf");
        if (netConf == null) {
            p.add("the agent needs --net-conf FILE");
        } else {
            Path f = Path.of(netConf);
            String from = null;
            for (VolumeMount m : agent.getVolumeMounts()) {
                if (f.getParent() != null
                        && f.getParent().toString().equals(m.getMountPath())
                        && configMapOf.containsKey(m.getName())) {
                    from = configMapOf.get(m.getName());
                }
            }
            if (cm == null
                    || !cm.getMetadata().getName().equals(from)
                    || cm.getData() == null
                    || !cm.getData().containsKey(f.getFileName().toString())) {
                p.add("--net-conf " + netConf + " is not a key of the ConfigMap mounted at " + f.getParent());
            }
        }
        mount(agent, hostPathOf, "/run/jcni", false, p);
        mount(agent, hostPathOf, CNI_CONF, false, p);

        EnvVar nodeName = agent.getEnv().stream()
                .filter(e -> "NODE_NAME".equals(e.getName()))
                .findFirst()
                .orElse(null);
        if (nodeName == null
                || nodeName.getValueFrom() == null
                || nodeName.getValueFrom().getFieldRef() == null
                || !"spec.nodeName".equals(nodeName.getValueFrom().getFieldRef().getFieldPath())) {
            p.add("NODE_NAME must come from the downward API (fieldRef spec.nodeName)");
        }

        SecurityContext sc = agent.getSecurityContext();
        if (sc == null || Boolean.TRUE.equals(sc.getPrivileged()) || sc.getCapabilities() == null) {
            p.add("the agent must not be privileged, and name its capabilities");
        } else {
            if (!List.of("NET_ADMIN").equals(sc.getCapabilities().getAdd())) {
                p.add("the agent's capabilities must be NET_ADMIN alone, not "
                        + sc.getCapabilities().getAdd());
            }
            if (!sc.getCapabilities().getDrop().contains("ALL")) {
                p.add("the agent must drop ALL other capabilities");
            }
        }

        Probe live = agent.getLivenessProbe();
        if (live == null || live.getHttpGet() == null) {
            p.add("the agent needs an HTTP liveness probe");
        } else {
            var get = live.getHttpGet();
            // /livez, not /healthz: a node waiting for its podCIDR is not ready, but restarting it would not help
            if (!"/livez".equals(get.getPath())
                    || get.getPort() == null
                    || !Integer.valueOf(METRICS_PORT).equals(get.getPort().getIntVal())
                    || !METRICS_HOST.equals(get.getHost())) {
                p.add("the liveness probe must GET http://" + METRICS_HOST + ":" + METRICS_PORT + "/livez, not http://"
                        + get.getHost() + ":"
                        + (get.getPort() == null ? null : get.getPort().getIntVal()) + get.getPath());
            }
            String addr = valueAfter(args, "--metrics-addr");
            if (addr != null
                    && !addr.equals(get.getHost() + ":"
                            + (get.getPort() == null ? null : get.getPort().getIntVal()))) {
                p.add("--metrics-addr " + addr + " is not where the liveness probe looks");
            }
        }
    }

    /** {@code c} mounts the host path {@code path} (at the same path), read-only or not. */
    private static void mount(
            Container c, Map<String, String> hostPathOf, String path, boolean readOnly, List<String> p) {
        for (VolumeMount m : c.getVolumeMounts()) {
            if (path.equals(hostPathOf.get(m.getName()))) {
                if (readOnly != Boolean.TRUE.equals(m.getReadOnly())) {
                    p.add(c.getName() + " must mount " + path + (readOnly ? " read-only" : " writable"));
                }
                return;
            }
        }
        p.add(c.getName() + " must mount the host's " + path);
    }

    private static void resources(Container c, List<String> p) {
        ResourceRequirements r = c.getResources();
        Map<String, Quantity> req = r == null || r.getRequests() == null ? Map.of() : r.getRequests();
        Map<String, Quantity> lim = r == null || r.getLimits() == null ? Map.of() : r.getLimits();
        if (!req.containsKey("memory") || !lim.containsKey("memory") || !req.containsKey("cpu")) {
            p.add(c.getName() + ": requests (cpu, memory) and a memory limit are needed, found requests " + req.keySet()
                    + " limits " + lim.keySet());
        }
        for (String k : lim.keySet()) {
            if (req.containsKey(k)
                    && lim.get(k).getNumericalAmount().compareTo(req.get(k).getNumericalAmount()) < 0) {
                p.add(c.getName() + ": the " + k + " limit " + lim.get(k) + " is below the request " + req.get(k));
            }
        }
    }

    private static String valueAfter(List<String> args, String flag) {
        for (int i = 0; i < args.size(); i++) {
            if (args.get(i).equals(flag)) {
                return i + 1 < args.size() ? args.get(i + 1) : null;
            }
            if (args.get(i).startsWith(flag + "=")) {
                return args.get(i).substring(flag.length() + 1);
            }
        }
        return null;
    }

    private static boolean isBlank(String s) {
        return s == null || s.isBlank();
    }

    /**
     * fabric8 keeps fields its model does not know in {@code additionalProperties}: a misspelt field
     * ({@code hostNetwrok}) would be kept there and ignored by the API server's older versions or
     * rejected by newer ones. Any found anywhere in the tree is a problem.
     */
    private static void unknownFields(Object o, String where, List<String> p) {
        if (o == null || o instanceof String || o instanceof Number || o instanceof Boolean || o instanceof Enum<?>) {
            return;
        }
        if (o instanceof Collection<?> c) {
            int i = 0;
            for (Object x : c) {
                unknownFields(x, where + "[" + i++ + "]", p);
            }
            return;
        }
        if (o instanceof Map<?, ?> m) {
            for (var e : m.entrySet()) {
                unknownFields(e.getValue(), where + "." + e.getKey(), p);
            }
            return;
        }
        if (!o.getClass().getName().startsWith("io.fabric8.kubernetes.api.model")) {
            return;
        }
        for (Method g : o.getClass().getMethods()) {
            if (g.getParameterCount() != 0
                    || Modifier.isStatic(g.getModifiers())
                    || g.getDeclaringClass() == Object.class
                    || !(g.getName().startsWith("get") || g.getName().startsWith("is"))) {
                continue;
            }
            Object v;
            try {
                v = g.invoke(o);
            } catch (IllegalAccessException | InvocationTargetException e) {
                continue;
            }
            if (g.getName().equals("getAdditionalProperties")) {
                if (v instanceof Map<?, ?> extra && !extra.isEmpty()) {
                    p.add(where + ": unknown field(s) " + extra.keySet());
                }
            } else if (!Objects.equals(v, o)) {
                String prop = g.getName().substring(g.getName().startsWith("get") ? 3 : 2);
                unknownFields(v, where + "." + Character.toLowerCase(prop.charAt(0)) + prop.substring(1), p);
            }
        }
    }
}
