package io.jcni.cni;

import io.jcni.netlink.ns.NetNs;
import java.util.List;
import java.util.Map;

/**
 * A validated request: the verb, the attachment's parameters, the parsed configuration and, for
 * ADD/CHECK (and DEL when the namespace still exists), the opened network namespace.
 */
public final class Invocation {
    private final String command;
    private final String containerId;
    private final String netnsPath;
    private final NetNs netns;
    private final String ifname;
    private final Map<String, String> args;
    private final List<String> cniPath;
    private final Map<String, String> env;
    private final byte[] stdin;
    private final ConfigObject config;
    private final String cniVersion;
    private final String network;
    private final StringBuilder log;

    Invocation(
            String command,
            String containerId,
            String netnsPath,
            NetNs netns,
            String ifname,
            Map<String, String> args,
            List<String> cniPath,
            Map<String, String> env,
            byte[] stdin,
            ConfigObject config,
            String cniVersion,
            String network,
            StringBuilder log) {
        this.command = command;
        this.containerId = containerId;
        this.netnsPath = netnsPath;
        this.netns = netns;
        this.ifname = ifname;
        this.args = args;
        this.cniPath = cniPath;
        this.env = env;
        this.stdin = stdin;
        this.config = config;
        this.cniVersion = cniVersion;
        this.network = network;
        this.log = log;
    }

    public String command() {
        return command;
    }

    public String containerId() {
        return containerId;
    }

    /** CNI_NETNS as given ("" when unset, e.g. on a DEL after the namespace is gone). */
    public String netnsPath() {
        return netnsPath;
    }

    /** The open namespace, or null when CNI_NETNS is empty or no longer exists (DEL only). */
    public NetNs netns() {
        return netns;
    }

    public String ifname() {
        return ifname;
    }

    /** CNI_ARGS, parsed. */
    public Map<String, String> args() {
        return args;
    }

    public List<String> cniPath() {
        return cniPath;
    }

    /** The whole environment the plugin was given (passed on to delegated plugins). */
    public Map<String, String> env() {
        return env;
    }

    /** The configuration bytes exactly as received (passed on to delegated plugins). */
    public byte[] stdin() {
        return stdin;
    }

    public ConfigObject config() {
        return config;
    }

    public String cniVersion() {
        return cniVersion;
    }

    /** The network name ({@code name} of the configuration). */
    public String network() {
        return network;
    }

    /** Writes a line to the plugin's stderr (the runtime's log). */
    public void log(String line) {
        log.append(line).append('\n');
    }

    /** {@code prevResult}, parsed, or null when absent. */
    public Result prevResult() throws CniError {
        ConfigObject p = config.object("prevResult");
        return p == null ? null : Result.parse(p.map(), "prevResult");
    }
}
