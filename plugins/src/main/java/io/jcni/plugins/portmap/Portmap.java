package io.jcni.plugins.portmap;

import io.jcni.cni.CniError;
import io.jcni.cni.ConfigObject;
import io.jcni.cni.Fnv;
import io.jcni.cni.Invocation;
import io.jcni.cni.Plugin;
import io.jcni.cni.Result;
import io.jcni.cni.Teardown;
import io.jcni.netlink.KernelException;
import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.ObjectExistsException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ct.Conntrack;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.nft.Nftables;
import io.jcni.netlink.ns.Sysctl;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.plugins.portmap.PortmapConfig.Mapping;
import io.jcni.plugins.portmap.PortmapTable.Element;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code portmap}: hostPort → container DNAT on nftables, constant cost per pod. One table,
 * {@code inet jcni_hostport}, shared by every network and pod ({@link PortmapTable} lays it out):
 * a mapping is one map element, a pod with {@code snat} one or two masquerade elements per
 * address, and each element carries the attachment as its comment
 * ({@code <network>/<containerID>/<ifname>}), which is how DEL without mappings and GC find
 * them. ADD is one transaction (it declares the table's objects again, so whatever of them was
 * deleted comes back); the map key is a claim: a second container mapping the same host port
 * (and protocol, and hostIP) fails with {@link #HOST_PORT_TAKEN}, instead of silently shadowing
 * the first. A hostIP-bound mapping wins over an every-address mapping of the same port for its
 * address.
 */
public final class Portmap implements Plugin {
    /** ADD: another attachment already maps this host port (protocol, hostIP). */
    public static final int HOST_PORT_TAKEN = 120;

    private final Trace trace;

    public Portmap() {
        this(Trace.OFF);
    }

    /** With a trace, every kernel change is also reported as its nft/sysctl/conntrack command. */
    public Portmap(Trace trace) {
        this.trace = trace;
    }

    @Override
    public String name() {
        return "portmap";
    }

    @Override
    public Set<String> knownArgs() {
        return Set.of();
    }

    // ------------------------------------------------------------------ names

    /** The comment on every element of an attachment: {@code <network>/<containerID>/<ifname>} (≤ 128 bytes). */
    public static String owner(String network, String containerId, String ifname) {
        String owner = networkTag(network) + "/" + containerId + "/" + ifname;
        if (owner.getBytes(StandardCharsets.UTF_8).length > 120 || owner.indexOf('"') >= 0) {
            owner = networkTag(network) + "/#" + hash(containerId + "/" + ifname);
        }
        return owner;
    }

    /** The network part of {@link #owner}: the name, or a hash when it is long. */
    public static String networkTag(String network) {
        return network.length() <= 48 && network.indexOf('"') < 0 && network.indexOf('/') < 0
                ? network
                : "#" + hash(network);
    }

    private static String hash(String text) {
        return Long.toHexString(Fnv.hash64(text));
    }

    private static String ownerOf(Invocation inv) {
        return owner(inv.network(), inv.containerId(), inv.ifname());
    }

    // ------------------------------------------------------------------ what an attachment owns

    /**
     * The container addresses, as the reference picks them: the first IPv4 and the first IPv6
     * address of prevResult whose interface (when its index is set and in range) is CNI_IFNAME
     * with a sandbox.
     */
    static List<IpAddress> containerAddresses(Result prev, String ifname) {
        IpAddress v4 = null, v6 = null;
        for (Result.IpConfig ip : prev.ips()) {
            Integer index = ip.interfaceIndex();
            if (index != null && index >= 0 && index < prev.interfaces().size()) {
                Result.Interface on = prev.interfaces().get(index);
                if (!on.name().equals(ifname)
                        || on.sandbox() == null
                        || on.sandbox().isEmpty()) {
                    continue;
                }
            }
            IpAddress address = ip.address().address();
            if (address.isV4() && v4 == null) {
                v4 = address;
            } else if (address.isV6() && v6 == null) {
                v6 = address;
            }
        }
        List<IpAddress> out = new ArrayList<>(2);
        if (v4 != null) {
            out.add(v4);
        }
        if (v6 != null) {
            out.add(v6);
        }
        return out;
    }

    /** The elements ADD makes for the config's mappings and these container addresses. */
    static List<Element> plan(PortmapConfig config, List<IpAddress> addresses) {
        List<Element> out = new ArrayList<>();
        for (IpAddress address : addresses) {
            List<Element> mapped = mappingElements(config, address);
            out.addAll(mapped);
            if (!mapped.isEmpty() && config.snat) {
                out.addAll(PortmapTable.masqueradeElements(address, config.masqAll));
            }
        }
        return out;
    }

    /** The map elements of the config's mappings that apply to {@code container}'s family. */
    private static List<Element> mappingElements(PortmapConfig config, IpAddress container) {
        List<Element> out = new ArrayList<>();
        for (Mapping mapping : config.mappings) {
            if (mapping.appliesTo(container)) {
                out.add(PortmapTable.mappingElement(mapping, container));
            }
        }
        return out;
    }

    /** prevResult, which ADD and CHECK work from (portmap is a chained plugin); without it, {@code missing}. */
    private static Result prevResult(Invocation inv, String missing) throws CniError {
        Result prev = inv.prevResult();
        if (prev == null) {
            throw new CniError(CniError.INVALID_NETWORK_CONFIG, missing);
        }
        return prev;
    }

    // ------------------------------------------------------------------ ADD

    @Override
    public Result add(Invocation inv) throws CniError {
        PortmapConfig config = PortmapConfig.parse(inv);
        Result prev = prevResult(inv, "must be called as chained plugin");
        if (config.markMasqBit != null) {
            inv.log("portmap: markMasqBit " + config.markMasqBit
                    + " is for the iptables backend; ignored with nftables");
        }
        if (config.mappings.isEmpty()) {
            return prev;
        }
        List<IpAddress> addresses = containerAddresses(prev, inv.ifname());
        List<Element> elements = plan(config, addresses);
        if (elements.isEmpty()) {
            inv.log("portmap: no container address of a mapped family in prevResult; nothing to do");
            return prev;
        }
        if (config.snat) {
            for (IpAddress address : addresses) {
                if (address.isV4()) {
                    routeLocalnet(address);
                }
            }
        }
        try (PortmapTable table = PortmapTable.open(trace)) {
            try {
                table.add(config.conditionsV4, config.conditionsV6, elements, ownerOf(inv));
            } catch (ObjectExistsException taken) {
                List<String> clashes = table.clashes(elements);
                throw new CniError(
                        HOST_PORT_TAKEN,
                        "host port already mapped",
                        clashes.isEmpty() ? taken.getMessage() : String.join("; ", clashes));
            }
        }
        flushUdp(inv, udpPorts(elements));
        return prev;
    }

    /**
     * 127.0.0.1-sourced connections DNATed to the pod leave through the interface that routes to
     * it; the kernel drops them there unless {@code route_localnet} is on (the reference does the same).
     */
    private void routeLocalnet(IpAddress container) {
        String device;
        try (RouteNetlink routing = RouteNetlink.open(trace)) {
            device = routing.routes().outputDevice(container);
        }
        if (device != null && !device.equals("lo")) {
            Sysctl.ensure(null, "net/ipv4/conf/" + device + "/route_localnet", "1", trace);
        }
    }

    // ------------------------------------------------------------------ conntrack

    /** A host port of a UDP mapping, and the address family of its connections ({@link Conntrack#AF_INET} or AF_INET6). */
    private record UdpPort(int addressFamily, int port) {}

    /** The host ports of the UDP mappings among {@code elements}. */
    private static Set<UdpPort> udpPorts(List<Element> elements) {
        Set<UdpPort> out = new LinkedHashSet<>();
        for (Element element : elements) {
            if (element.isMapping() && element.protocol() == Conntrack.UDP) {
                out.add(new UdpPort(
                        element.container().isV4() ? Conntrack.AF_INET : Conntrack.AF_INET6, element.hostPort()));
            }
        }
        return out;
    }

    /** Removes stale UDP conntrack entries towards these host ports: they would keep their old DNAT. Failures are logged only. */
    private void flushUdp(Invocation inv, Set<UdpPort> ports) {
        if (ports.isEmpty()) {
            return;
        }
        try (Conntrack conntrack = Conntrack.open(trace)) {
            for (UdpPort port : ports) {
                conntrack.deleteByOriginalDestinationPort(port.addressFamily(), Conntrack.UDP, port.port());
            }
        } catch (RuntimeException failed) {
            inv.log("portmap: could not flush UDP conntrack entries: " + failed.getMessage());
        }
    }

    // ------------------------------------------------------------------ DEL

    /**
     * Removes what ADD made for this attachment, recognised by its comment only — never by the
     * container address, which may belong to another container by now (a late DEL after the
     * address was reused). With runtimeConfig.portMappings and prevResult, each mapping's element
     * is looked up by its key; otherwise the maps and sets are listed. A clashing container's DEL
     * never removes the holder's mapping. Works without CNI_NETNS; removing nothing is fine.
     */
    @Override
    public void del(Invocation inv) throws CniError {
        PortmapConfig config = PortmapConfig.parse(inv);
        String owner = ownerOf(inv);
        List<IpAddress> addresses = new ArrayList<>(2);
        try {
            Result prev = inv.prevResult();
            if (prev != null) {
                addresses.addAll(containerAddresses(prev, inv.ifname()));
            }
        } catch (CniError unreadable) {
            inv.log("portmap DEL: ignoring unreadable prevResult: " + unreadable.getMessage());
        }
        List<Element> doomed = new ArrayList<>();
        // the conntrack flush runs even when the elements could not all be removed, and both failures are reported
        Teardown teardown = new Teardown("DEL");
        teardown.run("host port elements", () -> removeOwned(config, owner, addresses, doomed));
        teardown.run("conntrack", () -> flushUdp(inv, udpPorts(doomed)));
        teardown.finish(CniError.KERNEL_REFUSED);
    }

    /** Removes {@code owner}'s elements (looked up by key when the mappings and addresses are known); fills {@code doomed}. */
    private void removeOwned(PortmapConfig config, String owner, List<IpAddress> addresses, List<Element> doomed) {
        try (PortmapTable table = PortmapTable.open(trace)) {
            try {
                doomed.addAll(
                        config.mappingsGiven && !addresses.isEmpty()
                                ? table.heldBy(owner, candidates(config, addresses))
                                : table.elementsOf(owner::equals));
            } catch (NoSuchObjectException noTable) {
                return; // nothing was ever mapped here
            }
            table.delete(doomed);
        }
    }

    /** Every element ADD could have made for these mappings and addresses, whatever its snat and masqAll were. */
    private static List<Element> candidates(PortmapConfig config, List<IpAddress> addresses) {
        List<Element> out = new ArrayList<>();
        for (IpAddress address : addresses) {
            out.addAll(mappingElements(config, address));
            out.addAll(PortmapTable.masqueradeElements(address, false));
            out.addAll(PortmapTable.masqueradeElements(address, true));
        }
        return out;
    }

    // ------------------------------------------------------------------ CHECK

    @Override
    public void check(Invocation inv) throws CniError {
        PortmapConfig config = PortmapConfig.parse(inv);
        Result prev = prevResult(inv, "Required prevResult missing");
        if (config.mappings.isEmpty()) {
            return;
        }
        List<Element> expected = plan(config, containerAddresses(prev, inv.ifname()));
        if (expected.isEmpty()) {
            return;
        }
        try (PortmapTable table = PortmapTable.open(Trace.OFF)) {
            String problem = table.firstProblem(expected, ownerOf(inv));
            if (problem != null) {
                throw new CniError(CniError.CHECK_FAILED, "CHECK failed", problem);
            }
        }
    }

    // ------------------------------------------------------------------ GC, STATUS

    /**
     * Removes the elements of this network's attachments that are not in
     * {@code cni.dev/valid-attachments} (by the element comments), and flushes UDP conntrack for
     * their ports. Without the list nothing is known to be stale: nothing is removed.
     */
    @Override
    public void gc(Invocation inv) throws CniError {
        PortmapConfig.parse(inv);
        ConfigObject conf = inv.config();
        String key = conf.has("cni.dev/valid-attachments") ? "cni.dev/valid-attachments" : "cni.dev/attachments";
        if (!conf.has(key)) {
            return;
        }
        Set<String> valid = new HashSet<>();
        for (ConfigObject attachment : conf.objects(key)) {
            valid.add(owner(inv.network(), attachment.string("containerID", ""), attachment.string("ifname", "")));
        }
        String mine = networkTag(inv.network()) + "/";
        List<Element> stale;
        try (PortmapTable table = PortmapTable.open(trace)) {
            try {
                stale = table.elementsOf(owner -> owner != null && owner.startsWith(mine) && !valid.contains(owner));
            } catch (NoSuchObjectException noTable) {
                return;
            }
            table.delete(stale);
        } catch (KernelException refused) {
            throw new CniError(CniError.KERNEL_REFUSED, "GC could not remove everything", refused.getMessage());
        }
        for (Element element : stale) {
            inv.log("GC: removed " + element.set().nftName + " element " + element.keyText());
        }
        flushUdp(inv, udpPorts(stale));
    }

    @Override
    public void status(Invocation inv) throws CniError {
        PortmapConfig.parse(inv);
        try (Nftables nft = Nftables.open(Trace.OFF)) {
            nft.tables();
        } catch (RuntimeException unusable) {
            throw new CniError(CniError.PLUGIN_NOT_AVAILABLE, "nftables is not usable", unusable.getMessage());
        }
    }
}
