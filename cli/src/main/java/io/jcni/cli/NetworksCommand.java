package io.jcni.cli;

import io.jcni.cli.inspect.TextTable;
import io.jcni.cni.json.Json;
import io.jcni.runtime.CniRuntime;
import io.jcni.runtime.ConfException;
import io.jcni.runtime.NetworkConfigList;
import io.jcni.runtime.NetworkConfigs;
import io.jcni.runtime.PluginConfig;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code jcni networks}: the configurations found, their plugins, and why any file did not load. */
final class NetworksCommand {
    static final String USAGE = """
            Usage: jcni networks [--netconf DIR] [-o json]

            Lists the network configurations in $NETCONFPATH (default /etc/cni/net.d) the way
            libcni finds them (.conflist, then .conf/.json), with their plugins, and every file
            that could not be loaded with the reason.
            """;

    private final PrintStream out;
    private final Map<String, String> env;

    NetworksCommand(PrintStream out, Map<String, String> env) {
        this.out = out;
        this.env = env;
    }

    int run(List<String> args) {
        if (Main.helpAsked(args, out, USAGE)) {
            return 0;
        }
        RuntimeOptions o = RuntimeOptions.parse(args, env, false);
        Main.noArguments("networks", o.positional);
        NetworkConfigs all;
        try {
            all = CniRuntime.loadNetworks(o.netconf);
        } catch (ConfException e) {
            throw RuntimeOptions.failed(e);
        }
        if (o.json) {
            List<Object> nets = new ArrayList<>();
            for (NetworkConfigList n : all.networks()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("name", n.name());
                m.put("cniVersion", n.cniVersion());
                m.put("file", n.file());
                m.put(
                        "plugins",
                        new ArrayList<Object>(
                                n.plugins().stream().map(PluginConfig::type).toList()));
                nets.add(m);
            }
            List<Object> errs = new ArrayList<>();
            for (ConfException e : all.errors()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("file", e.file());
                m.put("error", e.reason());
                errs.add(m);
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("dir", all.dir());
            m.put("networks", nets);
            m.put("errors", errs);
            out.println(Json.writeIndented(m));
            return 0;
        }
        if (all.networks().isEmpty() && all.errors().isEmpty()) {
            out.println("no network configurations in " + o.netconf);
            return 0;
        }
        TextTable t = new TextTable("", "NETWORK", "VERSION", "PLUGINS", "FILE");
        for (NetworkConfigList n : all.networks()) {
            t.row(
                    n.name(),
                    n.cniVersion().isEmpty() ? "-" : n.cniVersion(),
                    String.join(
                            ",", n.plugins().stream().map(PluginConfig::type).toList()),
                    n.file());
        }
        t.printColumns(out);
        for (ConfException e : all.errors()) {
            out.println("error: " + e.file() + ": " + e.reason());
        }
        return 0;
    }
}
