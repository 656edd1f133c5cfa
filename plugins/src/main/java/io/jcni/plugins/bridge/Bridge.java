package io.jcni.plugins.bridge;

import io.jcni.cni.CniError;
import io.jcni.cni.Invocation;
import io.jcni.cni.Plugin;
import io.jcni.cni.Result;
import io.jcni.netlink.KernelException;
import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.ObjectExistsException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpAddress;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.ns.Sysctl;
import io.jcni.netlink.route.Address;
import io.jcni.netlink.route.Addresses;
import io.jcni.netlink.route.Link;
import io.jcni.netlink.route.LinkSpec;
import io.jcni.netlink.route.Route;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.netlink.route.Rtnl;
import io.jcni.netlink.sys.Fd;
import io.jcni.netlink.sys.KernelFiles;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * {@code bridge}: a veth per container, its peer born inside the pod and its host end on a Linux
 * bridge; addresses from IPAM; the gateway on the bridge; masquerade through one nftables set
 * element per pod. Every ADD failure undoes what that ADD created; DEL undoes everything it can
 * find from prevResult, the IPAM reservation and the namespace, whichever still exist.
 */
public final class Bridge implements Plugin {
    private final Trace trace;

    public Bridge() {
        this(Trace.OFF);
    }

    /** With a trace, every kernel change is also reported as its ip/nft/sysctl command. */
    public Bridge(Trace trace) {
        this.trace = trace;
    }

    @Override
    public String name() {
        return "bridge";
    }

    @Override
    public Set<String> knownArgs() {
        return Set.of("IP", "MAC");
    }

    /** The host end's name: stable per attachment, so a person can find a pod's veth ({@code veth} + 8 hex). */
    static String hostVethName(Invocation inv) {
        long h = 0xcbf29ce484222325L;
        String key = inv.network() + "\0" + inv.containerId() + "\0" + inv.ifname();
        for (int i = 0; i < key.length(); i++) {
            h = (h ^ key.charAt(i)) * 0x100000001b3L;
        }
        return "veth" + hex8(h);
    }

    private static String hex8(long v) {
        String s = Long.toHexString((v & 0xffffffffL) | 0x100000000L);
        return s.substring(1);
    }

    // ------------------------------------------------------------------ ADD

    @Override
    public Result add(Invocation inv) throws CniError {
        BridgeConfig c = BridgeConfig.parse(inv);
        Ipam ipam = c.ipamType == null ? null : Ipam.of(c.ipamType);
        String ifname = inv.ifname();
        boolean vethCreated = false, ipamDone = false, natDone = false;
        String spoofCheckPort = null;
        List<IpPrefix> natted = new ArrayList<>();
        try (RouteNetlink host = RouteNetlink.open(trace); RouteNetlink pod = RouteNetlink.open(inv.netns(), trace)) {
            Link bridge = ensureBridge(host, c);
            if (pod.links().find(ifname).isPresent()) {
                throw new CniError(CniError.INTERFACE_EXISTS, "container veth name (\"" + ifname + "\") already exists",
                        "in " + inv.netnsPath());
            }
            String hostVeth = createVeth(host, inv, c);
            vethCreated = true;
            try {
                // The tag DEL checks before deleting a host veth by name: names can collide, the tag cannot.
                host.links().setAlias(hostVeth, Attachment.alias(inv.network(), inv.containerId(), ifname));
                configureHostPort(host, hostVeth, c);
                if (c.macspoofchk) {
                    spoofCheckPort = hostVeth;
                    new SpoofCheck(trace).add(hostVeth, pod.links().get(ifname).mac());
                }

                Result result;
                if (ipam != null) {
                    Result fromIpam = ipam.add(inv);
                    ipamDone = true;
                    result = assembleL3(c, fromIpam);
                    configureContainer(pod, inv, c, result);
                    if (c.isGateway) {
                        setGatewayAddresses(host, c, result);
                    }
                    if (c.ipMasq) {
                        for (Result.IpConfig ip : result.ips()) {
                            natted.add(ip.address());
                        }
                        natDone = true;
                        masquerade(inv, ipam, natted);
                    }
                } else {
                    result = Result.empty();
                    if (!c.disableContainerInterface) {
                        pod.links().setUp(ifname);
                    }
                }
                if (!c.disableContainerInterface) {
                    waitForOperUp(host, hostVeth);
                }
                Link hostLink = host.links().get(hostVeth);
                Link containerLink = pod.links().get(ifname);
                Link br = host.links().get(bridge.name());
                List<Result.Interface> ifs = new ArrayList<>();
                ifs.add(new Result.Interface(br.name(), String.valueOf(br.mac()), null));
                ifs.add(new Result.Interface(hostVeth, String.valueOf(hostLink.mac()), null));
                ifs.add(new Result.Interface(ifname, String.valueOf(containerLink.mac()), inv.netnsPath()));
                return new Result(ifs, result.ips(), result.routes(), c.dns.isEmpty() ? result.dns() : c.dns);
            } catch (CniError | RuntimeException e) {
                // Deleting the container end removes the pair: nothing of this veth stays on the host.
                try {
                    pod.links().deleteIfExists(ifname);
                } catch (KernelException ignored) {
                    inv.log("rollback: could not delete " + ifname + ": " + ignored.getMessage());
                }
                throw e;
            }
        } catch (CniError | RuntimeException e) {
            rollback(inv, c, ipam, ipamDone, natDone, natted);
            if (spoofCheckPort != null) {
                try {
                    new SpoofCheck(trace).remove(List.of(spoofCheckPort));
                } catch (RuntimeException r) {
                    inv.log("rollback: could not remove the spoof check of " + spoofCheckPort + ": " + r.getMessage());
                }
            }
            throw e;
        }
    }

    /**
     * Masquerades the pod's addresses, under the IPAM store's lock when IPAM is the in-process
     * host-local (so GC's comparison of NAT elements with reservations never sees half an ADD).
     * When the table's objects were missing (a flushed ruleset, a deleted table, chain or set),
     * the elements of every pod of this network are put back too, derived from the store: each
     * reservation's address, its owner, and the configured subnet that holds it.
     */
    private void masquerade(Invocation inv, Ipam ipam, List<IpPrefix> addresses) throws CniError {
        String owner = Attachment.comment(inv.network(), inv.containerId(), inv.ifname());
        List<Masquerade.Entry> entries = new ArrayList<>();
        for (IpPrefix p : addresses) {
            entries.add(new Masquerade.Entry(p, owner));
        }
        Masquerade m = new Masquerade(trace);
        HostLocalStore store = ipam instanceof Ipam.InProcess ? HostLocalStore.of(inv) : null;
        try (Fd lock = store == null ? null : store.lock()) {
            if (lock != null && !m.missing(List.of()).isEmpty()) {
                List<IpPrefix> subnets = HostLocalStore.subnets(inv);
                for (Map.Entry<IpAddress, String> r : store.owners(inv.network()).entrySet()) {
                    if (r.getValue().equals(owner)) {
                        continue;
                    }
                    for (IpPrefix net : subnets) {
                        if (net.contains(r.getKey())) {
                            entries.add(new Masquerade.Entry(new IpPrefix(r.getKey(), net.length()), r.getValue()));
                            inv.log("ADD: restoring the NAT elements of " + r.getKey() + " (" + r.getValue() + ")");
                            break;
                        }
                    }
                }
            }
            m.add(entries);
        }
    }

    /** Removes the NAT elements of this attachment (by owner, never by address), under the store's lock. */
    private void unmasquerade(Invocation inv, Ipam ipam) throws CniError {
        HostLocalStore store = ipam instanceof Ipam.InProcess ? HostLocalStore.of(inv) : null;
        try (Fd lock = store == null ? null : store.lock()) {
            new Masquerade(trace).removeOwner(Attachment.comment(inv.network(), inv.containerId(), inv.ifname()));
        }
    }

    private void rollback(Invocation inv, BridgeConfig c, Ipam ipam, boolean ipamDone, boolean natDone, List<IpPrefix> natted) {
        if (natDone) {
            try {
                unmasquerade(inv, ipam);
            } catch (CniError | RuntimeException e) {
                inv.log("rollback: could not remove NAT elements: " + e.getMessage());
            }
        }
        if (ipamDone) {
            try {
                ipam.del(inv);
            } catch (CniError | RuntimeException e) {
                inv.log("rollback: IPAM release failed: " + e.getMessage());
            }
        }
    }

    /** Creates the bridge unless it exists (a concurrent ADD may create it first: EEXIST is fine). */
    private Link ensureBridge(RouteNetlink host, BridgeConfig c) throws CniError {
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
            throw new CniError(CniError.INVALID_NETWORK_CONFIG, "\"" + c.bridge + "\" already exists but is not a bridge",
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

    /** The veth pair: host end on the bridge and up, container end born in the pod as CNI_IFNAME. */
    private String createVeth(RouteNetlink host, Invocation inv, BridgeConfig c) throws CniError {
        String name = hostVethName(inv);
        for (int attempt = 0; ; attempt++) {
            LinkSpec spec = LinkSpec.veth(name, inv.ifname()).peerNetns(inv.netns()).master(c.bridge).up();
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
                    throw new CniError(CniError.INTERFACE_EXISTS, "could not find a free host veth name", e.getMessage());
                }
                // The stable name is taken (hash collision, or a link someone else made): use a random one.
                name = "veth" + hex8(ThreadLocalRandom.current().nextLong());
            }
        }
    }

    private void configureHostPort(RouteNetlink host, String hostVeth, BridgeConfig c) {
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

    /** IPAM's result with interface indexes, gateways and (isDefaultGateway) default routes filled in. */
    private static Result assembleL3(BridgeConfig c, Result ipam) throws CniError {
        if (ipam.ips().isEmpty()) {
            throw new CniError(CniError.DELEGATE_FAILED, "IPAM plugin returned missing IP config");
        }
        List<Result.IpConfig> ips = new ArrayList<>();
        List<Result.RouteEntry> routes = new ArrayList<>(ipam.routes());
        for (Result.IpConfig ip : ipam.ips()) {
            Result.IpConfig x = ip.withInterface(2);
            if (x.gateway() == null && c.isGateway) {
                x = x.withGateway(ip.address().network().address().next());
            }
            ips.add(x);
        }
        if (c.isDefaultGateway) {
            for (Result.IpConfig ip : ips) {
                boolean v4 = ip.address().isV4();
                boolean have = false;
                for (Result.RouteEntry r : routes) {
                    if (r.dst().isV4() == v4 && r.dst().length() == 0 && r.gw() != null) {
                        have = true;
                    }
                }
                if (!have && ip.gateway() != null) {
                    routes.add(new Result.RouteEntry(IpPrefix.parse(v4 ? "0.0.0.0/0" : "::/0"), ip.gateway()));
                }
            }
        }
        return new Result(null, ips, routes, ipam.dns());
    }

    /** Inside the pod: sysctls, addresses, link up, routes. */
    private void configureContainer(RouteNetlink pod, Invocation inv, BridgeConfig c, Result result) throws CniError {
        String ifname = inv.ifname();
        boolean v4 = false, v6 = false;
        for (Result.IpConfig ip : result.ips()) {
            v4 |= ip.address().isV4();
            v6 |= !ip.address().isV4();
        }
        List<String[]> sysctls = new ArrayList<>();
        if (v4) {
            sysctls.add(new String[] {"net/ipv4/conf/" + ifname + "/arp_notify", "1"});
        }
        if (v6) {
            sysctls.add(new String[] {"net/ipv6/conf/lo/disable_ipv6", "0"});
            sysctls.add(new String[] {"net/ipv6/conf/" + ifname + "/disable_ipv6", "0"});
            sysctls.add(new String[] {"net/ipv6/conf/" + ifname + "/keep_addr_on_down", "1"});
            sysctls.add(new String[] {"net/ipv6/conf/" + ifname + "/accept_dad", c.enabledad ? "1" : "0"});
            if (c.enabledad) {
                sysctls.add(new String[] {"net/ipv6/conf/" + ifname + "/enhanced_dad", "1"});
            }
        }
        writeSysctls(inv.netns(), sysctls);
        for (Result.IpConfig ip : result.ips()) {
            pod.addresses().add(ifname, ip.address(), ip.address().isV4() || c.enabledad ? 0 : Addresses.NO_DAD);
        }
        pod.links().setUp(ifname);
        if (v6 && c.enabledad) {
            waitForDad(pod, ifname);
        }
        for (Result.RouteEntry r : result.routes()) {
            IpAddress gw = r.gw();
            if (gw == null) {
                for (Result.IpConfig ip : result.ips()) {
                    if (ip.gateway() != null && ip.gateway().isV4() == r.dst().isV4()) {
                        gw = ip.gateway();
                        break;
                    }
                }
            }
            Route route = Route.to(r.dst()).dev(ifname);
            if (gw != null) {
                route = route.via(gw);
            }
            if (r.priority() != null) {
                route = route.metric(r.priority());
            }
            if (r.table() != null) {
                route = route.table(r.table());
            }
            if (r.scope() != null) {
                route = route.scope(r.scope());
            }
            try {
                pod.routes().add(route);
            } catch (ObjectExistsException already) {
                // the kernel added it with the address (a connected route), or a duplicate entry in the result
            }
        }
    }

    private void writeSysctls(NetNs ns, List<String[]> sysctls) {
        if (sysctls.isEmpty()) {
            return;
        }
        ns.run(new NetNs.Work<Void>() {
            @Override
            public Void run() {
                for (String[] kv : sysctls) {
                    String path = Sysctl.pathOf(kv[0]);
                    if (KernelFiles.exists(path)) {
                        KernelFiles.writeSmall(path, kv[1]);
                    }
                }
                return null;
            }
        });
        if (trace.enabled()) {
            for (String[] kv : sysctls) {
                trace.command(ns.execPrefix() + "sysctl -w " + kv[0].replace('/', '.') + "=" + kv[1]);
            }
        }
    }

    private static void waitForDad(RouteNetlink pod, String ifname) throws CniError {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (true) {
            boolean tentative = false;
            for (Address a : pod.addresses().list(ifname)) {
                if ((a.flags() & Rtnl.IFA_F_DADFAILED) != 0) {
                    throw new CniError(CniError.KERNEL_REFUSED, "duplicate address detection failed", a.prefix().toString());
                }
                tentative |= !a.prefix().isV4() && a.isTentative();
            }
            if (!tentative) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new CniError(CniError.TRY_AGAIN_LATER, "IPv6 addresses still tentative after 5 s", ifname);
            }
            sleep(50);
        }
    }

    /** Puts each gateway on the bridge (gateway/prefix of its pod subnet) and turns on forwarding. */
    private void setGatewayAddresses(RouteNetlink host, BridgeConfig c, Result result) throws CniError {
        boolean v4 = false, v6 = false;
        for (Result.IpConfig ip : result.ips()) {
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
                        throw new CniError(CniError.INVALID_NETWORK_CONFIG,
                                "\"" + c.bridge + "\" already has an IP address different from " + want, "it has " + have
                                + " (set forceAddress to replace it)");
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
    private static void waitForOperUp(RouteNetlink host, String hostVeth) throws CniError {
        int[] waits = {0, 50, 500, 1000, 1000};
        Link l = null;
        for (int w : waits) {
            sleep(w);
            l = host.links().get(hostVeth);
            if (l.operStateName().equals("UP")) {
                return;
            }
        }
        throw new CniError(CniError.KERNEL_REFUSED, "bridge port in error state: " + l.operStateName(), hostVeth);
    }

    private static void sleep(long ms) {
        if (ms <= 0) {
            return;
        }
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ------------------------------------------------------------------ DEL

    /**
     * Best effort, idempotent: every step runs even if an earlier one failed, and the errors are
     * reported together at the end. A host veth is deleted by name only when its alias is this
     * attachment's tag (a name can be another pod's: hashes collide), and NAT elements are removed
     * by their owner, never by address (the address may belong to another pod by now).
     */
    @Override
    public void del(Invocation inv) throws CniError {
        BridgeConfig c = BridgeConfig.parse(inv);
        Ipam ipam = c.ipamType == null ? null : Ipam.of(c.ipamType);
        String tag = Attachment.alias(inv.network(), inv.containerId(), inv.ifname());
        List<String> errors = new ArrayList<>();
        // Candidates, best first: the host end named in prevResult, the container end's peer, the stable name.
        List<String> hostVeths = new ArrayList<>();
        try {
            Result prev = inv.prevResult();
            if (prev != null) {
                for (Result.Interface i : prev.interfaces()) {
                    if ((i.sandbox() == null || i.sandbox().isEmpty()) && !i.name().equals(c.bridge) && !hostVeths.contains(i.name())) {
                        hostVeths.add(i.name());
                    }
                }
            }
        } catch (CniError e) {
            inv.log("DEL: ignoring unreadable prevResult: " + e.getMessage());
        }
        if (inv.netns() != null) {
            try (RouteNetlink pod = RouteNetlink.open(inv.netns(), trace)) {
                java.util.Optional<Link> container = pod.links().find(inv.ifname());
                if (container.isPresent()) {
                    String peer = hostPeer(container.get());
                    if (peer != null && !hostVeths.contains(peer)) {
                        hostVeths.add(peer);
                    }
                    pod.links().deleteIfExists(inv.ifname());
                }
            } catch (KernelException e) {
                errors.add("delete " + inv.ifname() + ": " + e.getMessage());
            }
        }
        if (!hostVeths.contains(hostVethName(inv))) {
            hostVeths.add(hostVethName(inv));
        }
        // Namespace unreachable (CNI_NETNS empty, or gone while the kernel still tears it down):
        // delete the host end, which removes the pair, so no veth stays on the bridge.
        List<String> ours = new ArrayList<>();
        try (RouteNetlink host = RouteNetlink.open(trace)) {
            for (String name : hostVeths) {
                Link l = host.links().find(name).orElse(null);
                if (l == null) {
                    ours.add(name); // gone: what the spoof check still holds under this name was ours
                } else if ("veth".equals(l.kind()) && tag.equals(l.alias())) {
                    host.links().deleteIfExists(name);
                    ours.add(name);
                } else {
                    inv.log("DEL: leaving " + name + " alone: it is not this attachment's (alias "
                            + (l.alias() == null ? "none" : "\"" + l.alias() + "\"") + ")");
                }
            }
        } catch (KernelException e) {
            errors.add("delete host veth: " + e.getMessage());
        }
        // NAT before IPAM: if DEL dies in between, the retry still finds the elements by their owner.
        if (c.ipMasq) {
            try {
                unmasquerade(inv, ipam);
            } catch (KernelException e) {
                errors.add("NAT: " + e.getMessage());
            }
        }
        if (ipam != null) {
            try {
                ipam.del(inv);
            } catch (CniError e) {
                errors.add("IPAM: " + e.getMessage());
            } catch (RuntimeException e) {
                errors.add("IPAM: " + e);
            }
        }
        if (c.macspoofchk && !ours.isEmpty()) {
            try {
                new SpoofCheck(trace).remove(ours);
            } catch (KernelException e) {
                errors.add("macspoofchk: " + e.getMessage());
            }
        }
        if (!errors.isEmpty()) {
            throw new CniError(CniError.KERNEL_REFUSED, "DEL could not remove everything", String.join("; ", errors));
        }
    }

    /**
     * The host end of a container veth, or null. The peer index is only meaningful in the
     * namespace the container end names as its peer's: the link found under that index in the
     * host namespace must be a veth whose own peer is this container end, in another namespace.
     */
    private static String hostPeer(Link container) {
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

    // ------------------------------------------------------------------ CHECK

    @Override
    public void check(Invocation inv) throws CniError {
        BridgeConfig c = BridgeConfig.parse(inv);
        Result prev = inv.prevResult();
        if (prev == null) {
            throw CniError.invalidConfig("Required prevResult missing");
        }
        Ipam ipam = c.ipamType == null ? null : Ipam.of(c.ipamType);
        if (ipam != null) {
            ipam.check(inv);
        }
        try (RouteNetlink host = RouteNetlink.open(Trace.OFF); RouteNetlink pod = RouteNetlink.open(inv.netns(), Trace.OFF)) {
            Link br = host.links().find(c.bridge).orElseThrow(() -> failed("bridge " + c.bridge + " does not exist"));
            if (!"bridge".equals(br.kind())) {
                throw failed("\"" + c.bridge + "\" is not a bridge");
            }
            if (c.promiscMode && !br.isPromiscuous()) {
                throw failed("bridge " + c.bridge + " is not in promiscuous mode");
            }
            Result.Interface container = null;
            for (Result.Interface i : prev.interfaces()) {
                if (i.name().equals(inv.ifname()) && inv.netnsPath().equals(i.sandbox())) {
                    container = i;
                }
                if (i.name().equals(c.bridge) && i.mac() != null && !i.mac().equalsIgnoreCase(String.valueOf(br.mac()))) {
                    throw failed("bridge " + c.bridge + " has MAC " + br.mac() + ", the result says " + i.mac());
                }
            }
            if (container == null) {
                throw failed("prevResult has no interface " + inv.ifname() + " in sandbox " + inv.netnsPath());
            }
            Link cl = pod.links().find(inv.ifname()).orElseThrow(() -> failed("interface " + inv.ifname() + " is missing in " + inv.netnsPath()));
            if (!"veth".equals(cl.kind())) {
                throw failed(inv.ifname() + " is not a veth");
            }
            if (container.mac() != null && !container.mac().equalsIgnoreCase(String.valueOf(cl.mac()))) {
                throw failed(inv.ifname() + " has MAC " + cl.mac() + ", the result says " + container.mac());
            }
            Link peer;
            try {
                peer = host.links().get(cl.peerIndex());
            } catch (NoSuchObjectException e) {
                throw failed("the host end of " + inv.ifname() + " is missing");
            }
            if (peer.masterIndex() != br.index()) {
                throw failed("host veth " + peer.name() + " is not attached to " + c.bridge);
            }
            String tag = Attachment.alias(inv.network(), inv.containerId(), inv.ifname());
            if (!tag.equals(peer.alias())) {
                throw failed("host veth " + peer.name() + " is not tagged as this attachment's (alias "
                        + (peer.alias() == null ? "none" : "\"" + peer.alias() + "\"") + ", expected \"" + tag + "\")");
            }
            if (c.macspoofchk && !new SpoofCheck(Trace.OFF).covers(peer.name(), cl.mac())) {
                throw failed("no MAC spoof check for port " + peer.name() + " and " + cl.mac());
            }
            List<Address> have = pod.addresses().list(inv.ifname());
            for (Result.IpConfig ip : prev.ips()) {
                if (ip.interfaceIndex() != null && ip.interfaceIndex() < prev.interfaces().size()
                        && !prev.interfaces().get(ip.interfaceIndex()).name().equals(inv.ifname())) {
                    continue;
                }
                boolean found = false;
                for (Address a : have) {
                    found |= a.prefix().equals(ip.address());
                }
                if (!found) {
                    throw failed("address " + ip.address() + " is missing on " + inv.ifname());
                }
            }
            List<Route> routes = pod.routes().list(Rtnl.AF_UNSPEC, 0);
            for (Result.RouteEntry r : prev.routes()) {
                boolean found = false;
                for (Route k : routes) {
                    if (k.destination().network().equals(r.dst().network())
                            && (r.gw() == null || r.gw().equals(k.gateway()))) {
                        found = true;
                    }
                }
                if (!found) {
                    throw failed("route " + r.dst() + (r.gw() == null ? "" : " via " + r.gw()) + " is missing");
                }
            }
            if (c.ipMasq && !prev.ips().isEmpty()) {
                String owner = Attachment.comment(inv.network(), inv.containerId(), inv.ifname());
                List<Masquerade.Entry> entries = new ArrayList<>();
                for (Result.IpConfig ip : prev.ips()) {
                    entries.add(new Masquerade.Entry(ip.address(), owner));
                }
                List<String> missing = new Masquerade(Trace.OFF).missing(entries);
                if (!missing.isEmpty()) {
                    throw failed(String.join("; ", missing));
                }
            }
        }
    }

    private static CniError failed(String what) {
        return new CniError(CniError.CHECK_FAILED, "CHECK failed", what);
    }

    // ------------------------------------------------------------------ GC, STATUS

    /**
     * Forwards GC to IPAM, then drops the network's NAT elements whose (address, owner) is no
     * longer a reservation — read under the store's lock, so an ADD or DEL cannot change the
     * reservations or the elements between the read and the removal.
     */
    @Override
    public void gc(Invocation inv) throws CniError {
        BridgeConfig c = BridgeConfig.parse(inv);
        if (c.ipamType == null) {
            return;
        }
        Ipam ipam = Ipam.of(c.ipamType);
        List<String> errors = new ArrayList<>();
        try {
            ipam.gc(inv);
        } catch (CniError e) {
            errors.add("IPAM: " + e.getMessage());
        }
        if (c.ipMasq) {
            if (ipam instanceof Ipam.InProcess) {
                HostLocalStore store = HostLocalStore.of(inv);
                try (Fd lock = store.lock()) {
                    Map<IpAddress, String> held = lock == null ? Map.of() : store.owners(inv.network());
                    for (IpAddress gone : new Masquerade(trace).retainOnly(inv.network(), held)) {
                        inv.log("GC: removed the NAT elements of " + gone);
                    }
                } catch (KernelException | java.io.UncheckedIOException e) {
                    errors.add("NAT: " + e.getMessage());
                }
            } else {
                inv.log("GC: IPAM " + c.ipamType + " cannot list its reservations; NAT elements left as they are");
            }
        }
        if (!errors.isEmpty()) {
            throw new CniError(CniError.KERNEL_REFUSED, "GC could not remove everything", String.join("; ", errors));
        }
    }

    /** Ready when the kernel has what ADD needs (nf_tables for ipMasq) and IPAM is ready. */
    @Override
    public void status(Invocation inv) throws CniError {
        BridgeConfig c = BridgeConfig.parse(inv);
        if (c.ipMasq) {
            try {
                Masquerade.probe();
            } catch (KernelException e) {
                throw new CniError(CniError.PLUGIN_NOT_AVAILABLE, "nftables is not usable", e.getMessage());
            }
        }
        if (c.ipamType != null) {
            Ipam.of(c.ipamType).status(inv);
        }
    }
}
