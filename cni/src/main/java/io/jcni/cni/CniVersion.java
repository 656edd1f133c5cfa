package io.jcni.cni;

import java.util.List;

/** Spec versions: which jcni speaks, and comparing them. */
public final class CniVersion {
    private CniVersion() {}

    public static final String V030 = "0.3.0", V031 = "0.3.1", V040 = "0.4.0", V100 = "1.0.0", V110 = "1.1.0";
    /** Every version jcni's plugins accept and answer in. */
    public static final List<String> SUPPORTED = List.of(V030, V031, V040, V100, V110);

    public static final String LATEST = V110;

    /** Parses {@code major.minor.patch}; throws {@link CniError} code 6 otherwise. */
    public static int[] parse(String v) throws CniError {
        String[] parts = v.split("\\.", -1);
        if (parts.length < 1 || parts.length > 3) {
            throw new CniError(CniError.DECODING_FAILURE, "invalid version \"" + v + "\": too many parts");
        }
        int[] out = new int[3];
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i];
            if (p.isEmpty() || p.length() > 6) {
                throw new CniError(CniError.DECODING_FAILURE, "invalid version \"" + v + "\"");
            }
            for (int k = 0; k < p.length(); k++) {
                if (p.charAt(k) < '0' || p.charAt(k) > '9') {
                    throw new CniError(
                            CniError.DECODING_FAILURE, "invalid version \"" + v + "\": non-numeric part \"" + p + "\"");
                }
            }
            out[i] = Integer.parseInt(p);
        }
        return out;
    }

    public static int compare(String a, String b) throws CniError {
        int[] x = parse(a), y = parse(b);
        for (int i = 0; i < 3; i++) {
            if (x[i] != y[i]) {
                return Integer.compare(x[i], y[i]);
            }
        }
        return 0;
    }

    public static boolean atLeast(String v, String min) throws CniError {
        return compare(v, min) >= 0;
    }

    public static boolean isSupported(String v) {
        return SUPPORTED.contains(v);
    }

    /** 0.3.0–0.4.0 results carry {@code ips[].version}; 1.x do not. */
    public static boolean hasIpVersionField(String v) {
        return v.startsWith("0.");
    }
}
