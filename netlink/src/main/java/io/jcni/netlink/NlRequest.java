package io.jcni.netlink;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Builds one netlink message: the 16-byte header, the family header (ifinfomsg, rtmsg, …) and
 * attributes, nested ones included ({@link #beginNested}/{@link #endNested}). Numbers are in host
 * order unless the method says big-endian (nf_tables and a few rtnetlink attributes use network
 * order). The sequence number is stamped by {@link NetlinkSocket} when the message is sent.
 */
public final class NlRequest {
    public static final int NLM_F_REQUEST = 0x1,
            NLM_F_MULTI = 0x2,
            NLM_F_ACK = 0x4,
            NLM_F_ECHO = 0x8,
            NLM_F_DUMP_INTR = 0x10,
            NLM_F_ROOT = 0x100,
            NLM_F_MATCH = 0x200,
            NLM_F_DUMP = 0x300,
            NLM_F_REPLACE = 0x100,
            NLM_F_EXCL = 0x200,
            NLM_F_CREATE = 0x400,
            NLM_F_APPEND = 0x800,
            NLM_F_NONREC = 0x100,
            NLM_F_CAPPED = 0x100,
            NLM_F_ACK_TLVS = 0x200;
    public static final int NLA_F_NESTED = 0x8000, NLA_F_NET_BYTEORDER = 0x4000, NLA_TYPE_MASK = 0x3fff;
    static final int HEADER_LEN = 16;

    private ByteBuffer buf;
    private final String operation;
    private final String object;

    /**
     * @param type      the message type (RTM_NEWLINK, …)
     * @param flags     NLM_F_* flags besides NLM_F_REQUEST, which is always set
     * @param operation what this request does, for error messages ("add link")
     * @param object    what it does it to ("veth1a"), may be null
     */
    public NlRequest(int type, int flags, String operation, String object) {
        this.buf = ByteBuffer.allocate(256).order(ByteOrder.nativeOrder());
        this.operation = operation;
        this.object = object;
        buf.putInt(0); // length, fixed in bytes()
        buf.putShort((short) type);
        buf.putShort((short) (flags | NLM_F_REQUEST));
        buf.putInt(0); // seq, stamped on send
        buf.putInt(0); // port id: 0 = kernel
    }

    public String operation() {
        return operation;
    }

    public String object() {
        return object;
    }

    public int type() {
        return buf.getShort(4) & 0xffff;
    }

    public int flags() {
        return buf.getShort(6) & 0xffff;
    }

    void setFlags(int flags) {
        buf.putShort(6, (short) flags);
    }

    private void ensure(int more) {
        if (buf.remaining() < more) {
            ByteBuffer bigger = ByteBuffer.allocate(Math.max(buf.capacity() * 2, buf.position() + more + 64))
                    .order(ByteOrder.nativeOrder());
            buf.flip();
            bigger.put(buf);
            buf = bigger;
        }
    }

    private void pad() {
        int p = (4 - (buf.position() & 3)) & 3;
        ensure(p);
        for (int i = 0; i < p; i++) {
            buf.put((byte) 0);
        }
    }

    // ---- fixed family headers ----

    public NlRequest u8(int v) {
        ensure(1);
        buf.put((byte) v);
        return this;
    }

    public NlRequest u16(int v) {
        ensure(2);
        buf.putShort((short) v);
        return this;
    }

    public NlRequest u32(int v) {
        ensure(4);
        buf.putInt(v);
        return this;
    }

    /** Big-endian 16-bit value (nfgenmsg's res_id). */
    public NlRequest be16(int v) {
        ensure(2);
        buf.put((byte) (v >> 8)).put((byte) v);
        return this;
    }

    public NlRequest bytes(byte[] v) {
        ensure(v.length);
        buf.put(v);
        return this;
    }

    /** Pads the family header to 4 bytes; attributes start aligned. */
    public NlRequest align() {
        pad();
        return this;
    }

    // ---- attributes ----

    public NlRequest attr(int type, byte[] value) {
        pad();
        ensure(4 + value.length + 3);
        buf.putShort((short) (4 + value.length));
        buf.putShort((short) type);
        buf.put(value);
        pad();
        return this;
    }

    public NlRequest attrFlag(int type) {
        return attr(type, new byte[0]);
    }

    public NlRequest attrU8(int type, int v) {
        return attr(type, new byte[] {(byte) v});
    }

    public NlRequest attrU16(int type, int v) {
        pad();
        ensure(8);
        buf.putShort((short) 6).putShort((short) type).putShort((short) v);
        pad();
        return this;
    }

    public NlRequest attrU32(int type, int v) {
        pad();
        ensure(8);
        buf.putShort((short) 8).putShort((short) type).putInt(v);
        return this;
    }

    public NlRequest attrU64(int type, long v) {
        pad();
        ensure(12);
        buf.putShort((short) 12).putShort((short) type).putLong(v);
        return this;
    }

    public NlRequest attrBe16(int type, int v) {
        return attr(type, new byte[] {(byte) (v >> 8), (byte) v});
    }

    public NlRequest attrBe32(int type, int v) {
        return attr(type, new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v});
    }

    public NlRequest attrBe64(int type, long v) {
        byte[] b = new byte[8];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (v >>> (56 - 8 * i));
        }
        return attr(type, b);
    }

    /** A NUL-terminated string attribute (what the kernel's NLA_STRING / NLA_NUL_STRING expect). */
    public NlRequest attrString(int type, String v) {
        byte[] s = v.getBytes(StandardCharsets.UTF_8);
        byte[] z = new byte[s.length + 1];
        System.arraycopy(s, 0, z, 0, s.length);
        return attr(type, z);
    }

    /** Opens a nested attribute (NLA_F_NESTED is set); returns the token for {@link #endNested}. */
    public int beginNested(int type) {
        pad();
        ensure(4);
        int start = buf.position();
        buf.putShort((short) 0).putShort((short) (type | NLA_F_NESTED));
        return start;
    }

    public NlRequest endNested(int token) {
        pad();
        buf.putShort(token, (short) (buf.position() - token));
        return this;
    }

    /** Current length; messages are laid out contiguously by the socket. */
    int length() {
        int p = buf.position();
        return (p + 3) & ~3;
    }

    /** The finished message with length and sequence number filled in. */
    byte[] bytes(int seq) {
        pad();
        buf.putInt(0, buf.position());
        buf.putInt(8, seq);
        byte[] out = new byte[buf.position()];
        buf.get(0, out);
        return out;
    }
}
