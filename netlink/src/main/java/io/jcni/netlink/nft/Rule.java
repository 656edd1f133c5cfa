package io.jcni.netlink.nft;

import static io.jcni.netlink.nft.Nft.*;

import io.jcni.netlink.NlRequest;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A rule's statements, built once into both forms: the nf_tables expressions the kernel runs and
 * the nft text ({@link #text}) that produces the same expressions, e.g.
 *
 * <pre>{@code
 * Rule.create().inSet(Rule.Field.IP_SADDR, "pods").isNot(Rule.Field.IP_DADDR, IpPrefix.parse("10.1.0.0/16")).masquerade()
 * // ip saddr @pods ip daddr != 10.1.0.0/16 masquerade
 * }</pre>
 *
 * Dependencies nft adds implicitly are added here too and, like nft, left out of the text:
 * {@code meta l4proto tcp} before {@code tcp dport}, {@code meta nfproto ipv4} before an
 * {@code ip} match in an {@code inet} table.
 */
public final class Rule {
    /** Address fields of the IPv4 and IPv6 headers. */
    public enum Field {
        IP_SADDR("ip saddr", 12, 4),
        IP_DADDR("ip daddr", 16, 4),
        IP6_SADDR("ip6 saddr", 8, 16),
        IP6_DADDR("ip6 daddr", 24, 16);

        final String text;
        final int offset, length;

        Field(String text, int offset, int length) {
            this.text = text;
            this.offset = offset;
            this.length = length;
        }

        int nfproto() {
            return length == 4 ? Nftables.IP : Nftables.IP6;
        }
    }

    /**
     * One statement: its expressions, its text (and its text in an inet table, when different),
     * the layer-3 protocol whose match nft puts before it in an inet table (0: none), the layer-4
     * protocol it matches (0: none) and the table family it is restricted to (0: any).
     */
    private record Item(Expr[] exprs, String text, String inetText, int nfproto, int l4proto, int family) {
        Item(Expr[] exprs, String text, String inetText, int nfproto, int l4proto) {
            this(exprs, text, inetText, nfproto, l4proto, nfproto);
        }
    }

    /** One expression: its name and the attributes inside NFTA_EXPR_DATA. */
    private record Expr(String name, Attr... data) {}

    /** A netlink attribute: a value, or (value null) a nest of {@code kids}. */
    private record Attr(int type, byte[] value, Attr... kids) {}

    private final List<Item> items = new ArrayList<>(6);

    private Rule() {}

    public static Rule create() {
        return new Rule();
    }

    // ---- matches ----

    /** {@code ip saddr @SET} (and the other address fields). */
    public Rule inSet(Field field, String set) {
        return lookup(field, set, false);
    }

    /** {@code ip saddr != @SET}. */
    public Rule notInSet(Field field, String set) {
        return lookup(field, set, true);
    }

    private Rule lookup(Field field, String set, boolean invert) {
        Nftables.validateName("set", set);
        Expr lookup = invert
                ? new Expr(
                        "lookup",
                        str(NFTA_LOOKUP_SET, set),
                        be32(NFTA_LOOKUP_SREG, NFT_REG_1),
                        be32(NFTA_LOOKUP_FLAGS, NFT_LOOKUP_F_INV))
                : new Expr("lookup", str(NFTA_LOOKUP_SET, set), be32(NFTA_LOOKUP_SREG, NFT_REG_1));
        items.add(new Item(
                new Expr[] {payload(NFT_PAYLOAD_NETWORK_HEADER, field.offset, field.length), lookup},
                field.text + (invert ? " != @" : " @") + set,
                null,
                field.nfproto(),
                0));
        return this;
    }

    /**
     * {@code ip daddr . tcp dport @SET}: the address and destination port, looked up in a set of
     * type {@code ipv4_addr . inet_service} (or {@code ipv6_addr . inet_service}); {@code protocol}
     * is {@code tcp} or {@code udp}. For hostPort-style matches.
     */
    public Rule addressPortInSet(Field field, String protocol, String set) {
        Nftables.validateName("set", set);
        int p = protocolNumber(protocol);
        if (p != 6 && p != 17) {
            throw new IllegalArgumentException("a port lookup needs tcp or udp, not " + protocol);
        }
        // Concatenations use 32-bit registers: the address from NFT_REG32_00, the port right after it.
        int portReg = NFT_REG32_00 + field.length / 4;
        Expr port = new Expr(
                "payload",
                be32(NFTA_PAYLOAD_DREG, portReg),
                be32(NFTA_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER),
                be32(NFTA_PAYLOAD_OFFSET, 2),
                be32(NFTA_PAYLOAD_LEN, 2));
        items.add(new Item(
                new Expr[] {
                    meta(NFT_META_L4PROTO),
                    cmp(NFT_CMP_EQ, new byte[] {(byte) p}),
                    payload(NFT_PAYLOAD_NETWORK_HEADER, field.offset, field.length),
                    port,
                    new Expr("lookup", str(NFTA_LOOKUP_SET, set), be32(NFTA_LOOKUP_SREG, NFT_REG_1))
                },
                field.text + " . " + protocol + " dport @" + set,
                null,
                field.nfproto(),
                0));
        return this;
    }

    /** {@code iifname @SET}: the input interface is in a set of type {@code ifname}. */
    public Rule iifnameInSet(String set) {
        Nftables.validateName("set", set);
        items.add(new Item(
                new Expr[] {
                    meta(NFT_META_IIFNAME),
                    new Expr("lookup", str(NFTA_LOOKUP_SET, set), be32(NFTA_LOOKUP_SREG, NFT_REG_1))
                },
                "iifname @" + set,
                null,
                0,
                0,
                Nftables.BRIDGE));
        return this;
    }

    /**
     * {@code iifname . ether saddr != @SET}: the (input port, source MAC) pair is not in a set of
     * type {@code ifname . ether_addr} — the MAC spoof check of a bridge port.
     */
    public Rule iifnameEtherSaddrNotInSet(String set) {
        Nftables.validateName("set", set);
        // The 16-byte name fills NFT_REG32_00..03; the MAC follows in NFT_REG32_04.
        Expr name = new Expr("meta", be32(NFTA_META_KEY, NFT_META_IIFNAME), be32(NFTA_META_DREG, NFT_REG32_00));
        Expr mac = new Expr(
                "payload",
                be32(NFTA_PAYLOAD_DREG, NFT_REG32_00 + 4),
                be32(NFTA_PAYLOAD_BASE, NFT_PAYLOAD_LL_HEADER),
                be32(NFTA_PAYLOAD_OFFSET, 6),
                be32(NFTA_PAYLOAD_LEN, 6));
        items.add(new Item(
                new Expr[] {
                    name,
                    mac,
                    new Expr(
                            "lookup",
                            str(NFTA_LOOKUP_SET, set),
                            be32(NFTA_LOOKUP_SREG, NFT_REG32_00),
                            be32(NFTA_LOOKUP_FLAGS, NFT_LOOKUP_F_INV))
                },
                "iifname . ether saddr != @" + set,
                null,
                0,
                0,
                Nftables.BRIDGE));
        return this;
    }

    /**
     * {@code ip saddr . ip daddr @SET}: both addresses, looked up in a set of type
     * {@code ipv4_addr . ipv4_addr} (or the IPv6 pair); {@code first} and {@code second} are of
     * one family.
     */
    public Rule pairInSet(Field first, Field second, String set) {
        Nftables.validateName("set", set);
        if (first.length != second.length) {
            throw new IllegalArgumentException(first.text + " and " + second.text + " are of different families");
        }
        Expr b = new Expr(
                "payload",
                be32(NFTA_PAYLOAD_DREG, NFT_REG32_00 + first.length / 4),
                be32(NFTA_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER),
                be32(NFTA_PAYLOAD_OFFSET, second.offset),
                be32(NFTA_PAYLOAD_LEN, second.length));
        items.add(new Item(
                new Expr[] {
                    payload(NFT_PAYLOAD_NETWORK_HEADER, first.offset, first.length),
                    b,
                    new Expr("lookup", str(NFTA_LOOKUP_SET, set), be32(NFTA_LOOKUP_SREG, NFT_REG_1))
                },
                first.text + " . " + second.text + " @" + set,
                null,
                first.nfproto(),
                0));
        return this;
    }

    /** {@code ct status dnat}: the connection was destination-NATed. */
    public Rule ctStatusDnat() {
        Expr ct = new Expr("ct", be32(NFTA_CT_DREG, NFT_REG_1), be32(NFTA_CT_KEY, NFT_CT_STATUS));
        byte[] mask = new byte[4];
        ByteBuffer.wrap(mask).order(ByteOrder.nativeOrder()).putInt(IPS_DST_NAT); // ct status is a host-order u32
        Expr bitwise = new Expr(
                "bitwise",
                be32(NFTA_BITWISE_SREG, NFT_REG_1),
                be32(NFTA_BITWISE_DREG, NFT_REG_1),
                be32(NFTA_BITWISE_LEN, 4),
                data(NFTA_BITWISE_MASK, mask),
                data(NFTA_BITWISE_XOR, new byte[4]));
        items.add(new Item(new Expr[] {ct, bitwise, cmp(NFT_CMP_NEQ, new byte[4])}, "ct status dnat", null, 0, 0));
        return this;
    }

    /**
     * {@code meta nfproto ipv4} ({@link Nftables#IP}) or {@code ipv6} ({@link Nftables#IP6}),
     * explicitly: in an {@code inet} table, for statements that have no implicit family
     * dependency (a {@link #dnatMap} without address, {@link #fibDaddrLocal}).
     */
    public Rule nfproto(int family) {
        if (family != Nftables.IP && family != Nftables.IP6) {
            throw new IllegalArgumentException("meta nfproto is ipv4 (2) or ipv6 (10), not " + family);
        }
        // No expressions of its own: encode() puts the meta nfproto match before it, once.
        items.add(new Item(new Expr[0], "meta nfproto " + (family == Nftables.IP ? "ipv4" : "ipv6"), null, family, 0));
        return this;
    }

    /** {@code iifname "NAME"} or {@code iifname != "NAME"} (exact name). */
    public Rule iifname(String name, boolean negate) {
        return ifname(NFT_META_IIFNAME, "iifname", name, negate);
    }

    /** {@code oifname "NAME"} or {@code oifname != "NAME"} (exact name). */
    public Rule oifname(String name, boolean negate) {
        return ifname(NFT_META_OIFNAME, "oifname", name, negate);
    }

    private Rule ifname(int key, String what, String name, boolean negate) {
        items.add(new Item(
                new Expr[] {meta(key), cmp(negate ? NFT_CMP_NEQ : NFT_CMP_EQ, SetKeyType.ifname(name))},
                what + (negate ? " != \"" : " \"") + name + "\"",
                null,
                0,
                0));
        return this;
    }

    /** {@code ip daddr 10.1.0.0/16} (a host prefix prints as a bare address). */
    public Rule is(Field field, IpPrefix prefix) {
        return prefix(field, prefix, NFT_CMP_EQ);
    }

    /** {@code ip daddr != 10.1.0.0/16}. */
    public Rule isNot(Field field, IpPrefix prefix) {
        return prefix(field, prefix, NFT_CMP_NEQ);
    }

    private Rule prefix(Field field, IpPrefix prefix, int op) {
        if (prefix.address().bits() != field.length * 8) {
            throw new IllegalArgumentException(field.text + " cannot match " + prefix);
        }
        IpPrefix net = prefix.network();
        Expr load = payload(NFT_PAYLOAD_NETWORK_HEADER, field.offset, field.length);
        Expr cmp = cmp(op, net.address().bytes());
        String text = field.text
                + (op == NFT_CMP_NEQ ? " != " : " ")
                + (net.length() == field.length * 8 ? net.address().toString() : net.toString());
        Expr[] exprs;
        if (net.length() == field.length * 8) {
            exprs = new Expr[] {load, cmp};
        } else {
            byte[] mask = new byte[field.length];
            for (int bit = 0; bit < net.length(); bit++) {
                mask[bit / 8] |= (byte) (0x80 >> (bit % 8));
            }
            Expr bitwise = new Expr(
                    "bitwise",
                    be32(NFTA_BITWISE_SREG, NFT_REG_1),
                    be32(NFTA_BITWISE_DREG, NFT_REG_1),
                    be32(NFTA_BITWISE_LEN, field.length),
                    data(NFTA_BITWISE_MASK, mask),
                    data(NFTA_BITWISE_XOR, new byte[field.length]));
            exprs = new Expr[] {load, bitwise, cmp};
        }
        items.add(new Item(exprs, text, null, field.nfproto(), 0));
        return this;
    }

    /** {@code meta l4proto tcp} ({@code tcp}, {@code udp}, {@code sctp}, {@code icmp}, {@code icmpv6}). */
    public Rule l4proto(String protocol) {
        int p = protocolNumber(protocol);
        items.add(new Item(
                new Expr[] {meta(NFT_META_L4PROTO), cmp(NFT_CMP_EQ, new byte[] {(byte) p})},
                "meta l4proto " + protocol,
                null,
                0,
                p));
        return this;
    }

    /** {@code tcp dport PORT}. */
    public Rule tcpDport(int port) {
        return dport("tcp", port);
    }

    /** {@code udp dport PORT}. */
    public Rule udpDport(int port) {
        return dport("udp", port);
    }

    private Rule dport(String protocol, int port) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("not a port: " + port);
        }
        int p = protocolNumber(protocol);
        Expr load = payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
        Expr cmp = cmp(NFT_CMP_EQ, SetKeyType.port(port));
        Item last = items.isEmpty() ? null : items.get(items.size() - 1);
        if (last != null && last.l4proto == p && last.exprs.length == 2) {
            // An explicit "meta l4proto tcp" right before is the dependency itself: nft lists the
            // pair as "tcp dport N", so the two become one statement here too.
            items.remove(items.size() - 1);
        }
        Expr[] exprs = {meta(NFT_META_L4PROTO), cmp(NFT_CMP_EQ, new byte[] {(byte) p}), load, cmp};
        items.add(new Item(exprs, protocol + " dport " + port, null, 0, p));
        return this;
    }

    /** {@code fib daddr type local}: the destination is an address of this host. */
    public Rule fibDaddrLocal() {
        Expr fib = new Expr(
                "fib",
                be32(NFTA_FIB_DREG, NFT_REG_1),
                be32(NFTA_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE),
                be32(NFTA_FIB_FLAGS, NFTA_FIB_F_DADDR));
        byte[] local = new byte[4];
        ByteBuffer.wrap(local).order(ByteOrder.nativeOrder()).putInt(RTN_LOCAL); // the kernel's u32, host order
        items.add(new Item(new Expr[] {fib, cmp(NFT_CMP_EQ, local)}, "fib daddr type local", null, 0, 0));
        return this;
    }

    // ---- statements ----

    /** {@code counter}. */
    public Rule counter() {
        items.add(new Item(new Expr[] {new Expr("counter")}, "counter", null, 0, 0));
        return this;
    }

    /** {@code masquerade} (a nat chain at postrouting). */
    public Rule masquerade() {
        items.add(new Item(new Expr[] {new Expr("masq")}, "masquerade", null, 0, 0));
        return this;
    }

    /** {@code dnat to ADDRESS[:PORT]} (port 0: keep the port); a nat chain at prerouting or output. */
    public Rule dnat(IpAddress to, int port) {
        int nfproto = to.isV4() ? Nftables.IP : Nftables.IP6;
        Expr addr = immediate(NFT_REG_1, to.bytes());
        String target = port == 0 ? to.toString() : to.isV4() ? to + ":" + port : "[" + to + "]:" + port;
        Expr[] exprs;
        if (port == 0) {
            exprs = new Expr[] {
                addr,
                new Expr(
                        "nat",
                        be32(NFTA_NAT_TYPE, NFT_NAT_DNAT),
                        be32(NFTA_NAT_FAMILY, nfproto),
                        be32(NFTA_NAT_REG_ADDR_MIN, NFT_REG_1))
            };
        } else {
            exprs = new Expr[] {
                addr,
                immediate(NFT_REG_2, SetKeyType.port(port)),
                new Expr(
                        "nat",
                        be32(NFTA_NAT_TYPE, NFT_NAT_DNAT),
                        be32(NFTA_NAT_FAMILY, nfproto),
                        be32(NFTA_NAT_REG_ADDR_MIN, NFT_REG_1),
                        be32(NFTA_NAT_REG_PROTO_MIN, NFT_REG_2))
            };
        }
        items.add(new Item(
                exprs, "dnat to " + target, "dnat " + (to.isV4() ? "ip" : "ip6") + " to " + target, 0, 0, nfproto));
        return this;
    }

    /**
     * {@code dnat ip to meta l4proto . th dport map @MAP} ({@code byDaddr}: {@code dnat ip to ip
     * daddr . meta l4proto . th dport map @MAP}): the destination address and port come from the
     * map element matching the packet's protocol and destination port (and address). The map's
     * key is {@link SetKeyType#INET_PROTO_INET_SERVICE} (or {@code ipvN_addr . inet_proto .
     * inet_service}), its data {@code ipvN_addr . inet_service}; {@code family} is
     * {@link Nftables#IP} or {@link Nftables#IP6}. No element: the rule does not match. A nat chain
     * at prerouting or output; in an inet table without {@code byDaddr}, put {@link #nfproto}
     * first.
     */
    public Rule dnatMap(int family, boolean byDaddr, String map) {
        Nftables.validateName("map", map);
        if (family != Nftables.IP && family != Nftables.IP6) {
            throw new IllegalArgumentException("dnat to a map needs family ip (2) or ip6 (10), not " + family);
        }
        Field daddr = family == Nftables.IP ? Field.IP_DADDR : Field.IP6_DADDR;
        int words = byDaddr ? daddr.length / 4 : 0; // 32-bit registers taken by the address
        List<Expr> exprs = new ArrayList<>(6);
        if (byDaddr) {
            exprs.add(payload(NFT_PAYLOAD_NETWORK_HEADER, daddr.offset, daddr.length));
        }
        exprs.add(new Expr(
                "meta",
                be32(NFTA_META_KEY, NFT_META_L4PROTO),
                be32(NFTA_META_DREG, byDaddr ? NFT_REG32_00 + words : NFT_REG_1)));
        exprs.add(new Expr(
                "payload",
                be32(NFTA_PAYLOAD_DREG, NFT_REG32_00 + words + 1),
                be32(NFTA_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER),
                be32(NFTA_PAYLOAD_OFFSET, 2),
                be32(NFTA_PAYLOAD_LEN, 2)));
        // The element's data lands from register 1 on: the address, then the port after it.
        exprs.add(new Expr(
                "lookup",
                str(NFTA_LOOKUP_SET, map),
                be32(NFTA_LOOKUP_SREG, NFT_REG_1),
                be32(NFTA_LOOKUP_DREG, NFT_REG_1)));
        exprs.add(new Expr(
                "nat",
                be32(NFTA_NAT_TYPE, NFT_NAT_DNAT),
                be32(NFTA_NAT_FAMILY, family),
                be32(NFTA_NAT_REG_ADDR_MIN, NFT_REG_1),
                be32(NFTA_NAT_REG_PROTO_MIN, NFT_REG32_00 + daddr.length / 4)));
        String key = (byDaddr ? daddr.text + " . " : "") + "meta l4proto . th dport map @" + map;
        String fam = family == Nftables.IP ? "ip" : "ip6";
        items.add(new Item(
                exprs.toArray(new Expr[0]),
                "dnat to " + key,
                "dnat " + fam + " to " + key,
                byDaddr ? family : 0,
                0,
                family));
        return this;
    }

    public Rule accept() {
        return verdict(NF_ACCEPT, null, "accept");
    }

    public Rule drop() {
        return verdict(NF_DROP, null, "drop");
    }

    /** {@code return}. */
    public Rule ret() {
        return verdict(NFT_RETURN, null, "return");
    }

    /** {@code jump CHAIN}. */
    public Rule jump(String chain) {
        Nftables.validateName("chain", chain);
        return verdict(NFT_JUMP, chain, "jump " + chain);
    }

    private Rule verdict(int code, String chain, String text) {
        Attr v = chain == null
                ? nest(NFTA_DATA_VERDICT, be32(NFTA_VERDICT_CODE, code))
                : nest(NFTA_DATA_VERDICT, be32(NFTA_VERDICT_CODE, code), str(NFTA_VERDICT_CHAIN, chain));
        items.add(new Item(
                new Expr[] {
                    new Expr("immediate", be32(NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT), nest(NFTA_IMMEDIATE_DATA, v))
                },
                text,
                null,
                0,
                0));
        return this;
    }

    // ---- output ----

    /** The nft text of this rule in a table of {@code family}. */
    public String text(int family) {
        StringBuilder sb = new StringBuilder(64);
        for (Item it : items) {
            if (sb.length() > 0) {
                sb.append(' ');
            }
            sb.append(family == Nftables.INET && it.inetText != null ? it.inetText : it.text);
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return text(Nftables.IP);
    }

    boolean isEmpty() {
        return items.isEmpty();
    }

    /** Refuses statements that cannot work in a table of {@code family} ({@code ip6 saddr} in an {@code ip} table). */
    void checkFamily(int family) {
        for (Item it : items) {
            if (family != Nftables.INET && it.family != 0 && it.family != family) {
                throw new IllegalArgumentException(
                        "\"" + it.text + "\" cannot match in a table of family " + Nftables.familyName(family));
            }
        }
    }

    /** Writes NFTA_RULE_EXPRESSIONS for a table of {@code family}. */
    void encode(NlRequest r, int family) {
        int list = r.beginNested(NFTA_RULE_EXPRESSIONS);
        int nfproto = 0;
        for (Item it : items) {
            if (family == Nftables.INET && it.nfproto != 0 && it.nfproto != nfproto) {
                write(r, meta(NFT_META_NFPROTO));
                write(r, cmp(NFT_CMP_EQ, new byte[] {(byte) it.nfproto}));
                nfproto = it.nfproto;
            }
            for (Expr e : it.exprs) {
                write(r, e);
            }
        }
        r.endNested(list);
    }

    private static void write(NlRequest r, Expr e) {
        int elem = r.beginNested(NFTA_LIST_ELEM);
        r.attrString(NFTA_EXPR_NAME, e.name);
        int data = r.beginNested(NFTA_EXPR_DATA);
        for (Attr a : e.data) {
            write(r, a);
        }
        r.endNested(data);
        r.endNested(elem);
    }

    private static void write(NlRequest r, Attr a) {
        if (a.value != null) {
            r.attr(a.type, a.value);
            return;
        }
        int n = r.beginNested(a.type);
        for (Attr k : a.kids) {
            write(r, k);
        }
        r.endNested(n);
    }

    // ---- expression helpers ----

    private static Expr payload(int base, int offset, int length) {
        return new Expr(
                "payload",
                be32(NFTA_PAYLOAD_DREG, NFT_REG_1),
                be32(NFTA_PAYLOAD_BASE, base),
                be32(NFTA_PAYLOAD_OFFSET, offset),
                be32(NFTA_PAYLOAD_LEN, length));
    }

    private static Expr meta(int key) {
        return new Expr("meta", be32(NFTA_META_KEY, key), be32(NFTA_META_DREG, NFT_REG_1));
    }

    private static Expr cmp(int op, byte[] value) {
        return new Expr("cmp", be32(NFTA_CMP_SREG, NFT_REG_1), be32(NFTA_CMP_OP, op), data(NFTA_CMP_DATA, value));
    }

    private static Expr immediate(int reg, byte[] value) {
        return new Expr("immediate", be32(NFTA_IMMEDIATE_DREG, reg), data(NFTA_IMMEDIATE_DATA, value));
    }

    private static Attr data(int type, byte[] value) {
        return nest(type, new Attr(NFTA_DATA_VALUE, value));
    }

    private static Attr nest(int type, Attr... kids) {
        return new Attr(type, null, kids);
    }

    private static Attr be32(int type, int v) {
        return new Attr(type, new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v});
    }

    private static Attr str(int type, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        byte[] z = new byte[b.length + 1];
        System.arraycopy(b, 0, z, 0, b.length);
        return new Attr(type, z);
    }

    private static int protocolNumber(String protocol) {
        return switch (protocol) {
            case "tcp" -> 6;
            case "udp" -> 17;
            case "sctp" -> 132;
            case "icmp" -> 1;
            case "icmpv6" -> 58;
            default -> throw new IllegalArgumentException("unknown layer 4 protocol: " + protocol);
        };
    }
}
