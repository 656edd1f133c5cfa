package io.jcni.agent;

import io.jcni.testkit.Commands;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One single-member etcd on 127.0.0.1 for tests: free client and peer ports, a temporary data
 * directory, started and waited for until it answers. {@link #stop} and {@link #start} take it down
 * and bring it back with the same ports and data; {@link #pause} and {@link #resume} freeze it
 * (SIGSTOP) to play an etcd that accepts connections but never answers. {@link #close} kills it and
 * deletes the directory.
 */
final class TestEtcd implements AutoCloseable {
    /** Server and client certificates for a TLS etcd (PEM files). */
    record Tls(Path ca, Path serverCert, Path serverKey, Path clientCert, Path clientKey) {}

    private final String name;
    private final Path dir;
    private final int clientPort;
    private final int peerPort;
    private final Tls tls;
    private Process process;

    private TestEtcd(String name, Path dir, int clientPort, int peerPort, Tls tls) {
        this.name = name;
        this.dir = dir;
        this.clientPort = clientPort;
        this.peerPort = peerPort;
        this.tls = tls;
    }

    /** Starts a plain-text etcd named {@code jst-<runId>-<what>}. */
    static TestEtcd start(String runId, String what) {
        return start(runId, what, null);
    }

    /** Starts an etcd serving its clients over TLS with client certificates required ({@code tls} non-null). */
    static TestEtcd start(String runId, String what, Tls tls) {
        String name = "jst-" + runId + "-" + what;
        Path dir;
        try {
            dir = Files.createTempDirectory(name + "-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        TestEtcd etcd = null;
        try {
            int[] ports = freePorts(2);
            etcd = new TestEtcd(name, dir, ports[0], ports[1], tls);
            etcd.start();
            return etcd;
        } catch (RuntimeException | Error e) {
            if (etcd != null) {
                etcd.close();
            } else {
                deleteTree(dir);
            }
            throw e;
        }
    }

    /** The client URL, {@code http://127.0.0.1:PORT} (https with TLS). */
    String endpoint() {
        return (tls != null ? "https" : "http") + "://127.0.0.1:" + clientPort;
    }

    /** Starts the process again (same ports, same data) and waits until it answers. */
    synchronized void start() {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException(name + " is already running");
        }
        List<String> cmd = new ArrayList<>(List.of(
                "etcd",
                "--name",
                name,
                "--data-dir",
                dir.resolve("data").toString(),
                "--listen-client-urls",
                endpoint(),
                "--advertise-client-urls",
                endpoint(),
                "--listen-peer-urls",
                "http://127.0.0.1:" + peerPort,
                "--initial-advertise-peer-urls",
                "http://127.0.0.1:" + peerPort,
                "--initial-cluster",
                name + "=http://127.0.0.1:" + peerPort,
                "--initial-cluster-token",
                name,
                "--log-level",
                "warn"));
        if (tls != null) {
            cmd.addAll(List.of(
                    "--cert-file",
                    tls.serverCert().toString(),
                    "--key-file",
                    tls.serverKey().toString(),
                    "--client-cert-auth",
                    "--trusted-ca-file",
                    tls.ca().toString()));
        }
        try {
            process = new ProcessBuilder(cmd)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(
                            dir.resolve("etcd.log").toFile()))
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start etcd", e);
        }
        awaitHealthy(Duration.ofSeconds(20));
    }

    /** Kills the process (SIGKILL, like a crash) and waits until it is gone; the data stays. */
    synchronized void stop() {
        if (process == null) {
            return;
        }
        process.destroyForcibly(); // SIGKILL ends a paused process too
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                throw new IllegalStateException(name + " did not die within 10 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        process = null;
    }

    /** Freezes the process: connections stay open, nothing is answered. */
    synchronized void pause() {
        signal("-STOP");
    }

    /** Thaws a {@link #pause paused} process. */
    synchronized void resume() {
        signal("-CONT");
    }

    private void signal(String sig) {
        if (process != null && process.isAlive()) {
            run(List.of("kill", sig, Long.toString(process.pid())), Duration.ofSeconds(5));
        }
    }

    /** Runs {@code etcdctl} (API v3) against this etcd as an independent witness; returns its output. */
    String etcdctl(String... args) {
        List<String> cmd = new ArrayList<>(List.of("etcdctl", "--endpoints", endpoint(), "--command-timeout=3s"));
        if (tls != null) {
            cmd.addAll(List.of(
                    "--cacert",
                    tls.ca().toString(),
                    "--cert",
                    tls.clientCert().toString(),
                    "--key",
                    tls.clientKey().toString()));
        }
        cmd.addAll(List.of(args));
        return run(cmd, Duration.ofSeconds(10));
    }

    /** The etcd's log, for failure messages. */
    String log() {
        try {
            return Files.readString(dir.resolve("etcd.log"));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    @Override
    public synchronized void close() {
        try {
            stop();
        } finally {
            deleteTree(dir);
        }
    }

    private void awaitHealthy(Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException(name + " exited " + process.exitValue() + ": " + log());
            }
            try {
                last = etcdctl("endpoint", "health");
                if (last.contains("is healthy")) {
                    return;
                }
            } catch (IllegalStateException e) {
                last = e.getMessage();
            }
            Thread.onSpinWait();
        }
        throw new IllegalStateException(name + " not healthy within " + limit + ": " + last + "\n" + log());
    }

    static String run(List<String> cmd, Duration limit) {
        return Commands.of(cmd).timeout(limit).ok();
    }

    private static int[] freePorts(int n) {
        // hold all sockets open until every port is chosen so that no two are the same
        List<ServerSocket> sockets = new ArrayList<>();
        try {
            int[] ports = new int[n];
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                sockets.add(s);
                ports[i] = s.getLocalPort();
            }
            return ports;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            for (ServerSocket s : sockets) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // closing a listening socket does not fail in practice
                }
            }
        }
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
