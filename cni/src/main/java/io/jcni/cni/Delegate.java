package io.jcni.cni;

import io.jcni.cni.json.JsonException;
import io.jcni.netlink.sys.Syscall;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Executes a delegated plugin (IPAM) found in CNI_PATH, as the spec says for delegation: the caller's whole
 * environment with only CNI_COMMAND changed, the caller's whole configuration on stdin, the
 * delegate's stderr passed on, its error object returned with its own code. The environment is
 * scrubbed of loader and interpreter variables ({@link #scrubbed}); the delegate runs in a process
 * group of its own, killed whole when it overruns its time.
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
        throw new CniError(
                CniError.INVALID_NETWORK_CONFIG, "failed to find plugin \"" + type + "\" in path " + cniPath);
    }

    /** Runs the delegate; returns its stdout (ADD result) or throws its error. */
    public static byte[] exec(Invocation inv, String type, String command) throws CniError {
        File exe = find(type, inv.cniPath());
        Map<String, String> env = new HashMap<>(inv.env());
        env.put("CNI_COMMAND", command);
        return run(exe, type, env, inv.stdin(), TimeUnit.SECONDS.toMillis(TIMEOUT_SECONDS), inv::log);
    }

    /**
     * Variables that make a dynamic loader, libc, a shell or a JVM load code or data named by
     * the caller: a delegate runs as root, so it gets none of them (glibc drops the same ones for
     * set-uid programs).
     */
    static final List<String> UNSAFE_PREFIXES = List.of("LD_", "MALLOC_", "GLIBC_TUNABLES", "BASH_FUNC_");

    static final Set<String> UNSAFE_NAMES = Set.of(
            "GCONV_PATH",
            "GETCONF_DIR",
            "HOSTALIASES",
            "LOCALDOMAIN",
            "LOCPATH",
            "NIS_PATH",
            "NLSPATH",
            "RESOLV_HOST_CONF",
            "RES_OPTIONS",
            "TMPDIR",
            "TZDIR",
            "BASH_ENV",
            "ENV",
            "SHELLOPTS",
            "PS4",
            "IFS",
            "CDPATH",
            "JAVA_TOOL_OPTIONS",
            "_JAVA_OPTIONS",
            "JDK_JAVA_OPTIONS",
            "PYTHONSTARTUP",
            "PYTHONPATH",
            "PYTHONHOME",
            "PERL5LIB",
            "PERL5OPT",
            "PERLLIB",
            "RUBYOPT",
            "RUBYLIB",
            "NODE_OPTIONS");

    /** The environment a delegate gets: the caller's, less what could inject code into it. */
    static Map<String, String> scrubbed(Map<String, String> env) {
        Map<String, String> out = new HashMap<>();
        env.forEach((k, v) -> {
            if (!UNSAFE_NAMES.contains(k) && UNSAFE_PREFIXES.stream().noneMatch(k::startsWith)) {
                out.put(k, v);
            }
        });
        return out;
    }

    /** setsid(1): the delegate leads a process group of its own, so a timeout can kill all it started. */
    private static final File SETSID = new File("/usr/bin/setsid");

    /**
     * Runs {@code exe} with {@code env} (scrubbed) and {@code stdin}. The deadline covers the
     * whole call: the process's exit and the end of its stdout and stderr, so a delegate that
     * leaves a child holding its stdout open times out too. On timeout the delegate's whole
     * process group is killed.
     */
    static byte[] run(
            File exe, String type, Map<String, String> env, byte[] stdin, long timeoutMs, Consumer<String> log)
            throws CniError {
        boolean ownGroup = SETSID.canExecute();
        ProcessBuilder pb =
                ownGroup ? new ProcessBuilder(SETSID.getPath(), exe.getPath()) : new ProcessBuilder(exe.getPath());
        Map<String, String> pe = pb.environment();
        pe.clear();
        pe.putAll(scrubbed(env));
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new CniError(CniError.DELEGATE_FAILED, "failed to execute delegated plugin " + type, e.getMessage());
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        Reader out = new Reader(p.getInputStream());
        Reader err = new Reader(p.getErrorStream());
        try {
            Thread feeder = Thread.ofPlatform()
                    .daemon()
                    .name("jcni-delegate-stdin")
                    .start(() -> {
                        try (OutputStream in = p.getOutputStream()) {
                            in.write(stdin);
                        } catch (IOException ignored) {
                            // a delegate that exits without reading stdin: its exit status says what happened
                        }
                    });
            boolean done =
                    p.waitFor(left(deadline), TimeUnit.NANOSECONDS) && out.await(deadline) && err.await(deadline);
            if (!done) {
                killGroup(p, ownGroup);
                feeder.interrupt();
                throw new CniError(
                        CniError.TRY_AGAIN_LATER,
                        "delegated plugin " + type + " timed out",
                        "no answer after " + timeoutMs + " ms; its process group was killed");
            }
            String errText = new String(err.bytes(), StandardCharsets.UTF_8);
            if (!errText.isEmpty()) {
                log.accept(errText.stripTrailing());
            }
            if (p.exitValue() == 0) {
                return out.bytes();
            }
            throw errorOf(type, out.bytes(), errText, p.exitValue());
        } catch (InterruptedException e) {
            killGroup(p, ownGroup);
            Thread.currentThread().interrupt();
            throw new CniError(CniError.TRY_AGAIN_LATER, "interrupted while running delegated plugin " + type);
        }
    }

    private static long left(long deadline) {
        return Math.max(0, deadline - System.nanoTime());
    }

    /** kill(2) with a negative pid: the whole group the delegate leads (setsid made its pid the group id). */
    private static final long KILL = "aarch64".equals(System.getProperty("os.arch")) ? 129 : 62;

    private static final int SIGKILL = 9;

    private static void killGroup(Process p, boolean ownGroup) {
        if (ownGroup && p.pid() > 1) {
            Syscall.raw(KILL, -p.pid(), SIGKILL, 0, 0, 0, 0);
        }
        p.descendants().forEach(ProcessHandle::destroyForcibly); // without setsid(1): at least its tree
        p.destroyForcibly();
    }

    /** Reads one of the delegate's streams to its end on a thread of its own. */
    private static final class Reader {
        private final CountDownLatch done = new CountDownLatch(1);
        private volatile byte[] bytes = new byte[0];

        Reader(InputStream in) {
            Thread.ofPlatform().daemon().name("jcni-delegate-output").start(() -> {
                try (in) {
                    bytes = in.readAllBytes();
                } catch (IOException e) {
                    // the process was killed: what was read is lost, the caller reports the timeout
                } finally {
                    done.countDown();
                }
            });
        }

        boolean await(long deadline) throws InterruptedException {
            return done.await(left(deadline), TimeUnit.NANOSECONDS);
        }

        byte[] bytes() {
            return bytes;
        }
    }

    /** The delegate's error object as-is, or a description of its failure when it printed none. */
    static CniError errorOf(String type, byte[] stdout, String stderr, int status) {
        if (stdout.length > 0) {
            try {
                return CniError.parse(stdout);
            } catch (JsonException | CniError e) {
                return new CniError(
                        CniError.DELEGATE_FAILED,
                        "delegated plugin " + type + " failed",
                        "exit status " + status + ", unparseable output: "
                                + new String(stdout, StandardCharsets.UTF_8));
            }
        }
        return new CniError(
                CniError.DELEGATE_FAILED,
                "delegated plugin " + type + " failed",
                "exit status " + status + (stderr.isEmpty() ? "" : ": " + stderr.strip()));
    }
}
