package io.jcni.plugins;

import io.jcni.cni.Plugin;
import io.jcni.plugins.bridge.Bridge;
import io.jcni.plugins.hostlocal.HostLocal;
import io.jcni.plugins.loopback.Loopback;
import io.jcni.plugins.portmap.Portmap;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Every plugin jcni ships, in one place: {@code jcni install} writes an executable for each, the
 * daemon serves each, the AOT training loads each one's exec'd path, and the tests and docs are
 * checked against this list. Adding a plugin is one line here plus its package (a {@link Plugin}
 * and a {@code main} that calls {@code PluginMain.run}).
 *
 * <p>The exec'd plugins never read this class: each {@code main} names its own plugin, so a
 * plugin's start-up does not load the others.
 */
public final class PluginRegistry {
    /**
     * One plugin.
     *
     * @param name         the reference plugin it replaces, and the daemon's name for it
     * @param mainClass    the class the executable runs
     * @param factory      a fresh instance per request (as a fresh process per exec)
     * @param capabilities the {@code runtimeConfig} keys it reads, as a conflist's {@code capabilities} names them
     */
    public record Entry(String name, String mainClass, Supplier<Plugin> factory, Set<String> capabilities) {
        /** The executable's file name: {@code jcni-<name>}. */
        public String executable() {
            return "jcni-" + name;
        }
    }

    /** In the order install lists them. */
    public static final List<Entry> ALL = List.of(
            new Entry("bridge", "io.jcni.plugins.bridge.BridgeMain", Bridge::new, Set.of("mac", "ips", "ipRanges")),
            new Entry(
                    "host-local", "io.jcni.plugins.hostlocal.HostLocalMain", HostLocal::new, Set.of("ips", "ipRanges")),
            new Entry("loopback", "io.jcni.plugins.loopback.LoopbackMain", Loopback::new, Set.of()),
            new Entry("portmap", "io.jcni.plugins.portmap.PortmapMain", Portmap::new, Set.of("portMappings")));

    private PluginRegistry() {}

    /** The plugin called {@code name} (the executable's name without {@code jcni-}). */
    public static Optional<Entry> byName(String name) {
        return ALL.stream().filter(e -> e.name().equals(name)).findFirst();
    }
}
