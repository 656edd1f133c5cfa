package io.jcni.plugins.bridge;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The identity of an attachment (network, container ID, ifname) as the bridge writes it on what
 * it creates, so that DEL and GC remove only what is this attachment's: the host veth's alias
 * and the comment of every NAT element.
 */
public final class Attachment {
    /** nft keeps comments of up to 128 bytes. */
    private static final int COMMENT_MAX = 120;
    /** The kernel keeps aliases of up to 255 bytes. */
    private static final int ALIAS_MAX = 255;

    private Attachment() {}

    /**
     * The host veth's alias: {@code jcni <network>/<containerID>/<ifname>}, or, when that is
     * longer than an alias can be, the network part and a SHA-256 of the whole identity. Names
     * derived from a 32-bit hash can collide; this tag cannot in practice.
     */
    public static String alias(String network, String containerId, String ifname) {
        String full = "jcni " + network + "/" + containerId + "/" + ifname;
        if (full.getBytes(StandardCharsets.UTF_8).length <= ALIAS_MAX && full.indexOf('\0') < 0) {
            return full;
        }
        return "jcni " + networkTag(network) + "/#" + sha256(network + "\0" + containerId + "\0" + ifname);
    }

    /**
     * The comment on an attachment's NAT elements: {@code <network>/<containerID>/<ifname>}, or
     * the network part and a SHA-256 of the identity when that would not fit or quote.
     */
    public static String comment(String network, String containerId, String ifname) {
        String c = networkTag(network) + "/" + containerId + "/" + ifname;
        if (c.getBytes(StandardCharsets.UTF_8).length > COMMENT_MAX || !plain(c)) {
            c = networkTag(network) + "/#" + sha256(network + "\0" + containerId + "\0" + ifname);
        }
        return c;
    }

    /** The network part of {@link #comment}: the name, or a hash of it when it is long or odd. */
    public static String networkTag(String network) {
        return network.length() <= 48 && plain(network) && network.indexOf('/') < 0
                ? network
                : "#" + sha256(network).substring(0, 16);
    }

    private static boolean plain(String s) {
        return s.indexOf('"') < 0 && s.indexOf('\n') < 0 && s.indexOf('\0') < 0;
    }

    private static String sha256(String s) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
            StringBuilder sb = new StringBuilder(64);
            for (byte b : d) {
                sb.append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
            }
            return sb.toString();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
