package io.jcni.cni.io;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Ending a child process together with everything it started. */
public final class Processes {
    private Processes() {}

    /**
     * SIGKILL to {@code p} and to every descendant it has now (listed before {@code p} dies: its
     * orphans are reparented and no longer its descendants; a shell script's children would hold
     * its pipes open), then waits up to {@code wait} for {@code p} to be gone. An interrupt ends
     * the wait and stays set.
     */
    public static void killTree(Process p, Duration wait) {
        List<ProcessHandle> tree = p.descendants().toList();
        p.destroyForcibly();
        for (ProcessHandle h : tree) {
            h.destroyForcibly();
        }
        try {
            p.waitFor(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
