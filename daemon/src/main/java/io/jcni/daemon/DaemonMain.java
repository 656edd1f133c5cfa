package io.jcni.daemon;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;

/**
 * Entry point of the daemon from the installed jars (deploy/jcni.service):
 * {@code java -cp '/opt/jcni/lib/*' io.jcni.daemon.DaemonMain [--socket PATH]}. {@code jcni daemon}
 * runs the same {@link #serve}.
 */
public final class DaemonMain {
    private DaemonMain() {}

    public static void main(String[] args) {
        Path socket = Daemon.DEFAULT_SOCKET;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--socket") && i + 1 < args.length && !args[i + 1].isEmpty()) {
                socket = Path.of(args[++i]);
            } else {
                System.err.println("usage: DaemonMain [--socket PATH]   (default " + Daemon.DEFAULT_SOCKET + ")");
                System.exit(2);
            }
        }
        try {
            serve(socket, System.err);
        } catch (IOException e) {
            System.err.println("jcni daemon: " + e.getMessage());
            System.exit(1);
        }
        System.exit(0);
    }

    /**
     * Serves until SIGTERM/SIGINT: the JVM's shutdown hook closes the daemon gracefully (stop
     * accepting, finish the requests in flight, remove the socket).
     */
    public static void serve(Path socket, PrintStream log) throws IOException {
        Daemon daemon = Daemon.start(socket, log);
        Runtime.getRuntime()
                .addShutdownHook(
                        Thread.ofPlatform().name("jcni-daemon-shutdown").unstarted(() -> {
                            daemon.close();
                            log.println("jcni daemon: stopped after " + daemon.served() + " requests");
                            log.flush();
                        }));
        log.println("jcni daemon: serving " + String.join(", ", daemon.pluginNames()) + " on " + daemon.socket());
        log.flush();
        try {
            daemon.awaitStopped();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
