package io.jcni.runtime;

import java.util.Map;

/**
 * One plugin execution, as reported to a {@link Listener} (the CLI's {@code --trace}).
 *
 * @param type     the plugin type
 * @param path     the executable run
 * @param env      the CNI_* variables it was given (the rest of the environment is inherited)
 * @param stdin    the request
 * @param stdout   what it printed ("" if it timed out)
 * @param stderr   its log output
 * @param exitCode its exit status (-1 when killed on timeout or not started)
 * @param nanos    wall time
 */
public record PluginCall(
        String type,
        String path,
        Map<String, String> env,
        String stdin,
        String stdout,
        String stderr,
        int exitCode,
        long nanos) {

    /** Receives every plugin call after it finished. */
    @FunctionalInterface
    public interface Listener {
        Listener NONE = call -> {};

        void called(PluginCall call);
    }
}
