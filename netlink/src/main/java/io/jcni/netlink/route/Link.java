package io.jcni.netlink.route;

import io.jcni.netlink.ip.MacAddress;

/**
 * A network interface as the kernel reports it.
 *
 * @param kind        {@code bridge}, {@code veth}, {@code vxlan}, {@code dummy}, … or null (physical, loopback)
 * @param slaveKind   {@code bridge} when this link is a bridge port, else null
 * @param masterIndex index of the bridge it is attached to, 0 when none
 * @param peerIndex   IFLA_LINK: for a veth, the peer's index (in {@code linkNetnsId}'s namespace when set)
 * @param linkNetnsId the peer's namespace id as seen from here, -1 when it is in this namespace
 * @param vxlan       VXLAN parameters for kind {@code vxlan}, else null
 * @param alias       IFLA_IFALIAS ({@code ip link set NAME alias TEXT}), null when none is set
 */
public record Link(
        int index,
        String name,
        String kind,
        String slaveKind,
        int flags,
        int mtu,
        MacAddress mac,
        int masterIndex,
        int peerIndex,
        int linkNetnsId,
        int operState,
        int txQueueLen,
        int promiscuity,
        VxlanInfo vxlan,
        String alias) {

    public boolean isUp() {
        return (flags & Rtnl.IFF_UP) != 0;
    }

    /** Carrier present (the veth peer is up too). */
    public boolean isLowerUp() {
        return (flags & Rtnl.IFF_LOWER_UP) != 0;
    }

    public boolean isPromiscuous() {
        return (flags & Rtnl.IFF_PROMISC) != 0;
    }

    /** RFC 2863 operational state as {@code ip link} prints it. */
    public String operStateName() {
        return switch (operState) {
            case 1 -> "NOTPRESENT";
            case 2 -> "DOWN";
            case 3 -> "LOWERLAYERDOWN";
            case 4 -> "TESTING";
            case 5 -> "DORMANT";
            case 6 -> "UP";
            default -> "UNKNOWN";
        };
    }

    /** VXLAN link parameters. */
    public record VxlanInfo(int vni, String local, String group, int port, boolean learning, int underlayIndex) {}
}
