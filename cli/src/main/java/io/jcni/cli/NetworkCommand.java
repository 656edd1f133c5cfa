package io.jcni.cli;

import io.jcni.cni.CniError;
import io.jcni.runtime.CachedAttachment;
import io.jcni.runtime.CniRuntime;
import io.jcni.runtime.ConfException;
import io.jcni.runtime.GcReport;
import io.jcni.runtime.NetworkConfigList;
import io.jcni.runtime.NetworkResult;
import io.jcni.runtime.RuntimeConf;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;

/** {@code jcni add|del|check|status|gc NETWORK NETNS}: cnitool's verbs, on the jcni runtime. */
final class NetworkCommand {
    static final String USAGE = """
            Usage: jcni add|del|check NETWORK NETNS [options]
                   jcni status|gc NETWORK [NETNS] [options]

            Runs the plugin chain of NETWORK (a configuration in $NETCONFPATH) for the namespace
            NETNS (a path, or a name under /run/netns), as cnitool does, keeping libcni's result
            cache. add prints the result; gc DELs every cached attachment of NETWORK (cnitool has
            no list of valid ones) and then sends GC to the plugins.

            """ + RuntimeOptions.OPTIONS;

    private final PrintStream out;
    private final PrintStream err;
    private final boolean trace;
    private final Map<String, String> env;

    NetworkCommand(PrintStream out, PrintStream err, boolean trace, Map<String, String> env) {
        this.out = out;
        this.err = err;
        this.trace = trace;
        this.env = env;
    }

    int run(String verb, List<String> args) {
        if (Main.helpAsked(args, out, USAGE)) {
            return 0;
        }
        RuntimeOptions o = RuntimeOptions.parse(args, env, false);
        boolean needsNetns = verb.equals("add") || verb.equals("del") || verb.equals("check");
        if (o.positional.isEmpty() || o.positional.size() > 2 || (needsNetns && o.positional.size() != 2)) {
            throw new Main.UsageException(
                    verb + " takes NETWORK" + (needsNetns ? " NETNS" : " [NETNS]") + " (see jcni " + verb + " --help)");
        }
        CniRuntime cni = o.runtime(trace, err);
        try {
            NetworkConfigList net = CniRuntime.loadNetwork(o.netconf, o.positional.get(0));
            String netns = o.positional.size() > 1 ? RuntimeOptions.netnsPath(o.positional.get(1)) : "";
            String cid = o.containerId != null
                    ? o.containerId
                    : netns.isEmpty() ? "" : RuntimeOptions.cnitoolContainerId(netns);
            RuntimeConf rt = o.runtimeConf(cid, netns);
            switch (verb) {
                case "add" -> {
                    RuntimeOptions.requireNetns(o.positional.get(1), netns);
                    NetworkResult r = cni.add(net, rt);
                    if (o.json) {
                        out.println(r.toJsonString());
                    } else {
                        out.println("network " + net.name() + ", container " + cid + ", interface " + rt.ifName()
                                + " in " + netns);
                        RuntimeOptions.printResult(out, r);
                    }
                }
                case "check" -> {
                    RuntimeOptions.requireNetns(o.positional.get(1), netns);
                    cni.check(net, rt);
                    if (!o.json) {
                        out.println("ok: " + net.name() + " " + cid + " " + rt.ifName());
                    }
                }
                case "del" -> {
                    cni.del(net, rt);
                    if (!o.json) {
                        out.println("deleted: " + net.name() + " " + cid + " " + rt.ifName());
                    }
                }
                case "status" -> {
                    cni.status(net);
                    if (!o.json) {
                        out.println("ready: " + net.name());
                    }
                }
                case "gc" -> {
                    GcReport rep = cni.gc(net, null);
                    if (!o.json) {
                        for (CachedAttachment a : rep.deleted()) {
                            out.println("deleted: " + a.networkName() + " " + a.containerId() + " " + a.ifName());
                        }
                    }
                    for (CniError e : rep.errors()) {
                        err.println("jcni: gc " + net.name() + ": " + e.getMessage());
                    }
                    return rep.ok() ? 0 : 1;
                }
                default -> throw new Main.UsageException("unknown command " + verb);
            }
            return 0;
        } catch (CniError | ConfException e) {
            throw RuntimeOptions.failed(e);
        }
    }
}
