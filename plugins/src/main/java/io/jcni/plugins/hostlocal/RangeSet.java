package io.jcni.plugins.hostlocal;

import io.jcni.netlink.ip.IpAddress;
import java.util.List;

/** A pool of disjoint ranges of one family; one address is allocated from each set per ADD. */
record RangeSet(List<Range> ranges, String path) {

    /** The range holding {@code a}, or null. */
    Range rangeFor(IpAddress a) {
        for (int i = 0; i < ranges.size(); i++) {
            if (ranges.get(i).contains(a)) {
                return ranges.get(i);
            }
        }
        return null;
    }

    boolean contains(IpAddress a) {
        return rangeFor(a) != null;
    }

    boolean overlaps(RangeSet o) {
        for (Range a : ranges) {
            for (Range b : o.ranges) {
                if (a.overlaps(b)) {
                    return true;
                }
            }
        }
        return false;
    }

    boolean isV4() {
        return ranges.get(0).start().isV4();
    }

    /** {@code start-end,start-end}, as the reference prints a range set. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < ranges.size(); i++) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append(ranges.get(i));
        }
        return sb.toString();
    }
}
