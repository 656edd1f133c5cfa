package io.jcni.plugins.loopback;

import io.jcni.cni.PluginMain;

/** Entry point of the {@code jcni-loopback} executable. */
public final class LoopbackMain {
    private LoopbackMain() {}

    public static void main(String[] args) {
        PluginMain.run(new Loopback());
    }
}
