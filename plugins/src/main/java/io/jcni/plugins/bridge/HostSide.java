package io.jcni.plugins.bridge;

import io.jcni.cni.CniError;
import io.jcni.cni.Fnv;
import io.jcni.cni.Invocation;
import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.ObjectExistsException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ns.Sysctl;
import io.jcni.netlink.route.Address;
import io.jcni.netlink.route.Addresses;
import io.jcni.netlink.route.Link;
import io.jcni.netlink.route.LinkSpec;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.netlink.sys.KernelFiles;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;

/**
 * The bridge's duties in the host namespace: the bridge itself, the host end of each veth (its
 * name, tag, port options), the gateway addresses on the bridge, and forwarding. The bridge and
 * its addresses are shared by every pod of the network and outlive them; a host veth is one
 * attachment's and is deleted only when its tag says so.
 */
final class HostSide {
    private final Trace trace;

    HostSide(Trace trace) {
        this.trace = trace;
    }

    /** The host end's name: stable per attachment, so a person can find a pod's veth ({@code veth} + 8 hex). */
    static String hostVethName(Invocation inv) {
        return "veth" + Fnv.hex8(Fnv.hash64(inv.network() + "\0" + inv.containerId() + "\0" + inv.ifname()));
    }

    /** Creates the bridge unless it exists (a concurrent ADD may create it first: EEXIST is fine). */
    Link ensureBridge(RouteNetlink host, BridgeConfig c) throws CniError {
        Link br = host.links().find(c.bridge).orElse(null);
        if (br == null) {
            try {
                LinkSpec spec = LinkSpec.bridge(c.bridge).up();
                if (c.mtu > 0) {
                    spec.mtu(c.mtu);
                }
                if (c.vlanFiltering()) {
                    spec.vlanFiltering(true);
                }
                host.links().add(spec);
                br = host.links().get(c.bridge);
                // Pin the MAC: an unpinned bridge takes the lowest port MAC, which changes as pods come and go.
                host.links().setMac(c.bridge, br.mac());
                disableRouterAdvertisements(c.bridge);
            } catch (ObjectExistsException raced) {
                br = host.links().get(c.bridge);
            }
        }
        if (!"bridge".equals(br.kind())) {
            throw new CniError(
                    CniError.INVALID_NETWORK_CONFIG,
                    "\"" + c.bridge + "\" already exists but is not a bridge",
                    "it is of kind " + br.kind());
        }
        if (c.promiscMode && !br.isPromiscuous()) {
            host.links().setPromiscuous(c.bridge, true);
        }
        if (!br.isUp()) {
            host.links().setUp(c.bridge);
        }
        return br;
    }

    private void disableRouterAdvertisements(String link) {
        String key = "net/ipv6/conf/" + link + "/accept_ra";
        if (KernelFiles.exists(Sysctl.pathOf(key))) {
            Sysctl.write(null, key, "0", trace);
        }
    }

    /**
     * The veth pair: the container end born in the pod as CNI_IFNAME (never visible on the host
     * under a name another pod could want), the host end on the bridge and up. Returns the host
     * end's name: the stable one, or a random one when that is taken.
     */
    String createVeth(RouteNetlink host, Invocation inv, BridgeConfig c) throws CniError {
        String name = hostVethName(inv);
        for (int attempt = 0; ; attempt++) {
            LinkSpec spec = LinkSpec.veth(name, inv.ifname())
                    .peerNetns(inv.netns())
                    .master(c.bridge)
                    .up();
            if (c.mtu > 0) {
                spec.mtu(c.mtu);
            }
            if (c.mac != null) {
                spec.peerMac(c.mac);
            }
            try {
                host.links().add(spec);
                return name;
            } catch (ObjectExistsException e) {
                if (attempt == 10) {
                    throw new CniError(
                            CniError.INTERFACE_EXISTS, "could not find a free host veth name", e.getMessage());
                }
                // The stable name is taken (hash collision, or a link someone else made): use a random one.
                name = "veth" + Fnv.hex8(ThreadLocalRandom.current().nextLong());
            } catch (io.jcni.netlink.KernelException e) {
                if (e.errno() == io.jcni.netlink.sys.Errno.EXFULL) {
                    // the kernel numbers a bridge's ports in 10 bits: 1023 ports at most
                    throw new CniError(
                            CniError.KERNEL_REFUSED,
                            "bridge " + c.bridge + " is full: a Linux bridge takes at most 1023 ports",
                            e.getMessage());
                }
                throw e;
            }
        }
    }

    /** The tag DEL checks before deleting a host veth by name, then hairpin, isolation and VLANs. */
    void configurePort(RouteNetlink host, String hostVeth, Invocation inv, BridgeConfig c) {
        host.links().setAlias(hostVeth, Attachment.alias(inv.network(), inv.containerId(), inv.ifname()));
        host.links().setHairpin(hostVeth, c.hairpinMode);
        if (c.portIsolation) {
            host.links().setIsolated(hostVeth, true);
        }
        if (c.vlanFiltering()) {
            if (!c.preserveDefaultVlan) {
                try {
                    host.links().deleteBridgeVlan(hostVeth, 1);
                } catch (NoSuchObjectException none) {
                    // the port had no default VLAN
                }
            }
            if (c.vlan != 0) {
                host.links().addBridgeVlan(hostVeth, c.vlan, true, true);
            } else if (!c.vlanTrunk.isEmpty()) {
                host.links().addBridgeVlan(hostVeth, 1, true, true); // native VLAN of a trunk port
            }
            for (int vid : c.vlanTrunk) {
                if (vid != c.vlan) {
                    host.links().addBridgeVlan(hostVeth, vid, false, false);
                }
            }
        }
    }

    /** Puts each gateway on the bridge (gateway/prefix of its pod subnet) and turns on forwarding. */
    void setGatewayAddresses(RouteNetlink host, BridgeConfig c, List<io.jcni.cni.Result.IpConfig> ips) throws CniError {
        boolean v4 = false, v6 = false;
        for (io.jcni.cni.Result.IpConfig ip : ips) {
            if (ip.gateway() == null) {
                continue;
            }
            IpPrefix want = new IpPrefix(ip.gateway(), ip.address().length());
            boolean present = false;
            for (Address a : host.addresses().list(c.bridge)) {
                IpPrefix have = a.prefix();
                if (have.isV4() != want.isV4() || isLinkLocal(have)) {
                    continue;
                }
                if (have.equals(want)) {
                    present = true;
                } else if (want.isV4() || have.overlaps(want)) {
                    if (!c.forceAddress) {
                        throw new CniError(
                                CniError.INVALID_NETWORK_CONFIG,
                                "\"" + c.bridge + "\" already has an IP address different from " + want,
                                "it has " + have + " (set forceAddress to replace it)");
                    }
                    host.addresses().delete(c.bridge, have);
                }
            }
            if (!present) {
                try {
                    host.addresses().add(c.bridge, want, want.isV4() ? 0 : Addresses.NO_DAD);
                } catch (ObjectExistsException raced) {
                    // a concurrent ADD put the same address there
                }
            }
            v4 |= want.isV4();
            v6 |= !want.isV4();
        }
        if (v4) {
            Sysctl.ensure(null, "net.ipv4.ip_forward", "1", trace);
        }
        if (v6) {
            Sysctl.ensure(null, "net/ipv6/conf/all/forwarding", "1", trace);
        }
    }

    private static boolean isLinkLocal(IpPrefix p) {
        byte[] b = p.address().bytes();
        return p.isV4() ? (b[0] & 0xff) == 169 && (b[1] & 0xff) == 254 : (b[0] & 0xff) == 0xfe && (b[1] & 0xc0) == 0x80;
    }

    /** The reference's "bridge port in error state" check: the host end must reach oper-UP. */
    static void waitForOperUp(RouteNetlink host, String hostVeth) throws CniError {
        int[] waits = {0, 50, 500, 1000, 1000};
        Link l = null;
        for (int w : waits) {
            PodSide.sleep(w);
            l = host.links().get(hostVeth);
            if (l.operStateName().equals("UP")) {
                return;
            }
        }
        throw new CniError(CniError.KERNEL_REFUSED, "bridge port in error state: " + l.operStateName(), hostVeth);
    }

    /**
     * The host end of a container veth, or null. The peer index is only meaningful in the
     * namespace the container end names as its peer's: the link found under that index in the
     * host namespace must be a veth whose own peer is this container end, in another namespace.
     */
    static String hostPeer(Link container) {
        if (!"veth".equals(container.kind()) || container.linkNetnsId() < 0) {
            return null;
        }
        try (RouteNetlink host = RouteNetlink.open(Trace.OFF)) {
            Link peer = host.links().get(container.peerIndex());
            if ("veth".equals(peer.kind()) && peer.peerIndex() == container.index() && peer.linkNetnsId() >= 0) {
                return peer.name();
            }
        } catch (NoSuchObjectException gone) {
            // the host end is already gone
        }
        return null;
    }

    /**
     * Which candidates are this attachment's: veths tagged as its own (still there, to delete) and
     * names that exist no more; any other link of such a name is left alone (a name can be another
     * pod's: hashes collide) and logged.
     */
    VethSweep findTagged(List<String> candidates, Invocation inv, Consumer<String> log) {
        String tag = Attachment.alias(inv.network(), inv.containerId(), inv.ifname());
        List<String> ours = new ArrayList<>();
        List<Link> tagged = new ArrayList<>();
        try (RouteNetlink host = RouteNetlink.open(trace)) {
            for (String name : candidates) {
                Link l = host.links().find(name).orElse(null);
                if (l == null) {
                    ours.add(name); // gone: what the spoof check still holds under this name was ours
                } else if ("veth".equals(l.kind()) && tag.equals(l.alias())) {
                    tagged.add(l);
                    ours.add(name);
                } else {
                    log.accept("DEL: leaving " + name + " alone: it is not this attachment's (alias "
                            + (l.alias() == null ? "none" : "\"" + l.alias() + "\"") + ")");
                }
            }
        }
        return new VethSweep(ours, tagged);
    }

    /**
     * What {@link #findTagged} found: the names that are this attachment's (tagged, or already
     * gone), and the tagged veths still there.
     */
    record VethSweep(List<String> ours, List<Link> tagged) {}

    /** Deletes the host veths (each takes its container end with it); one already gone is fine. */
    void delete(List<Link> veths) {
        try (RouteNetlink host = RouteNetlink.open(trace)) {
            for (Link l : veths) {
                host.links().deleteIfExists(l.name());
            }
        }
    }
}
