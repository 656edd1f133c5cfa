package io.jcni.plugins.bridge;

import io.jcni.cni.PluginMain;

/** Entry point of the {@code jcni-bridge} executable. */
public final class BridgeMain {
    private BridgeMain() {}

    public static void main(String[] args) {
        PluginMain.run(new Bridge());
    }
}
