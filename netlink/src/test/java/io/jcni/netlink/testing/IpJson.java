package io.jcni.netlink.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * iproute2 as an independent witness in tests: runs {@code ip …} (optionally {@code -n NS}) and
 * returns its output. Tests only; the kernel layer itself never forks.
 */
public final class IpJson {
    private IpJson() {}

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
