package io.jcni.cli.inspect;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * How jcni's plugins write an attachment's identity on what they create, so that an element, a
 * link or a reservation can be traced back to the pod that owns it: the bridge's host-veth alias
 * ({@code jcni <network>/<containerID>/<ifname>}), its NAT element comment and portmap's element
 * comment ({@code <network>/<containerID>/<ifname>}), each shortened with a hash when long. These
 * are the plugins' rules (docs/plugins.md), repeated here so the command line reads them without
 * reaching into the plugins' internals; {@code OwnersTest} holds them equal.
 */
public final class Owners {
    private Owners() {}

    private static final int COMMENT_MAX = 120, ALIAS_MAX = 255;

    /** One attachment: the key of the result cache, the owner of a reservation. */
    public record Id(String network, String containerId, String ifname) {
        /** The NAT elements' comment (the bridge's). */
        public String natComment() {
            return Owners.natComment(network, containerId, ifname);
        }

        /** Portmap's elements' comment. */
        public String portmapComment() {
            return Owners.portmapComment(network, containerId, ifname);
        }

        /** The host veth's alias. */
        public String alias() {
            return Owners.alias(network, containerId, ifname);
        }

        @Override
        public String toString() {
            return network + "/" + containerId + "/" + ifname;
        }
    }

    /** The bridge's host-veth alias. */
    public static String alias(String network, String containerId, String ifname) {
        String full = "jcni " + network + "/" + containerId + "/" + ifname;
        if (full.getBytes(StandardCharsets.UTF_8).length <= ALIAS_MAX && full.indexOf('\0') < 0) {
            return full;
        }
        return "jcni " + natNetworkTag(network) + "/#" + sha256(network + "\0" + containerId + "\0" + ifname);
    }

    /** The bridge's NAT element comment. */
    public static String natComment(String network, String containerId, String ifname) {
        String c = natNetworkTag(network) + "/" + containerId + "/" + ifname;
        if (c.getBytes(StandardCharsets.UTF_8).length > COMMENT_MAX || !plain(c)) {
            c = natNetworkTag(network) + "/#" + sha256(network + "\0" + containerId + "\0" + ifname);
        }
        return c;
    }

    /** The network part of a NAT comment: the name, or a hash of it when it is long or odd. */
    public static String natNetworkTag(String network) {
        return network.length() <= 48 && plain(network) && network.indexOf('/') < 0 ? network : "#" + sha256(network).substring(0, 16);
    }

    /** Portmap's element comment. */
    public static String portmapComment(String network, String containerId, String ifname) {
        String o = portmapNetworkTag(network) + "/" + containerId + "/" + ifname;
        if (o.getBytes(StandardCharsets.UTF_8).length > COMMENT_MAX || o.indexOf('"') >= 0) {
            o = portmapNetworkTag(network) + "/#" + fnv(containerId + "/" + ifname);
        }
        return o;
    }

    /** The network part of a portmap comment. */
    public static String portmapNetworkTag(String network) {
        return network.length() <= 48 && network.indexOf('"') < 0 && network.indexOf('/') < 0 ? network : "#" + fnv(network);
    }

    /**
     * The attachment a plain comment or alias names ({@code net/cid/ifname}, with the {@code jcni }
     * prefix for an alias), or null for a hashed one: the network is up to the first '/', the
     * interface after the last (a container ID may hold '/', an interface name cannot).
     */
    public static Id parse(String text) {
        if (text == null) {
            return null;
        }
        String t = text.startsWith("jcni ") ? text.substring(5) : text;
        int first = t.indexOf('/');
        int last = t.lastIndexOf('/');
        if (first <= 0 || last <= first + 1 || last == t.length() - 1 || t.charAt(first + 1) == '#') {
            return null;
        }
        return new Id(t.substring(0, first), t.substring(first + 1, last), t.substring(last + 1));
    }

    /** The network tag of a comment (before its first '/'), or null. */
    public static String networkTagOf(String comment) {
        int i = comment == null ? -1 : comment.indexOf('/');
        return i <= 0 ? null : comment.substring(0, i);
    }

    private static boolean plain(String s) {
        return s.indexOf('"') < 0 && s.indexOf('\n') < 0 && s.indexOf('\0') < 0;
    }

    private static String fnv(String s) {
        return Long.toHexString(io.jcni.cni.Fnv.hash64(s));
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
