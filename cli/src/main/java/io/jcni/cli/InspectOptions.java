package io.jcni.cli;

import io.jcni.cli.inspect.Services;
import io.jcni.cli.inspect.Sources;
import io.jcni.runtime.ResultCache;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The options {@code jcni inspect}, {@code jcni doctor} and {@code jcni graph} share: where the
 * node is ({@code --netns}) and where its CNI state is, read as the runtime side reads it —
 * {@code NETCONFPATH} and {@code CNI_PATH} when set (as {@code jcni add} does), else
 * {@code /etc/cni/net.d} and {@code /opt/cni/bin} — each overridable by a flag.
 */
final class InspectOptions {
    static final String OPTIONS = """
            Options:
              -o json|table       JSON, or readable tables (default)
              --netns NAME|PATH   the node's network namespace (default: this process's)
              --netconf DIR       configuration directory (default $NETCONFPATH, else /etc/cni/net.d)
              --cni-path DIRS     plugin directories, ':'-separated (default $CNI_PATH, else /opt/cni/bin)
              --cache-dir DIR     libcni's cache root (default /var/lib/cni)
              --socket PATH       the plugins' socket (default $JCNI_SOCKET, else a running agent's, else /run/jcni/jcni.sock)
              --subnet-file FILE  the agent's subnet.env (default: a running agent's, else /run/jcni/subnet.env)
            """;

    final List<String> positional = new ArrayList<>();
    boolean json;
    String netns;
    Path netconf;
    String cniPath;
    Path cacheDir = ResultCache.DEFAULT_DIR;
    Path socket;
    Path subnetFile = Services.DEFAULT_SUBNET_FILE;
    boolean fix;
    Path output;
    String format = "svg";

    /**
     * @param extra the command's own flags: "--fix" (doctor), "--output", "--format" (graph)
     */
    static InspectOptions parse(List<String> argv, Map<String, String> env, String... extra) {
        List<String> allowed = Arrays.asList(extra);
        InspectOptions o = new InspectOptions();
        String ncp = env.getOrDefault("NETCONFPATH", "");
        o.netconf = Path.of(ncp.isEmpty() ? "/etc/cni/net.d" : ncp);
        o.cniPath = env.getOrDefault("CNI_PATH", "");
        if (o.cniPath.isEmpty()) {
            o.cniPath = "/opt/cni/bin";
        }
        String sock = env.getOrDefault("JCNI_SOCKET", "");
        o.socket = sock.isEmpty() ? Services.DEFAULT_SOCKET : Path.of(sock);
        for (int i = 0; i < argv.size(); i++) {
            String a = argv.get(i);
            String flag = a;
            String inline = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                flag = a.substring(0, eq);
                inline = a.substring(eq + 1);
            }
            switch (flag) {
                case "-o" -> {
                    String f = inline != null ? inline : value(argv, ++i, a);
                    switch (f) {
                        case "json" -> o.json = true;
                        case "table" -> o.json = false;
                        default -> throw new Main.UsageException("-o takes json or table, got \"" + f + "\"");
                    }
                }
                case "--netns", "-n" -> o.netns = inline != null ? inline : value(argv, ++i, a);
                case "--netconf" -> o.netconf = Path.of(inline != null ? inline : value(argv, ++i, a));
                case "--cni-path" -> o.cniPath = inline != null ? inline : value(argv, ++i, a);
                case "--cache-dir" -> o.cacheDir = Path.of(inline != null ? inline : value(argv, ++i, a));
                case "--socket" -> o.socket = Path.of(inline != null ? inline : value(argv, ++i, a));
                case "--subnet-file" -> o.subnetFile = Path.of(inline != null ? inline : value(argv, ++i, a));
                case "--fix" -> {
                    if (!allowed.contains("--fix")) {
                        throw new Main.UsageException("unknown option --fix");
                    }
                    o.fix = true;
                }
                case "--output" -> {
                    if (!allowed.contains("--output")) {
                        throw new Main.UsageException("unknown option --output");
                    }
                    o.output = Path.of(inline != null ? inline : value(argv, ++i, a));
                }
                case "--format" -> {
                    if (!allowed.contains("--format")) {
                        throw new Main.UsageException("unknown option --format");
                    }
                    o.format = inline != null ? inline : value(argv, ++i, a);
                    if (!o.format.equals("svg") && !o.format.equals("dot")) {
                        throw new Main.UsageException("--format takes svg or dot, got \"" + o.format + "\"");
                    }
                }
                default -> {
                    if (a.startsWith("-") && a.length() > 1) {
                        throw new Main.UsageException("unknown option " + a);
                    }
                    o.positional.add(a);
                }
            }
        }
        return o;
    }

    private static String value(List<String> argv, int i, String flag) {
        return RuntimeOptions.value(argv, i, flag);
    }

    Sources sources() {
        return new Sources(netns, netconf, List.of(cniPath.split(":")), cacheDir, socket, subnetFile);
    }
}
