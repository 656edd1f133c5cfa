package io.jcni.netlink;

/**
 * Receives, for every change jcni makes to the kernel, the iproute2/nft/sysctl command line that
 * would make the same change (e.g. {@code ip -n pod1 addr add 10.1.0.2/24 dev eth0}), so a person
 * can read, and replay, what jcni did.
 */
@FunctionalInterface
public interface Trace {
    void command(String commandLine);

    /** Discards everything (the default: building the text is skipped too, see {@link #enabled}). */
    Trace OFF = new Trace() {
        @Override
        public void command(String commandLine) {}
    };

    /** False for {@link #OFF}, so callers can skip formatting commands nobody reads. */
    default boolean enabled() {
        return this != OFF;
    }
}
