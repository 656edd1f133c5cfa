package io.jcni.netlink.ct;

import io.jcni.netlink.NetlinkSocket;
import io.jcni.netlink.NlAttrs;
import io.jcni.netlink.NlMessage;
import io.jcni.netlink.NlRequest;
import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ns.NetNs;
import java.util.ArrayList;
import java.util.List;

/**
 * The connection tracking table of one namespace through ctnetlink (NFNL_SUBSYS_CTNETLINK over
 * NETLINK_NETFILTER): list entries and delete them, e.g. stale UDP entries towards a host port
 * whose DNAT just changed (what {@code conntrack -D -p udp --orig-port-dst P} does).
 */
public final class Conntrack implements AutoCloseable {
    /** Address families of the entries: AF_INET, AF_INET6. */
    public static final int AF_INET = 2, AF_INET6 = 10;

    public static final int TCP = 6, UDP = 17, SCTP = 132;

    private static final int NFNL_SUBSYS_CTNETLINK = 1;
    private static final int IPCTNL_MSG_CT_GET = 1, IPCTNL_MSG_CT_DELETE = 2;
    private static final int CTA_TUPLE_ORIG = 1, CTA_TUPLE_REPLY = 2, CTA_ID = 12, CTA_ZONE = 18;
    private static final int CTA_TUPLE_IP = 1, CTA_TUPLE_PROTO = 2;
    private static final int CTA_IP_V4_SRC = 1, CTA_IP_V4_DST = 2, CTA_IP_V6_SRC = 3, CTA_IP_V6_DST = 4;
    private static final int CTA_PROTO_NUM = 1, CTA_PROTO_SRC_PORT = 2, CTA_PROTO_DST_PORT = 3;
    private static final int NFGENMSG_LEN = 4;

    /** One direction of a connection: addresses, layer-4 protocol, ports (0 for portless protocols). */
    public record Tuple(IpAddress src, IpAddress dst, int protocol, int srcPort, int dstPort) {
        @Override
        public String toString() {
            return "src=" + src + " dst=" + dst + " proto=" + protocol + " sport=" + srcPort + " dport=" + dstPort;
        }
    }

    /** An entry: its original and reply tuples, its zone and id. */
    public record Entry(int family, Tuple original, Tuple reply, int zone, long id) {
        @Override
        public String toString() {
            return original + " | reply " + reply + (zone == 0 ? "" : " zone=" + zone);
        }
    }

    private final NetlinkSocket socket;
    private final NetNs netns;
    private final Trace trace;

    private Conntrack(NetlinkSocket socket, NetNs netns, Trace trace) {
        this.socket = socket;
        this.netns = netns;
        this.trace = trace;
    }

    /** A handle on the calling thread's namespace. */
    public static Conntrack open(Trace trace) {
        return new Conntrack(new NetlinkSocket(NetlinkSocket.NETLINK_NETFILTER), null, trace);
    }

    /** A handle on {@code netns} (which the caller keeps open and closes). */
    public static Conntrack open(NetNs netns, Trace trace) {
        return new Conntrack(NetlinkSocket.openIn(netns, NetlinkSocket.NETLINK_NETFILTER), netns, trace);
    }

    private static NlRequest request(int msg, int flags, int family, String operation, String object) {
        return new NlRequest((NFNL_SUBSYS_CTNETLINK << 8) | msg, flags, operation, object)
                .u8(family)
                .u8(0)
                .be16(0);
    }

    /** {@code conntrack -L -f ipv4|ipv6}: every entry of {@code family}. */
    public List<Entry> list(int family) {
        List<Entry> out = new ArrayList<>();
        for (NlMessage m : socket.dump(request(IPCTNL_MSG_CT_GET, 0, family, "list conntrack entries", null))) {
            if ((m.type() & 0xff) != 0 && (m.type() & 0xff) != IPCTNL_MSG_CT_GET) {
                // IPCTNL_MSG_CT_NEW (0) is what a dump answers with
                continue;
            }
            NlAttrs a = m.attrs(NFGENMSG_LEN);
            if (!a.has(CTA_TUPLE_ORIG)) {
                continue;
            }
            out.add(new Entry(
                    m.u8(0),
                    tuple(a.nested(CTA_TUPLE_ORIG)),
                    a.has(CTA_TUPLE_REPLY) ? tuple(a.nested(CTA_TUPLE_REPLY)) : null,
                    a.be16(CTA_ZONE, 0),
                    a.be32(CTA_ID, 0) & 0xffffffffL));
        }
        return out;
    }

    private static Tuple tuple(NlAttrs t) {
        NlAttrs ip = t.nested(CTA_TUPLE_IP);
        byte[] src = ip.has(CTA_IP_V4_SRC) ? ip.bytes(CTA_IP_V4_SRC) : ip.bytes(CTA_IP_V6_SRC);
        byte[] dst = ip.has(CTA_IP_V4_DST) ? ip.bytes(CTA_IP_V4_DST) : ip.bytes(CTA_IP_V6_DST);
        NlAttrs p = t.nested(CTA_TUPLE_PROTO);
        return new Tuple(
                src == null ? null : IpAddress.of(src),
                dst == null ? null : IpAddress.of(dst),
                p.u8(CTA_PROTO_NUM, 0),
                p.be16(CTA_PROTO_SRC_PORT, 0),
                p.be16(CTA_PROTO_DST_PORT, 0));
    }

    /**
     * {@code conntrack -D -f FAMILY -p PROTO --orig-port-dst PORT}: deletes the entries whose
     * original direction is {@code protocol} to destination port {@code port}; returns how many
     * were deleted (entries that vanish meanwhile are not an error).
     */
    public int deleteByOriginalDestinationPort(int family, int protocol, int port) {
        int n = 0;
        for (Entry e : list(family)) {
            Tuple o = e.original();
            if (o.protocol() == protocol && o.dstPort() == port && delete(e)) {
                n++;
            }
        }
        if (n > 0 && trace.enabled()) {
            trace.command((netns == null ? "" : netns.execPrefix()) + "conntrack -D -f "
                    + (family == AF_INET ? "ipv4" : "ipv6") + " -p "
                    + (protocol == TCP
                            ? "tcp"
                            : protocol == UDP ? "udp" : protocol == SCTP ? "sctp" : Integer.toString(protocol))
                    + " --orig-port-dst " + port);
        }
        return n;
    }

    /** Deletes one entry (by its original tuple, zone and id); false when it is already gone. */
    public boolean delete(Entry e) {
        Tuple o = e.original();
        NlRequest r = request(IPCTNL_MSG_CT_DELETE, 0, e.family(), "delete conntrack entry", o.toString());
        int t = r.beginNested(CTA_TUPLE_ORIG);
        int ip = r.beginNested(CTA_TUPLE_IP);
        boolean v4 = o.src().isV4();
        r.attr(v4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC, o.src().bytes());
        r.attr(v4 ? CTA_IP_V4_DST : CTA_IP_V6_DST, o.dst().bytes());
        r.endNested(ip);
        int p = r.beginNested(CTA_TUPLE_PROTO);
        r.attrU8(CTA_PROTO_NUM, o.protocol());
        if (o.protocol() == TCP || o.protocol() == UDP || o.protocol() == SCTP) {
            r.attrBe16(CTA_PROTO_SRC_PORT, o.srcPort());
            r.attrBe16(CTA_PROTO_DST_PORT, o.dstPort());
        }
        r.endNested(p);
        r.endNested(t);
        if (e.zone() != 0) {
            r.attrBe16(CTA_ZONE, e.zone());
        }
        if (e.id() != 0) {
            r.attrBe32(CTA_ID, (int) e.id());
        }
        try {
            socket.execute(r);
            return true;
        } catch (NoSuchObjectException gone) {
            return false;
        }
    }

    @Override
    public void close() {
        socket.close();
    }
}
