package io.jcni.cni;

import java.util.Map;

/** One plugin execution's input: its environment and the bytes on stdin. The same from exec or the daemon. */
public record PluginRequest(Map<String, String> env, byte[] stdin) {
    public String env(String key) {
        String v = env.get(key);
        return v == null ? "" : v;
    }
}
