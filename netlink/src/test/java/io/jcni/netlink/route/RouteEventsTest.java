package io.jcni.netlink.route;

import static io.jcni.netlink.route.Rtnl.*;
import static org.junit.jupiter.api.Assertions.*;

import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.route.RouteEvents.Change;
import io.jcni.netlink.testing.Scratch;
import io.jcni.testkit.Commands;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Change notifications of links, routes and neighbours, each caused by iproute2 as a bystander would. */
class RouteEventsTest {
    private final Scratch s = new Scratch("ev");

    @AfterEach
    void tearDown() {
        s.close();
    }

    @Test
    void reportsLinkRouteAndNeighbourChanges() {
        NetNs ns = s.netns("n");
        String br = s.name("br");
        try (RouteEvents events = RouteEvents.open(ns, 200)) {
            assertNull(events.next(), "nothing happened: the wait ends at its timeout");

            Commands.run("ip", "-n", ns.name(), "link", "add", br, "type", "bridge");
            Commands.run("ip", "-n", ns.name(), "link", "set", br, "up");
            Commands.run("ip", "-n", ns.name(), "addr", "add", "10.99.0.1/24", "dev", br);
            Change link = await(events, c -> c.type() == RTM_NEWLINK && br.equals(c.linkName()));
            assertTrue(link.linkIndex() > 0);

            Commands.run("ip", "-n", ns.name(), "route", "add", "10.98.0.0/24", "via", "10.99.0.2", "proto", "215");
            Change added = await(events, c -> c.type() == RTM_NEWROUTE && c.routeProtocol() == 215);
            assertEquals(link.linkIndex(), added.linkIndex());
            Commands.run("ip", "-n", ns.name(), "route", "del", "10.98.0.0/24");
            Change deleted = await(events, c -> c.type() == RTM_DELROUTE && c.routeProtocol() == 215);
            assertTrue(deleted.isDelete());

            Commands.run(
                    "ip",
                    "-n",
                    ns.name(),
                    "neigh",
                    "add",
                    "10.99.0.7",
                    "lladdr",
                    "02:00:00:00:00:07",
                    "dev",
                    br,
                    "nud",
                    "permanent");
            Commands.run("ip", "-n", ns.name(), "neigh", "del", "10.99.0.7", "dev", br);
            Change gone = await(events, c -> c.type() == RTM_DELNEIGH && c.linkIndex() == link.linkIndex());
            assertTrue(gone.isDelete());

            Commands.run("ip", "-n", ns.name(), "link", "del", br);
            assertTrue(await(events, c -> c.type() == RTM_DELLINK && br.equals(c.linkName()))
                    .isDelete());
        }
    }

    @Test
    void seesOnlyItsOwnNamespace() {
        NetNs watched = s.netns("w");
        NetNs other = s.netns("o");
        try (RouteEvents events = RouteEvents.open(watched, 300)) {
            Commands.run("ip", "-n", other.name(), "link", "add", s.name("x"), "type", "bridge");
            assertNull(events.next(), "a change in another namespace is not reported");
        }
    }

    private static Change await(RouteEvents events, Predicate<Change> wanted) {
        List<Change> seen = new ArrayList<>();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline) {
            List<Change> batch = events.next();
            if (batch != null) {
                for (Change c : batch) {
                    if (wanted.test(c)) {
                        return c;
                    }
                    seen.add(c);
                }
            }
        }
        return fail("no such change within 5 s; seen: " + seen);
    }
}
