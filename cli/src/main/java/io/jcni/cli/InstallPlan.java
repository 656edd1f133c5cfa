package io.jcni.cli;

import io.jcni.cni.io.AtomicFiles;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * What {@code jcni install} does, decided before anything is done: every directory it makes, file
 * it writes or removes and the AOT training, in order. {@code --print} prints this object and an
 * install applies the same object, so what is printed is what an install does.
 *
 * @param steps in the order they are applied
 */
record InstallPlan(List<Step> steps) {
    InstallPlan {
        steps = List.copyOf(steps);
    }

    /**
     * One thing install does to {@code target}.
     *
     * @param mode        the file's or directory's mode (e.g. 0644); 0 for a removal
     * @param content     what the step puts at {@code target}, and so what kind of step it is
     * @param description why the step is there, for a person reading the plan
     */
    record Step(Path target, int mode, Content content, String description) {
        /** True when the step leaves a file at {@code target} (a directory made or a file removed does not). */
        boolean writesFile() {
            return !(content instanceof Content.Directory || content instanceof Content.Removal);
        }
    }

    /** What a step puts at its target. */
    sealed interface Content {
        /** The directory and its missing parents; {@code option} names it in errors (--dir, --lib-dir). */
        record Directory(String option) implements Content {}

        /** Nothing: the target is removed if it exists. */
        record Removal() implements Content {}

        /** A copy of the file {@code source}. */
        record CopyOf(Path source) implements Content {}

        /** Bytes the plan holds, named {@code origin} in the print. */
        record Bytes(String origin, byte[] data) implements Content {}

        /**
         * A text that may name the AOT cache: {@code withCache} when a training step before it built
         * the cache, {@code withoutCache} when there was none or it failed (then the plugins run without one).
         */
        record Text(String withCache, String withoutCache) implements Content {
            Text(String text) {
                this(text, text);
            }
        }

        /** The cache made by a training run in the network namespace {@code netns}, killed after {@code timeout}. */
        record Training(Path java, Path libDir, String netns, Duration timeout) implements Content {}
    }

    /** The plan as shell commands, each step after a comment saying why; changes nothing. */
    void print(PrintStream out) {
        for (Step s : steps) {
            out.println("# " + s.description());
            String install = "install -m " + octal(s.mode()) + " ";
            switch (s.content()) {
                case Content.Directory d -> out.println("mkdir -p " + s.target());
                case Content.Removal r -> out.println("rm -f " + s.target());
                case Content.CopyOf c -> out.println(install + c.source() + " " + s.target());
                case Content.Bytes b -> out.println(install + b.origin() + " " + s.target());
                case Content.Text t -> {
                    out.println(install + "/dev/stdin " + s.target() + " <<'EOF'");
                    out.print(t.withCache());
                    out.println("EOF");
                }
                case Content.Training t -> {
                    Path output = InstallCommand.trainingOutput(t.libDir());
                    out.println("ip netns add " + t.netns());
                    out.println("timeout " + t.timeout().toSeconds() + " "
                            + String.join(
                                    " ",
                                    InstallCommand.inNetns(
                                            t.netns(), InstallCommand.trainingCommand(t.java(), t.libDir(), output))));
                    out.println("ip netns delete " + t.netns());
                    out.println(install + output + " " + s.target());
                }
            }
        }
    }

    /** Applies the steps in order; returns the AOT cache a training step built, or null. */
    Path apply() {
        Path cache = null;
        for (Step s : steps) {
            switch (s.content()) {
                case Content.Directory d -> {
                    InstallCommand.mkdirs(s.target(), d.option());
                    // again, now that it exists: a directory someone else made in between is not ours
                    InstallCommand.checkTarget(s.target(), d.option());
                }
                case Content.Removal r -> {
                    try {
                        Files.deleteIfExists(s.target());
                    } catch (IOException e) {
                        throw new IllegalStateException("cannot remove " + s.target() + ": " + e.getMessage());
                    }
                }
                case Content.CopyOf c -> write(s, InstallCommand.readAll(c.source()));
                case Content.Bytes b -> write(s, b.data());
                case Content.Text t ->
                    write(s, (cache != null ? t.withCache() : t.withoutCache()).getBytes(StandardCharsets.UTF_8));
                case Content.Training t ->
                    cache = InstallCommand.buildCache(t.java(), t.libDir(), t.netns(), t.timeout());
            }
        }
        return cache;
    }

    /** Every file is renamed into place whole: a runtime never executes a half-written one. */
    private static void write(Step s, byte[] data) {
        try {
            AtomicFiles.write(s.target(), data, perms(s.mode()), perms(0755));
        } catch (IOException e) {
            throw new IllegalStateException("cannot write " + s.target() + ": " + e.getMessage());
        }
    }

    static String octal(int mode) {
        return String.format("%04o", mode);
    }

    /** {@code 0644} as {@code rw-r--r--}. */
    static String perms(int mode) {
        StringBuilder b = new StringBuilder();
        for (int shift = 6; shift >= 0; shift -= 3) {
            int bits = mode >> shift;
            b.append((bits & 4) != 0 ? 'r' : '-')
                    .append((bits & 2) != 0 ? 'w' : '-')
                    .append((bits & 1) != 0 ? 'x' : '-');
        }
        return b.toString();
    }
}
