package io.jcni.agent;

import io.jcni.cni.json.Json;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.route.RouteNetlink;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code jcni cluster init|status|leave}: the cluster network's configuration, its leases, and this
 * node's view of its peers. Takes the agent's etcd and interface flags.
 */
final class ClusterCommand {
    static final String USAGE = """
            Usage: jcni cluster init --network CIDR [--subnet-len N] [--subnet-min A] [--subnet-max A]
                                     [--backend vxlan|host-gw] [--vni N] [--port N] [--direct-routing] [--force]
                   jcni cluster status [-o json]
                   jcni cluster leave

            init     writes the network configuration (flannel's net-conf.json keys) to PREFIX/config;
                     an existing different one is kept unless --force
            status   the configuration, every lease (node, subnet, backend data, TTL left) and, on
                     this node, whether each peer's route, neighbour and FDB entry is in place
            leave    releases this node's lease and removes what the agent made here (routes, the
                     VXLAN device, the masquerade, the hand-off files); stop the agent first

            Each takes jcni agent's --etcd-* flags; status and leave also --iface, --public-ip,
            --bridge, and leave --subnet-file and --cni-conf-dir (see jcni agent --help).
            """;

    private final PrintStream out;
    private final PrintStream err;
    private final boolean trace;

    ClusterCommand(PrintStream out, PrintStream err, boolean trace) {
        this.out = out;
        this.err = err;
        this.trace = trace;
    }

    int run(List<String> args) {
        if (args.isEmpty() || args.get(0).equals("--help") || args.get(0).equals("-h")) {
            (args.isEmpty() ? err : out).print(USAGE);
            return args.isEmpty() ? 2 : 0;
        }
        String verb = args.remove(0);
        return switch (verb) {
            case "init" -> init(args);
            case "status" -> status(args);
            case "leave" -> leave(args);
            default -> throw new AgentOptions.UsageException("unknown verb \"" + verb + "\" (init, status or leave)");
        };
    }

    private int init(List<String> args) {
        Map<String, Object> conf = new LinkedHashMap<>();
        Map<String, Object> backend = new LinkedHashMap<>();
        boolean force = false;
        List<String> rest = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            switch (a) {
                case "--network" -> conf.put("Network", value(args, ++i, a));
                case "--subnet-len" -> conf.put("SubnetLen", number(args, ++i, a));
                case "--subnet-min" -> conf.put("SubnetMin", value(args, ++i, a));
                case "--subnet-max" -> conf.put("SubnetMax", value(args, ++i, a));
                case "--backend" -> backend.put("Type", value(args, ++i, a));
                case "--vni" -> backend.put("VNI", number(args, ++i, a));
                case "--port" -> backend.put("Port", number(args, ++i, a));
                case "--direct-routing" -> backend.put("DirectRouting", true);
                case "--force" -> force = true;
                case "--help", "-h" -> {
                    out.print(USAGE);
                    return 0;
                }
                default -> rest.add(a);
            }
        }
        if (!conf.containsKey("Network")) {
            throw new AgentOptions.UsageException("init needs --network CIDR, e.g. --network 10.244.0.0/16");
        }
        backend.putIfAbsent("Type", NetworkConfig.VXLAN);
        conf.put("Backend", backend);
        NetworkConfig config;
        try {
            config = NetworkConfig.parse(Json.write(conf));
        } catch (NetworkConfig.InvalidConfigException e) {
            throw new AgentOptions.UsageException(e.getMessage());
        }
        AgentOptions o = options(rest);
        try (LeaseStore store = EtcdLeaseStore.connect(AgentMain.storeOptions(o, new AgentLog(err)))) {
            NetworkConfig existing = null;
            try {
                existing = store.config();
            } catch (NetworkConfig.InvalidConfigException missingOrBad) {
                // write ours
            }
            if (existing != null && !existing.equals(config) && !force) {
                err.println("jcni cluster init: " + o.etcdPrefix() + "/config already holds " + existing.toJson()
                        + "; changing the network under running agents re-addresses every node: add --force to do it");
                return 1;
            }
            store.putConfig(config);
            traceLine("etcdctl put " + o.etcdPrefix() + "/config '" + config.toJson() + "'");
            out.println("wrote " + o.etcdPrefix() + "/config: " + config.toJson());
        }
        return 0;
    }

    private int status(List<String> args) {
        boolean json = false;
        List<String> rest = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            if (args.get(i).equals("-o") && i + 1 < args.size()) {
                String fmt = args.get(++i);
                if (!fmt.equals("json") && !fmt.equals("table")) {
                    throw new AgentOptions.UsageException("-o takes json or table");
                }
                json = fmt.equals("json");
            } else {
                rest.add(args.get(i));
            }
        }
        AgentOptions o = options(rest);
        try (LeaseStore store = EtcdLeaseStore.connect(AgentMain.storeOptions(o, new AgentLog(err)))) {
            NetworkConfig config;
            try {
                config = store.config();
            } catch (NetworkConfig.InvalidConfigException e) {
                err.println("jcni cluster status: " + e.getMessage());
                return 1;
            }
            List<Lease> leases = new ArrayList<>(store.leases().leases());
            leases.sort(Comparator.comparing(l -> l.subnet().address()));
            Map<IpPrefix, Long> ttl = new LinkedHashMap<>();
            for (Lease l : leases) {
                ttl.put(l.subnet(), store.ttlLeft(l));
            }
            List<Dataplane.PeerState> peers = null;
            String nodeNote = null;
            Lease own = null;
            try (RouteNetlink nl = RouteNetlink.open(Trace.OFF)) {
                Underlay u = Underlay.resolve(nl, o.iface, o.publicIp);
                own = leases.stream()
                        .filter(l -> l.publicIp().equals(u.publicIp()))
                        .findFirst()
                        .orElse(null);
                if (own == null) {
                    nodeNote = "this node (" + u.publicIp() + " on " + u.iface() + ") holds no lease";
                } else {
                    try (Dataplane dp = new Dataplane(nl, Trace.OFF, u.iface(), u.publicIp(), o.bridge)) {
                        peers = dp.inspect(config, own, leases);
                    }
                }
            } catch (IllegalStateException e) {
                nodeNote = "this node's view is not shown: " + e.getMessage();
            }
            if (json) {
                out.println(Json.writeIndented(statusJson(config, leases, ttl, own, peers, nodeNote)));
            } else {
                printStatus(config, leases, ttl, own, peers, nodeNote);
            }
            boolean missing = peers != null
                    && peers.stream()
                            .anyMatch(p -> !p.routePresent()
                                    || Boolean.FALSE.equals(p.neighbourPresent())
                                    || Boolean.FALSE.equals(p.fdbPresent()));
            return missing ? 1 : 0;
        }
    }

    private int leave(List<String> args) {
        AgentOptions o = options(args);
        Handoff handoff = new Handoff(o.subnetFile, o.cniConfDir, o.bridge);
        try (LeaseStore store = EtcdLeaseStore.connect(AgentMain.storeOptions(o, new AgentLog(err)));
                RouteNetlink nl = RouteNetlink.open(trace ? line -> err.println("+ " + line) : Trace.OFF)) {
            Underlay u = Underlay.resolve(nl, o.iface, o.publicIp);
            boolean released = false;
            for (Lease l : store.leases().leases()) {
                if (l.publicIp().equals(u.publicIp())) {
                    store.release(l);
                    traceLine("etcdctl del " + o.etcdPrefix() + "/subnets/" + Lease.keyName(l.subnet()));
                    out.println("released " + l.subnet() + " (" + u.publicIp() + ")");
                    released = true;
                }
            }
            if (!released) {
                out.println("no lease held by " + u.publicIp());
            }
            try (Dataplane dp = new Dataplane(
                    nl, trace ? line -> err.println("+ " + line) : Trace.OFF, u.iface(), u.publicIp(), o.bridge)) {
                Dataplane.Report r = dp.teardown();
                for (String c : r.changes()) {
                    out.println("removed: " + c);
                }
                for (String e : r.errors()) {
                    err.println("jcni cluster leave: " + e);
                }
                for (Path f : handoff.remove()) {
                    out.println("removed " + f);
                }
                return r.errors().isEmpty() ? 0 : 1;
            }
        } catch (IOException e) {
            err.println("jcni cluster leave: " + e.getMessage());
            return 1;
        }
    }

    private void traceLine(String line) {
        if (trace) {
            err.println("+ " + line);
        }
    }

    private static AgentOptions options(List<String> rest) {
        AgentOptions o = AgentOptions.parse(rest);
        if (o == null) {
            throw new AgentOptions.UsageException("see jcni cluster --help");
        }
        return o;
    }

    private static String value(List<String> args, int i, String flag) {
        if (i >= args.size() || args.get(i).isEmpty()) {
            throw new AgentOptions.UsageException(flag + " needs a value");
        }
        return args.get(i);
    }

    private static long number(List<String> args, int i, String flag) {
        try {
            return Long.parseLong(value(args, i, flag));
        } catch (NumberFormatException e) {
            throw new AgentOptions.UsageException(flag + " takes a whole number");
        }
    }

    private Map<String, Object> statusJson(
            NetworkConfig config,
            List<Lease> leases,
            Map<IpPrefix, Long> ttl,
            Lease own,
            List<Dataplane.PeerState> peers,
            String nodeNote) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("config", config.toMap());
        List<Object> ls = new ArrayList<>();
        for (Lease l : leases) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("node", l.publicIp().toString());
            e.put("subnet", l.subnet().toString());
            e.put("publicIP", l.publicIp().toString());
            e.put("backendType", l.backendType());
            if (l.vtepMac() != null) {
                e.put("vtepMAC", l.vtepMac().toString());
                e.put("vni", (long) l.vni());
            }
            e.put("ttlSeconds", ttl.get(l.subnet()));
            e.put("self", own != null && own.subnet().equals(l.subnet()));
            ls.add(e);
        }
        m.put("leases", ls);
        if (peers != null) {
            List<Object> ps = new ArrayList<>();
            for (Dataplane.PeerState p : peers) {
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("subnet", p.peer().subnet().toString());
                e.put("route", p.route());
                e.put("routePresent", p.routePresent());
                if (p.neighbour() != null) {
                    e.put("neighbour", p.neighbour());
                    e.put("neighbourPresent", p.neighbourPresent());
                }
                if (p.fdb() != null) {
                    e.put("fdb", p.fdb());
                    e.put("fdbPresent", p.fdbPresent());
                }
                ps.add(e);
            }
            m.put("thisNode", Map.of("subnet", own.subnet().toString(), "peers", ps));
        } else {
            m.put("thisNode", Map.of("note", nodeNote));
        }
        return m;
    }

    private void printStatus(
            NetworkConfig config,
            List<Lease> leases,
            Map<IpPrefix, Long> ttl,
            Lease own,
            List<Dataplane.PeerState> peers,
            String nodeNote) {
        out.println("network " + config.network() + ", /" + config.subnetLen() + " per node (" + config.subnetMin()
                + " .. "
                + config.subnetMax() + "), backend " + config.backend().type()
                + (config.backend().isVxlan()
                        ? " VNI " + config.backend().vni() + " port "
                                + config.backend().port() + (config.backend().directRouting() ? " DirectRouting" : "")
                        : ""));
        out.println();
        out.printf("%-2s%-16s %-18s %-9s %-19s %s%n", "", "NODE", "SUBNET", "BACKEND", "VTEP MAC", "TTL LEFT");
        for (Lease l : leases) {
            long t = ttl.get(l.subnet());
            out.printf(
                    "%-2s%-16s %-18s %-9s %-19s %s%n",
                    own != null && own.subnet().equals(l.subnet()) ? "*" : "",
                    l.publicIp(),
                    l.subnet(),
                    l.backendType(),
                    l.vtepMac() == null ? "-" : l.vtepMac(),
                    t < 0 ? "no expiry" : t == 0 ? "expired" : AgentLog.duration(java.time.Duration.ofSeconds(t)));
        }
        out.println();
        if (peers == null) {
            out.println(nodeNote);
            return;
        }
        out.println("this node (" + own.publicIp() + ", " + own.subnet() + "), per peer:");
        for (Dataplane.PeerState p : peers) {
            out.println("  " + p.peer().publicIp() + " " + p.peer().subnet());
            out.println("    route      " + mark(p.routePresent()) + "  " + p.route());
            if (p.neighbour() != null) {
                out.println("    neighbour  " + mark(p.neighbourPresent()) + "  " + p.neighbour());
            }
            if (p.fdb() != null) {
                out.println("    fdb        " + mark(p.fdbPresent()) + "  " + p.fdb());
            }
        }
    }

    private static String mark(boolean present) {
        return present ? "ok     " : "MISSING";
    }
}
