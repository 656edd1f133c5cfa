package io.jcni.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every {@code jcni} command with its verbs, flags and what its arguments are, in one table:
 * the source of {@code jcni completion bash|zsh}. The CLI parses its arguments by hand (no
 * picocli), command by command; {@code CompletionCommandTest} holds this table to the parsers
 * (every listed flag is accepted by its command, every command is dispatched by {@link Main}) and
 * to the agent's own flag list.
 */
final class CommandTable {
    private CommandTable() {}

    /** What a flag's value or a positional argument is, for completion. */
    enum Kind {
        /** A flag without a value. */
        NONE,
        /** A value with nothing to offer (a number, a JSON text, a name to choose). */
        FREE,
        FILE,
        DIR,
        /** A named network namespace (/run/netns). */
        NETNS,
        /** A network name from the configuration directory. */
        NETWORK,
        /** A pod (a named namespace, as {@code jcni pod create} makes them). */
        POD
    }

    /** A flag; {@code words} lists its fixed values when it has some ({@code -o json|table}). */
    record Flag(String name, Kind kind, List<String> words) {
        static Flag of(String name, Kind kind) {
            return new Flag(name, kind, List.of());
        }

        static Flag words(String name, String... words) {
            return new Flag(name, Kind.FREE, List.of(words));
        }
    }

    /**
     * A command: its verbs (empty when it has none), its flags (per verb when they differ: key
     * "" for all verbs), and the kinds of its positional arguments in order (per verb likewise).
     */
    record Command(
            String name, String help, List<String> verbs, Map<String, List<Flag>> flags, Map<String, List<Kind>> args) {
        List<Flag> flagsOf(String verb) {
            List<Flag> f = flags.get(verb);
            return f != null ? f : flags.getOrDefault("", List.of());
        }

        List<Kind> argsOf(String verb) {
            List<Kind> a = args.get(verb);
            return a != null ? a : args.getOrDefault("", List.of());
        }
    }

    static final List<Flag> GLOBAL =
            List.of(Flag.of("--trace", Kind.NONE), Flag.of("--debug", Kind.NONE), Flag.of("--help", Kind.NONE));

    static final List<Flag> RUNTIME = List.of(
            Flag.of("--ifname", Kind.FREE),
            Flag.of("-i", Kind.FREE),
            Flag.of("--args", Kind.FREE),
            Flag.of("--cap", Kind.FREE),
            Flag.of("--container-id", Kind.FREE),
            Flag.words("-o", "json", "table"),
            Flag.of("--netconf", Kind.DIR),
            Flag.of("--cni-path", Kind.DIR),
            Flag.of("--cache-dir", Kind.DIR),
            Flag.of("--timeout", Kind.FREE),
            Flag.of("--help", Kind.NONE));

    static final List<Flag> VIEW = List.of(
            Flag.words("-o", "json", "table"),
            Flag.of("--netns", Kind.NETNS),
            Flag.of("--netconf", Kind.DIR),
            Flag.of("--cni-path", Kind.DIR),
            Flag.of("--cache-dir", Kind.DIR),
            Flag.of("--socket", Kind.FILE),
            Flag.of("--subnet-file", Kind.FILE),
            Flag.of("--help", Kind.NONE));

    /** The agent's etcd flags, which {@code jcni cluster} takes too. */
    static final List<Flag> ETCD = List.of(
            Flag.of("--etcd-endpoints", Kind.FREE),
            Flag.of("--etcd-prefix", Kind.FREE),
            Flag.of("--etcd-cafile", Kind.FILE),
            Flag.of("--etcd-certfile", Kind.FILE),
            Flag.of("--etcd-keyfile", Kind.FILE));

    /** The agent's flags (agent module, AgentOptions): the CLI does not load that module, so they are listed here. */
    static final List<Flag> AGENT = concat(
            ETCD,
            List.of(
                    Flag.of("--iface", Kind.FREE),
                    Flag.of("--public-ip", Kind.FREE),
                    Flag.of("--ip-masq", Kind.NONE),
                    Flag.of("--subnet-file", Kind.FILE),
                    Flag.of("--subnet-lease-ttl", Kind.FREE),
                    Flag.of("--cni-conf-dir", Kind.DIR),
                    Flag.of("--bridge", Kind.FREE),
                    Flag.of("--plugin-socket", Kind.FILE),
                    Flag.of("--no-plugin-socket", Kind.NONE),
                    Flag.of("--reconcile-interval", Kind.FREE),
                    Flag.of("--kube-subnet-mgr", Kind.NONE),
                    Flag.of("--kubeconfig", Kind.FILE),
                    Flag.of("--node-name", Kind.FREE),
                    Flag.of("--net-conf", Kind.FILE),
                    Flag.of("--metrics-addr", Kind.FREE),
                    Flag.of("--no-metrics", Kind.NONE),
                    Flag.of("--help", Kind.NONE)));

    @SafeVarargs
    static <T> List<T> concat(List<T>... lists) {
        List<T> out = new java.util.ArrayList<>();
        for (List<T> l : lists) {
            out.addAll(l);
        }
        return List.copyOf(out);
    }

    private static Map<String, List<Flag>> flags(Object... kv) {
        Map<String, List<Flag>> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            @SuppressWarnings("unchecked")
            List<Flag> f = (List<Flag>) kv[i + 1];
            m.put((String) kv[i], f);
        }
        return m;
    }

    private static Map<String, List<Kind>> args(Object... kv) {
        Map<String, List<Kind>> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            @SuppressWarnings("unchecked")
            List<Kind> k = (List<Kind>) kv[i + 1];
            m.put((String) kv[i], k);
        }
        return m;
    }

    static final List<Command> COMMANDS = List.of(
            new Command(
                    "netns",
                    "named network namespaces (like ip netns)",
                    List.of("add", "del", "list", "exec"),
                    flags("", List.of(Flag.of("--help", Kind.NONE))),
                    args("del", List.of(Kind.NETNS), "exec", List.of(Kind.NETNS), "add", List.of(Kind.FREE))),
            new Command(
                    "link",
                    "interfaces of a namespace (like ip link)",
                    List.of("list"),
                    flags("", List.of(Flag.of("--netns", Kind.NETNS), Flag.of("--help", Kind.NONE))),
                    args()),
            new Command(
                    "demo",
                    "two pods on a bridge with NAT, built, checked and removed",
                    List.of(),
                    flags(
                            "",
                            List.of(
                                    Flag.of("--keep", Kind.NONE),
                                    Flag.of("--cleanup", Kind.NONE),
                                    Flag.of("--slow", Kind.FREE),
                                    Flag.of("--cluster", Kind.NONE),
                                    Flag.words("--backend", "host-gw", "vxlan", "both"),
                                    Flag.of("--help", Kind.NONE))),
                    args()),
            new Command(
                    "install",
                    "install the plugins as CNI executables",
                    List.of(),
                    flags(
                            "",
                            List.of(
                                    Flag.of("--dir", Kind.DIR),
                                    Flag.of("--lib-dir", Kind.DIR),
                                    Flag.of("--from", Kind.DIR),
                                    Flag.of("--socket", Kind.FILE),
                                    Flag.of("--scripts", Kind.NONE),
                                    Flag.of("--no-aot-cache", Kind.NONE),
                                    Flag.of("--print", Kind.NONE),
                                    Flag.of("--help", Kind.NONE))),
                    args()),
            new Command(
                    "daemon",
                    "serve the plugins from a resident JVM",
                    List.of(),
                    flags("", List.of(Flag.of("--socket", Kind.FILE), Flag.of("--help", Kind.NONE))),
                    args()),
            new Command(
                    "add",
                    "ADD a network's plugin chain for a namespace (cnitool)",
                    List.of(),
                    flags("", RUNTIME),
                    args("", List.of(Kind.NETWORK, Kind.NETNS))),
            new Command(
                    "del",
                    "DEL a network's plugin chain for a namespace",
                    List.of(),
                    flags("", RUNTIME),
                    args("", List.of(Kind.NETWORK, Kind.NETNS))),
            new Command(
                    "check",
                    "CHECK a network's plugin chain for a namespace",
                    List.of(),
                    flags("", RUNTIME),
                    args("", List.of(Kind.NETWORK, Kind.NETNS))),
            new Command(
                    "status",
                    "plugin readiness of a network",
                    List.of(),
                    flags("", RUNTIME),
                    args("", List.of(Kind.NETWORK))),
            new Command(
                    "gc",
                    "DEL stale cached attachments of a network, then GC",
                    List.of(),
                    flags("", RUNTIME),
                    args("", List.of(Kind.NETWORK))),
            new Command(
                    "pod",
                    "a named namespace attached to a network, in one step",
                    List.of("create", "delete", "list"),
                    flags("", concat(RUNTIME, List.of(Flag.of("--network", Kind.NETWORK)))),
                    args("create", List.of(Kind.FREE), "delete", List.of(Kind.POD))),
            new Command(
                    "networks",
                    "network configurations found, their plugins, load errors",
                    List.of(),
                    flags(
                            "",
                            List.of(
                                    Flag.of("--netconf", Kind.DIR),
                                    Flag.words("-o", "json", "table"),
                                    Flag.of("--help", Kind.NONE))),
                    args()),
            new Command(
                    "inspect",
                    "a node's or a pod's network in one view",
                    List.of("node", "pod"),
                    flags("", VIEW),
                    args("pod", List.of(Kind.POD))),
            new Command(
                    "doctor",
                    "what is wrong with the node's pod networking; --fix repairs what is safe",
                    List.of(),
                    flags("", concat(VIEW, List.of(Flag.of("--fix", Kind.NONE)))),
                    args()),
            new Command(
                    "graph",
                    "the node as an SVG picture (or Graphviz dot)",
                    List.of(),
                    flags(
                            "",
                            concat(
                                    List.of(Flag.words("-o", "json")),
                                    VIEW.subList(1, VIEW.size()),
                                    List.of(Flag.of("--output", Kind.FILE), Flag.words("--format", "svg", "dot")))),
                    args()),
            new Command(
                    "agent",
                    "the cluster network's node agent (etcd leases, host-gw/vxlan)",
                    List.of(),
                    flags("", AGENT),
                    args()),
            new Command(
                    "cluster",
                    "the cluster network's configuration, leases and this node's routes",
                    List.of("init", "status", "leave"),
                    flags(
                            "init",
                            concat(
                                    List.of(
                                            Flag.of("--network", Kind.FREE),
                                            Flag.of("--subnet-len", Kind.FREE),
                                            Flag.of("--subnet-min", Kind.FREE),
                                            Flag.of("--subnet-max", Kind.FREE),
                                            Flag.words("--backend", "vxlan", "host-gw"),
                                            Flag.of("--vni", Kind.FREE),
                                            Flag.of("--port", Kind.FREE),
                                            Flag.of("--direct-routing", Kind.NONE),
                                            Flag.of("--force", Kind.NONE)),
                                    ETCD),
                            "status",
                            concat(List.of(Flag.words("-o", "json", "table")), ETCD),
                            "leave",
                            AGENT),
                    args()),
            new Command(
                    "completion",
                    "bash or zsh completion for jcni",
                    List.of("bash", "zsh"),
                    flags("", List.of(Flag.of("--help", Kind.NONE))),
                    args()));

    static Command command(String name) {
        for (Command c : COMMANDS) {
            if (c.name().equals(name)) {
                return c;
            }
        }
        return null;
    }
}
