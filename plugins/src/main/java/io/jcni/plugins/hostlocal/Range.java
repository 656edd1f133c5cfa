package io.jcni.plugins.hostlocal;

import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;

/**
 * One validated range of a range set: the subnet (network address, at least 2 host bits), the
 * inclusive allocatable interval {@code [start, end]} and the gateway (never handed out).
 * {@code path} names where it came from in the request ({@code ipam.ranges[0][1]}).
 */
record Range(IpPrefix subnet, IpAddress start, IpAddress end, IpAddress gateway, String path) {

    /** Inside the subnet and between start and end (the reference's Range.Contains). */
    boolean contains(IpAddress a) {
        return a.isV4() == start.isV4() && subnet.contains(a) && a.compareTo(start) >= 0 && a.compareTo(end) <= 0;
    }

    /** The reference's Range.Overlaps: one range holds an end point of the other. */
    boolean overlaps(Range o) {
        if (start.isV4() != o.start.isV4()) {
            return false;
        }
        return contains(o.start) || contains(o.end) || o.contains(start) || o.contains(end);
    }

    /** {@code start-end}, as the reference prints a range. */
    @Override
    public String toString() {
        return start + "-" + end;
    }
}
