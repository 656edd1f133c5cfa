package io.jcni.plugins.hostlocal;

import io.jcni.cni.PluginRequest;
import io.jcni.cni.Skeleton;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * Not a test: the process {@link HostLocalCrashSafetyTest} kills with SIGKILL while it ADDs and
 * DELs as fast as it can. Arguments: netns path, configuration JSON.
 */
public final class HostLocalCrashChild {
    private HostLocalCrashChild() {}

    public static void main(String[] args) {
        byte[] conf = args[1].getBytes(StandardCharsets.UTF_8);
        for (int i = 0; ; i++) {
            Map<String, String> env = new HashMap<>();
            env.put("CNI_COMMAND", i % 3 == 2 ? "DEL" : "ADD");
            env.put("CNI_CONTAINERID", "k" + (i % 3 == 2 ? i - 1 : i));
            env.put("CNI_NETNS", args[0]);
            env.put("CNI_IFNAME", "eth0");
            env.put("CNI_PATH", "/usr/lib/cni");
            Skeleton.handle(new HostLocal(), new PluginRequest(env, conf));
            if (i == 3) {
                System.out.println("running");
                System.out.flush();
            }
        }
    }
}
