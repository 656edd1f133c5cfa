package io.jcni.cli;

import io.jcni.cli.inspect.NodeHandle;
import io.jcni.cli.inspect.NodeReport;
import io.jcni.cli.inspect.NodeView;
import io.jcni.cli.inspect.PodView;
import io.jcni.cni.json.Json;
import io.jcni.netlink.Trace;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;

/** {@code jcni inspect node|pod}: a node's or a pod's network in one view, read through netlink only. */
final class InspectCommand {
    static final String USAGE = """
            Usage: jcni inspect node [options]
                   jcni inspect pod CONTAINER-ID|NETNS-PATH|POD-NAME [options]

            node: the node's interfaces (MAC, MTU, state, bridge, and for a veth the namespace and
            pod of its other end), addresses, routes, neighbours, forwarding, listening TCP/UDP
            sockets with their processes, the interface carrying cluster traffic, and jcni's own
            state: networks with their IPAM usage, attachments, NAT and host-port elements, the
            plugins' socket and the cluster agent.

            pod: one pod, found in the result cache and the IPAM store by its container ID, its
            namespace's path or the name given to 'jcni pod create': its interfaces, addresses and
            routes inside its namespace, its host veth and bridge, its reservations, masquerade
            elements and host ports, its cached result, and every inconsistency between them.
            Exit 1 when the pod has an inconsistency of severity warning or error.

            """ + InspectOptions.OPTIONS;

    private final PrintStream out;
    private final Map<String, String> env;

    InspectCommand(PrintStream out, Map<String, String> env) {
        this.out = out;
        this.env = env;
    }

    int run(List<String> args) {
        if (args.isEmpty()) {
            throw new Main.UsageException("inspect needs node or pod (see jcni inspect --help)");
        }
        if (Main.helpAsked(args, out, USAGE)) {
            return 0;
        }
        String what = args.get(0);
        InspectOptions o = InspectOptions.parse(args.subList(1, args.size()), env);
        switch (what) {
            case "node" -> {
                Main.noArguments("inspect node", o.positional);
                try (NodeHandle node = NodeHandle.open(o.netns, Trace.OFF)) {
                    NodeView v = NodeView.read(node, o.sources());
                    if (o.json) {
                        out.println(Json.writeIndented(NodeReport.json(v)));
                    } else {
                        NodeReport.print(v, out);
                    }
                }
                return 0;
            }
            case "pod" -> {
                if (o.positional.size() != 1) {
                    throw new Main.UsageException("inspect pod takes one CONTAINER-ID, NETNS-PATH or POD-NAME");
                }
                try (NodeHandle node = NodeHandle.open(o.netns, Trace.OFF)) {
                    NodeView v = NodeView.read(node, o.sources());
                    List<PodView> pods = PodView.find(v, o.positional.get(0));
                    if (pods.isEmpty()) {
                        throw new IllegalArgumentException(
                                "no pod \"" + o.positional.get(0) + "\": no cached attachment, reservation or"
                                        + " namespace by that container ID, netns path or pod name (cache "
                                        + v.cni().cache().resultsDir() + ")");
                    }
                    if (o.json) {
                        out.println(Json.writeIndented(
                                pods.size() == 1
                                        ? pods.get(0).json()
                                        : pods.stream().map(PodView::json).toList()));
                    } else {
                        for (int i = 0; i < pods.size(); i++) {
                            if (i > 0) {
                                out.println();
                            }
                            pods.get(i).print(out);
                        }
                    }
                    return pods.stream().anyMatch(PodView::hasProblems) ? 1 : 0;
                }
            }
            default -> throw new Main.UsageException("unknown inspect target \"" + what + "\" (node, pod)");
        }
    }
}
