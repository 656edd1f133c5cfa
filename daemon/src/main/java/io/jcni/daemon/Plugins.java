package io.jcni.daemon;

import io.jcni.cni.Plugin;
import io.jcni.plugins.bridge.Bridge;
import io.jcni.plugins.hostlocal.HostLocal;
import io.jcni.plugins.loopback.Loopback;
import io.jcni.plugins.portmap.Portmap;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The plugins the daemon serves, by name (the executable's name without "jcni-"). Each request
 * gets a fresh instance, as each exec'd plugin gets a fresh process.
 */
public final class Plugins {
    private Plugins() {}

    public static Map<String, Supplier<Plugin>> all() {
        Map<String, Supplier<Plugin>> m = new LinkedHashMap<>();
        m.put("bridge", Bridge::new);
        m.put("host-local", HostLocal::new);
        m.put("loopback", Loopback::new);
        m.put("portmap", Portmap::new);
        return m;
    }
}
