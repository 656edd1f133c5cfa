package io.jcni.plugins.bridge;

import io.jcni.cni.CniError;
import io.jcni.cni.ConfigObject;
import io.jcni.cni.Invocation;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.sys.Fd;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A read-only view of the in-process host-local's store ({@code <dataDir>/<network>}), for the
 * NAT: its {@code lock} (the same flock(2) host-local takes, so NAT changes and the checks
 * against the reservations are serialized with every ADD, DEL and GC of the network), and its
 * reservations with their owners (file {@code <address>} holding {@code <containerID>\r\n<ifname>}),
 * from which the NAT elements of every pod of the network can be derived again.
 *
 * <p>flock(2) locks belong to an open file: while this lock is held, calling host-local (which
 * opens and locks the file again) would wait forever. Callers take it only around their own
 * reads and NAT changes.
 */
final class HostLocalStore {
    private static final String DEFAULT_DATA_DIR = "/var/lib/cni/networks";
    private final String dir;

    private HostLocalStore(String dir) {
        this.dir = dir;
    }

    /** The store of this network, as host-local's configuration names it. */
    static HostLocalStore of(Invocation inv) throws CniError {
        ConfigObject ipam = inv.config().object("ipam");
        String dataDir = ipam == null ? "" : ipam.string("dataDir", "");
        if (dataDir.isEmpty()) {
            dataDir = DEFAULT_DATA_DIR;
        }
        while (dataDir.length() > 1 && dataDir.endsWith("/")) {
            dataDir = dataDir.substring(0, dataDir.length() - 1);
        }
        return new HostLocalStore(dataDir + "/" + inv.network());
    }

    /** The store's lock, taken; null when the store does not exist (nothing was ever reserved). */
    Fd lock() {
        if (!new File(dir).isDirectory()) {
            return null;
        }
        Fd fd = Fd.open(dir + "/lock", Fd.O_RDONLY | Fd.O_CREAT, 0750);
        try {
            fd.lockExclusive();
        } catch (RuntimeException e) {
            fd.close();
            throw e;
        }
        return fd;
    }

    /** Every reservation: address → the NAT comment of its owner (legacy ID-only ones are left out). Hold the lock. */
    Map<IpAddress, String> owners(String network) {
        Map<IpAddress, String> out = new HashMap<>();
        String[] names = new File(dir).list();
        if (names == null) {
            return out;
        }
        for (String name : names) {
            if (name.isEmpty() || name.charAt(0) == '.' || name.equals("lock") || name.startsWith("last_reserved_ip.")) {
                continue;
            }
            IpAddress a = IpAddress.tryParse(name);
            if (a == null) {
                continue;
            }
            String content;
            try {
                content = new String(Files.readAllBytes(Path.of(dir, name)), StandardCharsets.UTF_8).trim();
            } catch (NoSuchFileException gone) {
                continue;
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            int sep = content.indexOf("\r\n");
            if (sep > 0) {
                out.put(a, Attachment.comment(network, content.substring(0, sep), content.substring(sep + 2).trim()));
            }
        }
        return out;
    }

    /** The configured subnets (runtimeConfig.ipRanges, the legacy {@code subnet}, {@code ranges}); bad ones skipped. */
    static List<IpPrefix> subnets(Invocation inv) throws CniError {
        List<IpPrefix> out = new ArrayList<>();
        ConfigObject runtime = inv.config().object("runtimeConfig");
        if (runtime != null) {
            collect(runtime, "ipRanges", out);
        }
        ConfigObject ipam = inv.config().object("ipam");
        if (ipam != null) {
            add(ipam.string("subnet", ""), out);
            collect(ipam, "ranges", out);
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static void collect(ConfigObject parent, String key, List<IpPrefix> out) throws CniError {
        List<Object> sets = parent.list(key);
        if (sets == null) {
            return;
        }
        for (Object set : sets) {
            if (set instanceof List<?> ranges) {
                for (Object r : ranges) {
                    if (r instanceof Map<?, ?> m && m.get("subnet") instanceof String subnet) {
                        add(subnet, out);
                    }
                }
            }
        }
    }

    private static void add(String subnet, List<IpPrefix> out) {
        if (!subnet.isEmpty()) {
            try {
                out.add(IpPrefix.parse(subnet).network());
            } catch (RuntimeException bad) {
                // not a prefix: host-local refuses it on its own
            }
        }
    }
}
