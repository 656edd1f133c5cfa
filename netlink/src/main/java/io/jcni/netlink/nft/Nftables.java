package io.jcni.netlink.nft;

import static io.jcni.netlink.nft.Nft.*;

import io.jcni.netlink.InvalidNameException;
import io.jcni.netlink.NetlinkSocket;
import io.jcni.netlink.NlAttrs;
import io.jcni.netlink.NlMessage;
import io.jcni.netlink.NlRequest;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ns.NetNs;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A handle on one namespace's nf_tables, spoken directly over NETLINK_NETFILTER (no {@code nft}
 * process, no libnftables). Changes go through {@link #batch()}: operations are collected and
 * {@link NftBatch#commit() committed} as one transaction, one send, all or nothing. Listings are
 * plain dumps.
 *
 * <pre>{@code
 * try (Nftables nft = Nftables.open(Trace.OFF)) {
 *     nft.batch()
 *        .addTable(Nftables.IP, "jcni")
 *        .addChain(Nftables.IP, "jcni", "postrouting", ChainHook.nat("postrouting", 100))
 *        .addSet(Nftables.IP, "jcni", "pods", SetKeyType.IPV4_ADDR, false)
 *        .addRule(Nftables.IP, "jcni", "postrouting", Rule.create()
 *                .inSet(Rule.Field.IP_SADDR, "pods")
 *                .isNot(Rule.Field.IP_DADDR, IpPrefix.parse("10.1.0.0/16")).masquerade(), "pod masquerade")
 *        .commit();
 *     nft.batch().addElements(Nftables.IP, "jcni", "pods", List.of(IpAddress.parse("10.1.0.2"))).commit();
 * }
 * }</pre>
 */
public final class Nftables implements AutoCloseable {
    /** nft families: {@code inet}, {@code ip}, {@code ip6} (NFPROTO_INET, NFPROTO_IPV4, NFPROTO_IPV6). */
    public static final int INET = 1, IP = 2, BRIDGE = 7, IP6 = 10;

    private static final int NFT_NAME_MAXLEN = 256;

    private final NetlinkSocket socket;
    private final NetNs netns;
    private final Trace trace;
    private int setIds;

    private Nftables(NetlinkSocket socket, NetNs netns, Trace trace) {
        this.socket = socket;
        this.netns = netns;
        this.trace = trace;
    }

    /** A handle on the calling thread's namespace. */
    public static Nftables open(Trace trace) {
        return new Nftables(new NetlinkSocket(NetlinkSocket.NETLINK_NETFILTER), null, trace);
    }

    /** A handle on {@code netns} (which the caller keeps open and closes). */
    public static Nftables open(NetNs netns, Trace trace) {
        return new Nftables(NetlinkSocket.openIn(netns, NetlinkSocket.NETLINK_NETFILTER), netns, trace);
    }

    /** A new, empty transaction on this handle. */
    public NftBatch batch() {
        return new NftBatch(this);
    }

    /** The namespace this handle works in, or null for the opener's own. */
    public NetNs netns() {
        return netns;
    }

    NetlinkSocket socket() {
        return socket;
    }

    Trace trace() {
        return trace;
    }

    int nextSetId() {
        return ++setIds;
    }

    /** The command prefix for the trace: {@code nft } or {@code ip netns exec NS nft }. */
    String nftPrefix() {
        return netns == null ? "nft " : netns.execPrefix() + "nft ";
    }

    /** {@code ip}, {@code ip6}, {@code inet} (or the number for other families). */
    public static String familyName(int family) {
        return switch (family) {
            case INET -> "inet";
            case IP -> "ip";
            case IP6 -> "ip6";
            case 0 -> "unspec";
            case 3 -> "arp";
            case 5 -> "netdev";
            case 7 -> "bridge";
            default -> Integer.toString(family);
        };
    }

    static void validateFamily(int family) {
        if (family != INET && family != IP && family != IP6 && family != BRIDGE) {
            throw new IllegalArgumentException(
                    "jcni uses the nft families inet (1), ip (2), bridge (7) and ip6 (10), not " + family);
        }
    }

    /** Table, chain and set names: non-empty, shorter than NFT_NAME_MAXLEN, no characters nft would need quoted. */
    static void validateName(String what, String name) {
        if (name == null || name.isEmpty()) {
            throw new InvalidNameException("nft " + what, name, "a " + what + " name cannot be empty");
        }
        if (name.getBytes(StandardCharsets.UTF_8).length >= NFT_NAME_MAXLEN) {
            throw new InvalidNameException(
                    "nft " + what, name, "a " + what + " name is shorter than " + NFT_NAME_MAXLEN + " bytes");
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            boolean ok = c >= 'a' && c <= 'z'
                    || c >= 'A' && c <= 'Z'
                    || c == '_'
                    || i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '.');
            if (!ok) {
                throw new InvalidNameException(
                        "nft " + what,
                        name,
                        "jcni's " + what
                                + " names are letters, digits, '_', '-' and '.', starting with a letter or '_'");
            }
        }
    }

    /** {@code value} as the kernel's nft_data_init reads it: an NFTA_DATA_VALUE nested in the attribute {@code type}. */
    static void dataValue(NlRequest r, int type, byte[] value) {
        int n = r.beginNested(type);
        r.attr(NFTA_DATA_VALUE, value);
        r.endNested(n);
    }

    /** One set element's key, and for a range of a concatenated interval set its key end ({@code keyEnd} null otherwise). */
    static void elementKey(NlRequest r, byte[] key, byte[] keyEnd) {
        dataValue(r, NFTA_SET_ELEM_KEY, key);
        if (keyEnd != null) {
            dataValue(r, NFTA_SET_ELEM_KEY_END, keyEnd);
        }
    }

    // ---- listings ----

    static NlRequest request(int msg, int flags, int family, String operation, String object) {
        return new NlRequest(msgType(msg), flags, operation, object)
                .u8(family)
                .u8(0)
                .be16(0);
    }

    /** Every table of every family. */
    public List<NftTable> tables() {
        List<NftTable> out = new ArrayList<>();
        for (NlMessage m : socket.dump(request(NFT_MSG_GETTABLE, 0, 0, "list nft tables", null))) {
            NlAttrs a = m.attrs(NFGENMSG_LEN);
            out.add(new NftTable(m.u8(0), a.string(NFTA_TABLE_NAME), a.be64(NFTA_TABLE_HANDLE, 0)));
        }
        return out;
    }

    /** The chains of one table. */
    public List<NftChain> chains(int family, String table) {
        List<NftChain> out = new ArrayList<>();
        NlRequest r = request(NFT_MSG_GETCHAIN, 0, family, "list nft chains", familyName(family) + " " + table);
        for (NlMessage m : socket.dump(r)) {
            NlAttrs a = m.attrs(NFGENMSG_LEN);
            if (!table.equals(a.string(NFTA_CHAIN_TABLE))) {
                continue;
            }
            ChainHook hook = null;
            if (a.has(NFTA_CHAIN_HOOK)) {
                NlAttrs h = a.nested(NFTA_CHAIN_HOOK);
                int num = h.be32(NFTA_HOOK_HOOKNUM, -1);
                if (num >= 0 && num < HOOKS.length) {
                    hook = new ChainHook(
                            a.string(NFTA_CHAIN_TYPE),
                            HOOKS[num],
                            h.be32(NFTA_HOOK_PRIORITY, 0),
                            a.be32(NFTA_CHAIN_POLICY, NF_ACCEPT) == NF_DROP ? "drop" : "accept");
                }
            }
            out.add(new NftChain(m.u8(0), table, a.string(NFTA_CHAIN_NAME), a.be64(NFTA_CHAIN_HANDLE, 0), hook));
        }
        return out;
    }

    /** The sets of one table (anonymous ones included). */
    public List<NftSet> sets(int family, String table) {
        List<NftSet> out = new ArrayList<>();
        NlRequest r = request(NFT_MSG_GETSET, 0, family, "list nft sets", familyName(family) + " " + table)
                .attrString(NFTA_SET_TABLE, table);
        for (NlMessage m : socket.dump(r)) {
            NlAttrs a = m.attrs(NFGENMSG_LEN);
            if (!table.equals(a.string(NFTA_SET_TABLE))) {
                continue;
            }
            int keyType = a.be32(NFTA_SET_KEY_TYPE, 0);
            out.add(new NftSet(
                    m.u8(0),
                    table,
                    a.string(NFTA_SET_NAME),
                    a.be64(NFTA_SET_HANDLE, 0),
                    SetKeyType.ofNftType(keyType),
                    keyType,
                    a.be32(NFTA_SET_KEY_LEN, 0),
                    a.be32(NFTA_SET_FLAGS, 0)));
        }
        return out;
    }

    /**
     * The elements of one set or map; keys of 4 or 16 bytes are also given as addresses, map
     * elements come with their data, commented ones with their comment.
     */
    public List<NftElement> elements(int family, String table, String set) {
        List<NftElement> out = new ArrayList<>();
        NlRequest r = request(
                        NFT_MSG_GETSETELEM,
                        0,
                        family,
                        "list nft set elements",
                        familyName(family) + " " + table + " " + set)
                .attrString(NFTA_SET_ELEM_LIST_TABLE, table)
                .attrString(NFTA_SET_ELEM_LIST_SET, set);
        for (NlMessage m : socket.dump(r)) {
            parseElements(m, out);
        }
        return out;
    }

    /**
     * {@code nft get element FAMILY TABLE SET { KEY }}: the element with exactly this key (with its
     * data and comment), or null when there is none. One request, whatever the set's size.
     */
    public NftElement element(int family, String table, String set, byte[] key) {
        return element(family, table, set, key, null);
    }

    /**
     * {@code nft get element FAMILY TABLE SET { KEY-KEYEND }}: the range element of an interval
     * set with a concatenated key that spans exactly {@code key} to {@code keyEnd}, or null.
     */
    public NftElement element(int family, String table, String set, byte[] key, byte[] keyEnd) {
        NlRequest r = request(
                        NFT_MSG_GETSETELEM,
                        0,
                        family,
                        "get nft set element",
                        familyName(family) + " " + table + " " + set)
                .attrString(NFTA_SET_ELEM_LIST_TABLE, table)
                .attrString(NFTA_SET_ELEM_LIST_SET, set);
        int list = r.beginNested(NFTA_SET_ELEM_LIST_ELEMENTS);
        int e = r.beginNested(NFTA_LIST_ELEM);
        elementKey(r, key, keyEnd);
        r.endNested(e);
        r.endNested(list);
        List<NftElement> out = new ArrayList<>(1);
        try {
            for (NlMessage m : socket.execute(r)) {
                parseElements(m, out);
            }
        } catch (io.jcni.netlink.NoSuchObjectException missing) {
            if (!hasSet(family, table, set)) {
                throw missing; // the set itself is not there: tell the caller
            }
            return null;
        }
        return out.isEmpty() ? null : out.get(0);
    }

    private boolean hasSet(int family, String table, String set) {
        for (NftSet s : sets(family, table)) {
            if (s.name().equals(set)) {
                return true;
            }
        }
        return false;
    }

    private static void parseElements(NlMessage m, List<NftElement> out) {
        NlAttrs a = m.attrs(NFGENMSG_LEN);
        if (!a.has(NFTA_SET_ELEM_LIST_ELEMENTS)) {
            return;
        }
        for (NlAttrs e : a.nested(NFTA_SET_ELEM_LIST_ELEMENTS).all(NFTA_LIST_ELEM)) {
            byte[] key = e.has(NFTA_SET_ELEM_KEY) ? e.nested(NFTA_SET_ELEM_KEY).bytes(NFTA_DATA_VALUE) : null;
            if (key == null) {
                continue;
            }
            IpAddress address = key.length == 4 || key.length == 16 ? IpAddress.of(key) : null;
            boolean end = (e.be32(NFTA_SET_ELEM_FLAGS, 0) & NFT_SET_ELEM_INTERVAL_END) != 0;
            byte[] data =
                    e.has(NFTA_SET_ELEM_DATA) ? e.nested(NFTA_SET_ELEM_DATA).bytes(NFTA_DATA_VALUE) : null;
            byte[] keyEnd = e.has(NFTA_SET_ELEM_KEY_END)
                    ? e.nested(NFTA_SET_ELEM_KEY_END).bytes(NFTA_DATA_VALUE)
                    : null;
            out.add(new NftElement(
                    key,
                    address,
                    end,
                    data,
                    udataString(e.bytes(NFTA_SET_ELEM_USERDATA), UDATA_SET_ELEM_COMMENT),
                    keyEnd));
        }
    }

    /** The rules of one chain, in order. */
    public List<NftRule> rules(int family, String table, String chain) {
        List<NftRule> out = new ArrayList<>();
        NlRequest r = request(
                        NFT_MSG_GETRULE, 0, family, "list nft rules", familyName(family) + " " + table + " " + chain)
                .attrString(NFTA_RULE_TABLE, table)
                .attrString(NFTA_RULE_CHAIN, chain);
        for (NlMessage m : socket.dump(r)) {
            NlAttrs a = m.attrs(NFGENMSG_LEN);
            if (!table.equals(a.string(NFTA_RULE_TABLE)) || !chain.equals(a.string(NFTA_RULE_CHAIN))) {
                continue;
            }
            List<String> exprs = new ArrayList<>();
            for (NlAttrs e : a.nested(NFTA_RULE_EXPRESSIONS).all(NFTA_LIST_ELEM)) {
                exprs.add(e.string(NFTA_EXPR_NAME));
            }
            out.add(new NftRule(
                    m.u8(0),
                    table,
                    chain,
                    a.be64(NFTA_RULE_HANDLE, 0),
                    comment(a.bytes(NFTA_RULE_USERDATA)),
                    List.copyOf(exprs)));
        }
        return out;
    }

    /** The comment in rule user data (libnftnl TLVs: type u8, length u8, value), or null. */
    static String comment(byte[] udata) {
        return udataString(udata, UDATA_RULE_COMMENT);
    }

    /** The string TLV {@code type} in libnftnl user data, or null. */
    static String udataString(byte[] udata, int wanted) {
        if (udata == null) {
            return null;
        }
        int pos = 0;
        while (pos + 2 <= udata.length) {
            int type = udata[pos] & 0xff, len = udata[pos + 1] & 0xff;
            if (pos + 2 + len > udata.length) {
                break;
            }
            if (type == wanted) {
                int n = len;
                while (n > 0 && udata[pos + 2 + n - 1] == 0) {
                    n--;
                }
                return new String(udata, pos + 2, n, StandardCharsets.UTF_8);
            }
            pos += 2 + len;
        }
        return null;
    }

    @Override
    public void close() {
        socket.close();
    }
}
