package io.jcni.plugins.hostlocal;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.CniVersion;
import java.nio.file.Files;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The reference host-local's best-known leak: its store lives under /var/lib, so after a reboot
 * the reservations of the pods that died with the old boot stay until someone deletes the files
 * (no DEL ever comes: the namespaces and the runtime's state under /run are gone). jcni records
 * the boot id in the store's lock file; the first ADD, DEL or GC of a new boot frees the old boot's
 * reservations. host-local never looks into the pods' namespaces, so for it a reboot is: the
 * store kept, no DEL for the old pods, and a kernel boot id other than the one recorded.
 */
class HostLocalRebootTest extends HostLocalTestBase {
    private static final String OLD_BOOT = "00000000-0000-4000-8000-000000000000";

    private String bootPods(String c) throws Exception {
        ok(run("ADD", "before1", "eth0", c));
        ok(run("ADD", "before2", "eth0", c));
        ok(run("ADD", "before3", "eth1", c));
        assertEquals(6, reservations().size());
        assertEquals(Store.currentBootId(), recordedBoot(), "the store records the boot that uses it");
        return c;
    }

    /** The boot id the store recorded (in its lock file, which the Go plugin only flocks). */
    private String recordedBoot() throws Exception {
        return fileText("lock").strip();
    }

    /** What a reboot leaves for host-local: the same store, written during another boot. */
    private void reboot() throws Exception {
        Files.writeString(netDir().resolve("lock"), OLD_BOOT + "\n");
    }

    @Test
    void theFirstAddAfterARebootFreesEveryStaleReservation() throws Exception {
        String c = bootPods(conf(CniVersion.V110, ranges("10.17.0.0/24", "fd00:17::/64")));
        reboot();
        Map<String, Object> r = ok(run("ADD", "after", "eth0", c));
        assertEquals(Set.of(address(r, 0), address(r, 1)), reservations(), "only the new boot's pod holds addresses");
        assertEquals(Store.currentBootId(), recordedBoot());
        // the old pods' DELs, should a runtime still send them, succeed and change nothing
        okEmpty(run("DEL", "before1", "eth0", c));
        assertEquals(2, reservations().size());
    }

    @Test
    void theFirstGcAfterARebootFreesEveryStaleReservationYoungOrNot() throws Exception {
        String c = bootPods(conf(CniVersion.V110, ranges("10.18.0.0/24", "fd00:18::/64")));
        reboot();
        // cnitool gc without a list, right after boot: the reservations are seconds old, and
        // without a reboot neither a missing list nor the grace period would let GC free them
        okEmpty(run("GC", "", "", c));
        assertEquals(Set.of(), reservations());
        assertEquals(Store.currentBootId(), recordedBoot());
        assertEquals("10.18.0.4", fileText("last_reserved_ip.0"), "the round-robin cursor survives");
    }

    @Test
    void withoutARebootOrWithoutARecordedBootNothingIsFreed() throws Exception {
        String c = bootPods(conf(CniVersion.V110, ranges("10.19.0.0/24", "fd00:19::/64")));
        okEmpty(run("GC", "", "", c));
        ok(run("ADD", "same-boot", "eth0", c));
        assertEquals(8, reservations().size());
        // a store written by the Go plugin or an older jcni has no boot id: its reservations may be live
        Files.writeString(netDir().resolve("lock"), "");
        ok(run("ADD", "upgraded", "eth0", c));
        assertEquals(10, reservations().size());
        assertEquals(Store.currentBootId(), recordedBoot());
    }
}
