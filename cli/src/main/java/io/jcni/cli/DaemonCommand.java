package io.jcni.cli;

import io.jcni.daemon.Daemon;
import io.jcni.daemon.DaemonMain;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code jcni daemon [--socket PATH]}: serves the plugins on a Unix socket until SIGTERM/SIGINT,
 * then stops accepting, lets the requests in flight finish and removes the socket.
 */
final class DaemonCommand {
    static final String USAGE = """
            Usage: jcni daemon [--socket PATH]

            Serves jcni's CNI plugins (bridge, host-local, loopback, ...) to the installed
            executables (jcni install) over a Unix socket, so a plugin call costs no JVM start.
            Only root with CAP_NET_ADMIN and CAP_SYS_ADMIN is served. Without a daemon the
            executables run the plugins in a JVM of their own, with the same results.

              --socket PATH   the socket (default /run/jcni/jcni.sock; a missing directory is
                              created 0700, an existing one must be root's and not writable
                              by others, and is left as it is)

            SIGTERM or SIGINT: stop accepting, finish the requests in flight, remove the socket.
            """;

    private final PrintStream out;
    private final PrintStream err;

    DaemonCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    int run(List<String> args) {
        Path socket = Daemon.DEFAULT_SOCKET;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            switch (a) {
                case "--help", "-h" -> {
                    out.print(USAGE);
                    return 0;
                }
                case "--socket" -> {
                    if (++i >= args.size() || args.get(i).isEmpty()) {
                        throw new Main.UsageException("--socket needs a PATH");
                    }
                    socket = Path.of(args.get(i));
                }
                default -> throw new Main.UsageException("unexpected argument \"" + a + "\" (see jcni daemon --help)");
            }
        }
        try {
            DaemonMain.serve(socket, err);
        } catch (IOException e) {
            throw new IllegalStateException("daemon: " + e.getMessage());
        }
        return 0;
    }
}
