package io.jcni.cni;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A CNI error: the well-known code, a short message and optional details, printed as the spec's
 * error object. Thrown anywhere in plugin code; the skeleton turns it into stdout + exit 1.
 */
public final class CniError extends Exception {
    private static final long serialVersionUID = 1L;

    public static final int INCOMPATIBLE_VERSION = 1,
            UNSUPPORTED_FIELD = 2,
            UNKNOWN_CONTAINER = 3,
            INVALID_ENVIRONMENT = 4,
            IO_FAILURE = 5,
            DECODING_FAILURE = 6,
            INVALID_NETWORK_CONFIG = 7,
            INVALID_NETNS = 8,
            TRY_AGAIN_LATER = 11,
            PLUGIN_NOT_AVAILABLE = 50,
            LIMITED_CONNECTIVITY = 51;
    /** jcni's plugin-specific codes (100+). */
    public static final int KERNEL_REFUSED = 100,
            NO_ADDRESSES = 101,
            DELEGATE_FAILED = 102,
            INTERFACE_EXISTS = 103,
            CHECK_FAILED = 104,
            INTERNAL = 999;

    private final int code;
    private final String msg;
    private final String details;

    public CniError(int code, String msg, String details) {
        super(details == null || details.isEmpty() ? msg : msg + "; " + details);
        this.code = code;
        this.msg = msg;
        this.details = details == null ? "" : details;
    }

    /** With the failure that caused it: kept for the stack trace an INTERNAL error logs. */
    public CniError(int code, String msg, String details, Throwable cause) {
        this(code, msg, details);
        initCause(cause);
    }

    public CniError(int code, String msg) {
        this(code, msg, "");
    }

    public int code() {
        return code;
    }

    public String msg() {
        return msg;
    }

    public String details() {
        return details;
    }

    /** The error object: cniVersion (when known), code, msg, details (when non-empty). */
    public Map<String, Object> toJson(String cniVersion) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (cniVersion != null && !cniVersion.isEmpty()) {
            m.put("cniVersion", cniVersion);
        }
        m.put("code", (long) code);
        m.put("msg", msg);
        if (!details.isEmpty()) {
            m.put("details", details);
        }
        return m;
    }

    public static CniError invalidConfig(String details) {
        return new CniError(INVALID_NETWORK_CONFIG, "invalid network configuration", details);
    }

    public static CniError invalidEnv(String msg, String details) {
        return new CniError(INVALID_ENVIRONMENT, msg, details);
    }

    /**
     * The error object a plugin printed ({@code code}, {@code msg}, {@code details}), as it is.
     *
     * @throws io.jcni.cni.json.JsonException when the output is not JSON
     * @throws CniError when it is JSON but not an error object (a code that is not a number, …)
     */
    public static CniError parse(byte[] pluginOutput) throws io.jcni.cni.json.JsonException, CniError {
        ConfigObject o = new ConfigObject(io.jcni.cni.json.Json.parseObject(pluginOutput), "");
        long code = o.integer("code", 0, 0, Integer.MAX_VALUE);
        return new CniError((int) code, o.string("msg", ""), o.string("details", ""));
    }
}
