package io.jcni.cli;

import io.jcni.netlink.Trace;
import io.jcni.netlink.route.RouteNetlink;

/**
 * The smallest useful jcni process: open a netlink socket, ask the kernel for one link, print
 * its index. {@code bench/startup.sh} times it to show what a JVM costs before any CNI work.
 */
public final class StartupProbe {
    private StartupProbe() {}

    public static void main(String[] args) {
        try (RouteNetlink nl = RouteNetlink.open(Trace.OFF)) {
            System.out.println(nl.links().get(args.length > 0 ? args[0] : "lo").index());
        }
    }
}
