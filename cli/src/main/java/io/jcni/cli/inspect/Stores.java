package io.jcni.cli.inspect;

import io.jcni.cni.ConfigObject;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.sys.Fd;
import io.jcni.plugins.hostlocal.Reservations;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Changes to a host-local store, made as host-local makes them: under the store's {@code flock},
 * the same lock the plugin takes, so a repair never races an ADD or DEL of the same network.
 */
final class Stores {
    private Stores() {}

    /** The store's lock, taken; null when the store does not exist. */
    static Fd lock(CniState.Network net) throws Exception {
        return Reservations.of(new ConfigObject(net.ipam(), "ipam"), net.name()).lock();
    }

    /** Releases {@code r} if it is still the same owner's: its file goes. */
    static void release(Fixer f, CniState.Network net, CniState.Reservation r) throws Exception {
        try (Fd lock = lock(net)) {
            if (lock == null) {
                return;
            }
            String content;
            try {
                content = Files.readString(r.file(), StandardCharsets.UTF_8).trim();
            } catch (IOException gone) {
                return;
            }
            if (content.equals(r.containerId() + "\r\n" + r.ifname())) {
                f.remove(r.file());
            }
        }
    }

    /** Writes the reservation of {@code address} for {@code owner} unless someone holds it (a temporary file linked into place). */
    static void reserve(Fixer f, CniState.Network net, IpAddress address, Owners.Id owner) throws Exception {
        Files.createDirectories(net.store());
        try (Fd lock = lock(net)) {
            Path file = net.store().resolve(address.toString());
            Path tmp = net.store().resolve(".jcni-tmp-" + Long.toHexString(System.nanoTime()));
            Files.writeString(tmp, owner.containerId().trim() + "\r\n" + owner.ifname(), StandardCharsets.UTF_8);
            try {
                Files.createLink(file, tmp);
                f.trace()
                        .command("printf '%s\\r\\n%s' " + Fixer.shell(owner.containerId()) + " " + owner.ifname()
                                + " > " + Fixer.shell(file.toString()));
            } catch (FileAlreadyExistsException taken) {
                throw new IllegalStateException(address + " was reserved by someone else meanwhile");
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
    }
}
