package io.jcni.cni;

import io.jcni.cni.json.Json;
import io.jcni.cni.json.JsonException;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Executes a delegated plugin (IPAM) found in CNI_PATH, as spec §7 says: the caller's whole
 * environment with only CNI_COMMAND changed, the caller's whole configuration on stdin, the
 * delegate's stderr passed on, its error object returned with its own code.
 */
public final class Delegate {
    private Delegate() {}

    /** How long a delegate may run before it is killed and the call fails (code 11: try again). */
    static final long TIMEOUT_SECONDS = 60;

    /** Finds {@code type} in {@code cniPath}; a type with a path separator or ".." is refused (code 7). */
    public static File find(String type, List<String> cniPath) throws CniError {
        if (type.isEmpty() || type.indexOf('/') >= 0 || type.contains("..") || type.indexOf('\0') >= 0) {
            throw CniError.invalidConfig("plugin type \"" + type + "\" is not a plain executable name");
        }
        for (String dir : cniPath) {
            File f = new File(dir, type);
            if (f.isFile() && f.canExecute()) {
                return f;
            }
        }
        throw new CniError(CniError.INVALID_NETWORK_CONFIG, "failed to find plugin \"" + type + "\" in path " + cniPath);
    }

    /** Runs the delegate; returns its stdout (ADD result) or throws its error. */
    public static byte[] exec(Invocation inv, String type, String command) throws CniError {
        File exe = find(type, inv.cniPath());
        ProcessBuilder pb = new ProcessBuilder(exe.getPath());
        Map<String, String> env = pb.environment();
        env.clear();
        env.putAll(inv.env());
        env.put("CNI_COMMAND", command);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new CniError(CniError.DELEGATE_FAILED, "failed to execute delegated plugin " + type, e.getMessage());
        }
        try {
            try (OutputStream in = p.getOutputStream()) {
                in.write(inv.stdin());
            } catch (IOException ignored) {
                // a delegate that exits without reading stdin: its exit status says what happened
            }
            byte[][] streams = drain(p.getInputStream(), p.getErrorStream());
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new CniError(CniError.TRY_AGAIN_LATER, "delegated plugin " + type + " timed out",
                        "no answer after " + TIMEOUT_SECONDS + " s");
            }
            String err = new String(streams[1], StandardCharsets.UTF_8);
            if (!err.isEmpty()) {
                inv.log(err.stripTrailing());
            }
            if (p.exitValue() == 0) {
                return streams[0];
            }
            throw errorOf(type, streams[0], err, p.exitValue());
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new CniError(CniError.TRY_AGAIN_LATER, "interrupted while running delegated plugin " + type);
        }
    }

    /** The delegate's error object as-is, or a description of its failure when it printed none. */
    static CniError errorOf(String type, byte[] stdout, String stderr, int status) {
        if (stdout.length > 0) {
            try {
                ConfigObject o = new ConfigObject(Json.parseObject(stdout), "");
                long code = o.integer("code", 0, 0, Integer.MAX_VALUE);
                return new CniError((int) code, o.string("msg", ""), o.string("details", ""));
            } catch (JsonException | CniError e) {
                return new CniError(CniError.DELEGATE_FAILED, "delegated plugin " + type + " failed",
                        "exit status " + status + ", unparseable output: " + new String(stdout, StandardCharsets.UTF_8));
            }
        }
        return new CniError(CniError.DELEGATE_FAILED, "delegated plugin " + type + " failed",
                "exit status " + status + (stderr.isEmpty() ? "" : ": " + stderr.strip()));
    }

    /** Reads stdout and stderr concurrently so neither pipe can fill and block the child. */
    private static byte[][] drain(InputStream out, InputStream err) {
        byte[][] result = new byte[2][];
        Thread t = Thread.ofPlatform().start(new Runnable() {
            @Override
            public void run() {
                try {
                    result[1] = err.readAllBytes();
                } catch (IOException e) {
                    result[1] = new byte[0];
                }
            }
        });
        try {
            result[0] = out.readAllBytes();
        } catch (IOException e) {
            result[0] = new byte[0];
        }
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (result[1] == null) {
            result[1] = new byte[0];
        }
        return result;
    }
}
