package io.jcni.daemon;

import io.jcni.cni.Plugin;
import io.jcni.plugins.bridge.Bridge;
import io.jcni.plugins.hostlocal.HostLocal;
import io.jcni.plugins.loopback.Loopback;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The plugins the daemon serves, by name (the executable's name without "jcni-"). Each request
 * gets a fresh instance, as each exec'd plugin gets a fresh process.
 */
public final class Plugins {
    private Plugins() {}

    /** Optional plugins, served when their class is on the class path. */
    static final Map<String, String> OPTIONAL = Map.of("portmap", "io.jcni.plugins.portmap.Portmap");

    public static Map<String, Supplier<Plugin>> all() {
        Map<String, Supplier<Plugin>> m = new LinkedHashMap<>();
        m.put("bridge", Bridge::new);
        m.put("host-local", HostLocal::new);
        m.put("loopback", Loopback::new);
        OPTIONAL.forEach((name, className) -> {
            try {
                var ctor = Class.forName(className).asSubclass(Plugin.class).getConstructor();
                ctor.newInstance(); // fails now rather than per request
                m.put(name, () -> {
                    try {
                        return ctor.newInstance();
                    } catch (ReflectiveOperationException e) {
                        throw new IllegalStateException(e);
                    }
                });
            } catch (ReflectiveOperationException | ClassCastException | LinkageError e) {
                // not built into this jcni: the client runs that plugin's standalone path
            }
        });
        return m;
    }
}
