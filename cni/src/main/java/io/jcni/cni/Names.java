package io.jcni.cni;

import java.nio.charset.StandardCharsets;

/**
 * The names a runtime hands a plugin, checked as the reference's skel and libcni check them, with
 * their error codes and messages: one copy for the plugins' skeleton and the runtime side alike.
 * A container ID or network name (the spec: alphanumerics, {@code _}, {@code .} and {@code -},
 * first an alphanumeric) names files (the result cache, host-local's store), so it can never be
 * {@code ..} or hold a {@code /}. An interface name is what the kernel takes.
 *
 * <p>The kernel layer checks interface names too ({@code Links.validateName}), byte by byte as
 * the kernel's {@code dev_valid_name} does, and the netlink module cannot depend on this one: this
 * class checks what the CNI contract refuses before anything changes, that one what the kernel
 * would refuse.
 */
public final class Names {
    private Names() {}

    /** The longest interface name in bytes (the kernel's IFNAMSIZ less its NUL). */
    public static final int MAX_IFNAME_BYTES = 15;

    /** True when {@code s} is a container ID or network name as the spec allows them. */
    public static boolean isValidId(String s) {
        if (s.isEmpty() || !isAsciiAlphanumeric(s.charAt(0))) {
            return false;
        }
        for (int i = 1; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!isAsciiAlphanumeric(c) && c != '_' && c != '.' && c != '-') {
                return false;
            }
        }
        return true;
    }

    private static boolean isAsciiAlphanumeric(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    }

    /** CNI_CONTAINERID: missing is code 3, invalid characters code 4. */
    public static void checkContainerId(String containerId) throws CniError {
        if (containerId.isEmpty()) {
            throw new CniError(CniError.UNKNOWN_CONTAINER, "missing containerID");
        }
        if (!isValidId(containerId)) {
            throw CniError.invalidEnv("invalid characters in containerID", containerId);
        }
    }

    /** The configuration's name: missing or invalid is code 7. */
    public static void checkNetworkName(String name) throws CniError {
        if (name.isEmpty()) {
            throw new CniError(CniError.INVALID_NETWORK_CONFIG, "missing network name");
        }
        if (!isValidId(name)) {
            throw new CniError(CniError.INVALID_NETWORK_CONFIG, "invalid characters found in network name", name);
        }
    }

    /** CNI_IFNAME, every rule, in the reference's order: code 4 on failure. */
    public static void checkIfname(String ifname) throws CniError {
        if (ifname.isEmpty()) {
            throw CniError.invalidEnv("interface name is empty", "");
        }
        if (ifname.getBytes(StandardCharsets.UTF_8).length > MAX_IFNAME_BYTES) {
            throw CniError.invalidEnv(
                    "interface name is too long",
                    "interface name should be less than " + (MAX_IFNAME_BYTES + 1) + " characters: " + ifname);
        }
        if (ifname.equals(".") || ifname.equals("..")) {
            throw CniError.invalidEnv("interface name is . or ..", ifname);
        }
        checkCharacters(ifname);
    }

    /**
     * CNI_IFNAME of an attachment that may exist already (DEL, CHECK, GC): only empty and the
     * characters that could reach outside a file name are refused, so that an attachment another
     * runtime made with a name longer than ours allow can still be deleted.
     */
    public static void checkExistingIfname(String ifname) throws CniError {
        if (ifname.isEmpty()) {
            throw CniError.invalidEnv("interface name is empty", "");
        }
        checkCharacters(ifname);
    }

    private static void checkCharacters(String ifname) throws CniError {
        for (int i = 0; i < ifname.length(); i++) {
            char c = ifname.charAt(i);
            if (c == '/' || c == ':' || Character.isWhitespace(c) || c == 0) {
                throw CniError.invalidEnv("interface name contains / or : or whitespace characters", ifname);
            }
        }
    }
}
