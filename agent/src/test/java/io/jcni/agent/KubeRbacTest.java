package io.jcni.agent;

import static org.junit.jupiter.api.Assertions.*;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The agent's ClusterRole in {@code deploy/kubernetes/jcni.yaml}: least privilege (nodes get, list,
 * watch, patch; nodes/status patch; nothing else), bound to the ServiceAccount the agent runs as;
 * and the checker the agent's tests hold every request against (which must refuse what the role
 * does not grant).
 */
class KubeRbacTest {

    @Test
    void theClusterRoleGrantsExactlyWhatTheAgentNeeds() throws Exception {
        List<PolicyRule> rules = Rbac.clusterRole(Rbac.MANIFEST, "jcni");
        Map<String, Set<String>> granted = new TreeMap<>();
        for (PolicyRule r : rules) {
            assertEquals(List.of(""), r.getApiGroups(), "the core group only: " + r);
            assertTrue(r.getResourceNames() == null || r.getResourceNames().isEmpty(), r.toString());
            assertTrue(r.getNonResourceURLs() == null || r.getNonResourceURLs().isEmpty(), r.toString());
            for (String res : r.getResources()) {
                granted.computeIfAbsent(res, k -> new TreeSet<>()).addAll(r.getVerbs());
            }
        }
        assertEquals(
                Map.of("nodes", Set.of("get", "list", "watch", "patch"), "nodes/status", Set.of("patch")), granted);
    }

    @Test
    void theRoleIsBoundToTheAgentsServiceAccount() throws Exception {
        List<HasMetadata> objects = Rbac.objects(Rbac.MANIFEST);
        ServiceAccount sa = objects.stream()
                .filter(o -> o instanceof ServiceAccount)
                .map(o -> (ServiceAccount) o)
                .filter(o -> o.getMetadata().getName().equals("jcni"))
                .findFirst()
                .orElseThrow();
        assertEquals("kube-jcni", sa.getMetadata().getNamespace());
        ClusterRoleBinding b = objects.stream()
                .filter(o -> o instanceof ClusterRoleBinding)
                .map(o -> (ClusterRoleBinding) o)
                .filter(o -> o.getMetadata().getName().equals("jcni"))
                .findFirst()
                .orElseThrow();
        assertEquals("ClusterRole", b.getRoleRef().getKind());
        assertEquals("jcni", b.getRoleRef().getName());
        assertTrue(
                b.getSubjects().stream()
                        .anyMatch(s -> s.getKind().equals("ServiceAccount")
                                && s.getName().equals("jcni")
                                && "kube-jcni".equals(s.getNamespace())),
                b.getSubjects().toString());
    }

    @Test
    void requestsMapToTheirVerbsAndResources() {
        assertEquals(new Rbac.Access("get", "", "nodes", "n1"), Rbac.access("GET", "/api/v1/nodes/n1"));
        assertEquals(new Rbac.Access("list", "", "nodes", null), Rbac.access("GET", "/api/v1/nodes?resourceVersion=0"));
        assertEquals(
                new Rbac.Access("watch", "", "nodes", null),
                Rbac.access(
                        "GET",
                        "/api/v1/nodes?allowWatchBookmarks=true&resourceVersion=5&timeoutSeconds=600&watch=true"));
        assertEquals(new Rbac.Access("patch", "", "nodes", "n1"), Rbac.access("PATCH", "/api/v1/nodes/n1"));
        assertEquals(
                new Rbac.Access("patch", "", "nodes/status", "n1"), Rbac.access("PATCH", "/api/v1/nodes/n1/status"));
        assertEquals(
                new Rbac.Access("update", "", "nodes/status", "n1"), Rbac.access("PUT", "/api/v1/nodes/n1/status"));
        assertEquals(new Rbac.Access("delete", "", "nodes", "n1"), Rbac.access("DELETE", "/api/v1/nodes/n1"));
        assertEquals(
                new Rbac.Access("create", "coordination.k8s.io", "leases", null),
                Rbac.access("POST", "/apis/coordination.k8s.io/v1/leases"));
        assertThrows(IllegalArgumentException.class, () -> Rbac.access("GET", "/version"));
    }

    @Test
    void theCheckerRefusesWhatTheRoleDoesNotGrant() throws Exception {
        List<PolicyRule> rules = Rbac.clusterRole(Rbac.MANIFEST, "jcni");
        for (String[] allowed : new String[][] {
            {"GET", "/api/v1/nodes/n1"},
            {"GET", "/api/v1/nodes"},
            {"GET", "/api/v1/nodes?watch=true"},
            {"PATCH", "/api/v1/nodes/n1"},
            {"PATCH", "/api/v1/nodes/n1/status"}
        }) {
            assertTrue(Rbac.allows(rules, Rbac.access(allowed[0], allowed[1])), String.join(" ", allowed));
        }
        for (String[] refused : new String[][] {
            {"PUT", "/api/v1/nodes/n1"},
            {"PUT", "/api/v1/nodes/n1/status"},
            {"DELETE", "/api/v1/nodes/n1"},
            {"POST", "/api/v1/nodes"},
            {"GET", "/api/v1/nodes/n1/status"},
            {"GET", "/api/v1/secrets"},
            {"GET", "/apis/coordination.k8s.io/v1/leases"}
        }) {
            assertFalse(Rbac.allows(rules, Rbac.access(refused[0], refused[1])), String.join(" ", refused));
        }
    }
}
