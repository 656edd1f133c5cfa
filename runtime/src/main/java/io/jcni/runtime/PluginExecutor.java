package io.jcni.runtime;

import io.jcni.cni.CniError;
import io.jcni.cni.io.Processes;
import io.jcni.cni.json.JsonException;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Finds and runs plugin executables: lookup in CNI_PATH refusing names
 * with a path separator or "..", the inherited environment plus the six CNI_* variables, stdout
 * and stderr captured, a timeout after which the plugin and its children are killed, a real
 * retry on "text file busy", and libcni's mapping of a failed run to an error.
 */
final class PluginExecutor {
    /** Returned by {@link #run}: the plugin's stdout (exit status 0 only). */
    record Output(byte[] stdout, String stderr) {}

    private final List<String> cniPath;
    private final Duration timeout;
    private final PluginCall.Listener listener;
    private final Map<String, String> extraEnv;
    private final java.io.PrintStream stderrSink;

    PluginExecutor(
            List<String> cniPath,
            Duration timeout,
            PluginCall.Listener listener,
            Map<String, String> extraEnv,
            java.io.PrintStream stderrSink) {
        this.stderrSink = stderrSink;
        this.cniPath = List.copyOf(cniPath);
        this.timeout = timeout;
        this.listener = listener;
        this.extraEnv = extraEnv;
    }

    String cniPathString() {
        return String.join(File.pathSeparator, cniPath);
    }

    /** {@code FindInPath}: the first regular file {@code <dir>/<type>} (the execute bit is not checked, as libcni). */
    Path find(String type) throws CniError {
        if (type == null || type.isEmpty()) {
            throw new CniError(CniError.INVALID_NETWORK_CONFIG, "no plugin name provided");
        }
        // libcni refuses only a path separator; jcni also refuses "." and anything with ".." (as
        // its own delegate lookup does), so no type can name something outside CNI_PATH
        if (type.indexOf('/') >= 0 || type.contains("..") || type.equals(".") || type.indexOf('\0') >= 0) {
            throw new CniError(CniError.INVALID_NETWORK_CONFIG, "invalid plugin name: " + type);
        }
        if (cniPath.isEmpty()) {
            throw new CniError(CniError.INVALID_NETWORK_CONFIG, "no paths provided");
        }
        for (String dir : cniPath) {
            Path p = Path.of(dir, type);
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        throw new CniError(
                CniError.INVALID_NETWORK_CONFIG, "failed to find plugin \"" + type + "\" in path " + cniPath);
    }

    /** Runs {@code type} with the CNI_* variables and {@code stdin}; returns stdout on exit 0, else throws libcni's error. */
    Output run(String type, Map<String, String> cniEnv, byte[] stdin) throws CniError {
        Path exe = find(type);
        long start = System.nanoTime();
        Map<String, String> env = new LinkedHashMap<>(cniEnv);
        env.put("CNI_PATH", cniPathString());
        for (int attempt = 1; ; attempt++) {
            ProcessBuilder pb = new ProcessBuilder(exe.toString());
            pb.environment().putAll(extraEnv);
            pb.environment().putAll(env);
            Process p;
            try {
                p = pb.start();
            } catch (IOException e) {
                String m = String.valueOf(e.getMessage());
                if (m.contains("Text file busy") && attempt < 6) {
                    sleep(1000);
                    continue;
                }
                report(type, exe, env, stdin, "", m, -1, start);
                throw new CniError(0, "failed to execute plugin " + exe, m);
            }
            return collect(type, exe, env, stdin, p, start);
        }
    }

    private Output collect(String type, Path exe, Map<String, String> env, byte[] stdin, Process p, long start)
            throws CniError {
        byte[][] streams = new byte[2][];
        Thread outReader = drain(p.getInputStream(), streams, 0);
        Thread errReader = drain(p.getErrorStream(), streams, 1);
        try (OutputStream in = p.getOutputStream()) {
            in.write(stdin);
        } catch (IOException ignored) {
            // a plugin that exits without reading stdin: its exit status says what happened
        }
        boolean finished;
        try {
            finished = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            kill(p);
            Thread.currentThread().interrupt();
            throw new CniError(CniError.TRY_AGAIN_LATER, "interrupted while running plugin " + type);
        }
        if (!finished) {
            kill(p);
        }
        join(outReader);
        join(errReader);
        for (int i = 0; i < 2; i++) {
            if (streams[i] == null) {
                streams[i] = new byte[0]; // a grandchild still holds the pipe: give up on the rest
            }
        }
        String stdout = new String(streams[0], StandardCharsets.UTF_8);
        String stderr = new String(streams[1], StandardCharsets.UTF_8);
        int status = finished ? p.exitValue() : -1;
        report(type, exe, env, stdin, stdout, stderr, status, start);
        if (!finished) {
            throw new CniError(
                    CniError.TRY_AGAIN_LATER,
                    "plugin " + type + " timed out after " + human(timeout) + " and was killed",
                    stderr.isBlank() ? "" : "stderr: " + stderr.strip());
        }
        if (status == 0) {
            if (stderrSink != null && !stderr.isEmpty()) {
                stderrSink.print(stderr); // as libcni: a successful plugin's log goes to the runtime's stderr
                stderrSink.flush();
            }
            return new Output(streams[0], stderr);
        }
        throw errorOf(streams[0], stderr, status);
    }

    /** How libcni turns a failed run into an error. */
    static CniError errorOf(byte[] stdout, String stderr, int status) {
        String exit = "exit status " + status;
        if (stdout.length == 0) {
            if (stderr.isEmpty()) {
                return new CniError(0, "netplugin failed with no error message: " + exit);
            }
            return new CniError(0, "netplugin failed: \"" + stderr + "\": " + exit);
        }
        try {
            return CniError.parse(stdout);
        } catch (JsonException | CniError e) {
            return new CniError(
                    0,
                    "netplugin failed but error parsing its diagnostic message \""
                            + new String(stdout, StandardCharsets.UTF_8) + "\": " + e.getMessage());
        }
    }

    private void report(
            String type,
            Path exe,
            Map<String, String> env,
            byte[] stdin,
            String stdout,
            String stderr,
            int status,
            long start) {
        listener.called(new PluginCall(
                type,
                exe.toString(),
                Map.copyOf(env),
                new String(stdin, StandardCharsets.UTF_8),
                stdout,
                stderr,
                status,
                System.nanoTime() - start));
    }

    /** Kills the plugin and everything it started (a shell script's children hold the pipes open). */
    private static void kill(Process p) {
        Processes.killTree(p, Duration.ofSeconds(5));
    }

    private static Thread drain(InputStream in, byte[][] into, int slot) {
        return Thread.ofPlatform().daemon().start(() -> {
            try (in) {
                into[slot] = in.readAllBytes();
            } catch (IOException e) {
                into[slot] = new byte[0];
            }
        });
    }

    private static void join(Thread t) {
        try {
            t.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static String human(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + "s" : d.toMillis() + "ms";
    }
}
