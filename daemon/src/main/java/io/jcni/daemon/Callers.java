package io.jcni.daemon;

import io.jcni.cni.json.Json;
import io.jcni.cni.json.JsonException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Who may call the daemon, and which requests mean the same in the daemon as in the caller.
 *
 * <p>A caller is served when it is uid 0 <em>and</em> holds CAP_NET_ADMIN and CAP_SYS_ADMIN in
 * the daemon's user namespace: the daemon does on its behalf what only such a process could do
 * itself. A request whose paths would resolve differently in the daemon is left to the
 * standalone path, which runs where the caller is (a caller in another mount or PID namespace,
 * a relative path, {@code /proc/self/...}); a relative IPAM {@code dataDir} is refused.
 */
final class Callers {
    private Callers() {}

    static final int CAP_NET_ADMIN = 12, CAP_SYS_ADMIN = 21;

    /** Why {@code peer} may not be served, or null when it may. Reads its /proc entries. */
    static String refusal(UnixSocket.Peer peer) {
        if (peer.uid() != 0) {
            return "the request came from user " + userName(peer.uid());
        }
        if (peer.pid() <= 0) {
            return "the calling process is not visible from the daemon (another PID namespace)";
        }
        Path proc = Path.of("/proc", Integer.toString(peer.pid()));
        try {
            if (!Files.readSymbolicLink(proc.resolve("ns/user"))
                    .equals(Files.readSymbolicLink(Path.of("/proc/self/ns/user")))) {
                return "the calling process (pid " + peer.pid() + ") runs in another user namespace";
            }
            long caps = effectiveCapabilities(Files.readString(proc.resolve("status")));
            for (int cap : new int[] {CAP_NET_ADMIN, CAP_SYS_ADMIN}) {
                if ((caps & (1L << cap)) == 0) {
                    return "the calling process (pid " + peer.pid() + ") lacks "
                            + (cap == CAP_NET_ADMIN ? "CAP_NET_ADMIN" : "CAP_SYS_ADMIN");
                }
            }
            return null;
        } catch (IOException | RuntimeException e) {
            return "the calling process (pid " + peer.pid() + ") cannot be inspected: " + e.getMessage();
        }
    }

    /** CapEff from a /proc/PID/status text; 0 when absent. */
    static long effectiveCapabilities(String status) {
        for (String line : status.split("\n")) {
            if (line.startsWith("CapEff:")) {
                return Long.parseUnsignedLong(line.substring(7).strip(), 16);
            }
        }
        return 0;
    }

    /**
     * Whether paths mean the same to the caller and the daemon: same mount namespace (files,
     * /run/netns) and same PID namespace (/proc/PID). Otherwise the caller is sent to its
     * standalone path, which resolves them where the caller is.
     */
    static boolean sameView(int pid) {
        Path proc = Path.of("/proc", Integer.toString(pid));
        try {
            for (String ns : new String[] {"ns/mnt", "ns/pid"}) {
                if (!Files.readSymbolicLink(proc.resolve(ns))
                        .equals(Files.readSymbolicLink(Path.of("/proc/self").resolve(ns)))) {
                    return false;
                }
            }
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * A relative CNI_NETNS or CNI_PATH entry means "relative to the runtime's working directory",
     * which only a process started there has: such requests are left to the standalone path.
     */
    static boolean relativePaths(Map<String, String> env) {
        String netns = env.getOrDefault("CNI_NETNS", "");
        if (!netns.isEmpty() && !netns.startsWith("/")) {
            return true;
        }
        for (String dir : env.getOrDefault("CNI_PATH", "").split(":")) {
            if (!dir.isEmpty() && !dir.startsWith("/")) {
                return true;
            }
        }
        return false;
    }

    /** Path prefixes that name the process that opens them: in the daemon, the daemon itself. */
    private static final String[] SELF_PATHS = {
        "/proc/self", "/proc/thread-self", "/dev/fd", "/dev/stdin", "/dev/stdout", "/dev/stderr"
    };

    /**
     * Whether CNI_NETNS names the opening process's own files ({@code /proc/self/...}): in the
     * daemon those are the daemon's. Left to the standalone path, which gives the plugin's own
     * answer for them.
     */
    static boolean selfPath(Map<String, String> env) {
        String netns = env.getOrDefault("CNI_NETNS", "");
        if (netns.isEmpty()) {
            return false;
        }
        String n = Path.of(netns).normalize().toString();
        for (String self : SELF_PATHS) {
            if (n.equals(self) || n.startsWith(self + "/")) {
                return true;
            }
        }
        return false;
    }

    /** The configuration's ipam.dataDir when it is a string; null otherwise (bad JSON is the plugin's to report). */
    static String ipamDataDir(byte[] stdin) {
        try {
            if (Json.parse(stdin) instanceof Map<?, ?> conf
                    && conf.get("ipam") instanceof Map<?, ?> ipam
                    && ipam.get("dataDir") instanceof String s) {
                return s;
            }
        } catch (JsonException | RuntimeException e) {
            // the plugin reports it
        }
        return null;
    }

    /** The name of {@code uid} from /etc/passwd, else the number. */
    static String userName(int uid) {
        try {
            for (String line : Files.readAllLines(Path.of("/etc/passwd"))) {
                String[] f = line.split(":", -1);
                if (f.length > 2 && f[2].equals(Integer.toUnsignedString(uid))) {
                    return f[0];
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // the number will do
        }
        return "uid " + Integer.toUnsignedString(uid);
    }
}
