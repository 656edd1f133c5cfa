package io.jcni.netlink;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The attributes of a received message (or of a nested attribute), indexed by type. A type seen
 * several times (list-like nests) keeps all its occurrences in {@link #all}.
 */
public final class NlAttrs {
    private final ByteBuffer buf;
    private final List<int[]> entries = new ArrayList<>(); // {type, valueOffset, valueLength}

    private NlAttrs(ByteBuffer buf) {
        this.buf = buf;
    }

    /** Parses attributes in {@code buf} from {@code start} to {@code end}. */
    public static NlAttrs parse(ByteBuffer buf, int start, int end) {
        NlAttrs a = new NlAttrs(buf);
        int pos = start;
        while (pos + 4 <= end) {
            int len = buf.getShort(pos) & 0xffff;
            int type = buf.getShort(pos + 2) & NlRequest.NLA_TYPE_MASK;
            if (len < 4 || pos + len > end) {
                break;
            }
            a.entries.add(new int[] {type, pos + 4, len - 4});
            pos += (len + 3) & ~3;
        }
        return a;
    }

    private int[] find(int type) {
        for (int[] e : entries) {
            if (e[0] == type) {
                return e;
            }
        }
        return null;
    }

    public boolean has(int type) {
        return find(type) != null;
    }

    public byte[] bytes(int type) {
        int[] e = find(type);
        if (e == null) {
            return null;
        }
        byte[] out = new byte[e[2]];
        buf.get(e[1], out);
        return out;
    }

    /** A string attribute without its trailing NUL; null when absent. */
    public String string(int type) {
        int[] e = find(type);
        if (e == null) {
            return null;
        }
        int len = e[2];
        while (len > 0 && buf.get(e[1] + len - 1) == 0) {
            len--;
        }
        byte[] out = new byte[len];
        buf.get(e[1], out);
        return new String(out, StandardCharsets.UTF_8);
    }

    public int u8(int type, int dflt) {
        int[] e = find(type);
        return e == null || e[2] < 1 ? dflt : buf.get(e[1]) & 0xff;
    }

    public int u16(int type, int dflt) {
        int[] e = find(type);
        return e == null || e[2] < 2 ? dflt : buf.getShort(e[1]) & 0xffff;
    }

    public int u32(int type, int dflt) {
        int[] e = find(type);
        return e == null || e[2] < 4 ? dflt : buf.getInt(e[1]);
    }

    public long u64(int type, long dflt) {
        int[] e = find(type);
        return e == null || e[2] < 8 ? dflt : buf.getLong(e[1]);
    }

    public int be16(int type, int dflt) {
        int[] e = find(type);
        return e == null || e[2] < 2 ? dflt : ((buf.get(e[1]) & 0xff) << 8) | (buf.get(e[1] + 1) & 0xff);
    }

    public int be32(int type, int dflt) {
        int[] e = find(type);
        return e == null || e[2] < 4
                ? dflt
                : buf.duplicate().order(ByteOrder.BIG_ENDIAN).getInt(e[1]);
    }

    public long be64(int type, long dflt) {
        int[] e = find(type);
        return e == null || e[2] < 8
                ? dflt
                : buf.duplicate().order(ByteOrder.BIG_ENDIAN).getLong(e[1]);
    }

    /** The attributes nested inside {@code type}; an empty set when absent. */
    public NlAttrs nested(int type) {
        int[] e = find(type);
        return e == null ? parse(buf, 0, 0) : parse(buf, e[1], e[1] + e[2]);
    }

    /** Every occurrence of {@code type}, each parsed as a nest. */
    public List<NlAttrs> all(int type) {
        List<NlAttrs> out = new ArrayList<>();
        for (int[] e : entries) {
            if (e[0] == type) {
                out.add(parse(buf, e[1], e[1] + e[2]));
            }
        }
        return out;
    }

    /** The value of every occurrence of {@code type} (attributes that repeat, such as VLAN entries). */
    public List<byte[]> allBytes(int type) {
        List<byte[]> out = new ArrayList<>();
        for (int[] e : entries) {
            if (e[0] == type) {
                byte[] v = new byte[e[2]];
                buf.get(e[1], v);
                out.add(v);
            }
        }
        return out;
    }

    /** The types present, in order (for decoding lists such as nf_tables expressions). */
    public int[] types() {
        int[] t = new int[entries.size()];
        for (int i = 0; i < t.length; i++) {
            t[i] = entries.get(i)[0];
        }
        return t;
    }

    /** Offset of the value of {@code type} in the underlying buffer, or -1 (for struct-valued attributes). */
    public int offset(int type) {
        int[] e = find(type);
        return e == null ? -1 : e[1];
    }

    public ByteBuffer buffer() {
        return buf;
    }
}
