package io.jcni.agent;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code jcni agent}'s flags. Where flannel has a flag for the same thing, the name is flannel's, so
 * a flannel DaemonSet's arguments carry over.
 */
public final class AgentOptions {
    public static final String USAGE = """
            Usage: jcni agent [FLAGS]
                   jcni agent --kube-subnet-mgr [--node-name NAME] [--kubeconfig FILE] [--net-conf FILE] [FLAGS]

            The node agent of jcni's cluster pod network: leases this node a pod subnet from etcd,
            or takes the podCIDR Kubernetes gave its Node (--kube-subnet-mgr), routes to every other
            node's pods (host-gw or vxlan, as the network configuration says), repairs whatever
            drifts, writes the CNI hand-off once the node is ready and serves the plugins' socket.
            It runs until SIGTERM and leaves the data plane in place when it stops.

            Kubernetes mode (the Node objects are the leases; no etcd):
              --kube-subnet-mgr        take this node's subnet from its Node's spec.podCIDRs, publish
                                       the jcni.io/ annotations, set the NetworkUnavailable condition
              --node-name NAME         this node's Node (default: the NODE_NAME environment variable)
              --kubeconfig FILE        how to reach the API server (default: in-cluster service account,
                                       else KUBECONFIG or ~/.kube/config)
              --net-conf FILE          the network configuration, flannel's net-conf.json keys
                                       (default /etc/jcni/net-conf.json)

            etcd mode (the default):
              --etcd-endpoints URLS    comma-separated (default http://127.0.0.1:2379)
              --etcd-prefix PREFIX     key prefix (default /jcni.io/network): PREFIX/config, PREFIX/subnets/
              --etcd-cafile FILE       TLS: CA bundle to verify etcd with (PEM)
              --etcd-certfile FILE     TLS: client certificate (PEM)
              --etcd-keyfile FILE      TLS: client key (PEM, PKCS#8)
              --subnet-lease-ttl DUR   lease lifetime, renewed well before it ends (default 24h; 30s, 10m, 24h)

            Both modes:
              --iface NAME|ADDRESS     the interface facing the other nodes (default: the default route's)
              --public-ip ADDRESS      this node's address for the others (default: the interface's first IPv4)
              --ip-masq                masquerade traffic from pods to outside the cluster network
              --subnet-file FILE       hand-off for scripts (default /run/jcni/subnet.env)
              --cni-conf-dir DIR       where the network's conflist goes (default /etc/cni/net.d)
              --bridge NAME            the pods' bridge on this node (default jcni0)
              --plugin-socket PATH     serve the CNI plugins here (default /run/jcni/jcni.sock)
              --no-plugin-socket       do not serve the plugins (a separate jcni daemon does)
              --reconcile-interval DUR how often the node is checked for drift (default 10s)
              --metrics-addr HOST:PORT Prometheus metrics on /metrics, health on /healthz
                                       (default 127.0.0.1:9964; :9964 for every address)
              --no-metrics             serve neither
            """;

    /** Where the metrics and /healthz are served unless {@code --metrics-addr} says otherwise. */
    public static final String DEFAULT_METRICS_ADDR = "127.0.0.1:9964";

    List<String> etcdEndpoints = List.of("http://127.0.0.1:2379");
    String etcdPrefix = "/jcni.io/network";
    Path etcdCaFile;
    Path etcdCertFile;
    Path etcdKeyFile;
    String iface;
    String publicIp;
    boolean ipMasq;
    Path subnetFile = Path.of("/run/jcni/subnet.env");
    Duration leaseTtl = Duration.ofHours(24);
    Path cniConfDir = Path.of("/etc/cni/net.d");
    String bridge = "jcni0";
    Path pluginSocket = Path.of("/run/jcni/jcni.sock");
    Duration reconcileInterval = Duration.ofSeconds(10);
    boolean kubeSubnetMgr;
    String nodeName;
    Path kubeconfig;
    Path netConf = Path.of("/etc/jcni/net-conf.json");
    /** null: no metrics server. */
    java.net.InetSocketAddress metricsAddr = metricsAddress(DEFAULT_METRICS_ADDR);

    /** A flag the agent does not know, or a bad value: the message says which. */
    public static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public UsageException(String message) {
            super(message);
        }
    }

    public List<String> etcdEndpoints() {
        return etcdEndpoints;
    }

    public String etcdPrefix() {
        return etcdPrefix;
    }

    public boolean kubeSubnetMgr() {
        return kubeSubnetMgr;
    }

    /** Parses {@code args}; {@code --help} gives null. {@code NODE_NAME} from the process's environment. */
    public static AgentOptions parse(List<String> args) {
        return parse(args, System.getenv());
    }

    /** Parses {@code args} with {@code env} as the environment ({@code NODE_NAME}); {@code --help} gives null. */
    public static AgentOptions parse(List<String> args, java.util.Map<String, String> env) {
        AgentOptions o = new AgentOptions();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            String flag = a;
            String value = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                flag = a.substring(0, eq);
                value = a.substring(eq + 1);
            }
            switch (flag) {
                case "--help", "-h" -> {
                    return null;
                }
                case "--ip-masq" -> o.ipMasq = value == null || Boolean.parseBoolean(value);
                case "--no-plugin-socket" -> o.pluginSocket = null;
                case "--kube-subnet-mgr" -> o.kubeSubnetMgr = value == null || Boolean.parseBoolean(value);
                case "--no-metrics" -> o.metricsAddr = null;
                default -> {
                    if (value == null) {
                        if (i + 1 >= args.size()) {
                            throw new UsageException(flag + " needs a value (see jcni agent --help)");
                        }
                        value = args.get(++i);
                    }
                    o.set(flag, value);
                }
            }
        }
        if ((o.etcdCertFile == null) != (o.etcdKeyFile == null)) {
            throw new UsageException("--etcd-certfile and --etcd-keyfile go together");
        }
        if (o.kubeSubnetMgr && o.nodeName == null) {
            String fromEnv = env.get("NODE_NAME");
            if (fromEnv == null || fromEnv.isBlank()) {
                throw new UsageException(
                        "--kube-subnet-mgr needs this node's name: --node-name NAME or the NODE_NAME environment"
                                + " variable (in a DaemonSet: env NODE_NAME from fieldRef spec.nodeName)");
            }
            o.nodeName = fromEnv.strip();
        }
        return o;
    }

    private void set(String flag, String value) {
        switch (flag) {
            case "--etcd-endpoints" -> etcdEndpoints = endpoints(value);
            case "--etcd-prefix" -> etcdPrefix = prefix(value);
            case "--etcd-cafile" -> etcdCaFile = Path.of(value);
            case "--etcd-certfile" -> etcdCertFile = Path.of(value);
            case "--etcd-keyfile" -> etcdKeyFile = Path.of(value);
            case "--iface" -> iface = nonEmpty(flag, value);
            case "--public-ip" -> publicIp = nonEmpty(flag, value);
            case "--subnet-file" -> subnetFile = Path.of(nonEmpty(flag, value));
            case "--subnet-lease-ttl" -> leaseTtl = positive(flag, parseDuration(flag, value));
            case "--cni-conf-dir" -> cniConfDir = Path.of(nonEmpty(flag, value));
            case "--bridge" -> bridge = nonEmpty(flag, value);
            case "--plugin-socket" -> pluginSocket = Path.of(nonEmpty(flag, value));
            case "--reconcile-interval" -> reconcileInterval = positive(flag, parseDuration(flag, value));
            case "--node-name" -> nodeName = nonEmpty(flag, value);
            case "--kubeconfig" -> kubeconfig = Path.of(nonEmpty(flag, value));
            case "--net-conf" -> netConf = Path.of(nonEmpty(flag, value));
            case "--metrics-addr" -> metricsAddr = metricsAddress(value);
            default -> throw new UsageException("unknown flag \"" + flag + "\" (see jcni agent --help)");
        }
    }

    /**
     * {@code HOST:PORT} (an IPv4 address or {@code [IPv6]}), or {@code :PORT} for every address.
     * Only addresses, no host names: the agent starts before any resolver may be usable.
     */
    public static java.net.InetSocketAddress metricsAddress(String value) {
        int colon = value.lastIndexOf(':');
        if (colon < 0) {
            throw new UsageException("--metrics-addr \"" + value
                    + "\" is not HOST:PORT (e.g. 127.0.0.1:9964, or :9964 for every address)");
        }
        String host = value.substring(0, colon);
        int port;
        try {
            port = Integer.parseInt(value.substring(colon + 1));
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (port < 1 || port > 65535) {
            throw new UsageException("--metrics-addr \"" + value + "\": the port must be 1..65535");
        }
        if (host.isEmpty()) {
            return new java.net.InetSocketAddress(port);
        }
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        io.jcni.netlink.ip.IpAddress a = io.jcni.netlink.ip.IpAddress.tryParse(host);
        if (a == null) {
            throw new UsageException("--metrics-addr \"" + value + "\": \"" + host + "\" is not an IP address");
        }
        try {
            return new java.net.InetSocketAddress(java.net.InetAddress.getByAddress(a.bytes()), port);
        } catch (java.net.UnknownHostException e) {
            throw new UsageException("--metrics-addr \"" + value + "\": " + e.getMessage());
        }
    }

    /** Comma-separated etcd URLs; a bare host:port gets {@code http://}. */
    public static List<String> endpoints(String value) {
        List<String> out = new ArrayList<>();
        for (String e : value.split(",")) {
            e = e.strip();
            if (e.isEmpty()) {
                continue;
            }
            if (!e.contains("://")) {
                e = "http://" + e;
            }
            if (!e.startsWith("http://") && !e.startsWith("https://")) {
                throw new UsageException("--etcd-endpoints: \"" + e + "\" is not an http:// or https:// URL");
            }
            out.add(e);
        }
        if (out.isEmpty()) {
            throw new UsageException("--etcd-endpoints needs at least one URL");
        }
        return List.copyOf(out);
    }

    /** A key prefix: starts with '/', no trailing '/'. */
    public static String prefix(String value) {
        if (!value.startsWith("/") || value.length() < 2) {
            throw new UsageException("--etcd-prefix must start with '/', like /jcni.io/network");
        }
        return value.endsWith("/") ? value.substring(0, value.length() - 1) : value;
    }

    /**
     * A duration as Go and flannel write them: a sequence of numbers with units {@code ms}, {@code s},
     * {@code m}, {@code h} ({@code 30s}, {@code 10m}, {@code 24h}, {@code 1h30m}).
     */
    public static Duration parseDuration(String flag, String text) {
        Duration d = Duration.ZERO;
        int i = 0;
        if (text.isEmpty()) {
            throw new UsageException(flag + ": empty duration");
        }
        while (i < text.length()) {
            int start = i;
            while (i < text.length() && Character.isDigit(text.charAt(i))) {
                i++;
            }
            if (start == i) {
                throw new UsageException(flag + ": \"" + text + "\" is not a duration such as 30s, 10m or 24h");
            }
            long n = Long.parseLong(text.substring(start, i));
            int unitStart = i;
            while (i < text.length() && Character.isLetter(text.charAt(i))) {
                i++;
            }
            d = d.plus(
                    switch (text.substring(unitStart, i)) {
                        case "ms" -> Duration.ofMillis(n);
                        case "s" -> Duration.ofSeconds(n);
                        case "m" -> Duration.ofMinutes(n);
                        case "h" -> Duration.ofHours(n);
                        default ->
                            throw new UsageException(
                                    flag + ": \"" + text + "\" needs a unit: ms, s, m or h (30s, 10m, 24h)");
                    });
        }
        return d;
    }

    private static Duration positive(String flag, Duration d) {
        if (d.isZero() || d.isNegative()) {
            throw new UsageException(flag + " must be longer than zero");
        }
        return d;
    }

    private static String nonEmpty(String flag, String v) {
        if (v.isEmpty()) {
            throw new UsageException(flag + " needs a non-empty value");
        }
        return v;
    }
}
