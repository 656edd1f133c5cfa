package io.jcni.cli;

import io.jcni.cli.inspect.Graph;
import io.jcni.cli.inspect.NodeHandle;
import io.jcni.cli.inspect.NodeView;
import io.jcni.netlink.Trace;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;

/** {@code jcni graph}: the node as an SVG picture (or Graphviz dot). */
final class GraphCommand {
    static final String USAGE = """
            Usage: jcni graph [--output FILE] [--format svg|dot] [options]

            Draws the node: what lies outside it (default gateway, peer nodes of the cluster
            network), its interfaces out (the cluster uplink, the VXLAN device), its routing and
            masquerade (the NAT edge), the bridges, the veth pairs and the pods with their addresses
            and host ports. SVG (laid out by jcni itself) or dot, on stdout or into FILE; -o json
            gives the boxes and edges themselves.

            """
            + InspectOptions.OPTIONS.replace(
                    "JSON, or readable tables (default)", "the graph's boxes and edges as JSON");

    private final PrintStream out;
    private final Map<String, String> env;

    GraphCommand(PrintStream out, Map<String, String> env) {
        this.out = out;
        this.env = env;
    }

    int run(List<String> args) {
        if (Main.helpAsked(args, out, USAGE)) {
            return 0;
        }
        InspectOptions o = InspectOptions.parse(args, env, "--output", "--format");
        Main.noArguments("graph", o.positional);
        String text;
        try (NodeHandle node = NodeHandle.open(o.netns, Trace.OFF)) {
            Graph g = Graph.of(NodeView.read(node, o.sources()));
            text = o.json
                    ? io.jcni.cni.json.Json.writeIndented(g.json()) + "\n"
                    : o.format.equals("dot") ? g.dot() : g.svg();
        }
        if (o.output == null) {
            out.print(text);
        } else {
            try {
                Files.writeString(o.output, text, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new IllegalStateException("cannot write " + o.output + ": " + e.getMessage(), e);
            }
        }
        return 0;
    }
}
