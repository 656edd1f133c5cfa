package io.jcni.netlink.testing;

import io.jcni.netlink.Trace;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.testkit.TestNames;
import io.jcni.testkit.TestNetns;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Kernel objects for one test, named uniquely and removed in {@link #close()} even when the test
 * failed: namespaces it created, host links it registered. Use in try-with-resources or from
 * {@code @AfterEach}.
 */
public final class Scratch implements AutoCloseable {
    private final String prefix;
    private final TestNetns namespaces = new TestNetns();
    private final Deque<String> hostLinks = new ArrayDeque<>();
    private final List<AutoCloseable> closeables = new ArrayList<>();

    /** {@code tag} (2 letters) identifies the test class in names, e.g. "ln" for link tests. */
    public Scratch(String tag) {
        this.prefix = "j" + tag;
    }

    /** A name unique in this JVM and unlikely to clash with another run: at most 15 bytes. */
    public String name(String what) {
        return TestNames.link(prefix, what);
    }

    /** Creates a named namespace removed at close, and returns it opened. */
    public NetNs netns(String what) {
        String n = name(what);
        namespaces.create(n);
        NetNs ns = NetNs.openNamed(n);
        closeables.add(ns);
        return ns;
    }

    /** Registers a namespace the test makes itself (through the code under test) for deletion at close. */
    public String adoptNetns(String name) {
        return namespaces.adopt(name);
    }

    /** Registers a host link for deletion at close (deleting a veth end removes its peer). */
    public String hostLink(String name) {
        hostLinks.push(name);
        return name;
    }

    /** Something else to close at the end (handles), closed before namespaces are deleted. */
    public <T extends AutoCloseable> T closeLater(T c) {
        closeables.add(c);
        return c;
    }

    @Override
    public void close() {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            try {
                closeables.get(i).close();
            } catch (Exception ignored) {
                // keep cleaning
            }
        }
        try (RouteNetlink host = RouteNetlink.open(Trace.OFF)) {
            while (!hostLinks.isEmpty()) {
                try {
                    host.links().deleteIfExists(hostLinks.pop());
                } catch (RuntimeException ignored) {
                    // keep cleaning
                }
            }
        }
        namespaces.close();
    }
}
