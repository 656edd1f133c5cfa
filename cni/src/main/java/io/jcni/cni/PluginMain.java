package io.jcni.cni;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The exec'd plugin's {@code main}: the only place that reads stdin, writes stdout and exits.
 * Everything else is {@link Skeleton#handle}, shared with the daemon.
 */
public final class PluginMain {
    private PluginMain() {}

    public static void run(Plugin plugin) {
        byte[] stdin;
        try {
            stdin = readBounded(System.in, Skeleton.MAX_STDIN + 1);
        } catch (IOException e) {
            PrintStream out = System.out;
            out.print(new String(
                    io.jcni.cni.json.Json.writeIndentedBytes(
                            new CniError(CniError.IO_FAILURE, "error reading from stdin", e.getMessage())
                                    .toJson(CniVersion.LATEST)),
                    StandardCharsets.UTF_8));
            out.flush();
            exit(1);
            return;
        }
        PluginResponse r = Skeleton.handle(plugin, new PluginRequest(System.getenv(), stdin));
        if (!r.stderr().isEmpty()) {
            System.err.print(r.stderr());
            System.err.flush();
        }
        System.out.write(r.stdout(), 0, r.stdout().length);
        System.out.flush();
        exit(r.exitCode());
    }

    /**
     * Ends the process after stdout and stderr are flushed. {@code Runtime.halt}, not
     * {@code System.exit}: the plugin registers no shutdown hooks, and {@code System.exit} logs the
     * exit through {@code System.Logger}, which loads ~65 classes (logger finder, ServiceLoader,
     * the jimage reader) at every plugin exit.
     */
    static void exit(int code) {
        System.out.flush();
        System.err.flush();
        Runtime.getRuntime().halt(code);
    }

    /** Reads at most {@code limit} bytes (one more than allowed is enough to know it is too big). */
    static byte[] readBounded(InputStream in, int limit) throws IOException {
        byte[] buf = new byte[8192];
        int n = 0;
        while (n < limit) {
            if (n == buf.length) {
                buf = Arrays.copyOf(buf, Math.min(limit, buf.length * 2));
            }
            int r = in.read(buf, n, buf.length - n);
            if (r < 0) {
                break;
            }
            n += r;
        }
        return Arrays.copyOf(buf, n);
    }
}
