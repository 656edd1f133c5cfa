package io.jcni.runtime;

import java.util.List;

/**
 * A loaded network configuration ("conflist"), as libcni's {@code NetworkConfigList}.
 *
 * @param name                   the network name
 * @param cniVersion             the selected protocol version (the highest of
 *                               {@code cniVersion} ∪ {@code cniVersions} not newer than 1.1.0;
 *                               {@code cniVersion} as written when there is no {@code cniVersions})
 * @param disableCheck           CHECK must not be sent
 * @param disableGC              GC must not be sent
 * @param loadOnlyInlinedPlugins the sibling directory {@code <dir>/<name>/*.conf} was not read
 * @param plugins                inline plugins, then those of the sibling directory
 * @param bytes                  the file's original bytes (for a lifted .conf: the synthesised list),
 *                               cached base64-encoded as libcni's {@code config}
 * @param file                   the file it was loaded from ("" when parsed from bytes)
 */
public record NetworkConfigList(
        String name,
        String cniVersion,
        boolean disableCheck,
        boolean disableGC,
        boolean loadOnlyInlinedPlugins,
        List<PluginConfig> plugins,
        byte[] bytes,
        String file) {
    public NetworkConfigList {
        plugins = List.copyOf(plugins);
        bytes = bytes.clone();
    }

    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    /** The version libcni uses where the configuration names none: "0.1.0". */
    public String effectiveVersion() {
        return cniVersion == null || cniVersion.isEmpty() ? "0.1.0" : cniVersion;
    }

    @Override
    public String toString() {
        return "NetworkConfigList[" + name + " " + cniVersion + " "
                + plugins.stream().map(PluginConfig::type).toList() + "]";
    }
}
