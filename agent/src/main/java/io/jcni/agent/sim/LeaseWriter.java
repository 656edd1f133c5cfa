package io.jcni.agent.sim;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.jcni.agent.EtcdLeaseStore;
import io.jcni.agent.Lease;
import io.jcni.agent.NetworkConfig;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ip.MacAddress;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Writes and deletes subnet leases in etcd on command, and says when etcd acknowledged each, for
 * the cluster benchmark's convergence figures. It runs inside an etcd member's namespace (the only
 * place the underlay is reachable from) as a process of its own, and stays up between commands so
 * that a measurement never includes a JVM start or a new connection.
 *
 * <p>Usage: {@code LeaseWriter ENDPOINTS [PREFIX]}, then one command per line on stdin:
 * <pre>
 *   put SUBNET PUBLIC_IP [VTEP_MAC VNI]   e.g. put 10.244.250.0/24 198.18.0.200 0a:6a:62:00:00:01 1
 *   del SUBNET
 * </pre>
 * It prints {@code ready} once etcd answered, then for each command {@code ok T0 T1}: the
 * {@link System#nanoTime()} just before the request was sent and just after etcd's answer arrived
 * (CLOCK_MONOTONIC, so comparable with another process's on the same machine), or
 * {@code error MESSAGE}. The value is flannel's ({@link Lease#valueJson()}), with no etcd lease
 * attached: a reservation, which agents route to like any other lease. End of input ends it.
 */
public final class LeaseWriter {
    private LeaseWriter() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: LeaseWriter ENDPOINTS [PREFIX]   (commands on stdin: put SUBNET PUBLIC_IP [VTEP_MAC VNI] | del SUBNET)");
            System.exit(2);
        }
        List<URI> endpoints = new ArrayList<>();
        for (String e : args[0].split(",")) {
            endpoints.add(URI.create(e.trim()));
        }
        String prefix = args.length > 1 ? args[1] : EtcdLeaseStore.Options.DEFAULT_PREFIX;
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        try (Client client = Client.builder().endpoints(endpoints).build()) {
            // the first call opens the connection: outside any measurement
            client.getKVClient().get(bytes(prefix + "/config")).get(30, TimeUnit.SECONDS);
            out.println("ready");
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                String[] w = line.trim().split("\\s+");
                try {
                    out.println(switch (w[0]) {
                        case "put" -> put(client, prefix, w);
                        case "del" -> del(client, prefix, w);
                        default -> throw new IllegalArgumentException("unknown command \"" + w[0] + "\"");
                    });
                } catch (Exception e) {
                    out.println("error " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().replace('\n', ' ')));
                }
            }
        }
    }

    private static String put(Client client, String prefix, String[] w) throws Exception {
        if (w.length != 3 && w.length != 5) {
            throw new IllegalArgumentException("put SUBNET PUBLIC_IP [VTEP_MAC VNI]");
        }
        IpPrefix subnet = IpPrefix.parse(w[1]);
        boolean vxlan = w.length == 5;
        Lease lease = new Lease(subnet, IpAddress.parse(w[2]), vxlan ? NetworkConfig.VXLAN : NetworkConfig.HOST_GW,
                vxlan ? MacAddress.parse(w[3]) : null, vxlan ? Integer.parseInt(w[4]) : 0, 0);
        ByteSequence key = bytes(key(prefix, subnet)), value = bytes(lease.valueJson());
        long t0 = System.nanoTime();
        client.getKVClient().put(key, value).get(10, TimeUnit.SECONDS);
        long t1 = System.nanoTime();
        return "ok " + t0 + " " + t1;
    }

    private static String del(Client client, String prefix, String[] w) throws Exception {
        if (w.length != 2) {
            throw new IllegalArgumentException("del SUBNET");
        }
        ByteSequence key = bytes(key(prefix, IpPrefix.parse(w[1])));
        long t0 = System.nanoTime();
        client.getKVClient().delete(key).get(10, TimeUnit.SECONDS);
        long t1 = System.nanoTime();
        return "ok " + t0 + " " + t1;
    }

    /** The lease key in the agents' layout: {@code <prefix>/subnets/10.244.3.0-24}. */
    private static String key(String prefix, IpPrefix subnet) {
        return prefix + "/subnets/" + Lease.keyName(subnet);
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }
}
