package io.jcni.netlink.route;

/** rtnetlink constants (linux/rtnetlink.h, if_link.h, if_addr.h, neighbour.h), named as in the kernel. */
public final class Rtnl {
    private Rtnl() {}

    public static final int RTM_NEWLINK = 16,
            RTM_DELLINK = 17,
            RTM_GETLINK = 18,
            RTM_SETLINK = 19,
            RTM_NEWADDR = 20,
            RTM_DELADDR = 21,
            RTM_GETADDR = 22,
            RTM_NEWROUTE = 24,
            RTM_DELROUTE = 25,
            RTM_GETROUTE = 26,
            RTM_NEWNEIGH = 28,
            RTM_DELNEIGH = 29,
            RTM_GETNEIGH = 30;
    public static final int AF_UNSPEC = 0, AF_INET = 2, AF_BRIDGE = 7, AF_INET6 = 10;

    // ifinfomsg flags
    public static final int IFF_UP = 0x1,
            IFF_BROADCAST = 0x2,
            IFF_LOOPBACK = 0x8,
            IFF_POINTOPOINT = 0x10,
            IFF_RUNNING = 0x40,
            IFF_NOARP = 0x80,
            IFF_PROMISC = 0x100,
            IFF_MULTICAST = 0x1000,
            IFF_LOWER_UP = 0x10000;

    // IFLA_*
    public static final int IFLA_ADDRESS = 1,
            IFLA_BROADCAST = 2,
            IFLA_IFNAME = 3,
            IFLA_MTU = 4,
            IFLA_LINK = 5,
            IFLA_MASTER = 10,
            IFLA_PROTINFO = 12,
            IFLA_TXQLEN = 13,
            IFLA_OPERSTATE = 16,
            IFLA_LINKINFO = 18,
            IFLA_NET_NS_PID = 19,
            IFLA_IFALIAS = 20,
            IFLA_NET_NS_FD = 28,
            IFLA_EXT_MASK = 29,
            IFLA_PROMISCUITY = 30,
            IFLA_LINK_NETNSID = 37,
            IFLA_NEW_NETNSID = 45;
    public static final int IFLA_AF_SPEC = 26;
    public static final int IFLA_BRIDGE_FLAGS = 0, IFLA_BRIDGE_VLAN_INFO = 2;
    public static final int BRIDGE_VLAN_INFO_PVID = 2, BRIDGE_VLAN_INFO_UNTAGGED = 4;
    public static final int RTEXT_FILTER_BRVLAN = 1 << 1;
    public static final int IFLA_INFO_KIND = 1, IFLA_INFO_DATA = 2, IFLA_INFO_SLAVE_KIND = 4, IFLA_INFO_SLAVE_DATA = 5;
    public static final int VETH_INFO_PEER = 1;
    public static final int IFLA_BR_VLAN_FILTERING = 7;
    public static final int IFLA_BRPORT_STATE = 1,
            IFLA_BRPORT_MODE = 4,
            IFLA_BRPORT_LEARNING = 8,
            IFLA_BRPORT_ISOLATED = 33;
    public static final int IFLA_VXLAN_ID = 1,
            IFLA_VXLAN_GROUP = 2,
            IFLA_VXLAN_LINK = 3,
            IFLA_VXLAN_LOCAL = 4,
            IFLA_VXLAN_TTL = 5,
            IFLA_VXLAN_LEARNING = 7,
            IFLA_VXLAN_PORT = 15,
            IFLA_VXLAN_GROUP6 = 16,
            IFLA_VXLAN_LOCAL6 = 17;
    /** IFLA_EXT_MASK value asking dumps to leave out statistics (smaller, faster dumps). */
    public static final int RTEXT_FILTER_SKIP_STATS = 1 << 3;

    // IFA_*
    public static final int IFA_ADDRESS = 1,
            IFA_LOCAL = 2,
            IFA_LABEL = 3,
            IFA_BROADCAST = 4,
            IFA_CACHEINFO = 6,
            IFA_FLAGS = 8;
    public static final int IFA_F_NODAD = 0x02,
            IFA_F_DADFAILED = 0x08,
            IFA_F_TENTATIVE = 0x40,
            IFA_F_PERMANENT = 0x80,
            IFA_F_NOPREFIXROUTE = 0x200;

    // rtmsg
    public static final int RTA_DST = 1,
            RTA_SRC = 2,
            RTA_IIF = 3,
            RTA_OIF = 4,
            RTA_GATEWAY = 5,
            RTA_PRIORITY = 6,
            RTA_PREFSRC = 7,
            RTA_MULTIPATH = 9,
            RTA_TABLE = 15;
    public static final int RT_TABLE_UNSPEC = 0, RT_TABLE_MAIN = 254, RT_TABLE_LOCAL = 255;
    public static final int RTPROT_UNSPEC = 0, RTPROT_KERNEL = 2, RTPROT_BOOT = 3, RTPROT_STATIC = 4;
    public static final int RT_SCOPE_UNIVERSE = 0,
            RT_SCOPE_SITE = 200,
            RT_SCOPE_LINK = 253,
            RT_SCOPE_HOST = 254,
            RT_SCOPE_NOWHERE = 255;
    public static final int RTN_UNSPEC = 0,
            RTN_UNICAST = 1,
            RTN_LOCAL = 2,
            RTN_BROADCAST = 3,
            RTN_BLACKHOLE = 6,
            RTN_UNREACHABLE = 7,
            RTN_PROHIBIT = 8;
    public static final int RTNH_F_ONLINK = 4;

    // ndmsg
    public static final int NDA_DST = 1,
            NDA_LLADDR = 2,
            NDA_VLAN = 5,
            NDA_PORT = 6,
            NDA_VNI = 7,
            NDA_IFINDEX = 8,
            NDA_MASTER = 9;
    public static final int NUD_INCOMPLETE = 0x01,
            NUD_REACHABLE = 0x02,
            NUD_STALE = 0x04,
            NUD_DELAY = 0x08,
            NUD_PROBE = 0x10,
            NUD_FAILED = 0x20,
            NUD_NOARP = 0x40,
            NUD_PERMANENT = 0x80;
    public static final int NUD_NONE = 0x00;
    public static final int NTF_USE = 0x01,
            NTF_SELF = 0x02,
            NTF_MASTER = 0x04,
            NTF_PROXY = 0x08,
            NTF_EXT_LEARNED = 0x10,
            NTF_OFFLOADED = 0x20,
            NTF_ROUTER = 0x80;

    /** Size of the family headers: ifinfomsg, ifaddrmsg, rtmsg, ndmsg. */
    public static final int IFINFOMSG_LEN = 16, IFADDRMSG_LEN = 8, RTMSG_LEN = 12, NDMSG_LEN = 12;
}
