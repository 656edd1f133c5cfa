package io.jcni.netlink.nft;

import static io.jcni.netlink.NlRequest.NLM_F_APPEND;
import static io.jcni.netlink.NlRequest.NLM_F_CREATE;
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
 * One nf_tables transaction: operations are collected in order and {@link #commit() committed}
 * in one send (BATCH_BEGIN, the operations, BATCH_END), which the kernel applies completely or
 * not at all. "add" operations are idempotent like nft's {@code add} (NLM_F_CREATE without
 * NLM_F_EXCL); deleting what is not there fails with {@link io.jcni.netlink.NoSuchObjectException}.
 *
 * <p>A batch is used once. After a successful commit each operation's nft command line is
 * reported to the handle's trace, in order.
 */
public final class NftBatch {
    private final Nftables nft;
    private final boolean tracing;
    private final List<NlRequest> requests = new ArrayList<>(4);
    private final List<String> commands;
    private boolean committed;

    NftBatch(Nftables nft) {
        this.nft = nft;
        this.tracing = nft.trace().enabled();
        this.commands = tracing ? new ArrayList<>(4) : null;
    }

    /** How many operations are queued. */
    public int size() {
        return requests.size();
    }

    private void add(NlRequest r, String command) {
        if (committed) {
            throw new IllegalStateException("this nft batch was already committed");
        }
        requests.add(r);
        if (tracing) {
            commands.add(command);
        }
    }

    /** Validates the family and the table's name; the table as nft names it: {@code FAMILY TABLE}. */
    private static String where(int family, String table) {
        Nftables.validateFamily(family);
        Nftables.validateName("table", table);
        return Nftables.familyName(family) + " " + table;
    }

    /** Validates the family and both names; the object as nft names it: {@code FAMILY TABLE NAME}. */
    private static String where(int family, String table, String kind, String name) {
        String w = where(family, table);
        Nftables.validateName(kind, name);
        return w + " " + name;
    }

    private static NlRequest request(int msg, int flags, int family, String operation, String object) {
        // Every command is acknowledged, so the batch's verdict names the operation that failed.
        return Nftables.request(msg, flags | NlRequest.NLM_F_ACK, family, operation, object);
    }

    // ---- tables ----

    /** {@code nft add table FAMILY TABLE}: creates it, or does nothing if it exists. */
    public NftBatch addTable(int family, String table) {
        String w = where(family, table);
        add(
                request(NFT_MSG_NEWTABLE, NLM_F_CREATE, family, "add table", w)
                        .attrString(NFTA_TABLE_NAME, table)
                        .attrBe32(NFTA_TABLE_FLAGS, 0),
                "add table " + w);
        return this;
    }

    /** {@code nft delete table FAMILY TABLE}, with everything in it. */
    public NftBatch deleteTable(int family, String table) {
        String w = where(family, table);
        add(
                request(NFT_MSG_DELTABLE, 0, family, "delete table", w).attrString(NFTA_TABLE_NAME, table),
                "delete table " + w);
        return this;
    }

    // ---- chains ----

    /** {@code nft add chain FAMILY TABLE CHAIN [{ type … hook … priority … ; policy … ; }]}; {@code hook} null for a regular chain. */
    public NftBatch addChain(int family, String table, String chain, ChainHook hook) {
        String w = where(family, table, "chain", chain);
        NlRequest r = request(NFT_MSG_NEWCHAIN, NLM_F_CREATE, family, "add chain", w)
                .attrString(NFTA_CHAIN_TABLE, table)
                .attrString(NFTA_CHAIN_NAME, chain);
        if (hook != null) {
            int h = r.beginNested(NFTA_CHAIN_HOOK);
            r.attrBe32(NFTA_HOOK_HOOKNUM, hook.hookNumber());
            r.attrBe32(NFTA_HOOK_PRIORITY, hook.priority());
            r.endNested(h);
            r.attrString(NFTA_CHAIN_TYPE, hook.type());
            r.attrBe32(NFTA_CHAIN_POLICY, "drop".equals(hook.policy()) ? NF_DROP : NF_ACCEPT);
        }
        add(r, tracing ? "add chain " + w + (hook == null ? "" : " { " + hook.text() + " }") : null);
        return this;
    }

    /** {@code nft delete chain FAMILY TABLE CHAIN} (the chain must be empty and unreferenced). */
    public NftBatch deleteChain(int family, String table, String chain) {
        String w = where(family, table, "chain", chain);
        add(
                request(NFT_MSG_DELCHAIN, 0, family, "delete chain", w)
                        .attrString(NFTA_CHAIN_TABLE, table)
                        .attrString(NFTA_CHAIN_NAME, chain),
                "delete chain " + w);
        return this;
    }

    /** {@code nft flush chain FAMILY TABLE CHAIN}: deletes all its rules. */
    public NftBatch flushChain(int family, String table, String chain) {
        String w = where(family, table, "chain", chain);
        add(
                request(NFT_MSG_DELRULE, 0, family, "flush chain", w)
                        .attrString(NFTA_RULE_TABLE, table)
                        .attrString(NFTA_RULE_CHAIN, chain),
                "flush chain " + w);
        return this;
    }

    // ---- sets ----

    /** {@code nft add set FAMILY TABLE SET { type KEY ; [flags interval ;] }}. */
    public NftBatch addSet(int family, String table, String set, SetKeyType keyType, boolean interval) {
        return set(family, table, set, keyType, null, interval);
    }

    /**
     * {@code nft add map FAMILY TABLE MAP { type KEY : DATA ; }}: a set whose elements carry data
     * ({@code inet_proto . inet_service : ipv4_addr . inet_service} for a hostPort → pod map), for
     * lookups with a destination register such as {@link Rule#dnatMap}.
     */
    public NftBatch addMap(int family, String table, String map, SetKeyType keyType, SetKeyType dataType) {
        if (dataType == null) {
            throw new IllegalArgumentException("a map needs a data type");
        }
        return set(family, table, map, keyType, dataType, false);
    }

    private NftBatch set(
            int family, String table, String set, SetKeyType keyType, SetKeyType dataType, boolean interval) {
        String w = where(family, table, dataType == null ? "set" : "map", set);
        // Ranges over a concatenation live in the kernel's pipapo backend, which needs the field
        // lengths (NFTA_SET_DESC) and elements with a start and an end key (see addRangeElement).
        boolean concatRanges = interval && keyType.fields != null;
        int flags = (interval ? NFT_SET_INTERVAL : 0)
                | (dataType != null ? NFT_SET_MAP : 0)
                | (concatRanges ? NFT_SET_CONCAT : 0);
        String op = dataType == null ? "add set" : "add map";
        NlRequest r = request(NFT_MSG_NEWSET, NLM_F_CREATE, family, op, w)
                .attrString(NFTA_SET_TABLE, table)
                .attrString(NFTA_SET_NAME, set)
                .attrBe32(NFTA_SET_FLAGS, flags)
                .attrBe32(NFTA_SET_KEY_TYPE, keyType.nftType)
                .attrBe32(NFTA_SET_KEY_LEN, keyType.keyLength);
        if (dataType != null) {
            r.attrBe32(NFTA_SET_DATA_TYPE, dataType.nftType).attrBe32(NFTA_SET_DATA_LEN, dataType.keyLength);
        }
        if (concatRanges) {
            int desc = r.beginNested(NFTA_SET_DESC);
            int concat = r.beginNested(NFTA_SET_DESC_CONCAT);
            for (int len : keyType.fields) {
                int f = r.beginNested(NFTA_LIST_ELEM);
                r.attrBe32(NFTA_SET_FIELD_LEN, len);
                r.endNested(f);
            }
            r.endNested(concat);
            r.endNested(desc);
        }
        r.attrBe32(NFTA_SET_ID, nft.nextSetId());
        // What nft stores so it can print the keys (and data) back: their byte order (libnftnl udata TLVs).
        byte[] ud = new byte[dataType == null ? 6 : 12];
        ByteBuffer b = ByteBuffer.wrap(ud).order(ByteOrder.nativeOrder());
        b.put((byte) UDATA_SET_KEYBYTEORDER).put((byte) 4).putInt(BYTEORDER_BIG_ENDIAN);
        if (dataType != null) {
            b.put((byte) UDATA_SET_DATABYTEORDER).put((byte) 4).putInt(BYTEORDER_BIG_ENDIAN);
        }
        r.attr(NFTA_SET_USERDATA, ud);
        add(
                r,
                tracing
                        ? op + " " + w + " { type " + keyType.nftName()
                                + (dataType == null ? "" : " : " + dataType.nftName()) + " ;"
                                + (interval ? " flags interval ;" : "") + " }"
                        : null);
        return this;
    }

    /** {@code nft delete set FAMILY TABLE SET} (no rule may still refer to it). */
    public NftBatch deleteSet(int family, String table, String set) {
        String w = where(family, table, "set", set);
        add(
                request(NFT_MSG_DELSET, 0, family, "delete set", w)
                        .attrString(NFTA_SET_TABLE, table)
                        .attrString(NFTA_SET_NAME, set),
                "delete set " + w);
        return this;
    }

    // ---- elements ----

    /** {@code nft add element FAMILY TABLE SET { A, B }} for an address set (already present: no error). */
    public NftBatch addElements(int family, String table, String set, List<IpAddress> addresses) {
        return elements(true, family, table, set, keys(addresses), null, null);
    }

    /** {@code nft delete element FAMILY TABLE SET { A, B }}; a missing one fails the whole batch with NoSuchObjectException. */
    public NftBatch deleteElements(int family, String table, String set, List<IpAddress> addresses) {
        return elements(false, family, table, set, keys(addresses), null, null);
    }

    /** Adds elements given as key bytes (see {@link SetKeyType#port}, {@link SetKeyType#addressPort}). */
    public NftBatch addElementKeys(int family, String table, String set, List<byte[]> keys) {
        return elements(true, family, table, set, keys, null, null);
    }

    public NftBatch deleteElementKeys(int family, String table, String set, List<byte[]> keys) {
        return elements(false, family, table, set, keys, null, null);
    }

    /** Adds elements given as key bytes, with their nft text for the trace (keys whose type the bytes can't tell). */
    public NftBatch addElementKeys(int family, String table, String set, List<byte[]> keys, String text) {
        return elements(true, family, table, set, keys, null, text);
    }

    public NftBatch deleteElementKeys(int family, String table, String set, List<byte[]> keys, String text) {
        return elements(false, family, table, set, keys, null, text);
    }

    /**
     * {@code nft add element FAMILY TABLE SET { KEY [comment "C"] [: DATA] }}: one element, alone in
     * its message, so a failure names it. {@code data} is null for a plain set; {@code comment}
     * (≤ 128 bytes, may be null) is stored as nft stores it. {@code text} is the element's nft
     * text for the trace ({@code tcp . 8080 : 10.1.0.2 . 80}). Adding an element that exists with
     * the same data does nothing; with other data the kernel refuses it (EEXIST), which makes a map
     * key a claim: {@link io.jcni.netlink.ObjectExistsException}.
     */
    public NftBatch addElement(
            int family, String table, String set, byte[] key, byte[] data, String comment, String text) {
        return element(true, family, table, set, key, null, data, comment, text);
    }

    /**
     * {@code nft add element FAMILY TABLE SET { FROM-TO [comment "C"] }} in an interval set with a
     * concatenated key ({@code ipv4_addr . ipv4_addr} with {@code flags interval}): one element
     * whose every field lies between the fields of {@code from} and {@code to} (a prefix in a field
     * is its first and last address; a single value is the same in both). Adding an identical
     * element does nothing.
     */
    public NftBatch addRangeElement(
            int family, String table, String set, byte[] from, byte[] to, String comment, String text) {
        return element(true, family, table, set, from, to, null, comment, text);
    }

    /** {@code nft delete element FAMILY TABLE SET { FROM-TO }}: both keys must match the element; missing → NoSuchObjectException. */
    public NftBatch deleteRangeElement(int family, String table, String set, byte[] from, byte[] to, String text) {
        return element(false, family, table, set, from, to, null, null, text);
    }

    private NftBatch element(
            boolean add,
            int family,
            String table,
            String set,
            byte[] key,
            byte[] keyEnd,
            byte[] data,
            String comment,
            String text) {
        String what = where(family, table, "set", set) + " { " + text + " }";
        byte[] userdata = comment == null ? null : commentUserdata(UDATA_SET_ELEM_COMMENT, comment);
        String op = add ? "add element" : "delete element";
        NlRequest r = request(add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM, add ? NLM_F_CREATE : 0, family, op, what)
                .attrString(NFTA_SET_ELEM_LIST_TABLE, table)
                .attrString(NFTA_SET_ELEM_LIST_SET, set);
        int list = r.beginNested(NFTA_SET_ELEM_LIST_ELEMENTS);
        int e = r.beginNested(NFTA_LIST_ELEM);
        Nftables.elementKey(r, key, keyEnd);
        if (data != null) {
            Nftables.dataValue(r, NFTA_SET_ELEM_DATA, data);
        }
        if (userdata != null) {
            r.attr(NFTA_SET_ELEM_USERDATA, userdata);
        }
        r.endNested(e);
        r.endNested(list);
        add(r, op + " " + what);
        return this;
    }

    /** {@code nft delete element FAMILY TABLE SET { KEY }}; {@code text} is the key's nft text. Missing: NoSuchObjectException. */
    public NftBatch deleteElement(int family, String table, String set, byte[] key, String text) {
        return elements(false, family, table, set, List.of(key), null, text);
    }

    /** Adds prefixes to an interval set ({@code flags interval}): each is a start and an interval-end element. */
    public NftBatch addPrefixes(int family, String table, String set, List<IpPrefix> prefixes) {
        return intervals(true, family, table, set, prefixes);
    }

    public NftBatch deletePrefixes(int family, String table, String set, List<IpPrefix> prefixes) {
        return intervals(false, family, table, set, prefixes);
    }

    private static List<byte[]> keys(List<IpAddress> addresses) {
        List<byte[]> keys = new ArrayList<>(addresses.size());
        for (IpAddress a : addresses) {
            keys.add(a.bytes());
        }
        return keys;
    }

    private NftBatch intervals(boolean add, int family, String table, String set, List<IpPrefix> prefixes) {
        List<byte[]> keys = new ArrayList<>(prefixes.size() * 2);
        List<Boolean> ends = new ArrayList<>(prefixes.size() * 2);
        StringBuilder text = new StringBuilder();
        for (IpPrefix p : prefixes) {
            IpPrefix net = p.network();
            keys.add(net.address().bytes());
            ends.add(Boolean.FALSE);
            IpAddress after = net.lastAddress().next();
            if (after.compareTo(net.address()) > 0) { // no end element when the range runs to the top
                keys.add(after.bytes());
                ends.add(Boolean.TRUE);
            }
            text.append(text.length() == 0 ? "" : ", ")
                    .append(net.length() == net.address().bits() ? net.address().toString() : net.toString());
        }
        boolean[] endFlags = new boolean[ends.size()];
        for (int i = 0; i < endFlags.length; i++) {
            endFlags[i] = ends.get(i);
        }
        return elements(add, family, table, set, keys, endFlags, text.toString());
    }

    /**
     * One NEWSETELEM/DELSETELEM message for all {@code keys}. For interval sets {@code ends} marks
     * the interval-end keys and {@code text} is the elements' nft text; both null otherwise.
     */
    private NftBatch elements(
            boolean add, int family, String table, String set, List<byte[]> keys, boolean[] ends, String text) {
        String w = where(family, table, "set", set);
        if (keys.isEmpty()) {
            throw new IllegalArgumentException("no elements to " + (add ? "add to" : "delete from") + " set " + set);
        }
        if (text == null) {
            StringBuilder sb = new StringBuilder();
            for (byte[] k : keys) {
                sb.append(sb.length() == 0 ? "" : ", ").append(SetKeyType.keyText(k));
            }
            text = sb.toString();
        }
        String what = w + " { " + text + " }";
        String op = add ? "add element" : "delete element";
        NlRequest r = request(add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM, add ? NLM_F_CREATE : 0, family, op, what)
                .attrString(NFTA_SET_ELEM_LIST_TABLE, table)
                .attrString(NFTA_SET_ELEM_LIST_SET, set);
        int list = r.beginNested(NFTA_SET_ELEM_LIST_ELEMENTS);
        for (int i = 0; i < keys.size(); i++) {
            int e = r.beginNested(NFTA_LIST_ELEM);
            Nftables.dataValue(r, NFTA_SET_ELEM_KEY, keys.get(i));
            if (ends != null && ends[i]) {
                r.attrBe32(NFTA_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
            }
            r.endNested(e);
        }
        r.endNested(list);
        add(r, (add ? "add element " : "delete element ") + what);
        return this;
    }

    // ---- rules ----

    /**
     * {@code nft add rule FAMILY TABLE CHAIN RULE [comment "COMMENT"]}: appends a rule; the comment
     * (≤ 128 bytes, may be null) is stored as nft stores it, so {@code nft list} shows it.
     */
    public NftBatch addRule(int family, String table, String chain, Rule rule, String comment) {
        String w = where(family, table, "chain", chain);
        if (rule.isEmpty()) {
            throw new IllegalArgumentException("an nft rule needs at least one statement");
        }
        rule.checkFamily(family);
        byte[] userdata = comment == null ? null : commentUserdata(UDATA_RULE_COMMENT, comment);
        NlRequest r = request(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, family, "add rule", w)
                .attrString(NFTA_RULE_TABLE, table)
                .attrString(NFTA_RULE_CHAIN, chain);
        rule.encode(r, family);
        if (userdata != null) {
            r.attr(NFTA_RULE_USERDATA, userdata);
        }
        add(
                r,
                tracing
                        ? "add rule " + w + " " + rule.text(family)
                                + (comment == null ? "" : " comment \"" + comment + "\"")
                        : null);
        return this;
    }

    /**
     * A comment as nft stores it, so that {@code nft list} shows it: a libnftnl udata TLV of
     * {@code type} holding the NUL-terminated text (at most 128 bytes, no quote or newline).
     */
    private static byte[] commentUserdata(int type, String comment) {
        byte[] c = comment.getBytes(StandardCharsets.UTF_8);
        if (c.length > COMMENT_MAXLEN || comment.indexOf('"') >= 0 || comment.indexOf('\n') >= 0) {
            throw new IllegalArgumentException(
                    "an nft comment is at most " + COMMENT_MAXLEN + " bytes without '\"' or newlines: " + comment);
        }
        byte[] ud = new byte[2 + c.length + 1];
        ud[0] = (byte) type;
        ud[1] = (byte) (c.length + 1);
        System.arraycopy(c, 0, ud, 2, c.length);
        return ud;
    }

    /** {@code nft delete rule FAMILY TABLE CHAIN handle HANDLE}. */
    public NftBatch deleteRule(int family, String table, String chain, long handle) {
        String w = where(family, table, "chain", chain);
        add(
                request(NFT_MSG_DELRULE, 0, family, "delete rule", w + " handle " + handle)
                        .attrString(NFTA_RULE_TABLE, table)
                        .attrString(NFTA_RULE_CHAIN, chain)
                        .attrBe64(NFTA_RULE_HANDLE, handle),
                "delete rule " + w + " handle " + handle);
        return this;
    }

    // ---- commit ----

    /**
     * Sends the operations as one transaction and waits for the kernel's verdict: all applied, or
     * none and the first failing operation's {@link io.jcni.netlink.KernelException} (naming the
     * operation and object, with the kernel's extended-ACK text). An empty batch sends nothing.
     */
    public void commit() {
        if (committed) {
            throw new IllegalStateException("this nft batch was already committed");
        }
        committed = true;
        if (requests.isEmpty()) {
            return;
        }
        List<NlRequest> all = new ArrayList<>(requests.size() + 2);
        all.add(batchMarker(NFNL_MSG_BATCH_BEGIN));
        all.addAll(requests);
        all.add(batchMarker(NFNL_MSG_BATCH_END));
        nft.socket().executeBatch(all);
        if (tracing) {
            String prefix = nft.nftPrefix();
            for (String c : commands) {
                nft.trace().command(prefix + shellQuoted(c));
            }
        }
    }

    /**
     * nft's own syntax uses braces, semicolons and quotes, which a shell would eat: the traced line
     * quotes the whole nft command in single quotes when it has any, so it can be pasted as is.
     */
    static String shellQuoted(String nftCommand) {
        for (int i = 0; i < nftCommand.length(); i++) {
            if ("{};\"'()<>|&*?[]$\\!#~`".indexOf(nftCommand.charAt(i)) >= 0) {
                return "'" + nftCommand.replace("'", "'\\''") + "'";
            }
        }
        return nftCommand;
    }

    private static NlRequest batchMarker(int type) {
        return new NlRequest(type, 0, "commit nft batch", null).u8(0).u8(0).be16(NFNL_SUBSYS_NFTABLES);
    }
}
