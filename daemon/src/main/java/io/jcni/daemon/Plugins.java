package io.jcni.daemon;

import io.jcni.cni.Plugin;
import io.jcni.plugins.PluginRegistry;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The plugins the daemon serves, by name (the executable's name without "jcni-"): every plugin
 * of {@link PluginRegistry}. Each request gets a fresh instance, as each exec'd plugin gets a
 * fresh process.
 */
public final class Plugins {
    private Plugins() {}

    public static Map<String, Supplier<Plugin>> all() {
        Map<String, Supplier<Plugin>> m = new LinkedHashMap<>();
        for (PluginRegistry.Entry e : PluginRegistry.ALL) {
            m.put(e.name(), e.factory());
        }
        return m;
    }
}
