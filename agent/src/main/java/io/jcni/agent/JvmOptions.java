package io.jcni.agent;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * The agent's JVM options as the launcher uses them, for the processes that start agents
 * themselves (the cluster demo, its benchmark, the tests): one file,
 * {@code bin/lib/jvm-options.env}, holds them for every way an agent is started.
 */
public final class JvmOptions {
    static final String FILE = "bin/lib/jvm-options.env";

    private JvmOptions() {}

    /** {@code JCNI_AGENT_JVM_OPTIONS}, split into words. */
    public static List<String> agent() {
        return read("JCNI_AGENT_JVM_OPTIONS");
    }

    static List<String> read(String key) {
        Path file = locate();
        try {
            for (String line : Files.readAllLines(file)) {
                if (line.startsWith(key + "=\"") && line.endsWith("\"")) {
                    String value =
                            line.substring(key.length() + 2, line.length() - 1).trim();
                    return value.isEmpty() ? List.of() : Arrays.asList(value.split("\\s+"));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        throw new IllegalStateException(file + " has no " + key);
    }

    /** {@code <jcni.home>/bin/lib/jvm-options.env}, else the first one found from the working directory upwards. */
    static Path locate() {
        String home = System.getProperty("jcni.home");
        if (home != null && !home.isEmpty() && Files.isRegularFile(Path.of(home, FILE))) {
            return Path.of(home, FILE);
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve(FILE))) {
                return dir.resolve(FILE);
            }
        }
        throw new IllegalStateException("cannot find " + FILE + " (run from a jcni checkout, or through bin/jcni)");
    }
}
