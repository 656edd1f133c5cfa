package io.jcni.netlink.route;

import static io.jcni.netlink.NlRequest.NLM_F_APPEND;
import static io.jcni.netlink.NlRequest.NLM_F_CREATE;
import static io.jcni.netlink.NlRequest.NLM_F_EXCL;
import static io.jcni.netlink.NlRequest.NLM_F_REPLACE;
import static io.jcni.netlink.route.Rtnl.*;

import io.jcni.netlink.NlAttrs;
import io.jcni.netlink.NlMessage;
import io.jcni.netlink.NlRequest;
import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.MacAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Neighbour (ARP/NDP) entries and bridge FDB entries of one namespace: {@code ip neigh} and
 * {@code bridge fdb}. Both travel as RTM_NEWNEIGH/DELNEIGH/GETNEIGH with an ndmsg header;
 * neighbours in family AF_INET/AF_INET6, FDB entries in AF_BRIDGE.
 */
public final class Neighbours {
    /** FDB entry owned by the device itself ({@code bridge fdb … self}): a VXLAN device's remotes. */
    public static final int SELF = NTF_SELF;
    /** FDB entry in the bridge the port is attached to ({@code bridge fdb … master}). */
    public static final int MASTER = NTF_MASTER;

    /** FDB states, encoded as {@code bridge fdb} encodes its keywords. {@code permanent}: never ages, local to the port. */
    public static final int FDB_PERMANENT = NUD_PERMANENT | NUD_NOARP;
    /** {@code static}: never ages, forwards to the port. */
    public static final int FDB_STATIC = NUD_REACHABLE | NUD_NOARP;
    /** {@code dynamic}: ages like a learned entry. */
    public static final int FDB_DYNAMIC = NUD_REACHABLE;

    private static final int NDMSG_FLAGS_OFFSET = 10;

    private final RouteNetlink nl;

    Neighbours(RouteNetlink nl) {
        this.nl = nl;
    }

    // ---------------------------------------------------------------- neighbours (ip neigh)

    /** {@code ip neigh add IP lladdr MAC dev LINK nud permanent}; {@link io.jcni.netlink.ObjectExistsException} if present. */
    public void add(String link, IpAddress ip, MacAddress mac) {
        add(link, ip, mac, NUD_PERMANENT);
    }

    /** {@code ip neigh add … nud STATE} with NUD_* {@code state}. */
    public void add(String link, IpAddress ip, MacAddress mac, int state) {
        modify(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL, "add neighbour", "add", link, ip, mac, state);
    }

    /** {@code ip neigh replace … nud STATE}: adds, or overwrites the entry for {@code ip} on {@code link}. */
    public void replace(String link, IpAddress ip, MacAddress mac, int state) {
        modify(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, "replace neighbour", "replace", link, ip, mac, state);
    }

    /** {@code ip neigh del IP dev LINK}; {@link NoSuchObjectException} when there is no such entry. */
    public void delete(String link, IpAddress ip) {
        modify(RTM_DELNEIGH, 0, "delete neighbour", "del", link, ip, null, NUD_NONE);
    }

    /** Deletes the entry if present; false when it was already gone. */
    public boolean deleteIfExists(String link, IpAddress ip) {
        try {
            delete(link, ip);
            return true;
        } catch (NoSuchObjectException e) {
            return false;
        }
    }

    static NlRequest neighbourRequest(
            int type, int nlFlags, String op, String link, int index, IpAddress ip, MacAddress mac, int state) {
        NlRequest r = ndmsg(type, nlFlags, op, ip + " dev " + link, ip.isV4() ? AF_INET : AF_INET6, index, state, 0)
                .attr(NDA_DST, ip.bytes());
        if (mac != null) {
            r.attr(NDA_LLADDR, mac.bytes());
        }
        return r;
    }

    private void modify(
            int type, int nlFlags, String op, String verb, String link, IpAddress ip, MacAddress mac, int state) {
        nl.socket()
                .execute(neighbourRequest(
                        type, nlFlags, op, link, nl.links().get(link).index(), ip, mac, state));
        if (nl.trace().enabled()) {
            StringBuilder cmd =
                    new StringBuilder("neigh ").append(verb).append(' ').append(ip);
            if (mac != null) {
                cmd.append(" lladdr ").append(mac);
            }
            cmd.append(" dev ").append(link);
            if (type == RTM_NEWNEIGH) {
                cmd.append(" nud ").append(stateName(state));
            }
            nl.traceIp(cmd.toString());
        }
    }

    /** Neighbours (IPv4 and IPv6) of {@code link}, or of every link when null. */
    public List<Neighbour> list(String link) {
        int index = link == null ? 0 : nl.links().get(link).index();
        Map<Integer, String> names = link == null ? linkNames() : Map.of(index, link);
        NlRequest r = ndmsg(RTM_GETNEIGH, 0, "list neighbours", link, AF_UNSPEC, 0, 0, 0);
        if (index != 0) {
            r.attrU32(NDA_IFINDEX, index); // the kernel's dump filter (strict checking wants it here, not in ndmsg)
        }
        List<Neighbour> out = new ArrayList<>();
        for (NlMessage m : nl.socket().dump(r)) {
            int family = m.u8(0);
            if (m.type() != RTM_NEWNEIGH || (family != AF_INET && family != AF_INET6)) {
                continue;
            }
            int ifindex = m.s32(4);
            int flags = m.u8(NDMSG_FLAGS_OFFSET);
            if ((index != 0 && ifindex != index) || (flags & NTF_PROXY) != 0) {
                continue;
            }
            NlAttrs a = m.attrs(NDMSG_LEN);
            byte[] dst = a.bytes(NDA_DST);
            if (dst == null || (dst.length != 4 && dst.length != 16)) {
                continue;
            }
            out.add(new Neighbour(
                    ifindex, names.get(ifindex), IpAddress.of(dst), mac(a.bytes(NDA_LLADDR)), m.u16(8), flags));
        }
        return out;
    }

    // ---------------------------------------------------------------- bridge FDB (bridge fdb)

    /** {@code bridge fdb add MAC dev DEV permanent self}. */
    public void addFdb(String dev, MacAddress mac) {
        addFdb(dev, mac, null, SELF, FDB_PERMANENT);
    }

    /**
     * {@code bridge fdb add MAC dev DEV [dst DST] STATE self|master}; {@link io.jcni.netlink.ObjectExistsException}
     * when the entry exists.
     *
     * @param dst      the VXLAN remote (NDA_DST), or null
     * @param ntfFlags {@link #SELF} and/or {@link #MASTER}
     * @param state    {@link #FDB_PERMANENT}, {@link #FDB_STATIC} or {@link #FDB_DYNAMIC}
     */
    public void addFdb(String dev, MacAddress mac, IpAddress dst, int ntfFlags, int state) {
        fdb(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL, "add fdb entry", "add", dev, mac, dst, ntfFlags, state);
    }

    /** {@code bridge fdb append}: adds another remote {@code dst} for {@code mac} (VXLAN head-end replication). */
    public void appendFdb(String dev, MacAddress mac, IpAddress dst, int ntfFlags, int state) {
        fdb(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_APPEND, "append fdb entry", "append", dev, mac, dst, ntfFlags, state);
    }

    /** {@code bridge fdb replace}: adds or overwrites. */
    public void replaceFdb(String dev, MacAddress mac, IpAddress dst, int ntfFlags, int state) {
        fdb(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, "replace fdb entry", "replace", dev, mac, dst, ntfFlags, state);
    }

    /**
     * {@code bridge fdb del MAC dev DEV [dst DST] self|master}: with {@code dst}, only that remote goes.
     * {@link NoSuchObjectException} when there is no such entry.
     */
    public void deleteFdb(String dev, MacAddress mac, IpAddress dst, int ntfFlags) {
        fdb(RTM_DELNEIGH, 0, "delete fdb entry", "del", dev, mac, dst, ntfFlags, NUD_NOARP);
    }

    public boolean deleteFdbIfExists(String dev, MacAddress mac, IpAddress dst, int ntfFlags) {
        try {
            deleteFdb(dev, mac, dst, ntfFlags);
            return true;
        } catch (NoSuchObjectException e) {
            return false;
        }
    }

    static NlRequest fdbRequest(
            int type,
            int nlFlags,
            String op,
            String dev,
            int index,
            MacAddress mac,
            IpAddress dst,
            int ntfFlags,
            int state) {
        NlRequest r = ndmsg(
                        type,
                        nlFlags,
                        op,
                        mac + " dev " + dev + (dst == null ? "" : " dst " + dst),
                        AF_BRIDGE,
                        index,
                        state,
                        ntfFlags)
                .attr(NDA_LLADDR, mac.bytes());
        if (dst != null) {
            r.attr(NDA_DST, dst.bytes());
        }
        return r;
    }

    private void fdb(
            int type,
            int nlFlags,
            String op,
            String verb,
            String dev,
            MacAddress mac,
            IpAddress dst,
            int ntfFlags,
            int state) {
        if ((ntfFlags & (SELF | MASTER)) == 0) {
            throw new IllegalArgumentException("an FDB entry needs SELF and/or MASTER");
        }
        nl.socket()
                .execute(fdbRequest(type, nlFlags, op, dev, nl.links().get(dev).index(), mac, dst, ntfFlags, state));
        if (nl.trace().enabled()) {
            StringBuilder cmd = new StringBuilder("fdb ")
                    .append(verb)
                    .append(' ')
                    .append(mac)
                    .append(" dev ")
                    .append(dev);
            if (dst != null) {
                cmd.append(" dst ").append(dst);
            }
            if ((ntfFlags & SELF) != 0) {
                cmd.append(" self");
            }
            if ((ntfFlags & MASTER) != 0) {
                cmd.append(" master");
            }
            if (type == RTM_NEWNEIGH) {
                cmd.append(
                        (state & NUD_PERMANENT) != 0
                                ? " permanent"
                                : (state & NUD_NOARP) != 0 ? " static" : " dynamic");
            }
            nl.traceBridge(cmd.toString());
        }
    }

    /** FDB entries of device {@code dev} ({@code bridge fdb show dev DEV}): its own and, for a port, its bridge's. */
    public List<FdbEntry> listFdb(String dev) {
        Link l = nl.links().get(dev);
        return dumpFdb(l.index(), 0, Map.of(l.index(), dev), "dev " + dev);
    }

    /** Every FDB entry of bridge {@code bridge} ({@code bridge fdb show br BRIDGE}), across its ports. */
    public List<FdbEntry> listBridgeFdb(String bridge) {
        return dumpFdb(0, nl.links().get(bridge).index(), linkNames(), "br " + bridge);
    }

    private List<FdbEntry> dumpFdb(int portIndex, int bridgeIndex, Map<Integer, String> names, String object) {
        NlRequest r = ndmsg(RTM_GETNEIGH, 0, "list fdb entries", object, AF_BRIDGE, portIndex, 0, 0);
        if (bridgeIndex != 0) {
            r.attrU32(NDA_MASTER, bridgeIndex);
        }
        List<FdbEntry> out = new ArrayList<>();
        for (NlMessage m : nl.socket().dump(r)) {
            if (m.type() != RTM_NEWNEIGH || m.u8(0) != AF_BRIDGE) {
                continue;
            }
            int ifindex = m.s32(4);
            NlAttrs a = m.attrs(NDMSG_LEN);
            int master = a.u32(NDA_MASTER, 0);
            if ((portIndex != 0 && ifindex != portIndex) || (bridgeIndex != 0 && master != bridgeIndex)) {
                continue;
            }
            MacAddress mac = mac(a.bytes(NDA_LLADDR));
            if (mac == null) {
                continue;
            }
            byte[] dst = a.bytes(NDA_DST);
            out.add(new FdbEntry(
                    ifindex,
                    names.get(ifindex),
                    mac,
                    dst != null && (dst.length == 4 || dst.length == 16) ? IpAddress.of(dst) : null,
                    m.u16(8),
                    m.u8(NDMSG_FLAGS_OFFSET),
                    master,
                    a.u16(NDA_VLAN, 0)));
        }
        return out;
    }

    // ---------------------------------------------------------------- helpers

    private static NlRequest ndmsg(
            int type, int nlFlags, String op, String object, int family, int index, int state, int ntfFlags) {
        return new NlRequest(type, nlFlags, op, object)
                .u8(family)
                .u8(0)
                .u16(0)
                .u32(index)
                .u16(state)
                .u8(ntfFlags)
                .u8(0);
    }

    private Map<Integer, String> linkNames() {
        Map<Integer, String> names = new HashMap<>();
        for (Link l : nl.links().list()) {
            names.put(l.index(), l.name());
        }
        return names;
    }

    private static MacAddress mac(byte[] b) {
        return b != null && b.length == 6 ? MacAddress.of(b) : null;
    }

    /** A NUD_* state as {@code ip neigh} spells it ({@code permanent}, {@code reachable}, …; {@code none} for 0). */
    public static String stateName(int state) {
        if (state == NUD_NONE) {
            return "none";
        }
        String[] names = {"incomplete", "reachable", "stale", "delay", "probe", "failed", "noarp", "permanent"};
        StringBuilder sb = new StringBuilder();
        for (int bit = 7; bit >= 0; bit--) { // ip neigh prints the strongest state first
            if ((state & (1 << bit)) != 0) {
                if (!sb.isEmpty()) {
                    sb.append(' ');
                }
                sb.append(names[bit]);
            }
        }
        return sb.toString();
    }
}
