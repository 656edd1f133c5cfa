package io.jcni.agent;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesList;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Kubernetes' RBAC, as much as the agent's requests need: what a request to the API server asks
 * for (verb, resource, subresource, name: the API server's request attributes) and whether a
 * ClusterRole's rules allow it. Read from the deployment manifest with fabric8's model classes.
 */
public final class Rbac {
    private Rbac() {}

    /** The repository's manifest: {@code deploy/kubernetes/jcni.yaml} above the working directory. */
    public static final Path MANIFEST = findManifest();

    /** A request's attributes: {@code resource} is {@code nodes} or {@code nodes/status}; {@code name} null for a collection. */
    public record Access(String verb, String apiGroup, String resource, String name) {
        @Override
        public String toString() {
            return verb + " " + (apiGroup.isEmpty() ? "" : apiGroup + "/") + resource
                    + (name == null ? "" : " " + name);
        }
    }

    // /api/v1/<resource>[/<name>[/<subresource>]] (core group, cluster-scoped) or /apis/<group>/<version>/...
    private static final Pattern CORE = Pattern.compile("^/api/v1/([a-z]+)(?:/([^/?]+)(?:/([a-z]+))?)?(?:\\?(.*))?$");
    private static final Pattern GROUP =
            Pattern.compile("^/apis/([^/]+)/[^/]+/([a-z]+)(?:/([^/?]+)(?:/([a-z]+))?)?(?:\\?(.*))?$");

    /** What {@code method path} asks for; {@link IllegalArgumentException} for a path that is not a resource's. */
    public static Access access(String method, String path) {
        String group, resource, name, sub, query;
        Matcher m = CORE.matcher(path);
        if (m.matches()) {
            group = "";
            resource = m.group(1);
            name = m.group(2);
            sub = m.group(3);
            query = m.group(4);
        } else {
            m = GROUP.matcher(path);
            if (!m.matches()) {
                throw new IllegalArgumentException("not a cluster-scoped resource request: " + method + " " + path);
            }
            group = m.group(1);
            resource = m.group(2);
            name = m.group(3);
            sub = m.group(4);
            query = m.group(5);
        }
        boolean watch = query != null && List.of(query.split("&")).contains("watch=true");
        String verb = switch (method) {
            case "GET" -> watch ? "watch" : name == null ? "list" : "get";
            case "POST" -> "create";
            case "PUT" -> "update";
            case "PATCH" -> "patch";
            case "DELETE" -> name == null ? "deletecollection" : "delete";
            default -> throw new IllegalArgumentException("unknown method " + method);
        };
        return new Access(verb, group, sub == null ? resource : resource + "/" + sub, name);
    }

    /** Whether any of {@code rules} allows {@code a} (wildcards as the API server reads them). */
    public static boolean allows(List<PolicyRule> rules, Access a) {
        for (PolicyRule r : rules) {
            if (matches(r.getApiGroups(), a.apiGroup())
                    && matches(r.getResources(), a.resource())
                    && matches(r.getVerbs(), a.verb())
                    && (r.getResourceNames() == null
                            || r.getResourceNames().isEmpty()
                            || r.getResourceNames().contains(a.name()))) {
                return true;
            }
        }
        return false;
    }

    private static boolean matches(List<String> allowed, String value) {
        return allowed != null && (allowed.contains("*") || allowed.contains(value));
    }

    /** Every object of the manifest, parsed with fabric8's model classes. */
    public static List<HasMetadata> objects(Path manifest) throws IOException {
        try (InputStream in = Files.newInputStream(manifest)) {
            Object o = Serialization.unmarshal(in);
            List<HasMetadata> out = new ArrayList<>();
            if (o instanceof KubernetesList l) {
                out.addAll(l.getItems());
            } else if (o instanceof List<?> list) {
                for (Object item : list) {
                    out.add((HasMetadata) item);
                }
            } else {
                out.add((HasMetadata) o);
            }
            return out;
        }
    }

    /** The rules of ClusterRole {@code name} in the manifest. */
    public static List<PolicyRule> clusterRole(Path manifest, String name) throws IOException {
        for (HasMetadata o : objects(manifest)) {
            if (o instanceof ClusterRole r && name.equals(r.getMetadata().getName())) {
                return r.getRules();
            }
        }
        throw new IllegalStateException("no ClusterRole " + name + " in " + manifest);
    }

    private static Path findManifest() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path p = d.resolve("deploy/kubernetes/jcni.yaml");
            if (Files.exists(p)) {
                return p;
            }
        }
        throw new IllegalStateException(
                "deploy/kubernetes/jcni.yaml not found above " + Path.of("").toAbsolutePath());
    }
}
