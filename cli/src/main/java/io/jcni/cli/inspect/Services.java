package io.jcni.cli.inspect;

import io.jcni.cni.PluginResponse;
import io.jcni.daemon.Protocol;
import io.jcni.netlink.diag.SocketOwners;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * jcni's resident processes on the node: the plugin socket (served by {@code jcni daemon} or by
 * the cluster agent) — present, answering a VERSION request, and which process holds it — and the
 * cluster agent, found by its command line among the processes of the node's namespace, with the
 * flags it was started with ({@code --iface}, {@code --public-ip}, {@code --subnet-file}, …).
 */
public final class Services {
    private Services() {}

    /** The plugin socket the installed clients use when {@code $JCNI_SOCKET} does not name another. */
    public static final Path DEFAULT_SOCKET = Path.of("/run/jcni/jcni.sock");
    /** The agent's hand-off for scripts unless its {@code --subnet-file} says otherwise. */
    public static final Path DEFAULT_SUBNET_FILE = Path.of("/run/jcni/subnet.env");

    private static final long ANSWER_TIMEOUT_MS = 3000;

    /**
     * The plugin socket's state.
     *
     * @param present   a socket file exists at {@code path}
     * @param answering it answered a VERSION request
     * @param detail    what it answered, or why it did not
     * @param holders   the processes holding the listening socket (found in the node namespace's /proc/net/unix)
     */
    public record SocketStatus(
            Path path, boolean present, boolean answering, String detail, List<SocketOwners.Owner> holders) {
        /** "agent" when the cluster agent serves it, "daemon" for jcni daemon, null when unknown. */
        public String servedBy() {
            for (SocketOwners.Owner o : holders) {
                if (o.cmdline().contains("io.jcni.agent.AgentMain")) {
                    return "agent";
                }
                if (o.cmdline().contains("io.jcni.daemon.DaemonMain")
                        || o.cmdline().contains("io.jcni.cli.Main daemon")) {
                    return "daemon";
                }
            }
            return holders.isEmpty() ? null : "process";
        }
    }

    /** A running {@code jcni agent}: its pid, command line and flags. */
    public record Agent(int pid, String cmdline, Map<String, String> flags) {
        public String flag(String name) {
            return flags.get(name);
        }
    }

    /** Probes the plugin socket at {@code path} from the node's namespace {@code node}. */
    public static SocketStatus socket(Path path, NodeHandle node) {
        boolean present = isSocket(path);
        if (!present) {
            return new SocketStatus(path, false, false, Files.exists(path) ? "not a socket" : "no socket", List.of());
        }
        String detail;
        boolean answering = false;
        try {
            PluginResponse r = version(path);
            answering = r.exitCode() == 0 || r.exitCode() == Protocol.NOT_SERVED;
            detail = r.exitCode() == 0
                    ? "answers VERSION: " + r.stdoutText().strip()
                    : r.exitCode() == Protocol.NOT_SERVED
                            ? "answers, but leaves this caller to the standalone plugins"
                                    + " (it serves callers of its own mount and PID namespaces)"
                            : "VERSION failed with exit " + r.exitCode() + ": " + (r.stdoutText() + r.stderr()).strip();
        } catch (IOException e) {
            detail = "does not answer: " + (e.getMessage() == null ? e.toString() : e.getMessage());
        }
        long inode = listeningUnixInode(path, node);
        List<SocketOwners.Owner> holders =
                inode < 0 ? List.of() : SocketOwners.scan(List.of(inode)).of(inode);
        return new SocketStatus(path, true, answering, detail, holders);
    }

    static boolean isSocket(Path p) {
        try {
            Object mode = Files.getAttribute(p, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS);
            return mode instanceof Integer m && (m & 0170000) == 0140000;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return false;
        }
    }

    /** One VERSION request to the daemon protocol, abandoned after a few seconds. */
    static PluginResponse version(Path socket) throws IOException {
        SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        FutureTask<PluginResponse> call = new FutureTask<>(() -> {
            ch.write(ByteBuffer.wrap(Protocol.request(
                    "loopback",
                    Map.of("CNI_COMMAND", "VERSION"),
                    "{\"cniVersion\":\"1.0.0\"}".getBytes(StandardCharsets.UTF_8))));
            return Protocol.readReply(Channels.newInputStream(ch));
        });
        Thread.ofVirtual().start(call);
        try {
            return call.get(ANSWER_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new IOException("no reply within " + ANSWER_TIMEOUT_MS + " ms");
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        } finally {
            ch.close(); // also wakes a read still waiting
        }
    }

    /**
     * The inode of the listening Unix socket whose file is {@code path}, in the node's namespace, or -1:
     * matched by the file's inode through unix_diag (a daemon binds a temporary name and renames it
     * into place, so the bound name may differ), else by name in /proc/net/unix.
     */
    static long listeningUnixInode(Path path, NodeHandle node) {
        long fileInode;
        try {
            fileInode = ((Number) Files.getAttribute(path, "unix:ino")).longValue();
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        try (io.jcni.netlink.diag.SockDiag diag = io.jcni.netlink.diag.SockDiag.open(node.netns())) {
            for (io.jcni.netlink.diag.UnixListener u : diag.unixListening()) {
                if (u.vfsInode() == fileInode) {
                    return u.inode();
                }
            }
            return -1;
        } catch (RuntimeException noUnixDiag) {
            return node.run(() -> procNetUnix(path)); // a kernel without unix_diag
        }
    }

    private static long procNetUnix(Path path) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/thread-self/net/unix"))) {
                String[] f = line.trim().split("\\s+");
                // Num RefCount Protocol Flags Type St Inode Path; flag 00010000 is __SO_ACCEPTCON (listening)
                if (f.length >= 8 && f[7].equals(path.toString()) && (Integer.parseInt(f[3], 16) & 0x10000) != 0) {
                    return Long.parseLong(f[6]);
                }
            }
        } catch (IOException | RuntimeException e) {
            // unreadable: holder unknown
        }
        return -1;
    }

    /** The cluster agents running in the namespace with inode {@code netnsInode}. */
    public static List<Agent> agents(long netnsInode) {
        List<Agent> out = new ArrayList<>();
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"))) {
            for (Path p : procs) {
                String name = p.getFileName().toString();
                if (name.isEmpty() || !Character.isDigit(name.charAt(0))) {
                    continue;
                }
                List<String> argv = argv(p);
                int at = argv.indexOf("io.jcni.agent.AgentMain");
                if (at < 0 || NetnsResolver.inodeOfLink(p.resolve("ns/net")) != netnsInode) {
                    continue;
                }
                List<String> rest = new ArrayList<>(argv.subList(at + 1, argv.size()));
                rest.removeIf(a -> a.equals("--trace") || a.equals("--debug"));
                if (rest.isEmpty() || !rest.get(0).equals("agent")) {
                    continue;
                }
                out.add(new Agent(Integer.parseInt(name), String.join(" ", argv), flags(rest.subList(1, rest.size()))));
            }
        } catch (IOException e) {
            // no /proc
        }
        out.sort((a, b) -> Integer.compare(a.pid(), b.pid()));
        return out;
    }

    static List<String> argv(Path proc) {
        try {
            byte[] b = Files.readAllBytes(proc.resolve("cmdline"));
            if (b.length == 0) {
                return List.of();
            }
            String s = new String(b, StandardCharsets.UTF_8);
            if (s.endsWith("\0")) {
                s = s.substring(0, s.length() - 1);
            }
            return Arrays.asList(s.split("\0", -1));
        } catch (IOException e) {
            return List.of();
        }
    }

    /** {@code --flag value} and {@code --flag=value} pairs; a flag without a value maps to "". */
    static Map<String, String> flags(List<String> args) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (!a.startsWith("--")) {
                continue;
            }
            int eq = a.indexOf('=');
            if (eq > 0) {
                m.put(a.substring(0, eq), a.substring(eq + 1));
            } else if (i + 1 < args.size() && !args.get(i + 1).startsWith("--")) {
                m.put(a, args.get(++i));
            } else {
                m.put(a, "");
            }
        }
        return m;
    }

    /** {@code KEY=VALUE} lines of an env file (subnet.env); empty when it does not exist. */
    public static Map<String, String> envFile(Path f) {
        Map<String, String> m = new LinkedHashMap<>();
        try {
            for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                int eq = line.indexOf('=');
                if (eq > 0 && !line.startsWith("#")) {
                    m.put(line.substring(0, eq).strip(), line.substring(eq + 1).strip());
                }
            }
        } catch (IOException e) {
            // none
        }
        return m;
    }
}
