package io.jcni.agent;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.netlink.ns.NetNs;
import io.jcni.testkit.Commands;
import io.jcni.testkit.TestNames;
import io.jcni.testkit.TestNetns;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The agent's kernel watch wakes it for what it owns (and only that), caused by iproute2 as a person would. */
class KernelWatchTest {
    @AutoClose
    private final TestNetns namespaces = new TestNetns();

    private final String ns = TestNames.unique("jkw-");
    private final Semaphore wakeUps = new Semaphore(0);
    private NetNs handle;
    private final OwnDeletions own = new OwnDeletions();
    private KernelWatch watch;

    @BeforeEach
    void setUp() {
        namespaces.create(ns);
        handle = NetNs.openNamed(ns);
        ip("link", "add", "eth0", "type", "bridge");
        ip("link", "set", "eth0", "up");
        ip("addr", "add", "198.18.0.11/24", "dev", "eth0");
        ip("link", "add", "other0", "type", "bridge");
        watch = KernelWatch.start(handle, "eth0", wakeUps::release, own);
    }

    @AfterEach
    void tearDown() {
        if (watch != null) {
            watch.close();
        }
        if (handle != null) {
            handle.close();
        }
    }

    private void ip(String... args) {
        String[] cmd = new String[args.length + 3];
        cmd[0] = "ip";
        cmd[1] = "-n";
        cmd[2] = ns;
        System.arraycopy(args, 0, cmd, 3, args.length);
        Commands.run(cmd);
    }

    private boolean wokenWithin(long millis) throws InterruptedException {
        boolean woken = wakeUps.tryAcquire(millis, TimeUnit.MILLISECONDS);
        wakeUps.drainPermits();
        return woken;
    }

    @Test
    void wakesForWhatTheAgentOwns() throws Exception {
        ip("route", "add", "10.244.2.0/24", "via", "198.18.0.12", "proto", "215");
        ip("route", "add", "10.244.3.0/24", "via", "198.18.0.13", "proto", "static");
        ip("neigh", "add", "198.18.0.50", "lladdr", "02:00:00:00:00:50", "dev", "other0", "nud", "reachable");
        Thread.sleep(300); // the setup's own link events may wake it: start from a quiet watch
        wakeUps.drainPermits();

        ip("route", "del", "10.244.3.0/24");
        ip("neigh", "del", "198.18.0.50", "dev", "other0");
        ip("link", "set", "other0", "up");
        assertFalse(wokenWithin(1500), "another owner's route, a learned neighbour, another link: none of ours");

        ip("route", "del", "10.244.2.0/24");
        assertTrue(wokenWithin(2000), "a route of protocol 215 deleted");

        ip("link", "set", "eth0", "down");
        assertTrue(wokenWithin(2000), "the underlay went down");
        ip("link", "set", "eth0", "up");
        assertTrue(wokenWithin(2000), "and up");

        ip("link", "add", "jcni.1", "type", "vxlan", "id", "1", "dstport", "8472");
        assertTrue(wokenWithin(2000), "a VXLAN device of ours appeared");
        ip("neigh", "add", "10.244.5.0", "lladdr", "02:00:00:00:00:05", "dev", "jcni.1", "nud", "permanent");
        wakeUps.drainPermits();
        ip("neigh", "del", "10.244.5.0", "dev", "jcni.1");
        assertTrue(wokenWithin(2000), "a neighbour of the VXLAN device deleted");
        ip("link", "del", "jcni.1");
        assertTrue(wokenWithin(2000), "the VXLAN device deleted");
    }

    @Test
    void deletionsTheAgentAnnouncedDoNotWakeIt() throws Exception {
        ip("route", "add", "10.244.2.0/24", "via", "198.18.0.12", "proto", "215");
        ip("route", "add", "10.244.3.0/24", "via", "198.18.0.13", "proto", "215");
        ip("route", "add", "10.244.4.0/24", "via", "198.18.0.14", "proto", "215");
        ip("link", "add", "jcni.1", "type", "vxlan", "id", "1", "dstport", "8472");
        ip("neigh", "add", "10.244.5.0", "lladdr", "02:00:00:00:00:05", "dev", "jcni.1", "nud", "permanent");
        ip("neigh", "add", "10.244.6.0", "lladdr", "02:00:00:00:00:06", "dev", "jcni.1", "nud", "permanent");
        Thread.sleep(300);
        wakeUps.drainPermits();

        own.route(); // as a pass announces each deletion it makes
        own.neighbour();
        ip("route", "del", "10.244.2.0/24");
        ip("neigh", "del", "10.244.5.0", "dev", "jcni.1");
        assertFalse(wokenWithin(1500), "the agent's own deletions");

        ip("route", "del", "10.244.3.0/24");
        assertTrue(wokenWithin(2000), "a route deletion nobody announced");
        ip("neigh", "del", "10.244.6.0", "dev", "jcni.1");
        assertTrue(wokenWithin(2000), "a neighbour deletion nobody announced");

        own.route();
        own.routeNotDeleted(); // the route was gone already: nothing to swallow
        ip("route", "del", "10.244.4.0/24");
        assertTrue(wokenWithin(2000), "an announcement taken back swallows nothing");
    }

    @Test
    void closeEndsTheReaderWithoutWakingTheAgent() throws Exception {
        watch.close();
        Thread.sleep(1500); // the reader's wait is one second
        wakeUps.drainPermits();
        ip("link", "set", "eth0", "down");
        assertFalse(wokenWithin(1500), "closed: no more wake-ups");
        watch = null;
    }
}
