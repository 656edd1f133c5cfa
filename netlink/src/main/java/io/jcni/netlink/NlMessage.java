package io.jcni.netlink;

import java.nio.ByteBuffer;

/**
 * One received netlink message. {@link #buffer()} holds the whole message (header at 0); the
 * family header starts at {@link #PAYLOAD}, attributes after it.
 */
public final class NlMessage {
    /** Offset of the family header (ifinfomsg, rtmsg, nfgenmsg, …). */
    public static final int PAYLOAD = 16;

    private final ByteBuffer buf;

    NlMessage(ByteBuffer buf) {
        this.buf = buf;
    }

    public int type() {
        return buf.getShort(4) & 0xffff;
    }

    public int flags() {
        return buf.getShort(6) & 0xffff;
    }

    public int seq() {
        return buf.getInt(8);
    }

    public int length() {
        return buf.capacity();
    }

    public ByteBuffer buffer() {
        return buf;
    }

    /** Attributes that follow a family header of {@code familyHeaderLen} bytes. */
    public NlAttrs attrs(int familyHeaderLen) {
        return NlAttrs.parse(buf, PAYLOAD + ((familyHeaderLen + 3) & ~3), buf.capacity());
    }

    public int u8(int offset) {
        return buf.get(PAYLOAD + offset) & 0xff;
    }

    public int u16(int offset) {
        return buf.getShort(PAYLOAD + offset) & 0xffff;
    }

    public int s32(int offset) {
        return buf.getInt(PAYLOAD + offset);
    }
}
