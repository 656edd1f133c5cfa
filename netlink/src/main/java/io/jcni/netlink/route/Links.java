package io.jcni.netlink.route;

import static io.jcni.netlink.NlRequest.NLM_F_CREATE;
import static io.jcni.netlink.NlRequest.NLM_F_EXCL;
import static io.jcni.netlink.route.Rtnl.*;

import io.jcni.netlink.InvalidNameException;
import io.jcni.netlink.NlAttrs;
import io.jcni.netlink.NlMessage;
import io.jcni.netlink.NlRequest;
import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.MacAddress;
import io.jcni.netlink.ns.NetNs;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Links of one namespace: create (bridge, veth, vxlan, dummy), delete, look up, and change
 * state, MTU, MAC, master, namespace, promiscuity and bridge-port flags. Links are addressed by
 * name (the kernel resolves IFLA_IFNAME itself, saving a lookup round trip).
 */
public final class Links {
    private static final int IFNAMSIZ = 16;
    private final RouteNetlink nl;

    Links(RouteNetlink nl) {
        this.nl = nl;
    }

    /** Refuses what the kernel's dev_valid_name refuses, with the reason. */
    public static void validateName(String operation, String name) {
        if (name == null || name.isEmpty()) {
            throw new InvalidNameException(operation, name, "an interface name cannot be empty");
        }
        int bytes = name.getBytes(StandardCharsets.UTF_8).length;
        if (bytes >= IFNAMSIZ) {
            throw new InvalidNameException(
                    operation, name, "an interface name is at most 15 bytes, this one has " + bytes);
        }
        if (name.equals(".") || name.equals("..")) {
            throw new InvalidNameException(operation, name, "an interface name cannot be . or ..");
        }
        // The kernel tests each byte with its own isspace(), whose Latin-1 table counts 0xA0 as a space:
        // so the UTF-8 of U+00A0 and of every character encoded with a 0xA0 byte (à, Ġ, …) is refused too.
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c == '/' || c == ':' || c == ' ' || (c >= 0x09 && c <= 0x0d) || c == 0xa0 || c == 0) {
                throw new InvalidNameException(
                        operation,
                        name,
                        "an interface name cannot contain '/', ':' or whitespace"
                                + (c == 0xa0 ? " (the kernel takes byte 0xA0 of this name's UTF-8 for a space)" : ""));
            }
        }
    }

    private static NlRequest ifinfo(
            int type, int flags, String op, String object, int family, int index, int ifFlags, int change) {
        return new NlRequest(type, flags, op, object)
                .u8(family)
                .u8(0)
                .u16(0)
                .u32(index)
                .u32(ifFlags)
                .u32(change);
    }

    /** Creates the link described by {@code spec}; {@link io.jcni.netlink.ObjectExistsException} if the name is taken. */
    public void add(LinkSpec spec) {
        validateName("add link", spec.name);
        if (spec.peerName != null) {
            validateName("add link", spec.peerName);
        }
        int masterIndex = spec.master == null ? 0 : get(spec.master).index();
        NlRequest r = ifinfo(
                RTM_NEWLINK,
                NLM_F_CREATE | NLM_F_EXCL,
                "add link",
                spec.name,
                AF_UNSPEC,
                0,
                spec.up ? IFF_UP : 0,
                IFF_UP);
        r.attrString(IFLA_IFNAME, spec.name);
        if (spec.mtu != null) {
            r.attrU32(IFLA_MTU, spec.mtu);
        }
        if (spec.mac != null) {
            r.attr(IFLA_ADDRESS, spec.mac.bytes());
        }
        if (spec.txQueueLen != null) {
            r.attrU32(IFLA_TXQLEN, spec.txQueueLen);
        }
        if (masterIndex != 0) {
            r.attrU32(IFLA_MASTER, masterIndex);
        }
        if (spec.netns != null) {
            r.attrU32(IFLA_NET_NS_FD, spec.netns.fd());
        }
        int linkInfo = r.beginNested(IFLA_LINKINFO);
        r.attrString(IFLA_INFO_KIND, spec.kind);
        StringBuilder typeArgs = new StringBuilder(" type ").append(spec.kind);
        switch (spec.kind) {
            case "veth" -> {
                int data = r.beginNested(IFLA_INFO_DATA);
                int peer = r.beginNested(VETH_INFO_PEER);
                // The peer cannot be created up: veth_open refuses (ENOTCONN) until the pair is
                // linked, which happens after the peer is configured. Bring it up from its namespace.
                r.u8(AF_UNSPEC).u8(0).u16(0).u32(0).u32(0).u32(0);
                r.attrString(IFLA_IFNAME, spec.peerName);
                if (spec.mtu != null) {
                    r.attrU32(IFLA_MTU, spec.mtu);
                }
                if (spec.peerMac != null) {
                    r.attr(IFLA_ADDRESS, spec.peerMac.bytes());
                }
                if (spec.peerNetns != null) {
                    r.attrU32(IFLA_NET_NS_FD, spec.peerNetns.fd());
                }
                r.endNested(peer);
                r.endNested(data);
                typeArgs.append(" peer name ").append(spec.peerName);
                if (spec.mtu != null) {
                    typeArgs.append(" mtu ").append(spec.mtu);
                }
                if (spec.peerMac != null) {
                    typeArgs.append(" address ").append(spec.peerMac);
                }
                if (spec.peerNetns != null) {
                    typeArgs.append(" netns ").append(spec.peerNetns.ipName());
                }
            }
            case "bridge" -> {
                if (spec.vlanFiltering != null) {
                    int data = r.beginNested(IFLA_INFO_DATA);
                    r.attrU8(IFLA_BR_VLAN_FILTERING, spec.vlanFiltering ? 1 : 0);
                    r.endNested(data);
                    typeArgs.append(" vlan_filtering ").append(spec.vlanFiltering ? 1 : 0);
                }
            }
            case "vxlan" -> {
                int data = r.beginNested(IFLA_INFO_DATA);
                r.attrU32(IFLA_VXLAN_ID, spec.vni);
                typeArgs.append(" id ").append(spec.vni);
                if (spec.vxlanLocal != null) {
                    r.attr(spec.vxlanLocal.isV4() ? IFLA_VXLAN_LOCAL : IFLA_VXLAN_LOCAL6, spec.vxlanLocal.bytes());
                    typeArgs.append(" local ").append(spec.vxlanLocal);
                }
                if (spec.vxlanGroup != null) {
                    r.attr(spec.vxlanGroup.isV4() ? IFLA_VXLAN_GROUP : IFLA_VXLAN_GROUP6, spec.vxlanGroup.bytes());
                    typeArgs.append(
                                    spec.vxlanGroup.bytes()[0] >= (byte) 0xe0 && spec.vxlanGroup.isV4()
                                                    || spec.vxlanGroup.isV6()
                                                            && spec.vxlanGroup.bytes()[0] == (byte) 0xff
                                            ? " group "
                                            : " remote ")
                            .append(spec.vxlanGroup);
                }
                if (spec.vxlanDevice != null) {
                    r.attrU32(IFLA_VXLAN_LINK, get(spec.vxlanDevice).index());
                    typeArgs.append(" dev ").append(spec.vxlanDevice);
                }
                r.attrBe16(IFLA_VXLAN_PORT, spec.vxlanPort);
                typeArgs.append(" dstport ").append(spec.vxlanPort);
                if (spec.vxlanLearning != null) {
                    r.attrU8(IFLA_VXLAN_LEARNING, spec.vxlanLearning ? 1 : 0);
                    typeArgs.append(spec.vxlanLearning ? " learning" : " nolearning");
                }
                r.endNested(data);
            }
            default -> {}
        }
        r.endNested(linkInfo);
        nl.socket().execute(r);

        if (nl.trace().enabled()) {
            StringBuilder cmd = new StringBuilder("link add ").append(spec.name);
            if (spec.netns != null) {
                cmd.append(" netns ").append(spec.netns.ipName());
            }
            if (spec.mtu != null) {
                cmd.append(" mtu ").append(spec.mtu);
            }
            if (spec.mac != null) {
                cmd.append(" address ").append(spec.mac);
            }
            if (spec.txQueueLen != null) {
                cmd.append(" txqueuelen ").append(spec.txQueueLen);
            }
            if (spec.master != null) {
                cmd.append(" master ").append(spec.master);
            }
            nl.traceIp(cmd.append(typeArgs).toString());
            if (spec.up) {
                if (spec.netns != null) {
                    nl.trace().command(spec.netns.ipCommand() + " link set " + spec.name + " up");
                } else {
                    nl.traceIp("link set " + spec.name + " up");
                }
            }
        }
    }

    /** Deletes a link (a veth's peer goes with it); {@link NoSuchObjectException} when absent. */
    public void delete(String name) {
        validateName("delete link", name);
        nl.socket()
                .execute(ifinfo(RTM_DELLINK, 0, "delete link", name, AF_UNSPEC, 0, 0, 0)
                        .attrString(IFLA_IFNAME, name));
        nl.traceIp("link del " + name);
    }

    /** Deletes a link if present; false when it was already gone (what DEL paths want). */
    public boolean deleteIfExists(String name) {
        try {
            delete(name);
            return true;
        } catch (NoSuchObjectException e) {
            return false;
        }
    }

    /** The link called {@code name}, or empty. */
    public Optional<Link> find(String name) {
        validateName("get link", name);
        try {
            List<NlMessage> replies = nl.socket()
                    .execute(ifinfo(RTM_GETLINK, 0, "get link", name, AF_UNSPEC, 0, 0, 0)
                            .attrString(IFLA_IFNAME, name)
                            .attrU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS));
            return replies.isEmpty() ? Optional.empty() : Optional.of(parse(replies.get(0)));
        } catch (NoSuchObjectException e) {
            return Optional.empty();
        }
    }

    /** The link called {@code name}; {@link NoSuchObjectException} when absent. */
    public Link get(String name) {
        Optional<Link> l = find(name);
        if (l.isEmpty()) {
            throw new NoSuchObjectException(
                    "get link", name, io.jcni.netlink.sys.Errno.ENODEV, "no interface \"" + name + "\"" + where());
        }
        return l.get();
    }

    /** The link with {@code index}; {@link NoSuchObjectException} when absent. */
    public Link get(int index) {
        List<NlMessage> replies = nl.socket()
                .execute(ifinfo(RTM_GETLINK, 0, "get link", "index " + index, AF_UNSPEC, index, 0, 0)
                        .attrU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS));
        if (replies.isEmpty()) {
            throw new NoSuchObjectException("get link", "index " + index, io.jcni.netlink.sys.Errno.ENODEV, null);
        }
        return parse(replies.get(0));
    }

    /** All links of the namespace, by index. */
    public List<Link> list() {
        List<Link> out = new ArrayList<>();
        for (NlMessage m : nl.socket()
                .dump(ifinfo(RTM_GETLINK, 0, "list links", null, AF_UNSPEC, 0, 0, 0)
                        .attrU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS))) {
            if (m.type() == RTM_NEWLINK) {
                out.add(parse(m));
            }
        }
        return out;
    }

    private String where() {
        return nl.netns() == null ? "" : " in " + nl.netns();
    }

    private void setFlags(String name, int flags, int change, String op, String traceArgs) {
        validateName(op, name);
        nl.socket()
                .execute(ifinfo(RTM_NEWLINK, 0, op, name, AF_UNSPEC, 0, flags, change)
                        .attrString(IFLA_IFNAME, name));
        nl.traceIp("link set " + name + " " + traceArgs);
    }

    public void setUp(String name) {
        setFlags(name, IFF_UP, IFF_UP, "set link up", "up");
    }

    public void setDown(String name) {
        setFlags(name, 0, IFF_UP, "set link down", "down");
    }

    public void setPromiscuous(String name, boolean on) {
        setFlags(name, on ? IFF_PROMISC : 0, IFF_PROMISC, "set link promisc", "promisc " + (on ? "on" : "off"));
    }

    private void setAttr(String name, String op, String traceArgs, int attr, byte[] value) {
        validateName(op, name);
        nl.socket()
                .execute(ifinfo(RTM_NEWLINK, 0, op, name, AF_UNSPEC, 0, 0, 0)
                        .attrString(IFLA_IFNAME, name)
                        .attr(attr, value));
        nl.traceIp("link set " + name + " " + traceArgs);
    }

    private static byte[] u32(int v) {
        return java.nio.ByteBuffer.allocate(4)
                .order(java.nio.ByteOrder.nativeOrder())
                .putInt(v)
                .array();
    }

    public void setMtu(String name, int mtu) {
        setAttr(name, "set link mtu", "mtu " + mtu, IFLA_MTU, u32(mtu));
    }

    public void setMac(String name, MacAddress mac) {
        setAttr(name, "set link address", "address " + mac, IFLA_ADDRESS, mac.bytes());
    }

    /** The longest alias the kernel keeps (IFALIASZ - 1 bytes). */
    public static final int MAX_ALIAS_BYTES = 255;

    /**
     * {@code ip link set NAME alias TEXT}: a free-form tag the kernel keeps with the link
     * (IFLA_IFALIAS); an empty text removes it. The kernel ignores an alias in the request that
     * creates a link, so a tag is always set by this separate request.
     */
    public void setAlias(String name, String alias) {
        byte[] text = alias.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (text.length > MAX_ALIAS_BYTES || alias.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(
                    "a link alias is at most " + MAX_ALIAS_BYTES + " bytes without NUL: " + alias);
        }
        // Without the NUL: the kernel stores the attribute's bytes as given (an empty one clears the alias).
        setAttr(
                name,
                "set link alias",
                "alias " + (alias.isEmpty() ? "\"\"" : "'" + alias.replace("'", "'\\''") + "'"),
                IFLA_IFALIAS,
                text);
    }

    /** Attaches {@code name} to bridge {@code master}. */
    public void setMaster(String name, String master) {
        setAttr(
                name,
                "set link master",
                "master " + master,
                IFLA_MASTER,
                u32(get(master).index()));
    }

    /** Detaches {@code name} from its bridge. */
    public void setNoMaster(String name) {
        setAttr(name, "set link nomaster", "nomaster", IFLA_MASTER, u32(0));
    }

    /** Moves {@code name} into {@code netns} (it keeps its name there). */
    public void moveToNetns(String name, NetNs netns) {
        setAttr(name, "move link", "netns " + netns.ipName(), IFLA_NET_NS_FD, u32(netns.fd()));
    }

    /** Hairpin mode on a bridge port: frames may go back out the port they came in on. */
    public void setHairpin(String port, boolean on) {
        setBridgePortFlag(port, IFLA_BRPORT_MODE, on, "hairpin");
    }

    /** Port isolation: isolated ports talk only to non-isolated ports. */
    public void setIsolated(String port, boolean on) {
        setBridgePortFlag(port, IFLA_BRPORT_ISOLATED, on, "isolated");
    }

    private void setBridgePortFlag(String port, int attr, boolean on, String word) {
        int index = get(port).index();
        NlRequest r = ifinfo(RTM_SETLINK, 0, "set bridge port " + word, port, AF_BRIDGE, index, 0, 0);
        int nest = r.beginNested(IFLA_PROTINFO);
        r.attrU8(attr, on ? 1 : 0);
        r.endNested(nest);
        nl.socket().execute(r);
        nl.traceBridge("link set dev " + port + " " + word + " " + (on ? "on" : "off"));
    }

    /**
     * Adds VLAN {@code vid} to bridge port {@code port} ({@code bridge vlan add}); {@code pvid}
     * makes it the port's native VLAN for untagged ingress, {@code untagged} strips the tag on egress.
     */
    public void addBridgeVlan(String port, int vid, boolean pvid, boolean untagged) {
        bridgeVlan(
                RTM_SETLINK,
                port,
                vid,
                (pvid ? BRIDGE_VLAN_INFO_PVID : 0) | (untagged ? BRIDGE_VLAN_INFO_UNTAGGED : 0));
        nl.traceBridge("vlan add vid " + vid + " dev " + port + (pvid ? " pvid" : "") + (untagged ? " untagged" : ""));
    }

    /** Removes VLAN {@code vid} from bridge port {@code port} ({@code bridge vlan del}). */
    public void deleteBridgeVlan(String port, int vid) {
        bridgeVlan(RTM_DELLINK, port, vid, 0);
        nl.traceBridge("vlan del vid " + vid + " dev " + port);
    }

    private void bridgeVlan(int type, String port, int vid, int flags) {
        int index = get(port).index();
        NlRequest r = ifinfo(
                type,
                0,
                type == RTM_SETLINK ? "add bridge vlan" : "delete bridge vlan",
                port + " vid " + vid,
                AF_BRIDGE,
                index,
                0,
                0);
        int spec = r.beginNested(IFLA_AF_SPEC);
        r.attr(
                IFLA_BRIDGE_VLAN_INFO,
                java.nio.ByteBuffer.allocate(4)
                        .order(java.nio.ByteOrder.nativeOrder())
                        .putShort((short) flags)
                        .putShort((short) vid)
                        .array());
        r.endNested(spec);
        nl.socket().execute(r);
    }

    /** A VLAN on a bridge port. */
    public record BridgeVlan(int vid, boolean pvid, boolean untagged) {}

    /** The VLANs configured on bridge port {@code port}. */
    public List<BridgeVlan> bridgeVlans(String port) {
        int index = get(port).index();
        List<BridgeVlan> out = new ArrayList<>();
        for (NlMessage m : nl.socket()
                .dump(ifinfo(RTM_GETLINK, 0, "list bridge vlans", port, AF_BRIDGE, 0, 0, 0)
                        .attrU32(IFLA_EXT_MASK, RTEXT_FILTER_BRVLAN))) {
            if (m.type() != RTM_NEWLINK || m.s32(4) != index) {
                continue;
            }
            for (byte[] v : m.attrs(IFINFOMSG_LEN).nested(IFLA_AF_SPEC).allBytes(IFLA_BRIDGE_VLAN_INFO)) {
                java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(v).order(java.nio.ByteOrder.nativeOrder());
                int flags = b.getShort(0) & 0xffff;
                out.add(new BridgeVlan(
                        b.getShort(2) & 0xffff,
                        (flags & BRIDGE_VLAN_INFO_PVID) != 0,
                        (flags & BRIDGE_VLAN_INFO_UNTAGGED) != 0));
            }
        }
        return out;
    }

    /** A bridge port's flags as the bridge reports them. */
    public record BridgePort(
            int index, String name, int masterIndex, int state, boolean hairpin, boolean isolated, boolean learning) {}

    /** The bridge-port view of {@code port}; {@link NoSuchObjectException} when it is not a bridge port. */
    public BridgePort bridgePort(String port) {
        int index = get(port).index();
        for (NlMessage m : nl.socket().dump(ifinfo(RTM_GETLINK, 0, "list bridge ports", null, AF_BRIDGE, 0, 0, 0))) {
            if (m.type() != RTM_NEWLINK || m.s32(4) != index) {
                continue;
            }
            NlAttrs a = m.attrs(IFINFOMSG_LEN);
            NlAttrs p = a.nested(IFLA_PROTINFO);
            return new BridgePort(
                    index,
                    a.string(IFLA_IFNAME),
                    a.u32(IFLA_MASTER, 0),
                    p.u8(IFLA_BRPORT_STATE, 0),
                    p.u8(IFLA_BRPORT_MODE, 0) == 1,
                    p.u8(IFLA_BRPORT_ISOLATED, 0) == 1,
                    p.u8(IFLA_BRPORT_LEARNING, 0) == 1);
        }
        throw new NoSuchObjectException(
                "get bridge port",
                port,
                io.jcni.netlink.sys.Errno.ENODEV,
                "\"" + port + "\" is not attached to a bridge");
    }

    static Link parse(NlMessage m) {
        int index = m.s32(4);
        int flags = m.s32(8);
        NlAttrs a = m.attrs(IFINFOMSG_LEN);
        NlAttrs info = a.nested(IFLA_LINKINFO);
        String kind = info.string(IFLA_INFO_KIND);
        byte[] mac = a.bytes(IFLA_ADDRESS);
        Link.VxlanInfo vx = null;
        if ("vxlan".equals(kind)) {
            NlAttrs d = info.nested(IFLA_INFO_DATA);
            byte[] local = d.has(IFLA_VXLAN_LOCAL) ? d.bytes(IFLA_VXLAN_LOCAL) : d.bytes(IFLA_VXLAN_LOCAL6);
            byte[] group = d.has(IFLA_VXLAN_GROUP) ? d.bytes(IFLA_VXLAN_GROUP) : d.bytes(IFLA_VXLAN_GROUP6);
            vx = new Link.VxlanInfo(
                    d.u32(IFLA_VXLAN_ID, 0),
                    addr(local),
                    addr(group),
                    d.be16(IFLA_VXLAN_PORT, 0),
                    d.u8(IFLA_VXLAN_LEARNING, 0) == 1,
                    d.u32(IFLA_VXLAN_LINK, 0));
        }
        return new Link(
                index,
                a.string(IFLA_IFNAME),
                kind,
                info.string(IFLA_INFO_SLAVE_KIND),
                flags,
                a.u32(IFLA_MTU, 0),
                mac != null && mac.length == 6 ? MacAddress.of(mac) : null,
                a.u32(IFLA_MASTER, 0),
                a.u32(IFLA_LINK, 0),
                a.u32(IFLA_LINK_NETNSID, -1),
                a.u8(IFLA_OPERSTATE, 0),
                a.u32(IFLA_TXQLEN, 0),
                a.u32(IFLA_PROMISCUITY, 0),
                vx,
                emptyToNull(a.string(IFLA_IFALIAS)));
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    private static String addr(byte[] b) {
        if (b == null || (b.length != 4 && b.length != 16)) {
            return null;
        }
        IpAddress a = IpAddress.of(b);
        return a.toString().equals("0.0.0.0") || a.toString().equals("::") ? null : a.toString();
    }
}
