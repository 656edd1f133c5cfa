package io.jcni.netlink.route;

import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.MacAddress;
import io.jcni.netlink.ns.NetNs;

/**
 * What to create: a link's kind, name and the attributes set at creation (setting them here
 * instead of afterwards saves a round trip each). Start from {@link #bridge}, {@link #veth},
 * {@link #vxlan} or {@link #dummy}.
 */
public final class LinkSpec {
    final String kind;
    final String name;
    Integer mtu;
    MacAddress mac;
    String master;
    boolean up;
    Integer txQueueLen;
    NetNs netns;
    // veth
    String peerName;
    NetNs peerNetns;
    MacAddress peerMac;
    // bridge
    Boolean vlanFiltering;
    // vxlan
    int vni;
    IpAddress vxlanLocal;
    IpAddress vxlanGroup;
    int vxlanPort;
    String vxlanDevice;
    Boolean vxlanLearning;

    private LinkSpec(String kind, String name) {
        this.kind = kind;
        this.name = name;
    }

    public static LinkSpec bridge(String name) {
        return new LinkSpec("bridge", name);
    }

    public static LinkSpec dummy(String name) {
        return new LinkSpec("dummy", name);
    }

    /** A veth pair {@code name} ↔ {@code peerName}; see {@link #peerNetns} to create the peer inside a pod. */
    public static LinkSpec veth(String name, String peerName) {
        LinkSpec s = new LinkSpec("veth", name);
        s.peerName = peerName;
        return s;
    }

    /** A VXLAN device with VNI {@code vni} (dstport defaults to the IANA 4789 unless set). */
    public static LinkSpec vxlan(String name, int vni) {
        LinkSpec s = new LinkSpec("vxlan", name);
        s.vni = vni;
        s.vxlanPort = 4789;
        return s;
    }

    public LinkSpec mtu(int mtu) {
        this.mtu = mtu;
        return this;
    }

    public LinkSpec mac(MacAddress mac) {
        this.mac = mac;
        return this;
    }

    /** Attach to bridge {@code master} at creation. */
    public LinkSpec master(String master) {
        this.master = master;
        return this;
    }

    /** Create it administratively up. */
    public LinkSpec up() {
        this.up = true;
        return this;
    }

    public LinkSpec txQueueLen(int len) {
        this.txQueueLen = len;
        return this;
    }

    /** Create the link itself inside {@code netns} instead of the handle's namespace. */
    public LinkSpec netns(NetNs netns) {
        this.netns = netns;
        return this;
    }

    /** Create the veth peer directly inside {@code netns}: no separate move, no window where it is on the host. */
    public LinkSpec peerNetns(NetNs netns) {
        this.peerNetns = netns;
        return this;
    }

    public LinkSpec peerMac(MacAddress mac) {
        this.peerMac = mac;
        return this;
    }

    public LinkSpec vlanFiltering(boolean on) {
        this.vlanFiltering = on;
        return this;
    }

    public LinkSpec vxlanLocal(IpAddress local) {
        this.vxlanLocal = local;
        return this;
    }

    /** Multicast group or unicast remote for BUM traffic. */
    public LinkSpec vxlanGroup(IpAddress group) {
        this.vxlanGroup = group;
        return this;
    }

    public LinkSpec vxlanPort(int port) {
        this.vxlanPort = port;
        return this;
    }

    /** The underlay device. */
    public LinkSpec vxlanDevice(String device) {
        this.vxlanDevice = device;
        return this;
    }

    public LinkSpec vxlanLearning(boolean learning) {
        this.vxlanLearning = learning;
        return this;
    }

    public String name() {
        return name;
    }

    public String kind() {
        return kind;
    }
}
