package io.jcni.plugins.portmap;

import io.jcni.cni.PluginMain;

/** Entry point of the {@code jcni-portmap} executable. */
public final class PortmapMain {
    private PortmapMain() {}

    public static void main(String[] args) {
        PluginMain.run(new Portmap());
    }
}
