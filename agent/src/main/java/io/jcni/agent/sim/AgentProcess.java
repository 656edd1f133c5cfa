package io.jcni.agent.sim;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A long-running process on a simulated node (the node agent, or a {@code jcni daemon} in its
 * place), its stdout and stderr in one log file. {@link Node#startAgent} starts it.
 */
public final class AgentProcess {
    /** How long {@link #stop} waits after SIGTERM before it sends SIGKILL. */
    public static final Duration STOP_GRACE = Duration.ofSeconds(10);

    private final Node node;
    private final Process process;
    private final Path log;

    AgentProcess(Node node, Process process, Path log) {
        this.node = node;
        this.process = process;
        this.log = log;
    }

    public Node node() {
        return node;
    }

    public long pid() {
        return process.pid();
    }

    public boolean alive() {
        return process.isAlive();
    }

    public Path log() {
        return log;
    }

    /** The log so far ("" when nothing was written yet). */
    public String logText() {
        try {
            return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + log + ": " + e.getMessage(), e);
        }
    }

    /** Waits until the log contains {@code text}; false when {@code within} passed first or the process ended without it. */
    public boolean awaitLog(String text, Duration within) {
        return Procs.await(() -> logText().contains(text) || !process.isAlive(), within)
                && logText().contains(text);
    }

    /** SIGKILL, as a crash or an OOM kill would end it; returns when it is gone. */
    public void kill9() {
        Procs.kill(process);
    }

    /**
     * SIGTERM and wait for it to exit ({@link #STOP_GRACE}, then SIGKILL). Returns its exit code:
     * a JVM that ran its shutdown hooks on SIGTERM exits 143, one killed after the grace 137.
     */
    public int stop() {
        return Procs.stop(process, STOP_GRACE);
    }

    /** The exit code, or -1 while it runs. */
    public int exitCode() {
        return process.isAlive() ? -1 : process.exitValue();
    }

    @Override
    public String toString() {
        return "process " + pid() + " on " + node.name() + " (log " + log + ")";
    }
}
