package io.jcni.cli.inspect;

import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.nft.NftChain;
import io.jcni.netlink.nft.NftElement;
import io.jcni.netlink.nft.NftTable;
import io.jcni.netlink.nft.Nftables;
import io.jcni.netlink.nft.SetKeyType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The nftables objects jcni owns in one namespace, decoded: the bridge's masquerade
 * ({@code inet jcni}: sets pods4/local4/pods6/local6), portmap's host ports ({@code inet
 * jcni_hostport}: maps ports4/hostip4/ports6/hostip6, sets masq4/masqall4/masq6/masqall6), the
 * bridge's MAC spoof check ({@code bridge jcni_spoofchk}) and the cluster agent's masquerade
 * ({@code inet jcni_cluster}). The layouts are the plugins' (docs/plugins.md).
 */
public final class NftState {
    public static final String MASQ_TABLE = "jcni",
            HOSTPORT_TABLE = "jcni_hostport",
            SPOOF_TABLE = "jcni_spoofchk",
            CLUSTER_TABLE = "jcni_cluster";
    public static final List<String> MASQ_SETS = List.of("pods4", "local4", "pods6", "local6");
    public static final List<String> PORT_MAPS = List.of("ports4", "hostip4", "ports6", "hostip6");
    public static final List<String> PORT_SETS = List.of("masq4", "masqall4", "masq6", "masqall6");

    /** A table jcni owns and the rule count of each of its chains. */
    public record Table(String family, String name, Map<String, Integer> chainRules, int elements) {
        public String text() {
            return family + " " + name;
        }
    }

    /**
     * One element of the bridge's masquerade sets.
     *
     * @param range for a {@code local} element, the pod's own subnet it may talk to un-NATed; null in {@code pods}
     */
    public record MasqElement(String set, IpAddress address, IpPrefix range, String owner, NftElement raw) {
        public String text() {
            return range == null ? address.toString() : address + " . " + range;
        }
    }

    /** One host-port mapping of portmap: {@code proto [hostIP] hostPort → target:targetPort}. */
    public record Mapping(
            String set,
            String protocol,
            IpAddress hostIp,
            int hostPort,
            IpAddress target,
            int targetPort,
            String owner,
            NftElement raw) {
        public String text() {
            return protocol + " " + (hostIp == null ? "" : hostIp + ":") + hostPort + " -> " + target + ":"
                    + targetPort;
        }
    }

    /** One of portmap's masquerade elements (hairpin/localhost pairs, masqAll addresses); {@code target} is the pod's address. */
    public record PortMasq(String set, String text, IpAddress target, String owner, NftElement raw) {}

    private final List<Table> tables = new ArrayList<>();
    private final List<MasqElement> masq = new ArrayList<>();
    private final List<Mapping> mappings = new ArrayList<>();
    private final List<PortMasq> portMasq = new ArrayList<>();
    private final List<String> problems = new ArrayList<>();
    private final List<String> masquerading = new ArrayList<>();

    public List<Table> tables() {
        return tables;
    }

    public List<MasqElement> masq() {
        return masq;
    }

    public List<Mapping> mappings() {
        return mappings;
    }

    public List<PortMasq> portMasq() {
        return portMasq;
    }

    /** Every table (jcni's or not) with a masquerade rule in a postrouting chain: {@code ip jcni_demo}, {@code inet jcni}. */
    public List<String> masquerading() {
        return masquerading;
    }

    /** What could not be read (nftables unusable in the namespace). */
    public List<String> problems() {
        return problems;
    }

    public Table table(String name) {
        for (Table t : tables) {
            if (t.name().equals(name)) {
                return t;
            }
        }
        return null;
    }

    /** Reads the tables through {@code nft}. */
    public static NftState read(Nftables nft) {
        NftState s = new NftState();
        List<NftTable> all;
        try {
            all = nft.tables();
        } catch (RuntimeException e) {
            s.problems.add("nftables: " + e.getMessage());
            return s;
        }
        for (NftTable t : all) {
            s.findMasquerade(nft, t);
            boolean ours = (t.family() == Nftables.INET
                            && (t.name().equals(MASQ_TABLE)
                                    || t.name().equals(HOSTPORT_TABLE)
                                    || t.name().equals(CLUSTER_TABLE)))
                    || (t.family() == Nftables.BRIDGE && t.name().equals(SPOOF_TABLE));
            if (!ours) {
                continue;
            }
            try {
                s.readTable(nft, t);
            } catch (NoSuchObjectException gone) {
                // deleted while we read it
            } catch (RuntimeException e) {
                s.problems.add("nft table " + Nftables.familyName(t.family()) + " " + t.name() + ": " + e.getMessage());
            }
        }
        return s;
    }

    private void findMasquerade(Nftables nft, NftTable t) {
        try {
            for (NftChain c : nft.chains(t.family(), t.name())) {
                if (c.hook() != null && c.hook().hook().equals("postrouting")) {
                    for (io.jcni.netlink.nft.NftRule r : nft.rules(t.family(), t.name(), c.name())) {
                        if (r.expressions().contains("masq")) {
                            masquerading.add(Nftables.familyName(t.family()) + " " + t.name());
                            return;
                        }
                    }
                }
            }
        } catch (RuntimeException unreadable) {
            // a table of a kind this reader does not know (an unusual hook): not a masquerade of ours to show
        }
    }

    private void readTable(Nftables nft, NftTable t) {
        Map<String, Integer> rules = new LinkedHashMap<>();
        for (NftChain c : nft.chains(t.family(), t.name())) {
            rules.put(c.name(), nft.rules(t.family(), t.name(), c.name()).size());
        }
        int elements = 0;
        switch (t.name()) {
            case MASQ_TABLE -> {
                for (String set : MASQ_SETS) {
                    for (NftElement e : elementsOf(nft, t.name(), set)) {
                        if (e.intervalEnd()) {
                            continue;
                        }
                        elements++;
                        masq.add(masqElement(set, e));
                    }
                }
            }
            case HOSTPORT_TABLE -> {
                for (String set : PORT_MAPS) {
                    for (NftElement e : elementsOf(nft, t.name(), set)) {
                        elements++;
                        Mapping m = mapping(set, e);
                        if (m != null) {
                            mappings.add(m);
                        }
                    }
                }
                for (String set : PORT_SETS) {
                    for (NftElement e : elementsOf(nft, t.name(), set)) {
                        elements++;
                        portMasq.add(portMasq(set, e));
                    }
                }
            }
            case SPOOF_TABLE -> {
                for (String set : List.of("ports", "allowed")) {
                    elements += elementsOf(nft, t.name(), set).size();
                }
            }
            default -> {}
        }
        tables.add(new Table(Nftables.familyName(t.family()), t.name(), rules, elements));
    }

    private static List<NftElement> elementsOf(Nftables nft, String table, String set) {
        try {
            return nft.elements(table.equals(SPOOF_TABLE) ? Nftables.BRIDGE : Nftables.INET, table, set);
        } catch (NoSuchObjectException missing) {
            return List.of();
        }
    }

    static MasqElement masqElement(String set, NftElement e) {
        byte[] k = e.key();
        if (e.keyEnd() == null) {
            return new MasqElement(set, IpAddress.of(k), null, e.comment(), e);
        }
        int n = k.length / 2;
        IpAddress a = IpAddress.of(Arrays.copyOf(k, n));
        IpAddress first = IpAddress.of(Arrays.copyOfRange(k, n, 2 * n));
        IpAddress last = IpAddress.of(Arrays.copyOfRange(e.keyEnd(), n, 2 * n));
        return new MasqElement(set, a, prefixOf(first, last), e.comment(), e);
    }

    /** The prefix spanning exactly first..last (what the bridge writes: a pod's subnet). */
    static IpPrefix prefixOf(IpAddress first, IpAddress last) {
        java.math.BigInteger span =
                last.toBigInteger().subtract(first.toBigInteger()).add(java.math.BigInteger.ONE);
        int hostBits = span.bitLength() - 1;
        return new IpPrefix(first, first.bits() - Math.max(0, hostBits));
    }

    static Mapping mapping(String set, NftElement e) {
        byte[] k = e.key();
        byte[] d = e.data();
        // the family from the data itself (the target address and port, padded to 32 bits: 8 bytes
        // for IPv4, 20 for IPv6), not from the set's name
        int n = d != null && d.length >= 18 ? 16 : 4;
        boolean hostIp = set.startsWith("hostip");
        int o = hostIp ? n : 0;
        if (d == null || k.length < o + 8 || d.length < n + 2) {
            return null;
        }
        IpAddress host = hostIp ? IpAddress.of(Arrays.copyOf(k, n)) : null;
        int proto = k[o] & 0xff;
        int port = ((k[o + 4] & 0xff) << 8) | (k[o + 5] & 0xff);
        IpAddress target = IpAddress.of(Arrays.copyOf(d, n));
        int tport = ((d[n] & 0xff) << 8) | (d[n + 1] & 0xff);
        return new Mapping(set, SetKeyType.protocolName(proto), host, port, target, tport, e.comment(), e);
    }

    static PortMasq portMasq(String set, NftElement e) {
        byte[] k = e.key();
        // the key is the target address, or the host address and the target: 4 or 8 bytes for IPv4, 16 or 32 for IPv6
        int n = k.length % 16 == 0 ? 16 : 4;
        IpAddress target = IpAddress.of(Arrays.copyOfRange(k, k.length - n, k.length));
        String text = k.length == n ? target.toString() : IpAddress.of(Arrays.copyOf(k, n)) + " . " + target;
        return new PortMasq(set, text, target, e.comment(), e);
    }
}
