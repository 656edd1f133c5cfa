package io.jcni.plugins.bridge;

import static io.jcni.plugins.bridge.BridgeTests.REMOVE;
import static io.jcni.plugins.bridge.BridgeTests.config;
import static io.jcni.plugins.bridge.BridgeTests.ipam;
import static io.jcni.plugins.bridge.BridgeTests.ok;
import static io.jcni.plugins.bridge.BridgeTests.ranges;
import static io.jcni.plugins.bridge.BridgeTests.subnet;
import static io.jcni.plugins.testing.PluginFixture.env;

import io.jcni.cni.PluginRequest;
import io.jcni.cni.PluginResponse;
import io.jcni.cni.Skeleton;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.route.LinkSpec;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.plugins.testing.PluginFixture;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The bridge plugin's bad-input matrix, shared by {@code BridgeBadInputTest} (in-process, with
 * leak checks) and the daemon's client tests (the same rows through the native client, to the
 * daemon and to the standalone JVM). Each row is one request (environment changes + stdin) and
 * the CNI error code it must produce; code 0 (only the IgnoreUnknown row) means success.
 *
 * <p>Env values: {@code $NS} is the row's own namespace, {@code $BASEIP} the base pod's address;
 * a null value unsets the variable. The fixture must own host links {@code <prefix>b2},
 * {@code <prefix>b3} and {@code <prefix>dm} (see {@link #ownLinks}).
 */
public final class BridgeBadInputCases {
    private final PluginFixture f;
    private final Path regularFile;
    private final Path directory;

    /** {@code regularFile}: an existing regular file; {@code directory}: an existing directory (both are "not a netns"). */
    public BridgeBadInputCases(PluginFixture f, Path regularFile, Path directory) {
        this.f = f;
        this.regularFile = regularFile;
        this.directory = directory;
        ownLinks(f);
    }

    /** The host links the rows create, deleted with the fixture. */
    static void ownLinks(PluginFixture f) {
        f.ownHostLink(f.prefix + "b2");
        f.ownHostLink(f.prefix + "b3");
        f.ownHostLink(f.prefix + "dm");
    }

    /** A valid configuration of the fixture's network (cniVersion 1.0.0). */
    public String validConfig() {
        return cfg();
    }

    /** The first address of a successful ADD's result, without prefix length. */
    public static String firstIp(PluginResponse add) {
        return BridgeTests.ip(ok(add), 0);
    }

    /** The row's request environment: an ADD of {@code containerId} in {@code ns} on eth0, with the row's changes. */
    public static Map<String, String> requestEnv(Case c, String containerId, String ns, String baseIp) {
        Map<String, String> env = PluginFixture.env("ADD", containerId, ns, "eth0");
        c.env().forEach((k, v) -> {
            if (v == null) {
                env.remove(k);
            } else {
                env.put(k, v.replace("$NS", ns).replace("$BASEIP", baseIp));
            }
        });
        return env;
    }

    /** One row: what is sent, what must come back; {@code setup} runs in the row's namespace before the "before" snapshot. */
    public record Case(String name, Map<String, String> env, byte[] stdin, int code, Consumer<String> setup) {
        @Override
        public String toString() {
            return name + " -> " + code;
        }
    }

    static Map<String, String> envOf(String... kv) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    static Case row(String name, int code, Map<String, String> env, String stdin) {
        return new Case(name, env, stdin.getBytes(StandardCharsets.UTF_8), code, ns -> {});
    }

    static Case row(String name, int code, Map<String, String> env, String stdin, Consumer<String> setup) {
        return new Case(name, env, stdin.getBytes(StandardCharsets.UTF_8), code, setup);
    }

    /** A valid configuration with some keys changed. */
    String cfg(Object... overrides) {
        return config(f, "1.0.0", overrides);
    }

    String cfgV(String version, Object... overrides) {
        return config(f, version, overrides);
    }

    static Map<String, Object> range(String... kv) {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    Map<String, Object> ipamWith(Object ranges) {
        return ipam(f, ranges);
    }

    /** One request in-process, as the exec'd plugin and the daemon run it. */
    public PluginResponse run(Map<String, String> env, String stdin) {
        return Skeleton.handle(new Bridge(), new PluginRequest(env, stdin.getBytes(StandardCharsets.UTF_8)));
    }

    static final Map<String, String> NONE = Map.of();

    /** The rows; each call makes new ones (setups are not idempotent). */
    public List<Case> table() {
        String o = Integer.toString(f.octet);
        String v4 = subnet(f);
        String slash30 = "10.252." + o + ".0/30";
        String b2 = f.prefix + "b2", b3 = f.prefix + "b3", dummy = f.prefix + "dm";
        String huge = "x".repeat(10 * 1024 * 1024);
        List<Case> t = new ArrayList<>(List.of(
                // ---- stdin is not a network configuration
                row("empty stdin", 6, NONE, ""),
                row("malformed JSON", 6, NONE, "{\"cniVersion\": \"1.0.0\", \"name\": "),
                row("trailing garbage", 6, NONE, cfg() + "}"),
                row("JSON array", 6, NONE, "[]"),
                row("JSON string", 6, NONE, "\"bridge\""),
                row("JSON number", 6, NONE, "42"),
                row("JSON null", 6, NONE, "null"),
                row("10 MB stdin", 6, NONE, cfg("padding", huge)),
                // ---- environment
                row("CNI_COMMAND unset", 4, envOf("CNI_COMMAND", null), cfg()),
                row("CNI_COMMAND lower case", 4, envOf("CNI_COMMAND", "add"), cfg()),
                row("CNI_COMMAND unknown", 4, envOf("CNI_COMMAND", "FROB"), cfg()),
                row("CNI_CONTAINERID unset", 4, envOf("CNI_CONTAINERID", null), cfg()),
                row("CNI_CONTAINERID empty", 4, envOf("CNI_CONTAINERID", ""), cfg()),
                row("CNI_NETNS unset on ADD", 4, envOf("CNI_NETNS", null), cfg()),
                row("CNI_NETNS empty on CHECK", 4, envOf("CNI_COMMAND", "CHECK", "CNI_NETNS", ""), cfg()),
                row("CNI_IFNAME unset", 4, envOf("CNI_IFNAME", null), cfg()),
                row("container id with ../", 4, envOf("CNI_CONTAINERID", "../../etc"), cfg()),
                row("container id with space", 4, envOf("CNI_CONTAINERID", "abc def"), cfg()),
                row("container id starting with -", 4, envOf("CNI_CONTAINERID", "-abc"), cfg()),
                row("ifname 16 bytes", 4, envOf("CNI_IFNAME", "eth0123456789abc"), cfg()),
                row("ifname with /", 4, envOf("CNI_IFNAME", "eth/0"), cfg()),
                row("ifname with :", 4, envOf("CNI_IFNAME", "eth0:1"), cfg()),
                row("ifname with space", 4, envOf("CNI_IFNAME", "eth 0"), cfg()),
                row("ifname with tab", 4, envOf("CNI_IFNAME", "eth\t0"), cfg()),
                row("ifname .", 4, envOf("CNI_IFNAME", "."), cfg()),
                row("ifname ..", 4, envOf("CNI_IFNAME", ".."), cfg()),
                row("netns is a regular file", 4, envOf("CNI_NETNS", regularFile.toString()), cfg()),
                row("netns is a directory", 4, envOf("CNI_NETNS", directory.toString()), cfg()),
                row("netns path missing", 3, envOf("CNI_NETNS", "/run/netns/" + f.prefix + "nonexistent"), cfg()),
                row("netns is the plugin's own", 8, envOf("CNI_NETNS", "/proc/self/ns/net"), cfg()),
                row("CNI_ARGS unknown key", 4, envOf("CNI_ARGS", "FOO=bar"), cfg()),
                row("CNI_ARGS pair without =", 4, envOf("CNI_ARGS", "garbage"), cfg()),
                row("CNI_ARGS bad IgnoreUnknown", 4, envOf("CNI_ARGS", "IgnoreUnknown=maybe;FOO=1"), cfg()),
                row(
                        "CNI_ARGS unknown key + IgnoreUnknown=1 (success)",
                        0,
                        envOf("CNI_ARGS", "IgnoreUnknown=1;FOO=bar"),
                        cfg()),
                // ---- name and version
                row("empty object", 7, NONE, "{}"),
                row("name missing", 7, NONE, cfg("name", REMOVE)),
                row("name empty", 7, NONE, cfg("name", "")),
                row("name with space", 7, NONE, cfg("name", "my net")),
                row("name with /", 7, NONE, cfg("name", "../net")),
                row("name not a string", 7, NONE, cfg("name", 5)),
                row("cniVersion unsupported 2.0.0", 1, NONE, cfgV("2.0.0")),
                row("cniVersion unsupported 0.2.0", 1, NONE, cfgV("0.2.0")),
                row("cniVersion 1.0 (two parts)", 1, NONE, cfgV("1.0")),
                row("cniVersion malformed abc", 6, NONE, cfgV("abc")),
                row("cniVersion malformed 1.x.0", 6, NONE, cfgV("1.x.0")),
                row("cniVersion malformed 1.0.0.0", 6, NONE, cfgV("1.0.0.0")),
                row("CHECK with 0.3.1", 1, envOf("CNI_COMMAND", "CHECK"), cfgV("0.3.1")),
                row("GC with 1.0.0", 1, envOf("CNI_COMMAND", "GC"), cfgV("1.0.0")),
                row("STATUS with 1.0.0", 1, envOf("CNI_COMMAND", "STATUS"), cfgV("1.0.0")),
                row("CHECK without prevResult", 7, envOf("CNI_COMMAND", "CHECK"), cfgV("1.0.0")),
                // ---- bridge options
                row("isGateway \"yes\"", 7, NONE, cfg("isGateway", "yes")),
                row("mtu \"1500\"", 7, NONE, cfg("mtu", "1500")),
                row("mtu 70000", 7, NONE, cfg("mtu", 70000)),
                row("mtu -1", 7, NONE, cfg("mtu", -1)),
                row("ipam []", 7, NONE, cfg("ipam", List.of())),
                row("bridge 5", 7, NONE, cfg("bridge", 5)),
                row("dns a string", 7, NONE, cfg("dns", "8.8.8.8")),
                row("hairpinMode + promiscMode", 7, NONE, cfg("hairpinMode", true, "promiscMode", true)),
                row("vlan 5000", 7, NONE, cfg("vlan", 5000)),
                row("vlan -1", 7, NONE, cfg("vlan", -1)),
                row("vlanTrunk minID without maxID", 7, NONE, cfg("vlanTrunk", List.of(Map.of("minID", 10)))),
                row("vlanTrunk minID > maxID", 7, NONE, cfg("vlanTrunk", List.of(Map.of("minID", 20, "maxID", 10)))),
                row("vlanTrunk id 0", 7, NONE, cfg("vlanTrunk", List.of(Map.of("id", 0)))),
                row("ipMasqBackend unknown", 7, NONE, cfg("ipMasqBackend", "pf")),
                row("disableContainerInterface with IPAM", 7, NONE, cfg("disableContainerInterface", true)),
                row("runtimeConfig.mac invalid", 7, NONE, cfg("runtimeConfig", Map.of("mac", "zz:zz"))),
                row("CNI_ARGS MAC invalid", 7, envOf("CNI_ARGS", "MAC=01:02"), cfg()),
                row(
                        "bridge name is an existing veth",
                        7,
                        NONE,
                        cfg("bridge", dummy),
                        ns -> hostLink(LinkSpec.veth(dummy, dummy + "p"))), // no dummy module on this kernel
                // ---- IPAM
                row("IPAM type unknown (not in CNI_PATH)", 7, NONE, cfg("ipam", Map.of("type", "no-such-ipam"))),
                row("IPAM type ../../bin/sh", 7, NONE, cfg("ipam", Map.of("type", "../../bin/sh"))),
                row("IPAM type /bin/sh", 7, NONE, cfg("ipam", Map.of("type", "/bin/sh"))),
                row("IPAM type not a string", 7, NONE, cfg("ipam", Map.of("type", 1))),
                row("ranges empty", 7, NONE, cfg("ipam", ipamWith(List.of()))),
                row("range set empty", 7, NONE, cfg("ipam", ipamWith(List.of(List.of())))),
                row("subnet invalid", 7, NONE, cfg("ipam", ipamWith(ranges("not-a-subnet")))),
                row("subnet /33", 7, NONE, cfg("ipam", ipamWith(ranges("10.251." + o + ".0/33")))),
                row("subnet with host bits", 7, NONE, cfg("ipam", ipamWith(ranges("10.251." + o + ".5/24")))),
                row("subnet /32 too small", 7, NONE, cfg("ipam", ipamWith(ranges("10.251." + o + ".9/32")))),
                row("range sets overlap", 7, NONE, cfg("ipam", ipamWith(ranges(v4, "10.251." + o + ".128/25")))),
                row(
                        "ranges in a set overlap",
                        7,
                        NONE,
                        cfg(
                                "ipam",
                                ipamWith(List.of(
                                        List.of(range("subnet", v4), range("subnet", "10.251." + o + ".0/25")))))),
                row(
                        "mixed families in a set",
                        7,
                        NONE,
                        cfg("ipam", ipamWith(List.of(List.of(range("subnet", v4), range("subnet", "fd00:251::/64")))))),
                row(
                        "rangeStart outside subnet",
                        7,
                        NONE,
                        cfg("ipam", ipamWith(List.of(List.of(range("subnet", v4, "rangeStart", "10.9.9.9")))))),
                row(
                        "rangeStart after rangeEnd",
                        7,
                        NONE,
                        cfg(
                                "ipam",
                                ipamWith(List.of(List.of(range(
                                        "subnet",
                                        v4,
                                        "rangeStart",
                                        "10.251." + o + ".50",
                                        "rangeEnd",
                                        "10.251." + o + ".40")))))),
                // ---- failures after the veth exists: the rollback must leave nothing
                row("requested IP outside the ranges", 7, envOf("CNI_ARGS", "IP=10.9.9.9"), cfg()),
                row("requested IP taken by the base pod", 101, envOf("CNI_ARGS", "IP=" + "$BASEIP"), cfg()),
                row(
                        "/30 exhausted",
                        101,
                        NONE,
                        cfg("bridge", b3, "ipam", ipamWith(ranges(slash30))),
                        ns -> ok(run(
                                env("ADD", "fill", ns, "net1"), cfg("bridge", b3, "ipam", ipamWith(ranges(slash30)))))),
                row("bridge has a different address, no forceAddress", 7, NONE, cfg("bridge", b2), ns -> {
                    hostLink(LinkSpec.bridge(b2).up());
                    try (RouteNetlink host = RouteNetlink.open(Trace.OFF)) {
                        host.addresses().add(b2, IpPrefix.parse("192.0.2.1/24"));
                    }
                }),
                row(
                        "duplicate ADD of the same ifname",
                        103,
                        NONE,
                        cfg(),
                        ns -> ok(run(env("ADD", "dup", ns, "eth0"), cfg())))));
        // the duplicate must use the same container id as the first ADD
        t.replaceAll(c -> c.name.equals("duplicate ADD of the same ifname")
                ? new Case(c.name, envOf("CNI_CONTAINERID", "dup"), c.stdin, c.code, c.setup)
                : c);
        return t;
    }

    static void hostLink(LinkSpec spec) {
        try (RouteNetlink host = RouteNetlink.open(Trace.OFF)) {
            host.links().add(spec);
        }
    }
}
