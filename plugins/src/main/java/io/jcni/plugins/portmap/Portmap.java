package io.jcni.plugins.portmap;

import io.jcni.cni.CniError;
import io.jcni.cni.Fnv;
import io.jcni.cni.ConfigObject;
import io.jcni.cni.Invocation;
import io.jcni.cni.Plugin;
import io.jcni.cni.Result;
import io.jcni.cni.Teardown;
import io.jcni.netlink.KernelException;
import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.ObjectExistsException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ct.Conntrack;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.nft.ChainHook;
import io.jcni.netlink.nft.NftBatch;
import io.jcni.netlink.nft.NftElement;
import io.jcni.netlink.nft.Nftables;
import io.jcni.netlink.nft.Rule;
import io.jcni.netlink.nft.SetKeyType;
import io.jcni.netlink.ns.Sysctl;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.plugins.portmap.PortmapConfig.Mapping;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import static io.jcni.netlink.nft.Rule.Field.*;

/**
 * {@code portmap}: hostPort → container DNAT on nftables, constant cost per pod. One table,
 * {@code inet jcni_hostport}, shared by every network and pod:
 *
 * <pre>
 * map ports4   { type inet_proto . inet_service : ipv4_addr . inet_service }             # hostPort on every address
 * map hostip4  { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service } # hostPort on one hostIP
 * map ports6, hostip6                                                                     # the same for IPv6
 * set masq4    { type ipv4_addr . ipv4_addr }  # (pod . pod) hairpin and (127.0.0.1 . pod) localhost: saddr . daddr to masquerade
 * set masq6    { type ipv6_addr . ipv6_addr }  # (pod . pod)
 * set masqall4 { type ipv4_addr }, masqall6    # masqAll pods: every DNATed connection to them is masqueraded
 * chain prerouting  { type nat hook prerouting priority dstnat }  # meta nfproto ipv4 [conditionsV4] fib daddr type local jump hostports
 * chain output      { type nat hook output priority dstnat }      # the same, for connections from the node itself
 * chain hostports   # dnat ip to ip daddr . meta l4proto . th dport map @hostip4 ; meta nfproto ipv4 dnat ip to meta l4proto . th dport map @ports4 ; (and ip6)
 * chain postrouting { type nat hook postrouting priority srcnat } # ct status dnat ip saddr . ip daddr @masq4 masquerade ; ct status dnat ip daddr @masqall4 masquerade ; (and ip6)
 * </pre>
 *
 * A mapping is one map element (key: protocol and host port, with the host address when
 * {@code hostIP} is set; data: container address and port), a pod with {@code snat} one or two
 * masquerade elements per address; each element carries the attachment as its comment
 * ({@code <network>/<containerID>/<ifname>}), which is how DEL without mappings and GC find
 * them. ADD is one transaction (the objects are created only when the table is missing); the
 * map key is a claim: a second container mapping the same host port (and protocol, and hostIP)
 * fails with {@link #HOST_PORT_TAKEN}, instead of silently shadowing the first. A hostIP-bound
 * mapping wins over an every-address mapping of the same port for its address.
 */
public final class Portmap implements Plugin {
    static final String TABLE = "jcni_hostport";
    static final int FAMILY = Nftables.INET;
    /** ADD: another attachment already maps this host port (protocol, hostIP). */
    public static final int HOST_PORT_TAKEN = 120;

    static final String PORTS4 = "ports4", PORTS6 = "ports6", HOSTIP4 = "hostip4", HOSTIP6 = "hostip6",
            MASQ4 = "masq4", MASQ6 = "masq6", MASQALL4 = "masqall4", MASQALL6 = "masqall6";
    static final String HOSTPORTS = "hostports", PREROUTING = "prerouting", OUTPUT = "output", POSTROUTING = "postrouting";
    static final List<String> MAPS = List.of(PORTS4, HOSTIP4, PORTS6, HOSTIP6);
    static final List<String> SETS = List.of(MASQ4, MASQALL4, MASQ6, MASQALL6);
    /** The maps and sets keyed by an IPv4 address (the others by IPv6), as the table declares them. */
    private static final Set<String> IPV4 = Set.of(PORTS4, HOSTIP4, MASQ4, MASQALL4);
    private static final IpAddress LOCALHOST = IpAddress.parse("127.0.0.1");

    private final Trace trace;

    public Portmap() {
        this(Trace.OFF);
    }

    /** With a trace, every kernel change is also reported as its nft/sysctl/conntrack command. */
    public Portmap(Trace trace) {
        this.trace = trace;
    }

    @Override
    public String name() {
        return "portmap";
    }

    @Override
    public Set<String> knownArgs() {
        return Set.of();
    }

    /** One element this plugin owns: where, key, data (null in a set), and its nft text. */
    record Element(String set, byte[] key, byte[] data, String text) {
        boolean isMapping() {
            return MAPS.contains(set);
        }

        boolean isV4() {
            return Portmap.isV4(set);
        }
    }

    /** Whether {@code set}'s addresses are IPv4: the set's declared type, not a guess from its name. */
    static boolean isV4(String set) {
        if (!MAPS.contains(set) && !SETS.contains(set)) {
            throw new IllegalArgumentException("not a set of the table: " + set);
        }
        return IPV4.contains(set);
    }

    // ------------------------------------------------------------------ names

    /** The comment on every element of an attachment: {@code <network>/<containerID>/<ifname>} (≤ 128 bytes). */
    public static String owner(String network, String containerId, String ifname) {
        String o = networkTag(network) + "/" + containerId + "/" + ifname;
        if (o.getBytes(StandardCharsets.UTF_8).length > 120 || o.indexOf('"') >= 0) {
            o = networkTag(network) + "/#" + hash(containerId + "/" + ifname);
        }
        return o;
    }

    /** The network part of {@link #owner}: the name, or a hash when it is long. */
    public static String networkTag(String network) {
        return network.length() <= 48 && network.indexOf('"') < 0 && network.indexOf('/') < 0 ? network : "#" + hash(network);
    }

    private static String hash(String s) {
        return Long.toHexString(Fnv.hash64(s));
    }

    static SetKeyType keyType(String set) {
        return switch (set) {
            case PORTS4, PORTS6 -> SetKeyType.INET_PROTO_INET_SERVICE;
            case HOSTIP4 -> SetKeyType.IPV4_ADDR_INET_PROTO_INET_SERVICE;
            case HOSTIP6 -> SetKeyType.IPV6_ADDR_INET_PROTO_INET_SERVICE;
            case MASQ4 -> SetKeyType.IPV4_ADDR_IPV4_ADDR;
            case MASQ6 -> SetKeyType.IPV6_ADDR_IPV6_ADDR;
            case MASQALL4 -> SetKeyType.IPV4_ADDR;
            default -> SetKeyType.IPV6_ADDR;
        };
    }

    // ------------------------------------------------------------------ what an attachment owns

    /**
     * The container addresses, as the reference picks them: the first IPv4 and the first IPv6
     * address of prevResult whose interface (when its index is set and in range) is CNI_IFNAME
     * with a sandbox.
     */
    static List<IpAddress> containerAddresses(Result prev, String ifname) {
        IpAddress v4 = null, v6 = null;
        for (Result.IpConfig ip : prev.ips()) {
            Integer idx = ip.interfaceIndex();
            if (idx != null && idx >= 0 && idx < prev.interfaces().size()) {
                Result.Interface i = prev.interfaces().get(idx);
                if (!i.name().equals(ifname) || i.sandbox() == null || i.sandbox().isEmpty()) {
                    continue;
                }
            }
            IpAddress a = ip.address().address();
            if (a.isV4() && v4 == null) {
                v4 = a;
            } else if (a.isV6() && v6 == null) {
                v6 = a;
            }
        }
        List<IpAddress> out = new ArrayList<>(2);
        if (v4 != null) {
            out.add(v4);
        }
        if (v6 != null) {
            out.add(v6);
        }
        return out;
    }

    /** The elements ADD makes for these mappings and addresses. */
    static List<Element> plan(PortmapConfig c, List<Mapping> mappings, List<IpAddress> addresses) {
        List<Element> out = new ArrayList<>();
        for (IpAddress a : addresses) {
            boolean v4 = a.isV4();
            boolean any = false;
            for (Mapping m : mappings) {
                if (!m.appliesTo(a)) {
                    continue;
                }
                any = true;
                out.add(mapping(m, a));
            }
            if (any && c.snat) {
                out.addAll(masqElements(a, c.masqAll));
            }
        }
        return out;
    }

    private static Element mapping(Mapping m, IpAddress a) {
        boolean v4 = a.isV4();
        String set = m.hostIP() == null ? (v4 ? PORTS4 : PORTS6) : (v4 ? HOSTIP4 : HOSTIP6);
        byte[] key = m.hostIP() == null ? SetKeyType.protoPort(m.protocol(), m.hostPort())
                : SetKeyType.addressProtoPort(m.hostIP(), m.protocol(), m.hostPort());
        byte[] data = SetKeyType.addressPort(a, m.containerPort());
        SetKeyType dataType = v4 ? SetKeyType.IPV4_ADDR_INET_SERVICE : SetKeyType.IPV6_ADDR_INET_SERVICE;
        return new Element(set, key, data, keyType(set).format(key) + " : " + dataType.format(data));
    }

    private static List<Element> masqElements(IpAddress a, boolean masqAll) {
        List<Element> out = new ArrayList<>(2);
        if (masqAll) {
            String set = a.isV4() ? MASQALL4 : MASQALL6;
            out.add(new Element(set, a.bytes(), null, a.toString()));
        } else {
            String set = a.isV4() ? MASQ4 : MASQ6;
            out.add(new Element(set, SetKeyType.addressPair(a, a), null, a + " . " + a));
            if (a.isV4()) {
                out.add(new Element(set, SetKeyType.addressPair(LOCALHOST, a), null, LOCALHOST + " . " + a));
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ ADD

    @Override
    public Result add(Invocation inv) throws CniError {
        PortmapConfig c = PortmapConfig.parse(inv);
        Result prev = inv.prevResult();
        if (prev == null) {
            throw new CniError(CniError.INVALID_NETWORK_CONFIG, "must be called as chained plugin");
        }
        if (c.markMasqBit != null) {
            inv.log("portmap: markMasqBit " + c.markMasqBit + " is for the iptables backend; ignored with nftables");
        }
        if (c.mappings.isEmpty()) {
            return prev;
        }
        List<IpAddress> addresses = containerAddresses(prev, inv.ifname());
        List<Element> elements = plan(c, c.mappings, addresses);
        if (elements.isEmpty()) {
            inv.log("portmap: no container address of a mapped family in prevResult; nothing to do");
            return prev;
        }
        if (c.snat) {
            for (IpAddress a : addresses) {
                if (a.isV4()) {
                    routeLocalnet(a);
                }
            }
        }
        String owner = owner(inv.network(), inv.containerId(), inv.ifname());
        try (Nftables nft = Nftables.open(trace)) {
            try {
                commit(nft, c, elements, owner);
            } catch (ObjectExistsException taken) {
                throw new CniError(HOST_PORT_TAKEN, "host port already mapped", whoHolds(nft, elements, taken));
            }
        }
        flushUdp(inv, udpPorts(elements));
        return prev;
    }

    /** Names the mappings that clash and the attachments holding them. */
    private static String whoHolds(Nftables nft, List<Element> elements, ObjectExistsException e) {
        List<String> clashes = new ArrayList<>();
        for (Element el : elements) {
            if (!el.isMapping()) {
                continue;
            }
            NftElement have = nft.element(FAMILY, TABLE, el.set(), el.key());
            if (have != null && !Arrays.equals(have.data(), el.data())) {
                SetKeyType dt = el.isV4() ? SetKeyType.IPV4_ADDR_INET_SERVICE : SetKeyType.IPV6_ADDR_INET_SERVICE;
                clashes.add(keyType(el.set()).format(el.key()) + " is mapped to " + dt.format(have.data())
                        + (have.comment() == null ? "" : " by " + have.comment()));
            }
        }
        return clashes.isEmpty() ? e.getMessage() : String.join("; ", clashes);
    }

    /**
     * One transaction: the objects and static rules (idempotent, so whatever of the table was
     * deleted comes back), the entry rules with this ADD's conditions, the elements. Each element
     * is added, deleted and added again with this attachment's comment: a mapping with other data
     * fails the first add (the port is someone else's: 120), and an identical element left by a
     * previous owner of the address becomes this attachment's, so that owner's late DEL leaves it.
     */
    private static void commit(Nftables nft, PortmapConfig c, List<Element> elements, String owner) {
        NftBatch b = nft.batch();
        setUp(b);
        for (String chain : List.of(PREROUTING, OUTPUT)) {
            b.flushChain(FAMILY, TABLE, chain);
            b.addRule(FAMILY, TABLE, chain, c.conditionsV4.apply(Rule.create().nfproto(Nftables.IP)).fibDaddrLocal().jump(HOSTPORTS),
                    "jcni-portmap ipv4");
            b.addRule(FAMILY, TABLE, chain, c.conditionsV6.apply(Rule.create().nfproto(Nftables.IP6)).fibDaddrLocal().jump(HOSTPORTS),
                    "jcni-portmap ipv6");
        }
        for (Element e : elements) {
            b.addElement(FAMILY, TABLE, e.set(), e.key(), e.data(), null, e.text());
            b.deleteElement(FAMILY, TABLE, e.set(), e.key(), keyType(e.set()).format(e.key()));
            b.addElement(FAMILY, TABLE, e.set(), e.key(), e.data(), owner, e.text());
        }
        b.commit();
    }

    /** The table's objects, idempotently: maps, sets, chains, the static rules (rewritten). */
    static void setUp(NftBatch b) {
        b.addTable(FAMILY, TABLE);
        b.addMap(FAMILY, TABLE, PORTS4, keyType(PORTS4), SetKeyType.IPV4_ADDR_INET_SERVICE);
        b.addMap(FAMILY, TABLE, HOSTIP4, keyType(HOSTIP4), SetKeyType.IPV4_ADDR_INET_SERVICE);
        b.addMap(FAMILY, TABLE, PORTS6, keyType(PORTS6), SetKeyType.IPV6_ADDR_INET_SERVICE);
        b.addMap(FAMILY, TABLE, HOSTIP6, keyType(HOSTIP6), SetKeyType.IPV6_ADDR_INET_SERVICE);
        for (String s : SETS) {
            b.addSet(FAMILY, TABLE, s, keyType(s), false);
        }
        b.addChain(FAMILY, TABLE, HOSTPORTS, null);
        b.addChain(FAMILY, TABLE, PREROUTING, ChainHook.nat("prerouting", -100));
        b.addChain(FAMILY, TABLE, OUTPUT, ChainHook.nat("output", -100));
        b.addChain(FAMILY, TABLE, POSTROUTING, ChainHook.nat("postrouting", 100));
        b.flushChain(FAMILY, TABLE, HOSTPORTS);
        b.addRule(FAMILY, TABLE, HOSTPORTS, Rule.create().dnatMap(Nftables.IP, true, HOSTIP4), "hostIP-bound mappings first");
        b.addRule(FAMILY, TABLE, HOSTPORTS, Rule.create().nfproto(Nftables.IP).dnatMap(Nftables.IP, false, PORTS4), null);
        b.addRule(FAMILY, TABLE, HOSTPORTS, Rule.create().dnatMap(Nftables.IP6, true, HOSTIP6), "hostIP-bound mappings first");
        b.addRule(FAMILY, TABLE, HOSTPORTS, Rule.create().nfproto(Nftables.IP6).dnatMap(Nftables.IP6, false, PORTS6), null);
        b.flushChain(FAMILY, TABLE, POSTROUTING);
        b.addRule(FAMILY, TABLE, POSTROUTING, Rule.create().ctStatusDnat().pairInSet(IP_SADDR, IP_DADDR, MASQ4).masquerade(),
                "hairpin and localhost");
        b.addRule(FAMILY, TABLE, POSTROUTING, Rule.create().ctStatusDnat().inSet(IP_DADDR, MASQALL4).masquerade(), "masqAll");
        b.addRule(FAMILY, TABLE, POSTROUTING, Rule.create().ctStatusDnat().pairInSet(IP6_SADDR, IP6_DADDR, MASQ6).masquerade(),
                "hairpin");
        b.addRule(FAMILY, TABLE, POSTROUTING, Rule.create().ctStatusDnat().inSet(IP6_DADDR, MASQALL6).masquerade(), "masqAll");
    }

    /**
     * 127.0.0.1-sourced connections DNATed to the pod leave through the interface that routes to
     * it; the kernel drops them there unless {@code route_localnet} is on (the reference does the same).
     */
    private void routeLocalnet(IpAddress container) {
        String dev;
        try (RouteNetlink rt = RouteNetlink.open(trace)) {
            dev = rt.routes().outputDevice(container);
        }
        if (dev != null && !dev.equals("lo")) {
            Sysctl.ensure(null, "net/ipv4/conf/" + dev + "/route_localnet", "1", trace);
        }
    }

    // ------------------------------------------------------------------ conntrack

    /** {family (4/6), port} of the UDP mappings among {@code elements}. */
    private static Set<List<Integer>> udpPorts(List<Element> elements) {
        Set<List<Integer>> out = new LinkedHashSet<>();
        for (Element e : elements) {
            if (e.isMapping() && protocolOf(e.set(), e.key()) == Conntrack.UDP) {
                out.add(List.of(e.isV4() ? Conntrack.AF_INET : Conntrack.AF_INET6, portOf(e.set(), e.key())));
            }
        }
        return out;
    }

    /** Removes stale UDP conntrack entries towards these host ports: they would keep their old DNAT. Failures are logged only. */
    private void flushUdp(Invocation inv, Set<List<Integer>> ports) {
        if (ports.isEmpty()) {
            return;
        }
        try (Conntrack ct = Conntrack.open(trace)) {
            for (List<Integer> p : ports) {
                ct.deleteByOriginalDestinationPort(p.get(0), Conntrack.UDP, p.get(1));
            }
        } catch (RuntimeException e) {
            inv.log("portmap: could not flush UDP conntrack entries: " + e.getMessage());
        }
    }

    /** Where the protocol byte sits in a mapping key: after the address for hostIP maps. */
    private static int protoOffset(String set) {
        return switch (set) {
            case HOSTIP4 -> 4;
            case HOSTIP6 -> 16;
            default -> 0;
        };
    }

    static int protocolOf(String set, byte[] key) {
        return key[protoOffset(set)] & 0xff;
    }

    static int portOf(String set, byte[] key) {
        int o = protoOffset(set) + 4;
        return ((key[o] & 0xff) << 8) | (key[o + 1] & 0xff);
    }

    /** The container address an element points at: a mapping's data, a masquerade key's (last) address. */
    static IpAddress targetOf(String set, byte[] key, byte[] data) {
        if (data != null) {
            return IpAddress.of(Arrays.copyOfRange(data, 0, isV4(set) ? 4 : 16));
        }
        int n = isV4(set) ? 4 : 16;
        return IpAddress.of(Arrays.copyOfRange(key, key.length - n, key.length));
    }

    // ------------------------------------------------------------------ DEL

    /**
     * Removes what ADD made for this attachment, recognised by its comment only — never by the
     * container address, which may belong to another container by now (a late DEL after the
     * address was reused). With runtimeConfig.portMappings and prevResult, each mapping's element
     * is looked up by its key; otherwise the maps and sets are listed. A clashing container's DEL
     * never removes the holder's mapping. Works without CNI_NETNS; removing nothing is fine.
     */
    @Override
    public void del(Invocation inv) throws CniError {
        PortmapConfig c = PortmapConfig.parse(inv);
        String owner = owner(inv.network(), inv.containerId(), inv.ifname());
        List<IpAddress> addresses = new ArrayList<>(2);
        try {
            Result prev = inv.prevResult();
            if (prev != null) {
                addresses.addAll(containerAddresses(prev, inv.ifname()));
            }
        } catch (CniError e) {
            inv.log("portmap DEL: ignoring unreadable prevResult: " + e.getMessage());
        }
        List<Element> doomed = new ArrayList<>();
        // the conntrack flush runs even when the elements could not all be removed, and both failures are reported
        Teardown teardown = new Teardown("DEL");
        teardown.run("host port elements", () -> removeOwned(c, owner, addresses, doomed));
        teardown.run("conntrack", () -> flushUdp(inv, udpPorts(doomed)));
        teardown.finish(CniError.KERNEL_REFUSED);
    }

    /** Removes {@code owner}'s elements (looked up by key when the mappings and addresses are known); fills {@code doomed}. */
    private void removeOwned(PortmapConfig c, String owner, List<IpAddress> addresses, List<Element> doomed) {
        try (Nftables nft = Nftables.open(trace)) {
            try {
                if (c.mappingsGiven && !addresses.isEmpty()) {
                    List<Element> candidates = new ArrayList<>();
                    for (IpAddress a : addresses) {
                        for (Mapping m : c.mappings) {
                            if (m.appliesTo(a)) {
                                candidates.add(mapping(m, a));
                            }
                        }
                        candidates.addAll(masqElements(a, false));
                        candidates.addAll(masqElements(a, true));
                    }
                    for (Element e : candidates) {
                        NftElement have = nft.element(FAMILY, TABLE, e.set(), e.key());
                        if (have != null && owner.equals(have.comment())) {
                            doomed.add(e);
                        }
                    }
                } else {
                    doomed.addAll(search(nft, e -> owner.equals(e.comment())));
                }
            } catch (NoSuchObjectException noTable) {
                return; // nothing was ever mapped here
            }
            delete(nft, doomed);
        }
    }

    /** An element as listed, with its set and the address it points at. */
    record Listed(String set, NftElement element, IpAddress target) {
        String comment() {
            return element.comment();
        }
    }

    /** Every element of the table's maps and sets that {@code wanted} accepts. */
    private static List<Element> search(Nftables nft, java.util.function.Predicate<Listed> wanted) {
        List<Element> out = new ArrayList<>();
        for (String set : MAPS) {
            collect(nft, set, wanted, out);
        }
        for (String set : SETS) {
            collect(nft, set, wanted, out);
        }
        return out;
    }

    private static void collect(Nftables nft, String set, java.util.function.Predicate<Listed> wanted, List<Element> out) {
        for (NftElement e : nft.elements(FAMILY, TABLE, set)) {
            byte[] key = e.key();
            Listed l = new Listed(set, e, targetOf(set, key, e.data()));
            if (wanted.test(l)) {
                out.add(new Element(set, key, e.data(), keyType(set).format(key)));
            }
        }
    }

    /** Deletes the elements in one transaction; if some vanished meanwhile, each on its own. */
    private static void delete(Nftables nft, List<Element> elements) {
        if (elements.isEmpty()) {
            return;
        }
        try {
            NftBatch b = nft.batch();
            for (Element e : elements) {
                b.deleteElement(FAMILY, TABLE, e.set(), e.key(), keyType(e.set()).format(e.key()));
            }
            b.commit();
        } catch (NoSuchObjectException someGone) {
            for (Element e : elements) {
                try {
                    nft.batch().deleteElement(FAMILY, TABLE, e.set(), e.key(), keyType(e.set()).format(e.key())).commit();
                } catch (NoSuchObjectException gone) {
                    // already removed
                }
            }
        }
    }

    // ------------------------------------------------------------------ CHECK

    @Override
    public void check(Invocation inv) throws CniError {
        PortmapConfig c = PortmapConfig.parse(inv);
        Result prev = inv.prevResult();
        if (prev == null) {
            throw new CniError(CniError.INVALID_NETWORK_CONFIG, "Required prevResult missing");
        }
        if (c.mappings.isEmpty()) {
            return;
        }
        List<Element> expected = plan(c, c.mappings, containerAddresses(prev, inv.ifname()));
        if (expected.isEmpty()) {
            return;
        }
        String owner = owner(inv.network(), inv.containerId(), inv.ifname());
        try (Nftables nft = Nftables.open(Trace.OFF)) {
            checkRules(nft);
            for (Element e : expected) {
                NftElement have;
                try {
                    have = nft.element(FAMILY, TABLE, e.set(), e.key());
                } catch (NoSuchObjectException noTable) {
                    throw failed("table inet " + TABLE + " or its " + e.set() + " is missing");
                }
                if (have == null) {
                    throw failed(e.set() + " has no element " + keyType(e.set()).format(e.key()) + " (expected " + e.text() + ")");
                }
                if (e.data() != null && !Arrays.equals(have.data(), e.data())) {
                    SetKeyType dt = e.isV4() ? SetKeyType.IPV4_ADDR_INET_SERVICE : SetKeyType.IPV6_ADDR_INET_SERVICE;
                    throw failed(e.set() + " maps " + keyType(e.set()).format(e.key()) + " to " + dt.format(have.data())
                            + ", expected " + e.text());
                }
                if (!owner.equals(have.comment())) {
                    throw failed(e.set() + " element " + e.text() + " belongs to " + have.comment() + ", not " + owner);
                }
            }
        }
    }

    /** The rules every ADD writes: without them the elements do nothing (a flushed or deleted chain). */
    private static final java.util.Map<String, Integer> RULES = java.util.Map.of(PREROUTING, 2, OUTPUT, 2, HOSTPORTS, 4,
            POSTROUTING, 4);

    private static void checkRules(Nftables nft) throws CniError {
        for (var r : RULES.entrySet()) {
            int have;
            try {
                have = nft.rules(FAMILY, TABLE, r.getKey()).size();
            } catch (NoSuchObjectException gone) {
                throw failed("nft chain inet " + TABLE + " " + r.getKey() + " is missing");
            }
            if (have != r.getValue()) {
                throw failed("nft chain inet " + TABLE + " " + r.getKey() + " has " + have + " rules, not " + r.getValue());
            }
        }
    }

    private static CniError failed(String details) {
        return new CniError(CniError.CHECK_FAILED, "CHECK failed", details);
    }

    // ------------------------------------------------------------------ GC, STATUS

    /**
     * Removes the elements of this network's attachments that are not in
     * {@code cni.dev/valid-attachments} (by the element comments), and flushes UDP conntrack for
     * their ports. Without the list nothing is known to be stale: nothing is removed.
     */
    @Override
    public void gc(Invocation inv) throws CniError {
        PortmapConfig.parse(inv);
        ConfigObject conf = inv.config();
        String key = conf.has("cni.dev/valid-attachments") ? "cni.dev/valid-attachments" : "cni.dev/attachments";
        if (!conf.has(key)) {
            return;
        }
        Set<String> valid = new HashSet<>();
        for (ConfigObject a : conf.objects(key)) {
            valid.add(owner(inv.network(), a.string("containerID", ""), a.string("ifname", "")));
        }
        String mine = networkTag(inv.network()) + "/";
        List<Element> stale;
        try (Nftables nft = Nftables.open(trace)) {
            try {
                stale = search(nft, e -> e.comment() != null && e.comment().startsWith(mine) && !valid.contains(e.comment()));
            } catch (NoSuchObjectException noTable) {
                return;
            }
            delete(nft, stale);
        } catch (KernelException e) {
            throw new CniError(CniError.KERNEL_REFUSED, "GC could not remove everything", e.getMessage());
        }
        for (Element e : stale) {
            inv.log("GC: removed " + e.set() + " element " + e.text());
        }
        flushUdp(inv, udpPorts(stale));
    }

    @Override
    public void status(Invocation inv) throws CniError {
        PortmapConfig.parse(inv);
        try (Nftables nft = Nftables.open(Trace.OFF)) {
            nft.tables();
        } catch (RuntimeException e) {
            throw new CniError(CniError.PLUGIN_NOT_AVAILABLE, "nftables is not usable", e.getMessage());
        }
    }
}
