package io.jcni.cni;

import io.jcni.cni.json.Json;
import io.jcni.cni.json.JsonException;
import io.jcni.netlink.KernelException;
import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.NotANamespaceException;
import io.jcni.netlink.ns.NetNs;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The plugin skeleton: environment + stdin in, stdout + exit code out, with the validation order
 * and error codes of the reference skel — except that the namespace is checked
 * before the plugin acts, not after. Never exits, never touches System.in/out: the same call
 * serves an exec'd plugin and the resident daemon.
 */
public final class Skeleton {
    private Skeleton() {}

    /** Largest configuration accepted on stdin: real ones are a few KiB; this bounds memory per request. */
    public static final int MAX_STDIN = 1 << 20;

    public static PluginResponse handle(Plugin plugin, PluginRequest request) {
        if (request.env("CNI_COMMAND").equals("VERSION")) {
            return version(request); // stdin is not validated for VERSION
        }
        StringBuilder log = new StringBuilder();
        String version = versionForErrors(request.stdin());
        NetNs netns = null;
        try {
            Invocation inv = validate(plugin, request, log);
            netns = inv.netns();
            version = inv.cniVersion();
            byte[] out = dispatch(plugin, inv);
            return new PluginResponse(out, log.toString(), 0);
        } catch (CniError e) {
            if (e.code() == CniError.INTERNAL && e.getCause() != null) {
                // a bug behind the error (a teardown step that threw): the runtime's log gets where it happened
                java.io.StringWriter trace = new java.io.StringWriter();
                e.printStackTrace(new java.io.PrintWriter(trace));
                log.append(trace);
            }
            return error(e, version, log);
        } catch (KernelException e) {
            return error(
                    new CniError(CniError.KERNEL_REFUSED, "the kernel refused an operation", e.getMessage()),
                    version,
                    log);
        } catch (RuntimeException e) {
            // a bug, not bad input: the runtime's log gets where it happened (stderr), the result the error
            java.io.StringWriter trace = new java.io.StringWriter();
            e.printStackTrace(new java.io.PrintWriter(trace));
            log.append(trace);
            return error(new CniError(CniError.INTERNAL, "internal error", String.valueOf(e)), version, log);
        } finally {
            if (netns != null) {
                netns.close();
            }
        }
    }

    private static PluginResponse error(CniError e, String version, StringBuilder log) {
        return new PluginResponse(Json.writeIndentedBytes(e.toJson(version)), log.toString(), 1);
    }

    private static byte[] dispatch(Plugin plugin, Invocation inv) throws CniError {
        switch (inv.command()) {
            case "ADD": {
                Result r = plugin.add(inv);
                return Json.writeIndentedBytes(r.toJson(inv.cniVersion()));
            }
            case "DEL":
                plugin.del(inv);
                return new byte[0];
            case "CHECK":
                plugin.check(inv);
                return new byte[0];
            case "GC":
                plugin.gc(inv);
                return new byte[0];
            case "STATUS":
                plugin.status(inv);
                return new byte[0];
            default:
                throw new IllegalStateException(inv.command());
        }
    }

    /** The request's cniVersion if stdin is an object with one, for error objects raised before parsing. */
    private static String versionForErrors(byte[] stdin) {
        if (stdin == null || stdin.length == 0 || stdin.length > MAX_STDIN) {
            return CniVersion.LATEST;
        }
        try {
            Object v = Json.parseObject(stdin).get("cniVersion");
            return v instanceof String s && !s.isEmpty() ? s : CniVersion.LATEST;
        } catch (JsonException e) {
            return CniVersion.LATEST;
        }
    }

    /** VERSION's reply: the request's cniVersion echoed, and every version we speak. */
    public static PluginResponse version(PluginRequest request) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cniVersion", versionForErrors(request.stdin()));
        m.put("supportedVersions", new ArrayList<Object>(CniVersion.SUPPORTED));
        return new PluginResponse((Json.write(m) + "\n").getBytes(StandardCharsets.UTF_8), "", 0);
    }

    static Invocation validate(Plugin plugin, PluginRequest req, StringBuilder log) throws CniError {
        String command = req.env("CNI_COMMAND");
        if (command.isEmpty()) {
            throw CniError.invalidEnv(
                    "required env variables [CNI_COMMAND] missing",
                    "CNI " + plugin.name() + " plugin (jcni); CNI protocol versions supported: "
                            + CniVersion.SUPPORTED);
        }
        boolean attachment = command.equals("ADD") || command.equals("DEL") || command.equals("CHECK");
        switch (command) {
            case "ADD", "DEL", "CHECK", "GC", "STATUS", "VERSION" -> {}
            default -> throw CniError.invalidEnv("unknown CNI_COMMAND: " + command, "");
        }
        String containerId = req.env("CNI_CONTAINERID");
        String netnsPath = req.env("CNI_NETNS");
        String ifname = req.env("CNI_IFNAME");
        if (attachment) {
            List<String> missing = new ArrayList<>();
            if (containerId.isEmpty()) {
                missing.add("CNI_CONTAINERID");
            }
            if (netnsPath.isEmpty() && !command.equals("DEL")) {
                missing.add("CNI_NETNS");
            }
            if (ifname.isEmpty()) {
                missing.add("CNI_IFNAME");
            }
            if (!missing.isEmpty()) {
                throw CniError.invalidEnv("required env variables " + missing + " missing", "");
            }
            Names.checkContainerId(containerId);
            Names.checkIfname(ifname);
        }

        byte[] stdin = req.stdin() == null ? new byte[0] : req.stdin();
        if (stdin.length > MAX_STDIN) {
            throw new CniError(
                    CniError.DECODING_FAILURE,
                    "error unmarshall network config",
                    "configuration is " + stdin.length + " bytes, over the " + MAX_STDIN + "-byte limit");
        }
        Map<String, Object> map;
        try {
            map = Json.parseObject(stdin);
        } catch (JsonException e) {
            throw new CniError(CniError.DECODING_FAILURE, "error unmarshall network config", e.getMessage());
        }
        ConfigObject config = new ConfigObject(map, "");
        String name = config.string("name", "");
        Names.checkNetworkName(name);
        String version = config.string("cniVersion", "");
        if (version.isEmpty()) {
            version = "0.1.0"; // what the reference library assumes
        }
        CniVersion.parse(version);
        if (!CniVersion.isSupported(version)) {
            throw new CniError(
                    CniError.INCOMPATIBLE_VERSION,
                    "incompatible CNI versions",
                    "config is \"" + version + "\", plugin supports " + CniVersion.SUPPORTED);
        }
        if (command.equals("CHECK") && !CniVersion.atLeast(version, CniVersion.V040)) {
            throw new CniError(CniError.INCOMPATIBLE_VERSION, "config version does not allow CHECK", version);
        }
        if ((command.equals("GC") || command.equals("STATUS")) && !CniVersion.atLeast(version, CniVersion.V110)) {
            throw new CniError(CniError.INCOMPATIBLE_VERSION, "config version does not allow " + command, version);
        }
        Map<String, String> args = attachment ? CniArgs.parse(req.env("CNI_ARGS"), plugin.knownArgs()) : Map.of();
        List<String> cniPath = new ArrayList<>();
        for (String dir : req.env("CNI_PATH").split(":")) {
            if (!dir.isEmpty()) {
                cniPath.add(dir);
            }
        }
        NetNs netns = attachment ? openNetns(command, netnsPath, req.env("CNI_NETNS_OVERRIDE")) : null;
        return new Invocation(
                command,
                containerId,
                netnsPath,
                netns,
                ifname,
                args,
                cniPath,
                req.env(),
                stdin,
                config,
                version,
                name,
                log);
    }

    /**
     * Opens CNI_NETNS before anything is changed. ADD/CHECK: it must exist (code 3 otherwise) and
     * be a network namespace (code 4), and not our own (code 8). DEL: empty or vanished means the
     * namespace is already gone, which DEL tolerates.
     */
    private static NetNs openNetns(String command, String path, String override) throws CniError {
        boolean del = command.equals("DEL");
        if (path.isEmpty()) {
            return null; // only reachable for DEL
        }
        NetNs ns;
        try {
            ns = NetNs.open(path);
        } catch (NoSuchObjectException e) {
            if (del) {
                return null;
            }
            throw new CniError(CniError.UNKNOWN_CONTAINER, "network namespace does not exist", path);
        } catch (NotANamespaceException e) {
            throw CniError.invalidEnv("CNI_NETNS is not a network namespace", path + ": " + e.kernelMessage());
        } catch (KernelException e) {
            throw new CniError(CniError.INVALID_NETNS, "failed to open netns", e.getMessage());
        }
        boolean overridden = override.equalsIgnoreCase("1") || override.equalsIgnoreCase("true");
        if (!overridden) {
            try (NetNs self = NetNs.open("/proc/self/ns/net")) {
                if (self.inode() == ns.inode()) {
                    ns.close();
                    throw new CniError(CniError.INVALID_NETNS, "netns is the plugin's own network namespace", path);
                }
            }
        }
        return ns;
    }
}
