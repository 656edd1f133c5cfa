package io.jcni.netlink.route;

import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.MacAddress;

/**
 * A bridge forwarding-database entry (family AF_BRIDGE), of a bridge port or of a device with its
 * own FDB such as VXLAN.
 *
 * @param linkIndex   the device (bridge port or VXLAN device) the entry points to
 * @param link        its name (null when the listing could not resolve it)
 * @param mac         the Ethernet address
 * @param dst         for VXLAN: the remote VTEP (NDA_DST), else null
 * @param state       NUD_PERMANENT ({@code permanent}), NUD_NOARP ({@code static}), NUD_REACHABLE (learned)
 * @param flags       NTF_* bits as reported: NTF_SELF for the device's own FDB (the bridge's entries carry
 *                    {@code masterIndex} instead of NTF_MASTER)
 * @param masterIndex the bridge the entry belongs to (NDA_MASTER), 0 when none
 * @param vlan        the VLAN id (NDA_VLAN), 0 when none
 */
public record FdbEntry(
        int linkIndex, String link, MacAddress mac, IpAddress dst, int state, int flags, int masterIndex, int vlan) {

    public boolean isSelf() {
        return (flags & Rtnl.NTF_SELF) != 0;
    }

    /**
     * An entry of the bridge's FDB ({@code bridge fdb … master}). The bridge reports these with
     * NDA_MASTER and without NTF_MASTER in the flags, so either counts.
     */
    public boolean isMaster() {
        return (flags & Rtnl.NTF_MASTER) != 0 || masterIndex != 0;
    }

    public boolean isPermanent() {
        return (state & Rtnl.NUD_PERMANENT) != 0;
    }
}
