package io.jcni.agent;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientFactory;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A Kubernetes API server for the agent's tests: fabric8's mock server in CRUD mode (objects are
 * stored, listed, watched and patched as a real server would, within its means), on loopback,
 * plain HTTP. It records every request; {@link #requests} tells the agent's from the test's own
 * by their User-Agent (the test's client is {@value #TEST_USER_AGENT}).
 */
public final class KubeMock implements AutoCloseable {
    public static final String TEST_USER_AGENT = "jcni-test";
    /** The mock logs every request at INFO; held here so the setting is not collected with the logger. */
    private static final java.util.logging.Logger MOCK_LOG =
            java.util.logging.Logger.getLogger("io.fabric8.mockwebserver");

    static {
        MOCK_LOG.setLevel(java.util.logging.Level.WARNING);
    }

    private final KubernetesMockServer server;
    private final KubernetesClient client;
    private final List<Request> log = new ArrayList<>();
    private final int port;

    /** One request as the server saw it: method, path with query, User-Agent, content type. */
    public record Request(String method, String path, String userAgent, String contentType, String body) {
        public boolean fromTest() {
            return userAgent != null && userAgent.startsWith(TEST_USER_AGENT);
        }

        @Override
        public String toString() {
            return method + " " + path + " (" + userAgent + ")";
        }
    }

    public KubeMock() {
        server = new KubernetesMockServer(
                new Context(), new MockWebServer(), new HashMap<>(), new KubernetesCrudDispatcher(), false);
        server.init(InetAddress.getLoopbackAddress(), 0);
        port = server.getPort();
        Config config = Config.empty();
        config.setMasterUrl("http://127.0.0.1:" + port);
        config.setUserAgent(TEST_USER_AGENT);
        config.setRequestRetryBackoffLimit(0);
        client = new KubernetesClientBuilder()
                .withConfig(config)
                .withHttpClientFactory(new JdkHttpClientFactory())
                .build();
    }

    public int port() {
        return port;
    }

    /** The test's own client. */
    public KubernetesClient client() {
        return client;
    }

    /** A kubeconfig reaching the server at {@code http://host:port} (a bearer token, as a ServiceAccount would use). */
    public static Path kubeconfig(Path file, String host, int port) throws IOException {
        String yaml = """
                apiVersion: v1
                kind: Config
                clusters:
                - name: mock
                  cluster:
                    server: http://%s:%d
                contexts:
                - name: mock
                  context:
                    cluster: mock
                    user: jcni
                current-context: mock
                users:
                - name: jcni
                  user:
                    token: jcni-test-token
                """.formatted(host, port);
        Files.writeString(file, yaml, StandardCharsets.UTF_8);
        return file;
    }

    /** Creates Node {@code name} with {@code podCidrs} (none: no podCIDR yet) and {@code annotations}. */
    public Node createNode(String name, List<String> podCidrs, Map<String, String> annotations) {
        NodeBuilder b = new NodeBuilder()
                .withNewMetadata()
                .withName(name)
                .withAnnotations(annotations)
                .endMetadata();
        if (!podCidrs.isEmpty()) {
            b.withNewSpec()
                    .withPodCIDR(podCidrs.getFirst())
                    .withPodCIDRs(podCidrs)
                    .endSpec();
        } else {
            b.withNewSpec().endSpec();
        }
        return client.nodes().resource(b.build()).create();
    }

    public Node node(String name) {
        return client.nodes().withName(name).get();
    }

    /** Every request recorded so far (oldest first); each is taken from the server once and kept here. */
    public synchronized List<Request> requests() {
        try {
            RecordedRequest r;
            while ((r = server.takeRequest(0, TimeUnit.MILLISECONDS)) != null) {
                log.add(new Request(
                        r.getMethod(),
                        r.getPath(),
                        r.getHeader("User-Agent"),
                        r.getHeader("Content-Type"),
                        r.getUtf8Body()));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return List.copyOf(log);
    }

    /** The requests not made by the test's own client. */
    public List<Request> agentRequests() {
        return requests().stream().filter(r -> !r.fromTest()).toList();
    }

    @Override
    public void close() {
        try {
            client.close();
        } finally {
            try {
                server.destroy();
            } catch (IllegalStateException slow) {
                // Vert.x drains open connections (a watch being closed) for at most 10 s; on a loaded
                // machine that can run out. The server only listens on loopback and goes with this JVM.
                System.err.println("KubeMock: " + slow.getMessage() + " on port " + port()
                        + " within 10 s; left to the JVM's exit");
            }
        }
    }
}
