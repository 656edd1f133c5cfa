package io.jcni.cli;

import io.jcni.cli.inspect.TextTable;
import io.jcni.cni.CniError;
import io.jcni.cni.Names;
import io.jcni.cni.json.Json;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ns.NamedNetns;
import io.jcni.runtime.CachedAttachment;
import io.jcni.runtime.CniRuntime;
import io.jcni.runtime.ConfException;
import io.jcni.runtime.NetworkConfigList;
import io.jcni.runtime.NetworkResult;
import io.jcni.runtime.RuntimeConf;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code jcni pod create|delete|list}: the quickest way to a networked namespace. A pod is a
 * named namespace ({@code /run/netns/NAME}) attached with container ID {@code jcni-pod-NAME};
 * the pods are found again from the result cache, so {@code list} and {@code delete} need no
 * state of their own.
 */
final class PodCommand {
    static final String PREFIX = "jcni-pod-";

    static final String USAGE = """
            Usage: jcni pod create NAME --network NET [options]
                   jcni pod delete NAME [--network NET] [options]
                   jcni pod list [options]

            create makes the namespace /run/netns/NAME and ADDs it to NET (container ID
            jcni-pod-NAME); if the ADD fails, what was made is removed again. delete DELs every
            attachment of the pod found in the cache (with the configuration cached at ADD when
            NET's file is gone) and removes the namespace. list shows the pods in the cache.

            """ + RuntimeOptions.OPTIONS;

    private final PrintStream out;
    private final PrintStream err;
    private final boolean trace;
    private final Trace kernelTrace;
    private final Map<String, String> env;

    PodCommand(PrintStream out, PrintStream err, Trace kernelTrace, Map<String, String> env) {
        this.out = out;
        this.err = err;
        this.kernelTrace = kernelTrace;
        this.trace = kernelTrace != Trace.OFF;
        this.env = env;
    }

    int run(List<String> args) {
        if (args.isEmpty()) {
            err.print(USAGE);
            return 2;
        }
        if (Main.helpAsked(args, out, USAGE)) {
            return 0;
        }
        String verb = args.get(0);
        RuntimeOptions o = RuntimeOptions.parse(args.subList(1, args.size()), env, true);
        CniRuntime cni = o.runtime(trace, err);
        try {
            return switch (verb) {
                case "create" -> create(o, cni);
                case "delete", "del" -> delete(o, cni);
                case "list", "ls" -> list(o, cni);
                default -> throw new Main.UsageException("unknown pod command \"" + verb + "\" (create, delete, list)");
            };
        } catch (CniError | ConfException e) {
            throw RuntimeOptions.failed(e);
        }
    }

    private static String name(RuntimeOptions o, String verb) {
        if (o.positional.size() != 1) {
            throw new Main.UsageException("pod " + verb + " takes exactly one NAME");
        }
        String n = o.positional.get(0);
        // the container ID's rule: the pod's ID is jcni-pod-NAME, and NAME names its namespace's file
        if (!Names.isValidId(n) || n.length() > 64) {
            throw new Main.UsageException("pod name \"" + n
                    + "\" must be letters, digits, '_', '.', '-' (at most 64, not starting with a sign)");
        }
        return n;
    }

    private int create(RuntimeOptions o, CniRuntime cni) throws CniError, ConfException {
        String name = name(o, "create");
        if (o.network == null) {
            throw new Main.UsageException("pod create needs --network NET");
        }
        NetworkConfigList net = CniRuntime.loadNetwork(o.netconf, o.network);
        NamedNetns.create(name, kernelTrace);
        String netns = NamedNetns.pathOf(name);
        RuntimeConf rt = o.runtimeConf(o.containerId != null ? o.containerId : PREFIX + name, netns);
        NetworkResult r;
        try {
            r = cni.add(net, rt);
        } catch (CniError | RuntimeException e) {
            try {
                cni.del(net, rt); // the spec: every ADD is followed by a DEL, also a failed one
            } catch (CniError | RuntimeException ignored) {
                // the ADD's error is the one to report
            }
            NamedNetns.delete(name, kernelTrace);
            throw e;
        }
        if (o.json) {
            out.println(r.toJsonString());
        } else {
            out.println("pod " + name + " (" + netns + ") on network " + net.name() + ", interface " + rt.ifName());
            RuntimeOptions.printResult(out, r);
        }
        return 0;
    }

    private int delete(RuntimeOptions o, CniRuntime cni) throws CniError, ConfException {
        String name = name(o, "delete");
        String cid = o.containerId != null ? o.containerId : PREFIX + name;
        List<CachedAttachment> attachments = new ArrayList<>();
        for (CachedAttachment a : cni.cachedAttachments(cid)) {
            if (o.network == null || a.networkName().equals(o.network)) {
                attachments.add(a);
            }
        }
        boolean nsExists = NamedNetns.exists(name);
        if (attachments.isEmpty() && !nsExists) {
            throw new IllegalArgumentException(
                    "no pod \"" + name + "\"" + (o.network == null ? "" : " on network " + o.network)
                            + " (nothing cached in " + cni.cache().resultsDir() + ", no /run/netns/" + name + ")");
        }
        for (CachedAttachment a : attachments) {
            NetworkConfigList net;
            try {
                net = CniRuntime.loadNetwork(o.netconf, a.networkName());
            } catch (ConfException gone) {
                // the file changed or went away: DEL with the configuration cached at ADD (as the spec asks)
                net = io.jcni.runtime.ConfLoader.parseList(a.config(), a.file().toString());
            }
            cni.del(net, a.runtimeConf());
            if (!o.json) {
                out.println("deleted: " + a.networkName() + " " + a.containerId() + " " + a.ifName());
            }
        }
        if (nsExists && (o.network == null || cni.cachedAttachments(cid).isEmpty())) {
            NamedNetns.delete(name, kernelTrace);
            if (!o.json) {
                out.println("deleted: netns " + name);
            }
        }
        return 0;
    }

    private int list(RuntimeOptions o, CniRuntime cni) {
        Main.noArguments("pod list", o.positional);
        List<Object> pods = new ArrayList<>();
        TextTable t = new TextTable("", "POD", "NETWORK", "IFNAME", "ADDRESSES", "NETNS");
        for (CachedAttachment a : cni.cachedAttachments(null)) {
            if (!a.containerId().startsWith(PREFIX)) {
                continue;
            }
            String pod = a.containerId().substring(PREFIX.length());
            List<String> addrs = new ArrayList<>();
            if (a.result() != null && a.result().get("ips") instanceof List<?> ips) {
                for (Object ip : ips) {
                    if (ip instanceof Map<?, ?> m && m.get("address") instanceof String s) {
                        addrs.add(s);
                    }
                }
            }
            boolean alive = !a.netns().isEmpty() && Files.exists(Path.of(a.netns()));
            t.row(pod, a.networkName(), a.ifName(), String.join(",", addrs), a.netns() + (alive ? "" : " (gone)"));
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("pod", pod);
            m.put("network", a.networkName());
            m.put("ifName", a.ifName());
            m.put("addresses", new ArrayList<Object>(addrs));
            m.put("netns", a.netns());
            m.put("netnsExists", alive);
            pods.add(m);
        }
        if (o.json) {
            out.println(Json.writeIndented(pods));
        } else {
            t.printColumns(out);
        }
        return 0;
    }
}
