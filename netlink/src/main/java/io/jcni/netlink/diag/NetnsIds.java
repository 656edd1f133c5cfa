package io.jcni.netlink.diag;

import io.jcni.netlink.KernelException;
import io.jcni.netlink.NetlinkSocket;
import io.jcni.netlink.NlMessage;
import io.jcni.netlink.NlRequest;
import io.jcni.netlink.ns.NetNs;
import java.util.List;

/**
 * The ids one namespace gives others ({@code ip netns list-id}): a veth whose peer is elsewhere
 * reports the peer's namespace only as such an id ({@code link-netnsid 3}), meaningful only in
 * the namespace that reported it. {@link #idOf} asks the viewing namespace for the id of a
 * candidate namespace (by an open descriptor, {@code RTM_GETNSID} with {@code NETNSA_FD}), which
 * is how {@code ip link} prints {@code link-netns NAME}.
 */
public final class NetnsIds implements AutoCloseable {
    static final int RTM_NEWNSID = 88, RTM_GETNSID = 90;
    static final int NETNSA_NSID = 1, NETNSA_FD = 3;
    /** The kernel's "this namespace has no id here". */
    public static final int NOT_ASSIGNED = -1;

    private final NetlinkSocket socket;

    private NetnsIds(NetlinkSocket socket) {
        this.socket = socket;
    }

    /** Ids as seen from {@code viewer} (null: the calling thread's namespace). */
    public static NetnsIds from(NetNs viewer) {
        return new NetnsIds(NetlinkSocket.openIn(viewer, NetlinkSocket.NETLINK_ROUTE));
    }

    /** The id {@code other} has in the viewing namespace, or {@link #NOT_ASSIGNED}. */
    public int idOf(NetNs other) {
        NlRequest r = new NlRequest(RTM_GETNSID, 0, "get netns id", other.path())
                .u8(0)
                .align() // struct rtgenmsg, padded
                .attrU32(NETNSA_FD, other.fd());
        try {
            List<NlMessage> replies = socket.execute(r);
            for (NlMessage m : replies) {
                if (m.type() == RTM_NEWNSID) {
                    return m.attrs(1).u32(NETNSA_NSID, NOT_ASSIGNED);
                }
            }
        } catch (KernelException e) {
            return NOT_ASSIGNED;
        }
        return NOT_ASSIGNED;
    }

    @Override
    public void close() {
        socket.close();
    }
}
