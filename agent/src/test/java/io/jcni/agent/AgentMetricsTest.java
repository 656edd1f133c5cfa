package io.jcni.agent;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.daemon.Protocol;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The agent's metrics as Prometheus reads them, and what {@code /healthz} answers when. */
class AgentMetricsTest {
    static final Duration STALE = Duration.ofSeconds(30);
    static final long NOW = 1_000_000_000_000L;

    @Test
    void passesAndRequestsBecomeMetrics() {
        AgentMetrics m = new AgentMetrics();
        m.passed(
                3_000_000,
                new Dataplane.Report(
                        List.of("ip route replace a", "ip route replace b", "ip route del c"), List.of(), 2, 1),
                3,
                true);
        m.passed(1_000_000, new Dataplane.Report(List.of(), List.of("peer x: route: EEXIST"), 0, 0), 3, true);
        m.answered("bridge", "ADD", 0, 250_000_000L);
        m.answered("bridge", "ADD", 1, 1_000_000L);
        m.answered("portmap", "DEL", Protocol.NOT_SERVED, 1_000_000L);
        String text = m.scrape();
        for (String line : List.of(
                "jcni_agent_leases 3.0",
                "jcni_agent_peers 2.0",
                "jcni_agent_ready 1.0",
                "jcni_agent_reconcile_total 2.0",
                "jcni_agent_reconcile_errors_total 1.0",
                "jcni_agent_reconcile_duration_seconds_count 2",
                "jcni_agent_reconcile_duration_seconds_sum 0.004",
                "jcni_agent_reconcile_duration_seconds_bucket{le=\"0.001\"} 1",
                "jcni_agent_routes_added_total 2.0",
                "jcni_agent_routes_removed_total 1.0",
                "jcni_agent_cni_request_duration_seconds_count{command=\"ADD\",plugin=\"bridge\",result=\"ok\"} 1",
                "jcni_agent_cni_request_duration_seconds_bucket{command=\"ADD\",plugin=\"bridge\",result=\"ok\",le=\"0.25\"} 1",
                "jcni_agent_cni_request_duration_seconds_bucket{command=\"ADD\",plugin=\"bridge\",result=\"ok\",le=\"0.1\"} 0",
                "jcni_agent_cni_request_duration_seconds_count{command=\"ADD\",plugin=\"bridge\",result=\"error\"} 1",
                "jcni_agent_cni_request_duration_seconds_count{command=\"DEL\",plugin=\"portmap\",result=\"not_served\"} 1")) {
            assertTrue(text.lines().anyMatch(l -> l.equals(line)), line + " in\n" + text);
        }
        assertTrue(text.contains("# TYPE jcni_agent_reconcile_duration_seconds histogram"), text);
    }

    @Test
    void healthIsAPassRecentAndClean() {
        assertEquals(
                new AgentMetrics.Answer(200, "ok: the last pass ended 2s ago, 2 peer(s)"),
                AgentMetrics.health(new Agent.Health(true, NOW - 2_000_000_000L, 0, null, null, 2), STALE, NOW));
        AgentMetrics.Answer waiting =
                AgentMetrics.health(new Agent.Health(true, 0, 0, null, "Node n3 has no podCIDR yet", 0), STALE, NOW);
        assertEquals(503, waiting.status());
        assertEquals("no pass yet: Node n3 has no podCIDR yet", waiting.text());
        AgentMetrics.Answer old =
                AgentMetrics.health(new Agent.Health(true, NOW - 45_000_000_000L, 0, null, null, 2), STALE, NOW);
        assertEquals(503, old.status());
        assertEquals("the last pass ended 45s ago (more than 30s)", old.text());
        AgentMetrics.Answer failed = AgentMetrics.health(
                new Agent.Health(true, NOW - 1_000_000_000L, 2, "peer x: route: EEXIST", null, 2), STALE, NOW);
        assertEquals(503, failed.status());
        assertTrue(failed.text().contains("2 error(s): peer x: route: EEXIST"), failed.text());
        assertEquals(
                503,
                AgentMetrics.health(new Agent.Health(false, NOW, 0, null, null, 2), STALE, NOW)
                        .status());
        assertEquals(Duration.ofSeconds(30), AgentMetrics.stale(Duration.ofSeconds(2)));
        assertEquals(Duration.ofMinutes(3), AgentMetrics.stale(Duration.ofMinutes(1)));
    }

    @Test
    void livenessRestartsOnlyAStoppedOrStuckLoop() {
        assertEquals(
                200,
                AgentMetrics.liveness(new Agent.Health(true, 0, 0, null, "Node n3 has no podCIDR yet", 0), STALE, NOW)
                        .status(),
                "a node waiting for its subnet is alive (and not ready)");
        assertEquals(
                200,
                AgentMetrics.liveness(new Agent.Health(true, 0, 0, null, null, 0), STALE, NOW)
                        .status(),
                "starting");
        assertEquals(
                200,
                AgentMetrics.liveness(
                                new Agent.Health(true, NOW - 1_000_000_000L, 2, "peer x: route: EEXIST", null, 2),
                                STALE,
                                NOW)
                        .status(),
                "a failed pass is the network's fault: a restart does not mend it");
        AgentMetrics.Answer stuck =
                AgentMetrics.liveness(new Agent.Health(true, NOW - 45_000_000_000L, 0, null, null, 2), STALE, NOW);
        assertEquals(503, stuck.status());
        assertTrue(stuck.text().contains("stuck"), stuck.text());
        assertEquals(
                503,
                AgentMetrics.liveness(new Agent.Health(false, NOW, 0, null, null, 2), STALE, NOW)
                        .status());
    }

    @Test
    void servedOverHttp() throws Exception {
        AgentMetrics m = new AgentMetrics();
        AtomicReference<Agent.Health> health =
                new AtomicReference<>(new Agent.Health(true, 0, 0, null, "etcd unreachable", 0));
        m.serve(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), health::get, Duration.ofSeconds(10));
        try (m;
                HttpClient http = HttpClient.newHttpClient()) {
            String base = "http://127.0.0.1:" + m.address().getPort();
            HttpResponse<String> h = http.send(
                    HttpRequest.newBuilder(URI.create(base + "/healthz")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(503, h.statusCode());
            assertEquals("no pass yet: etcd unreachable\n", h.body());
            HttpResponse<String> live = http.send(
                    HttpRequest.newBuilder(URI.create(base + "/livez")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, live.statusCode(), "alive while not ready");
            health.set(new Agent.Health(true, System.nanoTime(), 0, null, null, 1));
            h = http.send(
                    HttpRequest.newBuilder(URI.create(base + "/healthz")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, h.statusCode(), h.body());
            HttpResponse<String> metrics = http.send(
                    HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, metrics.statusCode());
            assertTrue(
                    metrics.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"),
                    metrics.headers().toString());
            assertTrue(metrics.body().contains("# HELP jcni_agent_peers"), metrics.body());
            assertEquals(
                    404,
                    http.send(
                                    HttpRequest.newBuilder(URI.create(base + "/x"))
                                            .build(),
                                    HttpResponse.BodyHandlers.ofString())
                            .statusCode());
        }
    }
}
