package io.jcni.plugins.hostlocal;

import io.jcni.netlink.ip.IpAddress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Who holds which reservation, kept between operations by a long-lived process (the daemon, the
 * cluster agent), so that ADD's duplicate check and DEL's release read one or two files instead
 * of every reservation of the network: without it both grow with the number of pods.
 *
 * <p>The files stay the source of truth, and the Go host-local and standalone jcni processes may
 * change them between two operations of this process. So under the store's lock, before each
 * use, the index is checked against the directory: its modification time (which every link and
 * unlink of a name changes) and its list of reservation names (one getdents, no file read). When
 * either differs from what this process last saw or left, the index is rebuilt from the files.
 * This process's own changes update it in place. A lookup's hits are read again before they are
 * trusted, and DEL falls back to reading every file when the index finds nothing.
 *
 * <p>What it cannot see: a file's content rewritten in place, with no name added or removed.
 * Neither host-local writes a reservation that way (both create a new name), and the re-read of
 * every hit keeps a stale entry from being acted on.
 */
final class OwnerIndex {
    private static final Map<String, OwnerIndex> BY_DIRECTORY = new ConcurrentHashMap<>();

    private final Map<String, String> contentByName = new HashMap<>();
    /** The directory's mtime (ns) when the index last matched it; MIN_VALUE: never, or lost track. */
    private long matchedMtime = Long.MIN_VALUE;

    private OwnerIndex() {}

    /** The index of the store's directory, brought up to date with the files. The caller holds the store's lock. */
    static OwnerIndex of(Store store) {
        OwnerIndex index = BY_DIRECTORY.computeIfAbsent(store.dir(), d -> new OwnerIndex());
        synchronized (index) {
            index.refresh(store);
        }
        return index;
    }

    private void refresh(Store store) {
        long mtime = mtimeNanos(store.dir());
        Set<String> names = new HashSet<>();
        for (String name : store.names()) {
            if (Store.addressOf(name) != null) {
                names.add(name);
            }
        }
        if (mtime == matchedMtime && mtime != Long.MIN_VALUE && names.equals(contentByName.keySet())) {
            return;
        }
        contentByName.clear();
        for (String name : names) {
            String content = store.read(name);
            if (content != null) {
                contentByName.put(name, content);
            }
        }
        matchedMtime = mtime;
    }

    /** What the index holds now: reservation name → content (for tests to compare with the files). */
    synchronized Map<String, String> entries() {
        return Map.copyOf(contentByName);
    }

    /** The reservations whose content is exactly {@code content} (as the index last saw them). */
    synchronized List<IpAddress> withContent(String content) {
        List<IpAddress> out = new ArrayList<>();
        for (Map.Entry<String, String> e : contentByName.entrySet()) {
            if (e.getValue().equals(content)) {
                out.add(Store.addressOf(e.getKey()));
            }
        }
        return out;
    }

    /**
     * Records a change this process made under the lock: {@code name} now holds {@code content}
     * (content null: removed; name null: only temp files or cursors changed). {@code mtimeBefore} is the directory's mtime taken just before the change:
     * when the index did not match the directory then, it stays out of date (and is rebuilt at
     * its next use) instead of adopting a state it never checked.
     */
    static void changed(Store store, long mtimeBefore, String name, String content) {
        OwnerIndex index = BY_DIRECTORY.get(store.dir());
        if (index == null) {
            return;
        }
        synchronized (index) {
            if (index.matchedMtime != mtimeBefore || mtimeBefore == Long.MIN_VALUE) {
                index.matchedMtime = Long.MIN_VALUE;
                return;
            }
            if (name == null) {
                // only temp files or cursors changed
            } else if (content == null) {
                index.contentByName.remove(name);
            } else {
                index.contentByName.put(name, content);
            }
            index.matchedMtime = mtimeNanos(store.dir());
        }
    }

    /** Forgets what the index knew of the store: it is rebuilt at its next use. */
    static void invalidate(Store store) {
        OwnerIndex index = BY_DIRECTORY.get(store.dir());
        if (index != null) {
            synchronized (index) {
                index.matchedMtime = Long.MIN_VALUE;
            }
        }
    }

    /** The directory's mtime in nanoseconds; MIN_VALUE when it cannot be read. */
    static long mtimeNanos(String dir) {
        try {
            return Files.getLastModifiedTime(Path.of(dir)).to(TimeUnit.NANOSECONDS);
        } catch (IOException | RuntimeException e) {
            return Long.MIN_VALUE;
        }
    }
}
