package io.jcni.plugins.hostlocal;

import io.jcni.cni.PluginMain;

/** Entry point of the {@code jcni-host-local} executable. */
public final class HostLocalMain {
    private HostLocalMain() {}

    public static void main(String[] args) {
        PluginMain.run(new HostLocal());
    }
}
