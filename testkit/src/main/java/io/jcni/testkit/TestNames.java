package io.jcni.testkit;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Names for what tests create on the shared kernel (namespaces, links, bridges, networks, etcd
 * members, images): a test's own prefix, then this JVM's run id, then what it is. The prefix keeps
 * two tests apart, the run id two JVMs (other checkouts test on the same machine at the same time),
 * and {@link #next()} two objects of one test.
 */
public final class TestNames {
    private TestNames() {}

    /** Linux keeps interface names in IFNAMSIZ (16) bytes, the terminating NUL included. */
    public static final int MAX_LINK_NAME = 15;

    /**
     * This JVM's run id as a number: its process id modulo 36³, so that JVMs alive at the same time
     * (process ids close together) never share it, and it stays three characters long.
     */
    public static final int RUN_NUMBER = (int) (ProcessHandle.current().pid() % (36 * 36 * 36));

    /** {@link #RUN_NUMBER} in base 36, always three characters, so a name's length does not depend on the process id. */
    public static final String RUN = pad(Integer.toString(RUN_NUMBER, 36), 3);

    private static final AtomicInteger COUNTER = new AtomicInteger();

    /** A number unique in this JVM, in base 36 ("1", "2", … "z", "10", …). */
    public static String next() {
        return Integer.toString(COUNTER.incrementAndGet(), 36);
    }

    /** {@code prefix + RUN + next()}: a name no other object of this JVM or of another JVM running now gets. */
    public static String unique(String prefix) {
        return unique(prefix, "");
    }

    /** {@code prefix + RUN + what + next()}: the same, with what the object is in the middle. */
    public static String unique(String prefix, String what) {
        return prefix + RUN + what + next();
    }

    /** {@link #unique(String)}, checked to fit a link's name. */
    public static String link(String prefix) {
        return fitsLink(unique(prefix));
    }

    /** {@link #unique(String, String)}, checked to fit a link's name. */
    public static String link(String prefix, String what) {
        return fitsLink(unique(prefix, what));
    }

    /** {@code name} itself when it fits a link's name (at most {@value #MAX_LINK_NAME} bytes), else a failure naming it. */
    public static String fitsLink(String name) {
        if (name.getBytes(StandardCharsets.UTF_8).length > MAX_LINK_NAME) {
            throw new IllegalArgumentException(
                    "name too long for a link (more than " + MAX_LINK_NAME + " bytes): " + name);
        }
        return name;
    }

    private static String pad(String s, int width) {
        return "0".repeat(Math.max(0, width - s.length())) + s;
    }
}
