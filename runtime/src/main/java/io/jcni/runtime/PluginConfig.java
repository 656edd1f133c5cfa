package io.jcni.runtime;

import java.util.Map;

/**
 * One plugin object of a network configuration list: its {@code type} (the executable's name)
 * and the object as written, passed on verbatim except for the keys the runtime injects.
 *
 * @param type   the plugin binary name looked up in CNI_PATH
 * @param config the plugin object (insertion-ordered JSON values, see {@link io.jcni.cni.json.Json})
 * @param source where it came from: the list file, or the sibling-directory file it was read from
 */
public record PluginConfig(String type, Map<String, Object> config, String source) {
    public PluginConfig {
        config = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(config));
    }

    /** The capabilities this plugin opted into ({@code "capabilities": {"portMappings": true}}). */
    public java.util.Set<String> capabilities() {
        java.util.Set<String> out = new java.util.LinkedHashSet<>();
        if (config.get("capabilities") instanceof Map<?, ?> m) {
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (Boolean.TRUE.equals(e.getValue())) {
                    out.add(String.valueOf(e.getKey()));
                }
            }
        }
        return out;
    }
}
