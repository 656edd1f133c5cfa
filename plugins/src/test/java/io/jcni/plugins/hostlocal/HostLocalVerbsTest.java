package io.jcni.plugins.hostlocal;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.CniError;
import io.jcni.cni.CniVersion;
import io.jcni.cni.PluginRequest;
import io.jcni.cni.Skeleton;
import io.jcni.testkit.Commands;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** DEL, CHECK, GC and STATUS. */
class HostLocalVerbsTest extends HostLocalTestBase {

    @Test
    void delReleasesOnlyItsAttachmentAndIsIdempotent() throws IOException {
        for (String v : CniVersion.SUPPORTED) {
            resetStore();
            String c = conf(v, ranges("10.11.0.0/24", "fd00:11::/64"));
            // DEL before anything exists: success, and no directory is created
            okEmpty(run("DEL", "c1", "eth0", c));
            assertFalse(Files.exists(netDir()));
            ok(run("ADD", "c1", "eth0", c));
            ok(run("ADD", "c1", "eth1", c));
            ok(run("ADD", "c2", "eth0", c));
            assertEquals(6, reservations().size());
            okEmpty(run("DEL", "c1", "eth0", c));
            assertEquals(new TreeSet<>(List.of("10.11.0.3", "10.11.0.4", "fd00:11::3", "fd00:11::4")), reservations());
            okEmpty(run("DEL", "c1", "eth0", c));
            okEmpty(run("DEL", "c1", "eth0", c));
            assertEquals(4, reservations().size());
            // DEL without a namespace (CNI_NETNS empty) still releases
            Map<String, String> env = new HashMap<>();
            env.put("CNI_COMMAND", "DEL");
            env.put("CNI_CONTAINERID", "c1");
            env.put("CNI_IFNAME", "eth1");
            env.put("CNI_PATH", "/usr/lib/cni");
            okEmpty(Skeleton.handle(new HostLocal(), new PluginRequest(env, c.getBytes(StandardCharsets.UTF_8))));
            assertEquals(new TreeSet<>(List.of("10.11.0.4", "fd00:11::4")), reservations());
            // the cursor and the lock stay
            assertTrue(Files.exists(netDir().resolve("lock")));
            assertTrue(Files.exists(netDir().resolve("last_reserved_ip.0")));
        }
    }

    @Test
    void delReleasesLegacyReservationsOnlyWhenNoNewFormatOneMatched() throws IOException {
        String c = conf(CniVersion.V110, ranges("10.12.0.0/24"));
        writeReservation("10.12.0.50", "c9\n");
        writeReservation("10.12.0.51", "  c9  ");
        writeReservation("10.12.0.52", "c8");
        okEmpty(run("DEL", "c9", "eth0", c));
        assertEquals(new TreeSet<>(List.of("10.12.0.52")), reservations());
        writeReservation("10.12.0.53", "c8\r\neth0\n");
        okEmpty(run("DEL", "c8", "eth0", c));
        assertEquals(new TreeSet<>(List.of("10.12.0.52")), reservations(), "new-format match found: legacy file kept");
    }

    @Test
    void checkNeedsAReservationAndPrevResultAddresses() throws IOException {
        for (String v : CniVersion.SUPPORTED) {
            resetStore();
            String c = conf(v, ranges("10.13.0.0/24", "fd00:13::/64"));
            String addOut = run("ADD", "c1", "eth0", c).stdoutText();
            ok(run("ADD", "c2", "eth0", c));
            if (v.startsWith("0.3")) {
                error(
                        run("CHECK", "c1", "eth0", c),
                        CniError.INCOMPATIBLE_VERSION,
                        "config version does not allow CHECK");
                continue;
            }
            okEmpty(run("CHECK", "c1", "eth0", c));
            String withPrev = c.substring(0, c.length() - 1) + ",\"prevResult\":" + addOut + "}";
            okEmpty(run("CHECK", "c1", "eth0", withPrev));
            // c2 owns other addresses: the prevResult of c1 is not c2's
            error(
                    run("CHECK", "c2", "eth0", withPrev),
                    HostLocal.NOT_ALLOCATED,
                    "host-local: address 10.13.0.2 of prevResult is not reserved by container c2");
            // addresses outside this network's ranges are not ours to check
            String foreign = c.substring(0, c.length() - 1) + ",\"prevResult\":{\"cniVersion\":\"" + v + "\",\"ips\":["
                    + "{\"address\":\"192.0.2.5/24\"" + (v.startsWith("0.") ? ",\"version\":\"4\"" : "") + "}]}}";
            okEmpty(run("CHECK", "c1", "eth0", foreign));
            error(
                    run("CHECK", "c3", "eth0", c),
                    HostLocal.NOT_ALLOCATED,
                    "host-local: Failed to find address added by container c3");
            error(
                    run("CHECK", "c1", "eth9", c),
                    HostLocal.NOT_ALLOCATED,
                    "Failed to find address added by container c1");
            okEmpty(run("DEL", "c1", "eth0", c));
            error(
                    run("CHECK", "c1", "eth0", withPrev),
                    HostLocal.NOT_ALLOCATED,
                    "Failed to find address added by container c1");
            // a legacy reservation counts
            writeReservation("10.13.0.77", "c7");
            okEmpty(run("CHECK", "c7", "eth0", c));
        }
        resetStore();
        error(
                run("CHECK", "c1", "eth0", conf(CniVersion.V110, ranges("10.13.0.0/24"))),
                HostLocal.NOT_ALLOCATED,
                "Failed to find address added by container c1");
    }

    private String gcConf(String attachments, String key) {
        String c = conf(CniVersion.V110, ranges("10.14.0.0/24", "fd00:14::/64"));
        if (attachments == null) {
            return c;
        }
        return c.substring(0, c.length() - 1) + ",\"" + key + "\":" + attachments + "}";
    }

    @Test
    void gcKeepsValidAttachmentsAndRemovesTheRest() throws IOException {
        String c = conf(CniVersion.V110, ranges("10.14.0.0/24", "fd00:14::/64"));
        ok(run("ADD", "keep", "eth0", c)); // .2
        ok(run("ADD", "stale", "eth0", c)); // .3
        ok(run("ADD", "keep", "eth1", c)); // .4, not in the valid list: stale
        writeReservation("10.14.0.60", "legacykeep");
        writeReservation("10.14.0.61", "legacystale");
        writeReservation("10.14.0.62", "");
        Files.writeString(netDir().resolve("not-an-address"), "stale\r\neth0");
        String valid =
                "[{\"containerID\":\"keep\",\"ifname\":\"eth0\"},{\"containerID\":\"legacykeep\",\"ifname\":\"eth0\"}]";
        ageReservations(); // older than GC's grace period: no ADD of theirs is in flight
        okEmpty(run("GC", "", "", gcConf(valid, "cni.dev/valid-attachments")));
        assertEquals(new TreeSet<>(List.of("10.14.0.2", "10.14.0.60", "fd00:14::2")), reservations());
        assertTrue(Files.exists(netDir().resolve("lock")));
        assertEquals("10.14.0.4", fileText("last_reserved_ip.0"));
        assertTrue(Files.exists(netDir().resolve("not-an-address")), "files that are not reservations are left alone");
        // the GC is idempotent
        okEmpty(run("GC", "", "", gcConf(valid, "cni.dev/valid-attachments")));
        assertEquals(3, reservations().size());
        // the 1.1.0-tag key works as a fallback
        okEmpty(run("GC", "", "", gcConf("[{\"containerID\":\"keep\",\"ifname\":\"eth0\"}]", "cni.dev/attachments")));
        assertEquals(new TreeSet<>(List.of("10.14.0.2", "fd00:14::2")), reservations());
        // no list at all: nothing is known to be stale
        okEmpty(run("GC", "", "", gcConf(null, null)));
        assertEquals(2, reservations().size());
        // an empty list: everything is stale
        okEmpty(run("GC", "", "", gcConf("[]", "cni.dev/valid-attachments")));
        assertEquals(new TreeSet<String>(), reservations());
        // round-robin state survives
        assertEquals("10.14.0.5", address(ok(run("ADD", "new", "eth0", c)), 0));
    }

    @Test
    void gcAndStatusNeedVersion110AndGcWithoutDirectorySucceeds() throws IOException {
        for (String v : CniVersion.SUPPORTED) {
            if (v.equals(CniVersion.V110)) {
                continue;
            }
            String c = conf(v, ranges("10.15.0.0/30"));
            error(run("GC", "", "", c), CniError.INCOMPATIBLE_VERSION, "config version does not allow GC");
            error(run("STATUS", "", "", c), CniError.INCOMPATIBLE_VERSION, "config version does not allow STATUS");
        }
        okEmpty(run("GC", "", "", gcConf("[]", "cni.dev/valid-attachments")));
        assertFalse(Files.exists(netDir()));
        error(run("GC", "", "", conf(CniVersion.V110, "")), CniError.INVALID_NETWORK_CONFIG, "no IP ranges specified");
    }

    @Test
    void statusReports50WhenARangeSetIsExhausted() throws IOException {
        String c = conf(CniVersion.V110, ranges("10.15.0.0/24", "10.16.0.0/30"));
        okEmpty(run("STATUS", "", "", c)); // nothing on disk yet
        assertFalse(Files.exists(netDir()), "STATUS changes nothing");
        ok(run("ADD", "c1", "eth0", c));
        error(
                run("STATUS", "", "", c),
                CniError.PLUGIN_NOT_AVAILABLE,
                "no IP addresses available in range set: 10.16.0.1-10.16.0.2",
                "range set 1 (ipam.ranges[1]) is exhausted");
        okEmpty(run("DEL", "c1", "eth0", c));
        okEmpty(run("STATUS", "", "", c));
        // STATUS is informational: ADD still answers normally afterwards
        ok(run("ADD", "c2", "eth0", c));
        error(run("ADD", "c3", "eth0", c), CniError.NO_ADDRESSES, "10.16.0.1-10.16.0.2");
        error(
                run("STATUS", "", "", conf(CniVersion.V110, "\"ranges\":[[{\"subnet\":\"10.0.0.1/24\"}]]")),
                CniError.INVALID_NETWORK_CONFIG,
                "Network has host bits set");
    }

    @Test
    void statusReports50WhenTheDataDirectoryIsNotWritable() throws Exception {
        // a read-only bind mount of the data directory (root ignores permission bits)
        String c = conf(CniVersion.V110, ranges("10.17.0.0/24"));
        ok(run("ADD", "c1", "eth0", c));
        Commands.Result mount = Commands.of(
                        "sh",
                        "-c",
                        "mount --bind " + dataDir + " " + dataDir + " && mount -o remount,bind,ro " + dataDir + " "
                                + dataDir)
                .result();
        org.junit.jupiter.api.Assumptions.assumeTrue(
                mount.code() == 0, "cannot make a read-only mount here: " + mount.out());
        try {
            error(run("STATUS", "", "", c), CniError.PLUGIN_NOT_AVAILABLE, "data directory is not writable");
        } finally {
            Commands.of("umount", dataDir.toString()).result();
        }
        okEmpty(run("STATUS", "", "", c));
    }

    @Test
    void errorsCarryTheRequestVersion() {
        String c = conf(CniVersion.V040, ranges("10.18.0.0/30"));
        ok(run("ADD", "c1", "eth0", c));
        Map<String, Object> e = error(run("ADD", "c2", "eth0", c), CniError.NO_ADDRESSES);
        assertEquals(CniVersion.V040, e.get("cniVersion"));
    }
}
