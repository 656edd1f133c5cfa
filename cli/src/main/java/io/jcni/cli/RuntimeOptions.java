package io.jcni.cli;

import io.jcni.cli.inspect.TextTable;
import io.jcni.cni.CniError;
import io.jcni.cni.Result;
import io.jcni.cni.json.Json;
import io.jcni.cni.json.JsonException;
import io.jcni.netlink.ns.NetNs;
import io.jcni.runtime.CniRuntime;
import io.jcni.runtime.NetworkResult;
import io.jcni.runtime.PluginCall;
import io.jcni.runtime.ResultCache;
import io.jcni.runtime.RuntimeConf;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * What the runtime commands share: cnitool's environment ({@code NETCONFPATH}, {@code CNI_PATH},
 * {@code CNI_ARGS}, {@code CAP_ARGS}, {@code CNI_IFNAME}) overridable by flags, option parsing,
 * the {@code --trace} listener, the result table, and turning runtime errors into one line.
 */
final class RuntimeOptions {
    static final String OPTIONS = """
            Options:
              --ifname, -i NAME     interface in the namespace (default $CNI_IFNAME, else eth0)
              --args K=V;K=V        CNI_ARGS (default $CNI_ARGS)
              --cap JSON            capability arguments, e.g. '{"portMappings":[...]}' (default $CAP_ARGS)
              --container-id ID     CNI_CONTAINERID (default: cnitool's, from the netns path)
              -o json|table         exactly the result JSON, or a table (default)
              --netconf DIR         configuration directory (default $NETCONFPATH, else /etc/cni/net.d)
              --cni-path DIRS       plugin directories, ':'-separated (default $CNI_PATH, else /opt/cni/bin)
              --cache-dir DIR       result cache root (default /var/lib/cni, as libcni)
              --timeout SECONDS     per plugin execution (default 60)
            """;

    final List<String> positional = new ArrayList<>();
    String ifname;
    String args;
    String cap;
    String containerId;
    String network;
    boolean json;
    Path netconf;
    String cniPath;
    Path cacheDir = ResultCache.DEFAULT_DIR;
    Duration timeout = Duration.ofSeconds(60);

    static RuntimeOptions parse(List<String> argv, Map<String, String> env, boolean networkFlag) {
        RuntimeOptions o = new RuntimeOptions();
        o.ifname = env.getOrDefault("CNI_IFNAME", "");
        if (o.ifname.isEmpty()) {
            o.ifname = "eth0";
        }
        o.args = env.getOrDefault("CNI_ARGS", "");
        o.cap = env.getOrDefault("CAP_ARGS", "");
        String ncp = env.getOrDefault("NETCONFPATH", "");
        o.netconf = Path.of(ncp.isEmpty() ? "/etc/cni/net.d" : ncp);
        o.cniPath = env.getOrDefault("CNI_PATH", "");
        if (o.cniPath.isEmpty()) {
            o.cniPath = "/opt/cni/bin";
        }
        for (int i = 0; i < argv.size(); i++) {
            String a = argv.get(i);
            switch (a) {
                case "--ifname", "-i" -> o.ifname = value(argv, ++i, a);
                case "--args" -> o.args = value(argv, ++i, a);
                case "--cap" -> o.cap = value(argv, ++i, a);
                case "--container-id" -> o.containerId = value(argv, ++i, a);
                case "--netconf" -> o.netconf = Path.of(value(argv, ++i, a));
                case "--cni-path" -> o.cniPath = value(argv, ++i, a);
                case "--cache-dir" -> o.cacheDir = Path.of(value(argv, ++i, a));
                case "--timeout" -> {
                    String t = value(argv, ++i, a);
                    try {
                        o.timeout = Duration.ofMillis((long) (Double.parseDouble(t) * 1000));
                    } catch (NumberFormatException e) {
                        throw new Main.UsageException("--timeout needs seconds, got \"" + t + "\"");
                    }
                }
                case "-o", "--output" -> {
                    String f = value(argv, ++i, a);
                    switch (f) {
                        case "json" -> o.json = true;
                        case "table" -> o.json = false;
                        default -> throw new Main.UsageException("-o takes json or table, got \"" + f + "\"");
                    }
                }
                case "--network" -> {
                    if (!networkFlag) {
                        throw new Main.UsageException("unknown option --network");
                    }
                    o.network = value(argv, ++i, a);
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

    /** The value after {@code flag} (at {@code i}), or the usage error every command gives without one. */
    static String value(List<String> argv, int i, String flag) {
        if (i >= argv.size()) {
            throw new Main.UsageException(flag + " needs a value");
        }
        return argv.get(i);
    }

    CniRuntime runtime(boolean trace, PrintStream err) {
        CniRuntime.Builder b =
                CniRuntime.builder().cniPath(cniPath).cacheDir(cacheDir).timeout(timeout);
        if (trace) {
            b.listener(call -> printCall(err, call)); // shows stderr too
        } else {
            b.stderr(err);
        }
        return b.build();
    }

    /** {@code --trace}: one plugin invocation, as it happened. */
    static void printCall(PrintStream err, PluginCall c) {
        err.printf(
                "+ plugin %s %s (%s): exit %d, %d ms%n",
                c.type(), c.env().getOrDefault("CNI_COMMAND", "?"), c.path(), c.exitCode(), c.nanos() / 1_000_000);
        StringBuilder env = new StringBuilder();
        for (String k : List.of("CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH")) {
            env.append(env.isEmpty() ? "" : " ")
                    .append(k)
                    .append('=')
                    .append(c.env().getOrDefault(k, ""));
        }
        err.println("  env:    " + env);
        err.println("  stdin:  " + c.stdin());
        if (!c.stdout().isBlank()) {
            err.println("  stdout: " + oneLine(c.stdout()));
        }
        if (!c.stderr().isBlank()) {
            err.println("  stderr: " + c.stderr().strip().replace("\n", "\n          "));
        }
    }

    private static String oneLine(String s) {
        try {
            return Json.write(Json.parse(s.getBytes(StandardCharsets.UTF_8)));
        } catch (JsonException e) {
            return s.strip();
        }
    }

    /** NETNS as cnitool takes it (a path, made absolute), or a name under /run/netns. */
    static String netnsPath(String arg) {
        if (arg.indexOf('/') < 0 && Files.exists(Path.of(NetNs.RUN_DIR, arg))) {
            return NetNs.RUN_DIR + "/" + arg;
        }
        return Path.of(arg).toAbsolutePath().normalize().toString();
    }

    static void requireNetns(String arg, String path) {
        if (!Files.exists(Path.of(path))) {
            throw new IllegalArgumentException(
                    arg.indexOf('/') < 0
                            ? "netns \"" + arg + "\" does not exist (neither " + NetNs.RUN_DIR + "/" + arg + " nor "
                                    + path + ")"
                            : "netns \"" + path + "\" does not exist");
        }
    }

    /** cnitool's container ID: "cnitool-" + the first 10 bytes of SHA-512(netns path), in hex. */
    static String cnitoolContainerId(String netnsPath) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-512").digest(netnsPath.getBytes(StandardCharsets.UTF_8));
            return "cnitool-" + HexFormat.of().formatHex(h, 0, 10);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @SuppressWarnings("unchecked")
    RuntimeConf runtimeConf(String cid, String netns) {
        List<Map.Entry<String, String>> pairs;
        try {
            pairs = RuntimeConf.parseArgs(args);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageException(e.getMessage());
        }
        Map<String, Object> caps = Map.of();
        if (!cap.isBlank()) {
            try {
                caps = Json.parseObject(cap.getBytes(StandardCharsets.UTF_8));
            } catch (JsonException e) {
                throw new Main.UsageException(
                        "capability arguments (--cap / CAP_ARGS) are not a JSON object: " + e.getMessage());
            }
        }
        return new RuntimeConf(cid, netns, ifname, pairs, caps);
    }

    /** A runtime error as one line (exit 1); the cause kept for --debug. */
    static IllegalStateException failed(Exception e) {
        String msg = e.getMessage();
        if (e instanceof CniError c && c.code() != 0) {
            msg = msg + " (CNI error " + c.code() + ")";
        }
        return new IllegalStateException(msg, e);
    }

    /** The result as the table people read. */
    static void printResult(PrintStream out, NetworkResult r) {
        Result res;
        try {
            res = r.result();
        } catch (CniError e) {
            out.println(r.toJsonString()); // a 0.1.0/0.2.0 result: no table for that shape
            return;
        }
        out.println("cniVersion " + r.cniVersion());
        if (!res.interfaces().isEmpty()) {
            TextTable t = new TextTable("", "INTERFACE", "MAC", "MTU", "SANDBOX");
            for (Result.Interface i : res.interfaces()) {
                t.row(i.name(), nz(i.mac()), i.mtu() == null ? "" : String.valueOf(i.mtu()), nz(i.sandbox()));
            }
            t.printColumns(out);
        }
        if (!res.ips().isEmpty()) {
            TextTable t = new TextTable("", "ADDRESS", "GATEWAY", "INTERFACE");
            for (Result.IpConfig ip : res.ips()) {
                String ifn = "";
                if (ip.interfaceIndex() != null) {
                    int k = ip.interfaceIndex();
                    ifn = k >= 0 && k < res.interfaces().size()
                            ? res.interfaces().get(k).name()
                            : "#" + k;
                }
                t.row(
                        ip.address().toString(),
                        ip.gateway() == null ? "" : ip.gateway().toString(),
                        ifn);
            }
            t.printColumns(out);
        }
        if (!res.routes().isEmpty()) {
            TextTable t = new TextTable("", "ROUTE", "GATEWAY");
            for (Result.RouteEntry re : res.routes()) {
                t.row(re.dst().toString(), re.gw() == null ? "" : re.gw().toString());
            }
            t.printColumns(out);
        }
        if (!res.dns().isEmpty()) {
            out.println("DNS " + String.join(" ", res.dns().nameservers())
                    + (res.dns().domain().isEmpty()
                            ? ""
                            : " domain " + res.dns().domain())
                    + (res.dns().search().isEmpty()
                            ? ""
                            : " search " + String.join(",", res.dns().search())));
        }
    }

    static String nz(String s) {
        return s == null ? "" : s;
    }
}
