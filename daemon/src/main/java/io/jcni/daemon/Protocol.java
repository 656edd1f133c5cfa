package io.jcni.daemon;

import io.jcni.cni.PluginResponse;
import io.jcni.cni.Skeleton;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The daemon's wire protocol, one request and one reply per connection. All integers are
 * unsigned 32-bit big-endian; every length is bounded before anything is allocated.
 *
 * <pre>
 * request:  "JCQ1" | u32 len, plugin name | u32 count | count x (u32 len, "KEY=VALUE") | u32 len, stdin
 * reply:    "JCR1" | i32 exit code | u32 len stdout | u32 len stderr | stdout bytes | stderr bytes
 * </pre>
 *
 * The environment is the client's whole environment (what {@code System.getenv()} is for the
 * exec'd plugin: CNI_*, and PATH for delegated IPAM). Stdin is what the client read, at most
 * {@link Skeleton#MAX_STDIN} + 1 bytes, exactly as {@code PluginMain} reads it, so an oversized
 * configuration gets the same error from both paths. Exit code {@link #NOT_SERVED} means "not
 * served here" (an unknown plugin, or paths relative to the client's working directory): the
 * client runs the standalone path instead. The C end is
 * {@code native/jcni-client.c}.
 */
public final class Protocol {
    private Protocol() {}

    static final byte[] REQUEST_MAGIC = "JCQ1".getBytes(StandardCharsets.US_ASCII);
    static final byte[] REPLY_MAGIC = "JCR1".getBytes(StandardCharsets.US_ASCII);
    /** The reply's exit code when the daemon has no such plugin: the client falls back to the JVM path. */
    public static final int NOT_SERVED = -1;

    static final int MAX_NAME = 255;
    static final int MAX_ENV_ENTRIES = 16384;
    static final int MAX_ENV_ENTRY = 256 * 1024; // the kernel's MAX_ARG_STRLEN is 128 KiB
    static final int MAX_ENV_TOTAL = 8 << 20;
    public static final int MAX_STDIN = Skeleton.MAX_STDIN + 1;

    /** One decoded request. */
    public record Request(String plugin, Map<String, String> env, byte[] stdin) {}

    /** A malformed or oversized request: the connection is closed without a reply. */
    public static final class ProtocolException extends IOException {
        private static final long serialVersionUID = 1L;

        ProtocolException(String message) {
            super(message);
        }
    }

    public static Request readRequest(InputStream in) throws IOException {
        DataInputStream d = new DataInputStream(in);
        expectMagic(d, REQUEST_MAGIC, "request");
        String plugin = new String(bytes(d, MAX_NAME, "plugin name"), StandardCharsets.UTF_8);
        long count = u32(d);
        if (count > MAX_ENV_ENTRIES) {
            throw new ProtocolException("too many environment variables: " + count);
        }
        Map<String, String> env = new LinkedHashMap<>();
        long total = 0;
        for (long i = 0; i < count; i++) {
            byte[] kv = bytes(d, MAX_ENV_ENTRY, "environment variable");
            total += kv.length;
            if (total > MAX_ENV_TOTAL) {
                throw new ProtocolException("environment over " + MAX_ENV_TOTAL + " bytes");
            }
            String s = new String(kv, StandardCharsets.UTF_8);
            int eq = s.indexOf('=');
            if (eq > 0) {
                env.putIfAbsent(s.substring(0, eq), s.substring(eq + 1)); // getenv(3) finds the first
            }
        }
        byte[] stdin = bytes(d, MAX_STDIN, "stdin");
        return new Request(plugin, env, stdin);
    }

    public static byte[] reply(PluginResponse r) {
        byte[] err = r.stderr().getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream b = new ByteArrayOutputStream(16 + r.stdout().length + err.length);
        b.writeBytes(REPLY_MAGIC);
        u32(b, r.exitCode());
        u32(b, r.stdout().length);
        u32(b, err.length);
        b.writeBytes(r.stdout());
        b.writeBytes(err);
        return b.toByteArray();
    }

    /** Writes one request (the Java client: tests and tools). */
    public static byte[] request(String plugin, Map<String, String> env, byte[] stdin) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(REQUEST_MAGIC);
        bytes(b, plugin.getBytes(StandardCharsets.UTF_8));
        u32(b, env.size());
        env.forEach((k, v) -> bytes(b, (k + "=" + v).getBytes(StandardCharsets.UTF_8)));
        bytes(b, stdin);
        return b.toByteArray();
    }

    /** The message's first four bytes must be {@code magic}: anything else is not a jcni {@code what}. */
    private static void expectMagic(DataInputStream d, byte[] magic, String what) throws IOException {
        byte[] read = new byte[magic.length];
        d.readFully(read);
        if (!java.util.Arrays.equals(read, magic)) {
            throw new ProtocolException("not a jcni " + what);
        }
    }

    /** Reads one reply (the Java client). */
    public static PluginResponse readReply(InputStream in) throws IOException {
        DataInputStream d = new DataInputStream(in);
        expectMagic(d, REPLY_MAGIC, "reply");
        int code = d.readInt();
        long outLen = u32(d), errLen = u32(d);
        if (outLen > 64 << 20 || errLen > 64 << 20) {
            throw new ProtocolException("reply too large");
        }
        byte[] out = readExactly(d, (int) outLen, "reply's stdout");
        byte[] err = readExactly(d, (int) errLen, "reply's stderr");
        return new PluginResponse(out, new String(err, StandardCharsets.UTF_8), code);
    }

    private static long u32(DataInputStream d) throws IOException {
        return d.readInt() & 0xffffffffL;
    }

    private static byte[] bytes(DataInputStream d, int max, String what) throws IOException {
        long len = u32(d);
        if (len > max) {
            throw new ProtocolException(what + " is " + len + " bytes, over " + max);
        }
        return readExactly(d, (int) len, what);
    }

    /**
     * Reads {@code len} bytes. The buffer grows with what actually arrives (readNBytes reads in
     * chunks), so a peer that announces 64 MiB and sends nothing costs no 64 MiB.
     */
    private static byte[] readExactly(DataInputStream d, int len, String what) throws IOException {
        byte[] b = d.readNBytes(len);
        if (b.length != len) {
            throw new EOFException("connection closed in the middle of the " + what);
        }
        return b;
    }

    private static void u32(ByteArrayOutputStream b, long v) {
        b.write((int) (v >>> 24));
        b.write((int) (v >>> 16));
        b.write((int) (v >>> 8));
        b.write((int) v);
    }

    private static void bytes(ByteArrayOutputStream b, byte[] data) {
        u32(b, data.length);
        b.writeBytes(data);
    }
}
