package io.jcni.plugins.hostlocal;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.cni.CniError;
import io.jcni.cni.CniVersion;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.testkit.Commands;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * host-local runs as root and creates, links and removes files in its data directory: it
 * refuses a directory another user could redirect or fill — relative, a symlink or another file
 * type on the way, not owned by root, writable by group or others.
 */
class HostLocalDataDirTest extends HostLocalTestBase {

    private String confWithDataDir(String dir) {
        return conf(CniVersion.V110, ranges("10.20.0.0/24"))
                .replace("\"dataDir\":\"" + dataDir + "\"", "\"dataDir\":\"" + dir + "\"");
    }

    private void refused(String dir, String... fragments) {
        String c = confWithDataDir(dir);
        for (String verb : List.of("ADD", "DEL", "CHECK", "GC", "STATUS")) {
            error(
                    run(
                            verb,
                            "c1",
                            "eth0",
                            verb.equals("CHECK")
                                    ? c.substring(0, c.length() - 1)
                                            + ",\"prevResult\":{\"cniVersion\":\"1.1.0\",\"ips\":[]}}"
                                    : c),
                    CniError.INVALID_NETWORK_CONFIG,
                    fragments);
        }
    }

    @Test
    void aRelativeDataDirIsRefusedOnEveryVerb() {
        refused("jhi-relative/networks", "ipam.dataDir", "not an absolute path");
        assertFalse(Files.exists(Path.of("jhi-relative")), "nothing created relative to the working directory");
        refused("/tmp/../" + dataDir, "ipam.dataDir", "\"..\" component");
    }

    @Test
    void aSymlinkedDataDirOrNetworkDirIsRefused() throws Exception {
        Path real = Files.createDirectory(dataDir.resolve("real"));
        Path link = Files.createSymbolicLink(dataDir.resolve("link"), real);
        refused(
                link.toString(),
                "refusing an untrusted data directory",
                link + " is not a directory (a symbolic link)");
        refused(link + "/below", "a symbolic link");
        Files.createSymbolicLink(real.resolve(NET), Files.createDirectory(dataDir.resolve("elsewhere")));
        refused(real.toString(), real.resolve(NET) + " is not a directory (a symbolic link)");
        try (var s = Files.list(dataDir.resolve("elsewhere"))) {
            assertEquals(List.of(), s.toList(), "nothing written through the links");
        }
    }

    @Test
    void aFifoOrFileOnTheWayIsRefused() throws Exception {
        Path fifo = dataDir.resolve("fifo");
        Commands.run("mkfifo", fifo.toString());
        refused(fifo.toString(), "a FIFO");
        Path file = Files.writeString(dataDir.resolve("file"), "");
        refused(file + "/networks", file + " is not a directory (a file)");
    }

    @Test
    void aDataDirNotOwnedByRootOrWritableByOthersIsRefused() throws Exception {
        Path foreign = Files.createDirectory(dataDir.resolve("foreign"));
        Files.setAttribute(foreign, "unix:uid", 65534);
        refused(foreign.toString(), "owned by uid 65534, not root");
        refused(foreign + "/networks", "owned by uid 65534, not root");

        Path shared = Files.createDirectory(dataDir.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxr-x"));
        refused(shared.toString(), "writable by its group");
        // an ancestor writable by others is fine only with the sticky bit (as /tmp)
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxr-xrwx"));
        refused(shared + "/networks", shared + " is writable by others");
        Files.setAttribute(shared, "unix:mode", 01777);
        refused(shared.toString(), "writable by its group and others (mode 1777)");
        ok(run("ADD", "c1", "eth0", confWithDataDir(shared + "/networks")));
        assertTrue(Files.exists(shared.resolve("networks").resolve(NET).resolve("10.20.0.2")));
    }

    @Test
    void aTrustedDataDirIsCreatedAndUsed() throws Exception {
        String dir = dataDir + "/new/networks/";
        assertEquals("10.20.0.2", address(ok(run("ADD", "c1", "eth0", confWithDataDir(dir))), 0));
        assertEquals(
                "rwxr-xr-x",
                PosixFilePermissions.toString(Files.getPosixFilePermissions(dataDir.resolve("new/networks/" + NET))));
    }

    /** Probing an address that is taken writes nothing (and so syncs nothing); only the reservation kept is written. */
    @Test
    void probingATakenAddressWritesNothing() throws Exception {
        Path net = Files.createDirectories(netDir());
        writeReservation("10.20.0.2", "someone\r\neth0");
        Store store = new Store(net.toString());
        FileTime before = FileTime.fromMillis(1_000_000_000_000L);
        Files.setLastModifiedTime(net, before);
        assertFalse(store.reserve(IpAddress.parse("10.20.0.2"), "c1", "eth0", 0));
        assertEquals(before, Files.getLastModifiedTime(net), "a temp file was created and removed for a taken address");
        assertTrue(store.reserve(IpAddress.parse("10.20.0.3"), "c1", "eth0", 0));
        assertEquals("c1\r\neth0", fileText("10.20.0.3"));
        assertEquals("someone\r\neth0", fileText("10.20.0.2"));
    }
}
