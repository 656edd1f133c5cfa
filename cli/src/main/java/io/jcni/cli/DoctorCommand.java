package io.jcni.cli;

import io.jcni.cli.inspect.Doctor;
import io.jcni.cli.inspect.Finding;
import io.jcni.cli.inspect.NodeHandle;
import io.jcni.cli.inspect.NodeView;
import io.jcni.cni.json.Json;
import io.jcni.netlink.Trace;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code jcni doctor [--fix]}: what is wrong with the node's pod networking, and the safe repairs. */
final class DoctorCommand {
    static final String USAGE = """
            Usage: jcni doctor [--fix] [options]

            Checks the node: forwarding off, bridge addresses that differ from the networks' gateways,
            attachments and reservations whose pod is gone, veths that belong to no pod, NAT and
            host-port elements for addresses no one holds, jcni's nftables tables left with nothing in
            them, routes to cluster peers that are missing (when the node is in a cluster network),
            configurations naming plugins that are not installed, MTUs that disagree between bridge,
            veths and uplink, and every pod's own inconsistencies (see jcni inspect pod). Each finding
            has a severity (error, warning, info) and a one-line fix.

            --fix applies the fixes that are safe (they restore what jcni's plugins or agent would have
            made, or remove what provably belongs to no pod), printing each as its equivalent command,
            then checks again. Exit status: 0 when no error or warning is left, 1 otherwise.

            """ + InspectOptions.OPTIONS;

    private final PrintStream out;
    private final Map<String, String> env;

    DoctorCommand(PrintStream out, Map<String, String> env) {
        this.out = out;
        this.env = env;
    }

    int run(List<String> args) {
        if (Main.helpAsked(args, out, USAGE)) {
            return 0;
        }
        InspectOptions o = InspectOptions.parse(args, env, "--fix");
        Main.noArguments("doctor", o.positional);
        if (!o.fix) {
            List<Finding> found;
            try (NodeHandle node = NodeHandle.open(o.netns, Trace.OFF)) {
                found = Doctor.check(NodeView.read(node, o.sources()));
            }
            if (o.json) {
                out.println(Json.writeIndented(
                        Map.of("findings", found.stream().map(Finding::json).toList())));
            } else {
                print(found, out);
            }
            return found.stream().anyMatch(Finding::counts) ? 1 : 0;
        }
        Doctor.Outcome r = Doctor.fix(o.sources());
        if (o.json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("findings", r.before().stream().map(Finding::json).toList());
            List<Object> repairs = new ArrayList<>();
            for (Doctor.Applied a : r.applied()) {
                Map<String, Object> x = new LinkedHashMap<>(a.finding().json());
                x.put("commands", new ArrayList<Object>(a.commands()));
                if (a.error() != null) {
                    x.put("error", a.error());
                }
                repairs.add(x);
            }
            m.put("repairs", repairs);
            m.put("left", r.left().stream().map(Finding::json).toList());
            out.println(Json.writeIndented(m));
        } else {
            if (r.applied().isEmpty()) {
                out.println("Nothing to repair.");
            }
            for (Doctor.Applied a : r.applied()) {
                out.println((a.error() == null ? "fixed   " : "FAILED  ")
                        + a.finding().check() + ": " + a.finding().message());
                for (String c : a.commands()) {
                    out.println("        + " + c);
                }
                if (a.error() != null) {
                    out.println("        error: " + a.error());
                }
            }
            out.println();
            if (r.left().isEmpty()) {
                out.println("Left: nothing.");
            } else {
                out.println("Left:");
                print(r.left(), out);
            }
        }
        return r.left().stream().anyMatch(Finding::counts) ? 1 : 0;
    }

    static void print(List<Finding> found, PrintStream out) {
        if (found.isEmpty()) {
            out.println("No problems found.");
            return;
        }
        for (Finding f : found) {
            out.println(
                    String.format("%-8s", f.severity().text()) + f.check() + " (" + f.subject() + "): " + f.message());
            if (!f.fix().isEmpty()) {
                out.println("        fix: " + f.fix() + (f.repair() != null ? "   [--fix]" : ""));
            }
        }
        long errors = found.stream()
                .filter(f -> f.severity() == Finding.Severity.ERROR)
                .count();
        long warnings = found.stream()
                .filter(f -> f.severity() == Finding.Severity.WARNING)
                .count();
        long fixable = found.stream().filter(f -> f.repair() != null).count();
        out.println();
        out.println(errors + " error(s), " + warnings + " warning(s), " + (found.size() - errors - warnings)
                + " note(s); " + fixable + " repairable with --fix");
    }
}
