package io.jcni.cni;

import java.nio.charset.StandardCharsets;

/** One plugin execution's output: stdout bytes, stderr text (logs), exit code. */
public record PluginResponse(byte[] stdout, String stderr, int exitCode) {
    public String stdoutText() {
        return new String(stdout, StandardCharsets.UTF_8);
    }
}
