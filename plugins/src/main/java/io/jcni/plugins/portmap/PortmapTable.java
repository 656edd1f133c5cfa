package io.jcni.plugins.portmap;

import static io.jcni.netlink.nft.Rule.Field.*;

import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.ObjectExistsException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.nft.ChainHook;
import io.jcni.netlink.nft.NftBatch;
import io.jcni.netlink.nft.NftElement;
import io.jcni.netlink.nft.Nftables;
import io.jcni.netlink.nft.Rule;
import io.jcni.netlink.nft.SetKeyType;
import io.jcni.plugins.portmap.PortmapConfig.Mapping;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

/**
 * portmap's nftables table, {@code inet jcni_hostport}, shared by every network and pod, and an
 * open handle on it:
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
 * masquerade elements per address. Every element carries its attachment as its comment; the
 * map key is a claim, so a second attachment cannot add the same host port (and protocol, and
 * hostIP) with other data.
 */
final class PortmapTable implements AutoCloseable {
    static final String TABLE = "jcni_hostport";
    private static final int FAMILY = Nftables.INET;
    private static final String HOSTPORTS = "hostports",
            PREROUTING = "prerouting",
            OUTPUT = "output",
            POSTROUTING = "postrouting";
    /** The rules {@link #add} writes in each chain. */
    private static final Map<String, Integer> RULES = Map.of(PREROUTING, 2, OUTPUT, 2, HOSTPORTS, 4, POSTROUTING, 4);

    private static final IpAddress LOCALHOST = IpAddress.parse("127.0.0.1");

    /** One of the table's sets as the table declares it; a map is a set whose elements carry data. */
    enum TableSet {
        PORTS4("ports4", SetKeyType.INET_PROTO_INET_SERVICE, SetKeyType.IPV4_ADDR_INET_SERVICE),
        HOSTIP4("hostip4", SetKeyType.IPV4_ADDR_INET_PROTO_INET_SERVICE, SetKeyType.IPV4_ADDR_INET_SERVICE),
        PORTS6("ports6", SetKeyType.INET_PROTO_INET_SERVICE, SetKeyType.IPV6_ADDR_INET_SERVICE),
        HOSTIP6("hostip6", SetKeyType.IPV6_ADDR_INET_PROTO_INET_SERVICE, SetKeyType.IPV6_ADDR_INET_SERVICE),
        MASQ4("masq4", SetKeyType.IPV4_ADDR_IPV4_ADDR, null),
        MASQALL4("masqall4", SetKeyType.IPV4_ADDR, null),
        MASQ6("masq6", SetKeyType.IPV6_ADDR_IPV6_ADDR, null),
        MASQALL6("masqall6", SetKeyType.IPV6_ADDR, null);

        final String nftName;
        final SetKeyType keyType;
        /** The type of a map's data; null in a set. */
        final SetKeyType dataType;

        TableSet(String nftName, SetKeyType keyType, SetKeyType dataType) {
            this.nftName = nftName;
            this.keyType = keyType;
            this.dataType = dataType;
        }

        boolean isMap() {
            return dataType != null;
        }
    }

    /** One element this plugin owns: where, its key and its data (null in a set). */
    record Element(TableSet set, byte[] key, byte[] data) {
        /** nft's text of the key: {@code tcp . 8080}. */
        String keyText() {
            return set.keyType.format(key);
        }

        /** nft's text of the element: {@code tcp . 8080 : 10.0.0.2 . 80}. */
        String text() {
            return data == null ? keyText() : keyText() + " : " + set.dataType.format(data);
        }

        boolean isMapping() {
            return set.isMap();
        }

        /** A mapping's layer-4 protocol: every map's key ends in {@code inet_proto . inet_service}, each padded to 4 bytes. */
        int protocol() {
            return key[key.length - 8] & 0xff;
        }

        /** A mapping's host port, the key's last field. */
        int hostPort() {
            return ((key[key.length - 4] & 0xff) << 8) | (key[key.length - 3] & 0xff);
        }

        /** The container address a mapping points at: its data is {@code ipvN_addr . inet_service}, the port padded to 4 bytes. */
        IpAddress container() {
            return IpAddress.of(Arrays.copyOf(data, data.length - 4));
        }
    }

    /** The element of {@code mapping} towards {@code container}: in a hostIP map when the mapping names a host address. */
    static Element mappingElement(Mapping mapping, IpAddress container) {
        boolean v4 = container.isV4();
        if (mapping.hostIP() == null) {
            return new Element(
                    v4 ? TableSet.PORTS4 : TableSet.PORTS6,
                    SetKeyType.protoPort(mapping.protocol(), mapping.hostPort()),
                    SetKeyType.addressPort(container, mapping.containerPort()));
        }
        return new Element(
                v4 ? TableSet.HOSTIP4 : TableSet.HOSTIP6,
                SetKeyType.addressProtoPort(mapping.hostIP(), mapping.protocol(), mapping.hostPort()),
                SetKeyType.addressPort(container, mapping.containerPort()));
    }

    /**
     * The masquerade elements of {@code container}: with {@code masqAll} the address itself,
     * otherwise its hairpin pair and, for IPv4, the pair of 127.0.0.1 and the address.
     */
    static List<Element> masqueradeElements(IpAddress container, boolean masqAll) {
        boolean v4 = container.isV4();
        if (masqAll) {
            return List.of(new Element(v4 ? TableSet.MASQALL4 : TableSet.MASQALL6, container.bytes(), null));
        }
        TableSet pairs = v4 ? TableSet.MASQ4 : TableSet.MASQ6;
        Element hairpin = new Element(pairs, SetKeyType.addressPair(container, container), null);
        return v4
                ? List.of(hairpin, new Element(pairs, SetKeyType.addressPair(LOCALHOST, container), null))
                : List.of(hairpin);
    }

    private final Nftables nft;

    private PortmapTable(Nftables nft) {
        this.nft = nft;
    }

    /** With a trace, every change is also reported as its nft command. */
    static PortmapTable open(Trace trace) {
        return new PortmapTable(Nftables.open(trace));
    }

    /**
     * One transaction: the objects and static rules (idempotent, so whatever of the table was
     * deleted comes back), the entry rules with these conditions, the elements. Each element is
     * added, deleted and added again with {@code owner} as its comment: a mapping with other data
     * fails the first add ({@link ObjectExistsException}: the port is someone else's), and an
     * identical element left by a previous owner of the address becomes this owner's, so that
     * owner's late DEL leaves it.
     */
    void add(UnaryOperator<Rule> conditionsV4, UnaryOperator<Rule> conditionsV6, List<Element> elements, String owner) {
        NftBatch batch = nft.batch();
        declare(batch);
        for (String chain : List.of(PREROUTING, OUTPUT)) {
            batch.flushChain(FAMILY, TABLE, chain);
            batch.addRule(
                    FAMILY,
                    TABLE,
                    chain,
                    conditionsV4
                            .apply(Rule.create().nfproto(Nftables.IP))
                            .fibDaddrLocal()
                            .jump(HOSTPORTS),
                    "jcni-portmap ipv4");
            batch.addRule(
                    FAMILY,
                    TABLE,
                    chain,
                    conditionsV6
                            .apply(Rule.create().nfproto(Nftables.IP6))
                            .fibDaddrLocal()
                            .jump(HOSTPORTS),
                    "jcni-portmap ipv6");
        }
        for (Element element : elements) {
            String set = element.set().nftName;
            batch.addElement(FAMILY, TABLE, set, element.key(), element.data(), null, element.text());
            batch.deleteElement(FAMILY, TABLE, set, element.key(), element.keyText());
            batch.addElement(FAMILY, TABLE, set, element.key(), element.data(), owner, element.text());
        }
        batch.commit();
    }

    /** The table's objects, idempotently: maps, sets, chains, the static rules (rewritten). */
    private static void declare(NftBatch batch) {
        batch.addTable(FAMILY, TABLE);
        for (TableSet set : TableSet.values()) {
            if (set.isMap()) {
                batch.addMap(FAMILY, TABLE, set.nftName, set.keyType, set.dataType);
            } else {
                batch.addSet(FAMILY, TABLE, set.nftName, set.keyType, false);
            }
        }
        batch.addChain(FAMILY, TABLE, HOSTPORTS, null);
        batch.addChain(FAMILY, TABLE, PREROUTING, ChainHook.nat("prerouting", -100));
        batch.addChain(FAMILY, TABLE, OUTPUT, ChainHook.nat("output", -100));
        batch.addChain(FAMILY, TABLE, POSTROUTING, ChainHook.nat("postrouting", 100));
        batch.flushChain(FAMILY, TABLE, HOSTPORTS);
        String hostIpFirst = "hostIP-bound mappings first";
        batch.addRule(
                FAMILY,
                TABLE,
                HOSTPORTS,
                Rule.create().dnatMap(Nftables.IP, true, TableSet.HOSTIP4.nftName),
                hostIpFirst);
        batch.addRule(
                FAMILY,
                TABLE,
                HOSTPORTS,
                Rule.create().nfproto(Nftables.IP).dnatMap(Nftables.IP, false, TableSet.PORTS4.nftName),
                null);
        batch.addRule(
                FAMILY,
                TABLE,
                HOSTPORTS,
                Rule.create().dnatMap(Nftables.IP6, true, TableSet.HOSTIP6.nftName),
                hostIpFirst);
        batch.addRule(
                FAMILY,
                TABLE,
                HOSTPORTS,
                Rule.create().nfproto(Nftables.IP6).dnatMap(Nftables.IP6, false, TableSet.PORTS6.nftName),
                null);
        batch.flushChain(FAMILY, TABLE, POSTROUTING);
        batch.addRule(
                FAMILY,
                TABLE,
                POSTROUTING,
                dnated().pairInSet(IP_SADDR, IP_DADDR, TableSet.MASQ4.nftName).masquerade(),
                "hairpin and localhost");
        batch.addRule(
                FAMILY,
                TABLE,
                POSTROUTING,
                dnated().inSet(IP_DADDR, TableSet.MASQALL4.nftName).masquerade(),
                "masqAll");
        batch.addRule(
                FAMILY,
                TABLE,
                POSTROUTING,
                dnated().pairInSet(IP6_SADDR, IP6_DADDR, TableSet.MASQ6.nftName).masquerade(),
                "hairpin");
        batch.addRule(
                FAMILY,
                TABLE,
                POSTROUTING,
                dnated().inSet(IP6_DADDR, TableSet.MASQALL6.nftName).masquerade(),
                "masqAll");
    }

    /** A rule for connections the table DNATed ({@code ct status dnat}): only those are masqueraded. */
    private static Rule dnated() {
        return Rule.create().ctStatusDnat();
    }

    /**
     * The mappings among {@code elements} whose key the table holds with other data, each with
     * the data there and its owner ({@code tcp . 8080 is mapped to 10.0.0.3 . 80 by net/c/eth0}).
     */
    List<String> clashes(List<Element> elements) {
        List<String> out = new ArrayList<>();
        for (Element element : elements) {
            if (!element.isMapping()) {
                continue;
            }
            NftElement held = find(element);
            if (held != null && !Arrays.equals(held.data(), element.data())) {
                out.add(element.keyText() + " is mapped to "
                        + element.set().dataType.format(held.data())
                        + (held.comment() == null ? "" : " by " + held.comment()));
            }
        }
        return out;
    }

    /**
     * The table's element under {@code element}'s key (with its data and comment), or null.
     *
     * @throws NoSuchObjectException when the table or the set is missing
     */
    private NftElement find(Element element) {
        return nft.element(FAMILY, TABLE, element.set().nftName, element.key());
    }

    /**
     * The {@code candidates} whose key the table holds with {@code owner} as the comment, each
     * looked up by its key (one request, whatever the set's size).
     *
     * @throws NoSuchObjectException when the table or a set is missing
     */
    List<Element> heldBy(String owner, List<Element> candidates) {
        List<Element> out = new ArrayList<>();
        for (Element candidate : candidates) {
            NftElement held = find(candidate);
            if (held != null && owner.equals(held.comment())) {
                out.add(candidate);
            }
        }
        return out;
    }

    /**
     * Every element of the table's sets whose comment {@code owner} accepts (the comment may be null).
     *
     * @throws NoSuchObjectException when the table is missing
     */
    List<Element> elementsOf(Predicate<String> owner) {
        List<Element> out = new ArrayList<>();
        for (TableSet set : TableSet.values()) {
            for (NftElement listed : nft.elements(FAMILY, TABLE, set.nftName)) {
                if (owner.test(listed.comment())) {
                    out.add(new Element(set, listed.key(), listed.data()));
                }
            }
        }
        return out;
    }

    /** Deletes the elements in one transaction; if some vanished meanwhile, each on its own. */
    void delete(List<Element> elements) {
        if (elements.isEmpty()) {
            return;
        }
        try {
            NftBatch batch = nft.batch();
            for (Element element : elements) {
                batch.deleteElement(FAMILY, TABLE, element.set().nftName, element.key(), element.keyText());
            }
            batch.commit();
        } catch (NoSuchObjectException someGone) {
            for (Element element : elements) {
                try {
                    nft.batch()
                            .deleteElement(FAMILY, TABLE, element.set().nftName, element.key(), element.keyText())
                            .commit();
                } catch (NoSuchObjectException gone) {
                    // already removed
                }
            }
        }
    }

    /**
     * What CHECK finds wrong first, or null when all is in place: a chain {@link #add} writes is
     * missing or holds another number of rules (flushed, or added to: without its rules the
     * elements do nothing), an element of {@code expected} is missing, has other data, or is not
     * {@code owner}'s.
     */
    String firstProblem(List<Element> expected, String owner) {
        for (var chainRules : RULES.entrySet()) {
            String chain = "nft chain inet " + TABLE + " " + chainRules.getKey();
            int rules;
            try {
                rules = nft.rules(FAMILY, TABLE, chainRules.getKey()).size();
            } catch (NoSuchObjectException gone) {
                return chain + " is missing";
            }
            if (rules != chainRules.getValue()) {
                return chain + " has " + rules + " rules, not " + chainRules.getValue();
            }
        }
        for (Element element : expected) {
            String set = element.set().nftName;
            NftElement held;
            try {
                held = find(element);
            } catch (NoSuchObjectException noTable) {
                return "table inet " + TABLE + " or its " + set + " is missing";
            }
            if (held == null) {
                return set + " has no element " + element.keyText() + " (expected " + element.text() + ")";
            }
            if (element.data() != null && !Arrays.equals(held.data(), element.data())) {
                return set + " maps " + element.keyText() + " to "
                        + element.set().dataType.format(held.data()) + ", expected " + element.text();
            }
            if (!owner.equals(held.comment())) {
                return set + " element " + element.text() + " belongs to " + held.comment() + ", not " + owner;
            }
        }
        return null;
    }

    @Override
    public void close() {
        nft.close();
    }
}
