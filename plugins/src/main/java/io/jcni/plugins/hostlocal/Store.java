package io.jcni.plugins.hostlocal;

import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.ObjectExistsException;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.sys.Fd;
import io.jcni.netlink.sys.KernelFiles;
import io.jcni.netlink.sys.Syscall;
import io.jcni.netlink.sys.SyscallNumbers;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The reference host-local's on-disk store, byte for byte, so jcni and the Go
 * plugin can share one data directory:
 *
 * <pre>
 * &lt;dataDir&gt;/&lt;network&gt;/        0755
 *     lock                      flock(2) target, O_CREAT|O_RDONLY 0750; jcni writes the boot id into it
 *     10.22.0.2                 reservation: "&lt;containerID&gt;\r\n&lt;ifname&gt;", 0600
 *     last_reserved_ip.&lt;i&gt;      round-robin cursor of range set i, 0600
 * </pre>
 *
 * <p>Crash safety: a reservation is written to {@code .jcni-tmp-<random>} in the same directory,
 * fsync'ed and then {@code link(2)}ed to its address name, which either publishes the whole file
 * or fails with EEXIST (address taken) — a kill -9 can leave a temp file but never a torn
 * reservation. Temp names never parse as an address, so they are never counted; {@link
 * #cleanTemps} removes old leftovers. Only the reservation kept is written and fsync'ed: a probe
 * of an address that is already taken is one existence check (the lock excludes every other
 * writer, the Go plugin included, and {@code link(2)} still refuses a name that appeared anyway).
 * This is not {@code AtomicFiles}' replace-by-rename on purpose: a reservation must never replace
 * one that exists (rename would), the cursor needs no fsync (a lost cursor only restarts the
 * round-robin), and temp names must be the ones {@link #cleanTemps} recognises.
 *
 * <p>Reboots: the {@code lock} file holds the kernel's boot id of the boot that last used the
 * store (the Go plugin only flocks it, never reads or writes it; no extra file appears).
 * Reservations outlive a reboot (the store is under {@code /var/lib}) but their pods do not, so
 * the first operation that finds another boot's id frees every reservation
 * ({@link #forgetPreviousBoot}). All methods except {@link #lock} expect the caller to hold the
 * lock.
 */
final class Store {
    static final String LOCK = "lock";
    static final String LAST_RESERVED = "last_reserved_ip.";
    static final String TEMP_PREFIX = ".jcni-tmp-";
    /** The kernel's random id of the current boot, new at every boot. */
    static final String KERNEL_BOOT_ID = "/proc/sys/kernel/random/boot_id";
    /**
     * Temp files are only written while the store's flock is held, so one seen by a lock holder
     * belongs to a writer that died holding the lock (flock is released when a process dies):
     * it is a leftover whatever its age, and a DEL right after a kill -9 leaves nothing.
     */
    static final long TEMP_MAX_AGE_MS = 0;

    private final String dir;

    Store(String dir) {
        this.dir = dir;
    }

    String dir() {
        return dir;
    }

    boolean exists() {
        return new File(dir).isDirectory();
    }

    /** Creates the directory and its parents (0755), like MkdirAll. */
    void create() {
        if (exists()) {
            return;
        }
        int from = 1;
        while (true) {
            int slash = dir.indexOf('/', from);
            String prefix = slash < 0 ? dir : dir.substring(0, slash);
            if (!prefix.isEmpty()) {
                KernelFiles.mkdir(prefix, 0755);
            }
            if (slash < 0) {
                return;
            }
            from = slash + 1;
        }
    }

    /** Opens (creating) {@code lock} and takes flock(LOCK_EX); closing the Fd releases it. */
    Fd lock() {
        Fd fd = Fd.open(dir + "/" + LOCK, Fd.O_RDONLY | Fd.O_CREAT, 0750);
        try {
            fd.lockExclusive();
        } catch (RuntimeException e) {
            fd.close();
            throw e;
        }
        return fd;
    }

    static String content(String containerId, String ifname) {
        return containerId.trim() + "\r\n" + ifname;
    }

    /**
     * Publishes the reservation of {@code ip} for (id, ifname): false when the address is taken.
     * On success also moves the cursor {@code last_reserved_ip.<rangeIndex>}.
     */
    boolean reserve(IpAddress ip, String containerId, String ifname, int rangeIndex) {
        if (KernelFiles.exists(dir + "/" + ip)) {
            return false; // taken: nothing written, nothing synced
        }
        long before = OwnerIndex.mtimeNanos(dir);
        String content = content(containerId, ifname);
        String tmp = writeTemp(content, true);
        boolean linked;
        try {
            linked = KernelFiles.link(tmp, dir + "/" + ip);
        } finally {
            KernelFiles.unlink(tmp);
        }
        if (linked) {
            writeLastReserved(rangeIndex, ip);
        }
        OwnerIndex.changed(this, before, linked ? ip.toString() : null, linked ? content : null);
        return linked;
    }

    /** Rewrites {@code last_reserved_ip.<i>} atomically (temp + rename). */
    void writeLastReserved(int rangeIndex, IpAddress ip) {
        String tmp = writeTemp(ip.toString(), false);
        try {
            KernelFiles.rename(tmp, dir + "/" + LAST_RESERVED + rangeIndex);
        } catch (RuntimeException e) {
            KernelFiles.unlink(tmp);
            throw e;
        }
    }

    /** A new 0600 temp file in the directory holding {@code text}; its path. */
    private String writeTemp(String text, boolean sync) {
        byte[] data = text.getBytes(StandardCharsets.UTF_8);
        for (int attempt = 0; ; attempt++) {
            String path = dir + "/" + TEMP_PREFIX
                    + Long.toHexString(ThreadLocalRandom.current().nextLong());
            Fd fd;
            try {
                fd = Fd.open(path, Fd.O_WRONLY | Fd.O_CREAT | Fd.O_EXCL, 0600);
            } catch (ObjectExistsException e) {
                if (attempt > 10) {
                    throw e;
                }
                continue;
            }
            try (fd) {
                fd.write(data);
                if (sync) {
                    fd.sync();
                }
            } catch (RuntimeException e) {
                KernelFiles.unlink(path);
                throw e;
            }
            return path;
        }
    }

    /** The cursor of range set {@code i}, or null when absent or unreadable. */
    IpAddress lastReserved(int rangeIndex) {
        String s = read(LAST_RESERVED + rangeIndex);
        return s == null ? null : IpAddress.tryParse(s);
    }

    /** A file's trimmed content, or null when it does not exist. */
    String read(String name) {
        return readTrimmed(dir + "/" + name);
    }

    static String readTrimmed(String path) {
        byte[] data = readAll(path, 64 * 1024);
        return data == null ? null : new String(data, StandardCharsets.UTF_8).trim();
    }

    /** Reads a whole (small) file with read(2); null when it does not exist. */
    static byte[] readAll(String path, int limit) {
        Fd fd;
        try {
            fd = Fd.open(path, Fd.O_RDONLY);
        } catch (NoSuchObjectException e) {
            return null;
        }
        try (fd) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            while (out.size() < limit) {
                byte[] chunk = fd.read(8192);
                if (chunk.length == 0) {
                    break;
                }
                out.write(chunk, 0, chunk.length);
            }
            return out.toByteArray();
        }
    }

    /** The names in the directory (empty when it does not exist). */
    String[] names() {
        String[] n = new File(dir).list();
        return n == null ? new String[0] : n;
    }

    /** A reservation file's name → its address; null for lock, cursors, temp files and strangers. */
    static IpAddress addressOf(String name) {
        if (name.isEmpty() || name.charAt(0) == '.' || name.equals(LOCK) || name.startsWith(LAST_RESERVED)) {
            return null;
        }
        return IpAddress.tryParse(name);
    }

    /** Does a reservation's (trimmed) content belong to (id, ifname)? Legacy content is the id alone. */
    static boolean owns(String content, String containerId, String ifname) {
        return content != null && (content.equals(content(containerId, ifname)) || content.equals(containerId.trim()));
    }

    /** Addresses reserved by (id, ifname), new-format or legacy content; from the owner index, each hit read again. */
    List<IpAddress> findByOwner(String containerId, String ifname) {
        OwnerIndex index = OwnerIndex.of(this);
        List<IpAddress> candidates = new ArrayList<>(index.withContent(content(containerId, ifname)));
        candidates.addAll(index.withContent(containerId.trim()));
        List<IpAddress> out = new ArrayList<>();
        for (IpAddress a : candidates) {
            if (owns(read(a.toString()), containerId, ifname)) {
                out.add(a);
            }
        }
        return out;
    }

    /**
     * The reference's ReleaseByID: removes every reservation whose content is exactly
     * {@code <id>\r\n<ifname>}; only if there was none, those whose content is the legacy {@code <id>}.
     * The candidates come from the owner index, each read again before it is removed; when the
     * index knows none, every file is read (an idempotent DEL of a pod already gone pays that).
     * Returns the errors met (empty when all went well).
     */
    List<String> releaseByOwner(String containerId, String ifname) {
        String exact = content(containerId, ifname);
        String legacy = containerId.trim();
        OwnerIndex index = OwnerIndex.of(this);
        List<IpAddress> candidates = index.withContent(exact);
        if (candidates.isEmpty()) {
            candidates = index.withContent(legacy);
        }
        List<String> names = new ArrayList<>();
        if (candidates.isEmpty()) {
            for (String name : names()) {
                if (addressOf(name) != null) {
                    names.add(name);
                }
            }
        } else {
            for (IpAddress a : candidates) {
                names.add(a.toString());
            }
        }
        List<String> errors = new ArrayList<>();
        List<String> legacyNames = new ArrayList<>();
        boolean found = false;
        for (String name : names) {
            String c = read(name);
            if (exact.equals(c)) {
                found = true;
                unlinkCollecting(name, errors);
            } else if (legacy.equals(c)) {
                legacyNames.add(name);
            }
        }
        if (!found) {
            for (String name : legacyNames) {
                unlinkCollecting(name, errors);
            }
        }
        return errors;
    }

    /** Removes the reservation of {@code ip} if (and only if) it still belongs to (id, ifname). */
    boolean releaseIfOwned(IpAddress ip, String containerId, String ifname) {
        String name = ip.toString();
        if (owns(read(name), containerId, ifname)) {
            return unlinkReservation(name);
        }
        return false;
    }

    void unlinkCollecting(String name, List<String> errors) {
        try {
            unlinkReservation(name);
        } catch (RuntimeException e) {
            errors.add(e.getMessage());
        }
    }

    private boolean unlinkReservation(String name) {
        long before = OwnerIndex.mtimeNanos(dir);
        boolean removed = KernelFiles.unlink(dir + "/" + name);
        OwnerIndex.changed(this, before, name, null);
        return removed;
    }

    /**
     * Frees every reservation of an earlier boot: when {@code lock} holds another id
     * than {@code currentBootId}, all reservations are removed and the current id recorded. A
     * store without a recorded id (new, or written by an older jcni or the Go plugin) only gets the
     * current id: its reservations may be live. Returns how many reservations were freed.
     */
    int forgetPreviousBoot(String currentBootId) {
        String recorded = recordedBootId();
        if (currentBootId.equals(recorded)) {
            return 0;
        }
        int freed = 0;
        if (recorded != null) {
            OwnerIndex.invalidate(this);
            for (String name : names()) {
                if (addressOf(name) != null && KernelFiles.unlink(dir + "/" + name)) {
                    freed++;
                }
            }
        }
        // In place, never by rename: other processes wait in flock on this very inode. A boot id
        // is 36 bytes, so the write replaces the previous one whole; a crash can lose it only with
        // the boot itself, and the next boot frees the reservations anyway.
        byte[] line = (currentBootId + "\n").getBytes(StandardCharsets.UTF_8);
        try (Fd fd = Fd.open(dir + "/" + LOCK, Fd.O_WRONLY)) {
            fd.write(line);
            Syscall.call("ftruncate", fd.label(), SyscallNumbers.FTRUNCATE, fd.get(), line.length, 0);
            fd.sync();
        }
        return freed;
    }

    /** The boot id recorded in {@code lock} (its first line), or null when none is. */
    String recordedBootId() {
        byte[] data = readAll(dir + "/" + LOCK, 4096);
        if (data == null) {
            return null;
        }
        String text = new String(data, StandardCharsets.UTF_8);
        int nl = text.indexOf('\n');
        String first = (nl < 0 ? text : text.substring(0, nl)).trim();
        return first.isEmpty() ? null : first;
    }

    /** The current boot's id, or null when the kernel does not tell (then reboots go unnoticed). */
    static String currentBootId() {
        try {
            String id = KernelFiles.readSmall(KERNEL_BOOT_ID).trim();
            return id.isEmpty() ? null : id;
        } catch (RuntimeException e) {
            return null;
        }
    }

    /**
     * Milliseconds since the file was last written (its mtime: a reservation is written once,
     * just before it is linked into place); {@code Long.MAX_VALUE} when unknown.
     */
    long ageMs(String name, long now) {
        long m = new File(dir, name).lastModified();
        return m == 0 ? Long.MAX_VALUE : now - m;
    }

    /** Removes leftover temp files at least {@code maxAgeMs} old (the caller holds the lock); returns how many. */
    int cleanTemps(long maxAgeMs) {
        int removed = 0;
        long now = System.currentTimeMillis();
        for (String name : names()) {
            if (name.startsWith(TEMP_PREFIX)) {
                File f = new File(dir, name);
                long m = f.lastModified();
                if (m != 0 && now - m >= maxAgeMs) {
                    try {
                        if (KernelFiles.unlink(f.getPath())) {
                            removed++;
                        }
                    } catch (RuntimeException e) {
                        // best effort: the next operation tries again
                    }
                }
            }
        }
        return removed;
    }
}
