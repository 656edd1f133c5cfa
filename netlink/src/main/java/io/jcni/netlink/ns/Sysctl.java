package io.jcni.netlink.ns;

import io.jcni.netlink.Trace;
import io.jcni.netlink.sys.KernelFiles;

/**
 * {@code /proc/sys} values of a given namespace. Files under {@code /proc/sys/net} belong to the
 * namespace of the thread that opens them, so a namespace's values are read and written from a
 * thread inside it ({@link NetNs#run}).
 */
public final class Sysctl {
    private Sysctl() {}

    /**
     * {@code net.ipv4.ip_forward} → {@code /proc/sys/net/ipv4/ip_forward}. A key that contains
     * '/' is taken as a path below /proc/sys (for interface names with dots, e.g.
     * {@code net/ipv4/conf/eth0.100/forwarding}).
     */
    public static String pathOf(String key) {
        return "/proc/sys/" + (key.indexOf('/') >= 0 ? key : key.replace('.', '/'));
    }

    /** Reads {@code key} in {@code ns} (null: the calling thread's namespace). */
    public static String read(NetNs ns, String key) {
        String path = pathOf(key);
        if (ns == null) {
            return KernelFiles.readSmall(path);
        }
        return ns.run(new NetNs.Work<String>() {
            @Override
            public String run() {
                return KernelFiles.readSmall(path);
            }
        });
    }

    /** Writes {@code key} in {@code ns} (null: the calling thread's namespace). */
    public static void write(NetNs ns, String key, String value, Trace trace) {
        String path = pathOf(key);
        if (ns == null) {
            KernelFiles.writeSmall(path, value);
        } else {
            ns.run(new NetNs.Work<Void>() {
                @Override
                public Void run() {
                    KernelFiles.writeSmall(path, value);
                    return null;
                }
            });
        }
        if (trace.enabled()) {
            trace.command((ns == null ? "" : ns.execPrefix()) + "sysctl -w " + key + "=" + value);
        }
    }

    /** Writes only when the value differs; returns the previous value (so callers can restore it). */
    public static String ensure(NetNs ns, String key, String value, Trace trace) {
        String old = read(ns, key);
        if (!old.equals(value)) {
            write(ns, key, value, trace);
        }
        return old;
    }
}
