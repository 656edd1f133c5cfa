package io.jcni.agent;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.jcni.daemon.Daemon;
import io.jcni.daemon.Protocol;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * The agent's metrics, in Prometheus' text format on {@code /metrics}, and its health on
 * {@code /healthz}, served by the JDK's own HTTP server on {@code --metrics-addr} (one thread).
 *
 * <table>
 * <caption>Metrics</caption>
 * <tr><th>name</th><th>type</th><th>meaning</th></tr>
 * <tr><td>{@code jcni_agent_leases}</td><td>gauge</td><td>leases (Nodes) the last pass worked from, this node's included</td></tr>
 * <tr><td>{@code jcni_agent_peers}</td><td>gauge</td><td>other nodes this node routes to</td></tr>
 * <tr><td>{@code jcni_agent_ready}</td><td>gauge</td><td>1 once the node is programmed and the hand-off written</td></tr>
 * <tr><td>{@code jcni_agent_reconcile_total}</td><td>counter</td><td>passes run</td></tr>
 * <tr><td>{@code jcni_agent_reconcile_errors_total}</td><td>counter</td><td>passes with at least one error</td></tr>
 * <tr><td>{@code jcni_agent_reconcile_duration_seconds}</td><td>histogram</td><td>time of one pass</td></tr>
 * <tr><td>{@code jcni_agent_last_reconcile_timestamp_seconds}</td><td>gauge</td><td>when the last pass ended (Unix time)</td></tr>
 * <tr><td>{@code jcni_agent_routes_added_total}</td><td>counter</td><td>routes put in place (new or changed)</td></tr>
 * <tr><td>{@code jcni_agent_routes_removed_total}</td><td>counter</td><td>routes removed</td></tr>
 * <tr><td>{@code jcni_agent_cni_request_duration_seconds}</td><td>histogram</td><td>requests served on the plugins'
 * socket, by {@code plugin}, {@code command} (ADD, DEL, CHECK, …) and {@code result} ({@code ok}, {@code error},
 * {@code not_served}: sent back to the standalone plugin)</td></tr>
 * </table>
 *
 * <p>{@code /healthz} answers 200 while the loop runs and its last pass ended no longer than
 * {@link #stale} ago (three reconcile intervals, at least 30 s) without an error; otherwise 503.
 * The body says why in one line. A node still waiting for its subnet (no podCIDR yet, etcd not
 * answering at start) has had no pass, so it answers 503.
 */
public final class AgentMetrics implements Agent.Observer, Daemon.Observer, AutoCloseable {
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Gauge leases;
    private final Gauge peers;
    private final Gauge ready;
    private final Counter passes;
    private final Counter passErrors;
    private final Histogram passDuration;
    private final Gauge lastPass;
    private final Counter routesAdded;
    private final Counter routesRemoved;
    private final Histogram cniRequests;
    private HttpServer server;

    public AgentMetrics() {
        leases = Gauge.builder()
                .name("jcni_agent_leases")
                .help("Leases (nodes with a subnet) the last pass worked from, this node's included")
                .register(registry);
        peers = Gauge.builder()
                .name("jcni_agent_peers")
                .help("Other nodes this node routes to")
                .register(registry);
        ready = Gauge.builder()
                .name("jcni_agent_ready")
                .help("1 once the node is programmed and the CNI hand-off written")
                .register(registry);
        passes = Counter.builder()
                .name("jcni_agent_reconcile")
                .help("Reconcile passes run")
                .register(registry);
        passErrors = Counter.builder()
                .name("jcni_agent_reconcile_errors")
                .help("Reconcile passes with at least one error")
                .register(registry);
        passDuration = Histogram.builder()
                .name("jcni_agent_reconcile_duration_seconds")
                .help("Time of one reconcile pass")
                .classicOnly()
                .withoutExemplars()
                .classicUpperBounds(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
                .register(registry);
        lastPass = Gauge.builder()
                .name("jcni_agent_last_reconcile_timestamp_seconds")
                .help("When the last reconcile pass ended, in seconds since the epoch")
                .register(registry);
        routesAdded = Counter.builder()
                .name("jcni_agent_routes_added")
                .help("Routes put in place (new or changed)")
                .register(registry);
        routesRemoved = Counter.builder()
                .name("jcni_agent_routes_removed")
                .help("Routes removed")
                .register(registry);
        cniRequests = Histogram.builder()
                .name("jcni_agent_cni_request_duration_seconds")
                .help("CNI requests served on the plugins' socket, by plugin, command and result")
                .labelNames("plugin", "command", "result")
                .classicOnly()
                .withoutExemplars()
                .classicUpperBounds(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
                .register(registry);
    }

    @Override
    public void passed(long nanos, Dataplane.Report report, int leaseCount, boolean handoffWritten) {
        passes.inc();
        if (!report.errors().isEmpty() || !handoffWritten) {
            passErrors.inc();
        }
        passDuration.observe(nanos / 1e9);
        lastPass.set(System.currentTimeMillis() / 1e3);
        leases.set(leaseCount);
        peers.set(Math.max(0, leaseCount - 1));
        if (handoffWritten) {
            ready.set(1);
        }
        routesAdded.inc(report.routesAdded());
        routesRemoved.inc(report.routesRemoved());
    }

    @Override
    public void answered(String plugin, String command, int exitCode, long nanos) {
        String result = exitCode == 0 ? "ok" : exitCode == Protocol.NOT_SERVED ? "not_served" : "error";
        cniRequests.labelValues(plugin, command == null ? "" : command, result).observe(nanos / 1e9);
    }

    /** The metrics in Prometheus' text format. */
    public String scrape() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            PrometheusTextFormatWriter.create().write(out, registry.scrape());
        } catch (IOException e) {
            throw new IllegalStateException(e); // a byte array does not fail
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** How long after the last pass {@code /healthz} turns 503: three reconcile intervals, at least 30 s. */
    static Duration stale(Duration reconcileInterval) {
        Duration three = reconcileInterval.multipliedBy(3);
        return three.compareTo(Duration.ofSeconds(30)) < 0 ? Duration.ofSeconds(30) : three;
    }

    /** The answer of {@code /healthz} for {@code h}: status code and one line. */
    static Answer health(Agent.Health h, Duration stale, long nowNanos) {
        if (!h.running()) {
            return new Answer(503, "the agent's loop is not running");
        }
        if (h.lastPassNanos() == 0) {
            return new Answer(503, "no pass yet" + (h.waitingFor() == null ? "" : ": " + h.waitingFor()));
        }
        long age = nowNanos - h.lastPassNanos();
        String ago = AgentLog.duration(Duration.ofMillis(age / 1_000_000));
        if (age > stale.toNanos()) {
            return new Answer(503, "the last pass ended " + ago + " ago (more than " + AgentLog.duration(stale) + ")");
        }
        if (h.lastPassErrors() > 0) {
            return new Answer(
                    503,
                    "the last pass (" + ago + " ago) had " + h.lastPassErrors() + " error(s): " + h.lastPassError());
        }
        return new Answer(200, "ok: the last pass ended " + ago + " ago, " + h.peers() + " peer(s)");
    }

    /**
     * The answer of {@code /livez}, for a liveness probe: 200 while the loop runs and is not stuck,
     * 503 when it stopped or its last pass is older than {@code stale} while it has work. A node
     * that waits for its subnet, or whose last pass failed (the network's fault, which a restart
     * does not mend), is alive: {@code /healthz} is what says it is not ready.
     */
    static Answer liveness(Agent.Health h, Duration stale, long nowNanos) {
        if (!h.running()) {
            return new Answer(503, "the agent's loop is not running");
        }
        if (h.waitingFor() != null) {
            return new Answer(200, "alive: " + h.waitingFor());
        }
        if (h.lastPassNanos() != 0 && nowNanos - h.lastPassNanos() > stale.toNanos()) {
            return new Answer(
                    503,
                    "the last pass ended "
                            + AgentLog.duration(Duration.ofMillis((nowNanos - h.lastPassNanos()) / 1_000_000))
                            + " ago (more than " + AgentLog.duration(stale) + "): the loop is stuck");
        }
        return new Answer(200, "alive");
    }

    record Answer(int status, String text) {}

    /**
     * Serves {@code /metrics}, {@code /healthz} and {@code /livez} on {@code address} (one daemon thread), health
     * from {@code health}.
     *
     * @throws IOException when the address cannot be bound
     */
    public void serve(InetSocketAddress address, Supplier<Agent.Health> health, Duration reconcileInterval)
            throws IOException {
        Duration stale = stale(reconcileInterval);
        HttpServer s = HttpServer.create(address, 16);
        s.createContext("/metrics", ex -> respond(ex, 200, PrometheusTextFormatWriter.CONTENT_TYPE, scrape()));
        s.createContext("/healthz", ex -> {
            Answer a = health(health.get(), stale, System.nanoTime());
            respond(ex, a.status(), "text/plain; charset=utf-8", a.text() + "\n");
        });
        s.createContext("/livez", ex -> {
            Answer a = liveness(health.get(), stale, System.nanoTime());
            respond(ex, a.status(), "text/plain; charset=utf-8", a.text() + "\n");
        });
        s.createContext(
                "/", ex -> respond(ex, 404, "text/plain; charset=utf-8", "not found: /metrics, /healthz or /livez\n"));
        s.setExecutor(Executors.newSingleThreadExecutor(
                r -> Thread.ofPlatform().daemon().name("jcni-agent-metrics").unstarted(r)));
        s.start();
        server = s;
    }

    /** The address served, or null. */
    public InetSocketAddress address() {
        return server == null ? null : server.getAddress();
    }

    private static void respond(HttpExchange ex, int status, String type, String body) throws IOException {
        try (ex) {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", type);
            boolean head = "HEAD".equals(ex.getRequestMethod());
            ex.sendResponseHeaders(status, head ? -1 : bytes.length);
            if (!head) {
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(bytes);
                }
            }
        }
    }

    @Override
    public void close() {
        if (server != null) {
            server.stop(0);
        }
    }
}
