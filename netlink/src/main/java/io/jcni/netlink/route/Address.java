package io.jcni.netlink.route;

import io.jcni.netlink.ip.IpPrefix;

/** An interface address as the kernel reports it (IFA_LOCAL with its prefix length). */
public record Address(int linkIndex, IpPrefix prefix, int scope, int flags, String label) {
    /** Still doing duplicate address detection (IPv6): not usable as a source yet. */
    public boolean isTentative() {
        return (flags & Rtnl.IFA_F_TENTATIVE) != 0;
    }
}
