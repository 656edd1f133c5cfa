package io.jcni.cli;

import io.jcni.netlink.Trace;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.route.Link;
import io.jcni.netlink.route.RouteNetlink;
import java.io.PrintStream;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** {@code jcni link [list] [--netns NAME]}: the interfaces of a namespace, one line each, as {@code ip -br link}. */
final class LinkCommand {
    static final String USAGE = """
            Usage: jcni link [list] [--netns NAME]

            Lists the interfaces of the host (or of namespace NAME): index, name@peer, kind,
            state, MTU, MAC and bridge.
            """;

    private final PrintStream out;
    private final Trace trace;

    LinkCommand(PrintStream out, Trace trace) {
        this.out = out;
        this.trace = trace;
    }

    int run(List<String> args) {
        String netns = null;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            switch (a) {
                case "list", "show" -> {}
                case "--help" -> {
                    out.print(USAGE);
                    return 0;
                }
                case "--netns", "-n" -> {
                    if (i + 1 >= args.size()) {
                        throw new Main.UsageException("--netns needs a NAME");
                    }
                    netns = args.get(++i);
                }
                default -> throw new Main.UsageException("unexpected argument \"" + a + "\" (see jcni link --help)");
            }
        }
        NetNs ns = netns == null ? null : NetNs.openNamed(netns);
        try (RouteNetlink nl = ns == null ? RouteNetlink.open(trace) : RouteNetlink.open(ns, trace)) {
            List<Link> links = nl.links().list();
            Map<Integer, String> names = new HashMap<>();
            for (Link l : links) {
                names.put(l.index(), l.name());
            }
            for (Link l : links) {
                String peer = l.peerIndex() == 0
                        ? ""
                        : "@"
                                + (l.linkNetnsId() < 0
                                        ? names.getOrDefault(l.peerIndex(), "if" + l.peerIndex())
                                        : "if" + l.peerIndex());
                out.printf(
                        "%-4d %-22s %-8s %-8s mtu %-6d %s%s%n",
                        l.index(),
                        l.name() + peer,
                        l.kind() == null ? "-" : l.kind(),
                        l.operStateName(),
                        l.mtu(),
                        l.mac() == null ? "-" : l.mac().toString(),
                        l.masterIndex() == 0
                                ? ""
                                : " master " + names.getOrDefault(l.masterIndex(), "if" + l.masterIndex()));
            }
            return 0;
        } finally {
            if (ns != null) {
                ns.close();
            }
        }
    }
}
