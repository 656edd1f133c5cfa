package io.jcni.netlink.route;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.netlink.KernelException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ip.MacAddress;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.testing.Scratch;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A batch of neighbour, FDB and route replacements on a VXLAN device: all applied, or the first error after all were tried. */
class RouteBatchTest {
    private static final int PEERS = 600; // more than one datagram's worth of each kind

    private Scratch s;
    private RouteNetlink nl;
    private String vx;

    @BeforeEach
    void setUp() {
        s = new Scratch("rb");
        NetNs ns = s.netns("n");
        nl = s.closeLater(RouteNetlink.open(ns, Trace.OFF));
        vx = s.name("vx");
        nl.links()
                .add(LinkSpec.vxlan(vx, 1).vxlanPort(8472).vxlanLearning(false).up());
        nl.addresses().add(vx, IpPrefix.parse("10.245.0.0/32")); // as the agent's device has its own VTEP address
    }

    @AfterEach
    void tearDown() {
        s.close();
    }

    private static IpPrefix subnet(int i) {
        return new IpPrefix(IpAddress.parse("10.244.0.0").add((long) (i + 1) << 3), 29);
    }

    private static MacAddress mac(int i) {
        return MacAddress.of(new byte[] {0x0a, 0x6a, 0x63, 0, (byte) (i >> 8), (byte) i});
    }

    private void add(RouteBatch b, int i) {
        IpAddress vtep = subnet(i).address();
        b.replaceNeighbour(vx, vtep, mac(i), Rtnl.NUD_PERMANENT);
        b.replaceFdb(vx, mac(i), IpAddress.parse("198.19.0.1").add(i), Neighbours.SELF, Neighbours.FDB_PERMANENT);
        b.replaceRoute(Route.to(subnet(i)).via(vtep).dev(vx).withOnlink().protocol(215));
    }

    @Test
    void everyRequestIsApplied() {
        RouteBatch b = nl.batch();
        for (int i = 0; i < PEERS; i++) {
            add(b, i);
        }
        assertEquals(3 * PEERS, b.size());
        b.execute();
        assertEquals(PEERS, ours());
        assertEquals(
                PEERS,
                nl.neighbours().list(vx).stream()
                        .filter(n -> n.address().isV4() && n.isPermanent())
                        .count());
        assertEquals(
                PEERS,
                nl.neighbours().listFdb(vx).stream()
                        .filter(e -> e.dst() != null && !e.isMaster())
                        .count());
        nl.batch().execute(); // an empty batch sends nothing
        RouteBatch again = nl.batch();
        add(again, 7);
        again.execute(); // replacing what is there is fine
        assertEquals(PEERS, ours());
    }

    @Test
    void aFailingRequestIsReportedAfterTheOthersWereTried() {
        RouteBatch b = nl.batch();
        add(b, 1);
        // no route to 192.0.2.1 and not onlink: the kernel refuses this one
        b.replaceRoute(Route.to(subnet(2)).via(IpAddress.parse("192.0.2.1")).protocol(215));
        add(b, 3);
        assertThrows(KernelException.class, b::execute);
        Set<IpPrefix> routes = new HashSet<>();
        for (Route r : nl.routes().list(Rtnl.AF_INET, Rtnl.RT_TABLE_MAIN)) {
            if (r.protocol() == 215) {
                routes.add(r.destination());
            }
        }
        assertEquals(Set.of(subnet(1), subnet(3)), routes);
    }

    @Test
    void aMissingLinkSendsNothing() {
        RouteBatch b = nl.batch();
        add(b, 1);
        b.replaceNeighbour("nosuch0", subnet(2).address(), mac(2), Rtnl.NUD_PERMANENT);
        assertThrows(KernelException.class, b::execute);
        assertEquals(0, ours());
    }

    private long ours() {
        return nl.routes().list(Rtnl.AF_INET, Rtnl.RT_TABLE_MAIN).stream()
                .filter(r -> r.protocol() == 215)
                .count();
    }
}
