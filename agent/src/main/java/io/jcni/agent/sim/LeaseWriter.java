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
 *   fill COUNT SUBNET_LEN [VNI]          e.g. fill 5000 29 1
 * </pre>
 * It prints {@code ready} once etcd answered, then for each command {@code ok T0 T1}: the
 * {@link System#nanoTime()} just before the request was sent and just after etcd's answer arrived
 * (CLOCK_MONOTONIC, so comparable with another process's on the same machine), or
 * {@code error MESSAGE}. The value is flannel's ({@link Lease#valueJson()}), with no etcd lease
 * attached: a reservation, which agents route to like any other lease. End of input ends it.
 *
 * <p>{@code fill} is the load tool of the scale benchmark: it makes sure the {@link #fake fake
 * leases} 0, 1, … exist until COUNT of them were created by this or earlier fills, skipping a
 * subnet some agent holds (each key is created only if absent), with up to {@value #IN_FLIGHT}
 * requests in flight. It answers {@code ok T0 T1 CREATED NEXT}: CREATED keys written by this
 * command, and the next fake index not yet tried.
 */
public final class LeaseWriter {
    private LeaseWriter() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1 || args.length > 2) {
            System.err.println(
                    "usage: LeaseWriter ENDPOINTS [PREFIX]   (commands on stdin: put SUBNET PUBLIC_IP [VTEP_MAC VNI] | del SUBNET)");
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
                    out.println(
                            switch (w[0]) {
                                case "put" -> put(client, prefix, w);
                                case "del" -> del(client, prefix, w);
                                case "fill" -> fill(client, prefix, w);
                                default -> throw new IllegalArgumentException("unknown command \"" + w[0] + "\"");
                            });
                } catch (Exception e) {
                    out.println("error "
                            + (e.getMessage() == null
                                    ? e.getClass().getSimpleName()
                                    : e.getMessage().replace('\n', ' ')));
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
        Lease lease = new Lease(
                subnet,
                IpAddress.parse(w[2]),
                vxlan ? NetworkConfig.VXLAN : NetworkConfig.HOST_GW,
                vxlan ? MacAddress.parse(w[3]) : null,
                vxlan ? Integer.parseInt(w[4]) : 0,
                0);
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

    /** Requests a {@code fill} keeps in flight. */
    static final int IN_FLIGHT = 64;
    /** The next fake index {@code fill} tries, and how many fake leases fills created so far. */
    private static int nextFake, filled;

    /**
     * Fake lease number {@code i} of the scale benchmark, in a network of {@code 10.244.0.0/16}
     * cut into /{@code subnetLen}s: subnets taken from the top of the network down (agents lease
     * at random, a create-if-absent skips theirs), public IPs 198.19.0.1 … 198.19.255.250 (250 a
     * /24, so the peers sit on one /16 that a node can put on its underlay for host-gw), for vxlan
     * a locally administered VTEP MAC {@code 0a:6a:63:..} derived from {@code i}.
     */
    public static Lease fake(int i, int subnetLen, int vni) {
        int count = 1 << (subnetLen - 16);
        if (i < 0 || i >= count - 1 || i >= 250 * 256) {
            throw new IllegalArgumentException("fake lease " + i + ": out of range for /" + subnetLen);
        }
        IpPrefix subnet =
                new IpPrefix(IpAddress.parse("10.244.0.0").add((long) (count - 1 - i) << (32 - subnetLen)), subnetLen);
        IpAddress ip = IpAddress.parse("198.19." + (i / 250) + "." + (i % 250 + 1));
        MacAddress mac = vni == 0
                ? null
                : MacAddress.of(new byte[] {0x0a, 0x6a, 0x63, (byte) (i >> 16), (byte) (i >> 8), (byte) i});
        return new Lease(subnet, ip, vni == 0 ? NetworkConfig.HOST_GW : NetworkConfig.VXLAN, mac, vni, 0);
    }

    private static String fill(Client client, String prefix, String[] w) throws Exception {
        if (w.length != 3 && w.length != 4) {
            throw new IllegalArgumentException("fill COUNT SUBNET_LEN [VNI]");
        }
        int count = Integer.parseInt(w[1]), subnetLen = Integer.parseInt(w[2]);
        int vni = w.length == 4 ? Integer.parseInt(w[3]) : 0;
        long t0 = System.nanoTime();
        int created = 0;
        java.util.ArrayDeque<java.util.concurrent.CompletableFuture<io.etcd.jetcd.kv.TxnResponse>> pending =
                new java.util.ArrayDeque<>();
        while (filled + created < count || !pending.isEmpty()) {
            while (filled + created + pending.size() < count && pending.size() < IN_FLIGHT) {
                Lease l = fake(nextFake++, subnetLen, vni);
                ByteSequence key = bytes(key(prefix, l.subnet()));
                pending.add(client.getKVClient()
                        .txn()
                        .If(new io.etcd.jetcd.op.Cmp(
                                key, io.etcd.jetcd.op.Cmp.Op.EQUAL, io.etcd.jetcd.op.CmpTarget.createRevision(0)))
                        .Then(io.etcd.jetcd.op.Op.put(
                                key, bytes(l.valueJson()), io.etcd.jetcd.options.PutOption.DEFAULT))
                        .commit());
            }
            if (pending.poll().get(30, TimeUnit.SECONDS).isSucceeded()) {
                created++;
            }
        }
        filled += created;
        long t1 = System.nanoTime();
        return "ok " + t0 + " " + t1 + " " + created + " " + nextFake;
    }

    /** The lease key in the agents' layout: {@code <prefix>/subnets/10.244.3.0-24}. */
    private static String key(String prefix, IpPrefix subnet) {
        return prefix + "/subnets/" + Lease.keyName(subnet);
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }
}
