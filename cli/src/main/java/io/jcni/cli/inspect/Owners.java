package io.jcni.cli.inspect;

import io.jcni.plugins.bridge.Attachment;
import io.jcni.plugins.portmap.Portmap;

/**
 * How jcni's plugins write an attachment's identity on what they create, so that an element, a
 * link or a reservation can be traced back to the pod that owns it: the bridge's host-veth alias
 * ({@code jcni <network>/<containerID>/<ifname>}), its NAT element comment and portmap's element
 * comment ({@code <network>/<containerID>/<ifname>}), each shortened with a hash when long. The
 * tags come from the plugins' own code, so what the views look for is what the plugins wrote;
 * this class adds reading them back.
 */
public final class Owners {
    private Owners() {}

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

    /** The bridge's host-veth alias (the bridge's own code: what is looked for is what was written). */
    public static String alias(String network, String containerId, String ifname) {
        return Attachment.alias(network, containerId, ifname);
    }

    /** The bridge's NAT element comment. */
    public static String natComment(String network, String containerId, String ifname) {
        return Attachment.comment(network, containerId, ifname);
    }

    /** The network part of a NAT comment: the name, or a hash of it when it is long or odd. */
    public static String natNetworkTag(String network) {
        return Attachment.networkTag(network);
    }

    /** Portmap's element comment. */
    public static String portmapComment(String network, String containerId, String ifname) {
        return Portmap.owner(network, containerId, ifname);
    }

    /** The network part of a portmap comment. */
    public static String portmapNetworkTag(String network) {
        return Portmap.networkTag(network);
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
}
