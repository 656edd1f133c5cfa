package io.jcni.agent;

import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ip.MacAddress;
import io.jcni.netlink.route.Address;
import io.jcni.netlink.route.Link;
import io.jcni.netlink.route.LinkSpec;
import io.jcni.netlink.route.RouteNetlink;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Optional;

/**
 * The node's VXLAN device {@code jcni.<VNI>}: created, or repaired with the least disturbance.
 * Parameters that the kernel fixes at creation (VNI, port, local address, underlay, learning)
 * can only be corrected by recreating it; MAC, MTU and the up state are set in place; a device
 * that is right is not touched at all, so the pods' traffic through it never stops when the
 * agent restarts.
 */
final class VxlanDevice {
    /** Bytes of the outer Ethernet, IPv4, UDP and VXLAN headers. */
    static final int OVERHEAD = 50;

    private VxlanDevice() {}

    /**
     * A MAC derived from {@code publicIp} and {@code vni}: the same on every restart and on every
     * node computing it, so a node that lost its device and its lease comes back with the MAC its
     * peers already have in their FDB. Locally administered, unicast.
     */
    static MacAddress derivedMac(IpAddress publicIp, int vni) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is always available", e);
        }
        sha.update("jcni vtep ".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        sha.update(publicIp.bytes());
        sha.update(ByteBuffer.allocate(4).putInt(vni).array());
        byte[] h = sha.digest();
        byte[] mac = new byte[6];
        System.arraycopy(h, 0, mac, 0, 6);
        mac[0] = (byte) ((mac[0] & 0xfc) | 0x02);
        return MacAddress.of(mac);
    }

    /**
     * Makes {@code name} a VXLAN device as wanted, up, with {@code vtepAddress}/32 as its only IPv4
     * address; records each change in {@code pass}. Throws when a step fails (the caller reports it).
     */
    static void ensure(
            RouteNetlink nl,
            Pass pass,
            String name,
            NetworkConfig.Backend backend,
            IpAddress local,
            String underlay,
            MacAddress mac,
            IpAddress vtepAddress) {
        Link under = nl.links().get(underlay);
        int mtu = under.mtu() - OVERHEAD;
        Optional<Link> found = nl.links().find(name);
        if (found.isPresent() && !fixedPartsRight(found.get(), backend, local, under.index())) {
            nl.links().delete(name);
            pass.changed("ip link del " + name);
            found = Optional.empty();
        }
        if (found.isEmpty()) {
            nl.links()
                    .add(LinkSpec.vxlan(name, backend.vni())
                            .vxlanLocal(local)
                            .vxlanDevice(underlay)
                            .vxlanPort(backend.port())
                            .vxlanLearning(false)
                            .mac(mac)
                            .mtu(mtu)
                            .up());
            pass.changed("ip link add " + name + " address " + mac + " mtu " + mtu + " type vxlan id " + backend.vni()
                    + " local " + local + " dev " + underlay + " dstport " + backend.port() + " nolearning");
            pass.changed("ip link set " + name + " up");
        } else {
            Link l = found.get();
            if (!mac.equals(l.mac())) {
                nl.links().setMac(name, mac);
                pass.changed("ip link set " + name + " address " + mac);
            }
            if (l.mtu() != mtu) {
                nl.links().setMtu(name, mtu);
                pass.changed("ip link set " + name + " mtu " + mtu);
            }
            if (!l.isUp()) {
                nl.links().setUp(name);
                pass.changed("ip link set " + name + " up");
            }
        }
        IpPrefix wanted = IpPrefix.host(vtepAddress);
        boolean present = false;
        for (Address a : nl.addresses().list(name)) {
            if (!a.prefix().isV4()) {
                continue;
            }
            if (a.prefix().equals(wanted)) {
                present = true;
            } else {
                // The node's address from before a subnet change: the peers route to the new one.
                nl.addresses().delete(name, a.prefix());
                pass.changed("ip addr del " + a.prefix() + " dev " + name);
            }
        }
        if (!present) {
            nl.addresses().add(name, wanted);
            pass.changed("ip addr add " + wanted + " dev " + name);
        }
    }

    /** Whether what only creation sets is as wanted; else the device must be recreated. */
    static boolean fixedPartsRight(Link l, NetworkConfig.Backend backend, IpAddress local, int underlayIndex) {
        Link.VxlanInfo v = l.vxlan();
        return "vxlan".equals(l.kind())
                && v != null
                && v.vni() == backend.vni()
                && v.port() == backend.port()
                && local.toString().equals(v.local())
                && v.underlayIndex() == underlayIndex
                && !v.learning()
                && v.group() == null;
    }
}
