package io.jcni.cni;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code CNI_ARGS}: {@code K=V;K=V}, parsed as the reference's {@code types.LoadArgs} does (so a
 * runtime sees the same acceptance): every pair has exactly one '=', keys are case-sensitive,
 * and a key the plugin does not know is an error unless {@code IgnoreUnknown} is true.
 */
public final class CniArgs {
    private CniArgs() {}

    /** Keys every plugin accepts and ignores (sent by Kubernetes runtimes). */
    private static final Set<String> ALWAYS_KNOWN =
            Set.of("IgnoreUnknown", "K8S_POD_NAMESPACE", "K8S_POD_NAME", "K8S_POD_INFRA_CONTAINER_ID", "K8S_POD_UID");

    public static Map<String, String> parse(String raw, Set<String> known) throws CniError {
        Map<String, String> out = new LinkedHashMap<>();
        if (raw == null || raw.isEmpty()) {
            return out;
        }
        List<String> unknown = new ArrayList<>();
        for (String pair : raw.split(";", -1)) {
            String[] kv = pair.split("=", -1);
            if (kv.length != 2) {
                throw CniError.invalidEnv("ARGS: invalid pair \"" + pair + "\"", "CNI_ARGS=" + raw);
            }
            if (!known.contains(kv[0]) && !ALWAYS_KNOWN.contains(kv[0])) {
                unknown.add(kv[0]);
            }
            out.put(kv[0], kv[1]);
        }
        String ignore = out.get("IgnoreUnknown");
        boolean ignoreUnknown = false;
        if (ignore != null) {
            switch (ignore.toLowerCase(java.util.Locale.ROOT)) {
                case "1", "true" -> ignoreUnknown = true;
                case "0", "false" -> ignoreUnknown = false;
                default ->
                    throw CniError.invalidEnv(
                            "ARGS: error parsing value of pair \"IgnoreUnknown=" + ignore + "\"",
                            "IgnoreUnknown must be 1, 0, true or false");
            }
        }
        if (!unknown.isEmpty() && !ignoreUnknown) {
            throw CniError.invalidEnv(
                    "ARGS: unknown args " + unknown, "CNI_ARGS=" + raw + " (add IgnoreUnknown=1 to allow)");
        }
        return out;
    }
}
