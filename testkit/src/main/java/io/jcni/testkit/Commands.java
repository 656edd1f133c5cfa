package io.jcni.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The system's own tools (iproute2's {@code ip} and {@code bridge}, {@code nft}) as independent
 * witnesses in tests: runs a command and returns its output. It lives in its own test-support
 * module so that the kernel layer, tests included, never spawns a process.
 */
public final class Commands {
    private Commands() {}

    public static String run(String... args) {
        List<String> cmd = new ArrayList<>();
        for (String a : args) {
            cmd.add(a);
        }
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("timed out: " + cmd);
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException(cmd + " exited " + p.exitValue() + ": " + out);
            }
            return out;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** {@code ip [-n ns] -j ARGS…}. */
    public static String ip(String netns, String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip"));
        if (netns != null) {
            cmd.add("-n");
            cmd.add(netns);
        }
        cmd.add("-j");
        cmd.addAll(List.of(args));
        return run(cmd.toArray(new String[0]));
    }
}
