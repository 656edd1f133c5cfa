package io.jcni.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the system's own tools in tests: iproute2's {@code ip} and {@code bridge} and {@code nft} as
 * independent witnesses, and whatever else a test executes and waits for (podman, ctr, a plugin
 * fed its configuration on stdin). It lives in its own test-support module so that the kernel
 * layer, tests included, never spawns a process.
 *
 * <p>{@link #run} and {@link #ip} are the short forms; {@link #of} describes a command (environment,
 * stdin, time limit, stderr kept apart) and {@link Command#result()} runs it. A command that does
 * not end in time is killed with its descendants and reported as exit code 124 (as {@code timeout}
 * does), one that cannot be started as 127 (as a shell does), so callers that retry or report see
 * one kind of answer.
 */
public final class Commands {
    private Commands() {}

    /** The exit code of a command killed at its time limit. */
    public static final int TIMED_OUT = 124;
    /** The exit code of a command that could not be started. */
    public static final int NOT_STARTED = 127;

    /** {@code args} with stderr merged into the output, 20 s at most; the output, or a failure naming the command and its output. */
    public static String run(String... args) {
        return of(args).ok();
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

    /** Whether {@code name} is an executable in the system's directories (a test may run with a narrow PATH). */
    public static boolean installed(String name) {
        for (String d : List.of("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")) {
            if (Files.isExecutable(Path.of(d, name))) {
                return true;
            }
        }
        return false;
    }

    /** Those of {@code names} (commands, or absolute paths) that are not installed: what a test that needs them is skipped for. */
    public static List<String> missing(String... names) {
        List<String> m = new ArrayList<>();
        for (String n : names) {
            if (n.startsWith("/") ? !Files.isExecutable(Path.of(n)) : !installed(n)) {
                m.add(n);
            }
        }
        return m;
    }

    public static Command of(String... args) {
        return new Command(List.of(args));
    }

    public static Command of(List<String> args) {
        return new Command(List.copyOf(args));
    }

    /** One command to run: by default stderr merged into stdout, the caller's environment, no stdin, 20 s. */
    public static final class Command {
        private final List<String> args;
        private final Map<String, String> env = new LinkedHashMap<>();
        private boolean clearEnv;
        private byte[] stdin = new byte[0];
        private Duration timeout = Duration.ofSeconds(20);
        private boolean separateErr;

        private Command(List<String> args) {
            this.args = args;
        }

        /** Variables added to (or replacing those of) the environment. */
        public Command env(Map<String, String> vars) {
            env.putAll(vars);
            return this;
        }

        public Command env(String name, String value) {
            env.put(name, value);
            return this;
        }

        /** Starts from an empty environment (as a container runtime execs a plugin): only what {@link #env} adds. */
        public Command clearEnv() {
            clearEnv = true;
            return this;
        }

        /** Written to the command's stdin from a thread of its own; a command that stops reading early is no error. */
        public Command stdin(byte[] bytes) {
            stdin = bytes.clone();
            return this;
        }

        public Command stdin(String text) {
            return stdin(text.getBytes(StandardCharsets.UTF_8));
        }

        public Command timeout(Duration limit) {
            timeout = limit;
            return this;
        }

        /** Keeps stderr apart ({@link Result#err}) instead of merged into the output. */
        public Command separateErr() {
            separateErr = true;
            return this;
        }

        /** Runs it and returns what happened, whatever the exit code. */
        public Result result() {
            ProcessBuilder pb = new ProcessBuilder(args).redirectErrorStream(!separateErr);
            if (clearEnv) {
                pb.environment().clear();
            }
            pb.environment().putAll(env);
            Process p;
            try {
                p = pb.start();
            } catch (IOException e) {
                return new Result(args, NOT_STARTED, new byte[0], e.toString());
            }
            // Each stream on a thread of its own: a command that fills a pipe must not wait for us, nor we for it past
            // the limit.
            Thread feeder = Thread.ofPlatform().daemon().start(() -> {
                try (OutputStream in = p.getOutputStream()) {
                    in.write(stdin);
                } catch (IOException ignored) {
                    // the command closed its stdin (or ended) before reading everything: as with a runtime
                }
            });
            ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
            Thread outReader = drain(p.getInputStream(), out);
            Thread errReader = separateErr ? drain(p.getErrorStream(), err) : null;
            try {
                boolean ended = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
                if (!ended) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                    p.waitFor(10, TimeUnit.SECONDS);
                }
                // A descendant that inherited the pipes may keep them open: the output is what came until then.
                outReader.join(ended ? 5000 : 2000);
                if (errReader != null) {
                    errReader.join(ended ? 5000 : 2000);
                }
                feeder.join(100);
                if (!ended) {
                    return new Result(
                            args,
                            TIMED_OUT,
                            out.toByteArray(),
                            "timed out after " + timeout + ": " + String.join(" ", args) + "\n" + text(err));
                }
                return new Result(args, p.exitValue(), out.toByteArray(), text(err));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
                throw new IllegalStateException("interrupted while running " + String.join(" ", args), e);
            }
        }

        /** Runs it; the output when it exits 0, else a failure naming the command, its exit code and its output. */
        public String ok() {
            return result().ok().out();
        }

        /** Runs it; the result when it exits {@code code}, else a failure naming the command, its exit code and its output. */
        public Result expect(int code) {
            return result().expect(code);
        }

        private static Thread drain(InputStream from, ByteArrayOutputStream to) {
            return Thread.ofPlatform().daemon().start(() -> {
                try (from) {
                    from.transferTo(to);
                } catch (IOException ignored) {
                    // the process was killed
                }
            });
        }

        private static String text(ByteArrayOutputStream b) {
            return b.toString(StandardCharsets.UTF_8);
        }
    }

    /**
     * What a command did: its exit code, its output as bytes (stdout, with stderr unless kept apart)
     * and stderr when kept apart (or why it did not run).
     */
    public record Result(List<String> command, int code, byte[] stdout, String err) {
        public String out() {
            return new String(stdout, StandardCharsets.UTF_8);
        }

        public Result ok() {
            return expect(0);
        }

        /** {@link #ok()}, the failure saying first what the command was for ("ping c1 -> c2"). */
        public Result ok(String what) {
            if (code != 0) {
                throw new CommandFailedException(what + ": ", this, 0);
            }
            return this;
        }

        public Result expect(int expected) {
            if (code != expected) {
                throw new CommandFailedException(this, expected);
            }
            return this;
        }

        @Override
        public String toString() {
            return String.join(" ", command) + " exited " + code + (code == TIMED_OUT ? " (timed out)" : "") + ":\n"
                    + out() + (err.isEmpty() ? "" : (stdout.length == 0 ? "" : "\n") + err);
        }
    }

    /** A command that exited otherwise than expected; the message holds the command and everything it printed. */
    public static final class CommandFailedException extends IllegalStateException {
        private final transient Result result;

        CommandFailedException(Result result, int expected) {
            this("", result, expected);
        }

        CommandFailedException(String what, Result result, int expected) {
            super(what + "expected exit code " + expected + " from " + result);
            this.result = result;
        }

        public Result result() {
            return result;
        }
    }
}
