package io.jcni.plugins.bridge;

import io.jcni.cni.CniError;
import io.jcni.cni.Invocation;
import io.jcni.cni.Plugin;
import io.jcni.cni.Result;
import io.jcni.cni.Teardown;
import io.jcni.cni.UndoLog;
import io.jcni.netlink.KernelException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ip.IpPrefix;
import io.jcni.netlink.route.Link;
import io.jcni.netlink.route.RouteNetlink;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * {@code bridge}: a veth per container, its peer born inside the pod and its host end on a Linux
 * bridge; addresses from IPAM; the gateway on the bridge; masquerade through one nftables set
 * element per pod. The work is split along its duties: {@link HostSide} (bridge, host veth,
 * gateway addresses), {@link PodSide} (the container interface, its addresses and routes),
 * {@link PodNat} (masquerade), {@link SpoofCheck}, and {@link BridgeCheck} for CHECK.
 *
 * <p>ADD records an undo step for each change it makes to something that is this attachment's
 * alone (the veth pair, the spoof check, the IPAM reservation, the NAT elements); a failure
 * anywhere unwinds exactly those, in reverse. Each step is recorded just before its change, and
 * is harmless when the change was never made: a change can fail after the kernel applied it
 * (the reply lost, the process stopped), and its undo must still run. What pods share (the bridge, its addresses,
 * forwarding) stays, as it would for the next ADD. DEL keeps going past errors and reports them
 * all at the end.
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

    // ------------------------------------------------------------------ ADD

    @Override
    public Result add(Invocation inv) throws CniError {
        BridgeConfig c = BridgeConfig.parse(inv);
        Ipam ipam = c.ipamType == null ? null : Ipam.of(c.ipamType);
        HostSide hostSide = new HostSide(trace);
        PodSide podSide = new PodSide(trace);
        String ifname = inv.ifname();
        UndoLog undo = new UndoLog();
        try (RouteNetlink host = RouteNetlink.open(trace);
                RouteNetlink pod = RouteNetlink.open(inv.netns(), trace)) {
            try {
                Link bridge = hostSide.ensureBridge(host, c);
                if (pod.links().find(ifname).isPresent()) {
                    throw new CniError(
                            CniError.INTERFACE_EXISTS,
                            "container veth name (\"" + ifname + "\") already exists",
                            "in " + inv.netnsPath());
                }
                // The pod had no such interface, so whatever has that name there later is this ADD's.
                // Deleting it removes the pair, and with the container end go its addresses and routes.
                undo.record(
                        "delete " + ifname + " in " + inv.netnsPath(),
                        () -> pod.links().deleteIfExists(ifname));
                String hostVeth = hostSide.createVeth(host, inv, c);
                hostSide.configurePort(host, hostVeth, inv, c);
                if (c.macspoofchk) {
                    undo.record(
                            "remove the spoof check of " + hostVeth,
                            () -> new SpoofCheck(trace).remove(List.of(hostVeth)));
                    new SpoofCheck(trace).add(hostVeth, pod.links().get(ifname).mac());
                }

                Result l3 = Result.empty();
                if (ipam != null) {
                    // IPAM releases by owner (container ID and ifname): safe even if the reservation was never made
                    undo.record("release the IPAM reservation", () -> ipam.del(inv));
                    Result fromIpam = ipam.add(inv);
                    l3 = PodSide.assembleL3(c, fromIpam);
                    podSide.configure(pod, inv, c, l3);
                    if (c.isGateway) {
                        hostSide.setGatewayAddresses(host, c, l3.ips());
                    }
                    if (c.ipMasq) {
                        List<IpPrefix> addresses = new ArrayList<>();
                        for (Result.IpConfig ip : l3.ips()) {
                            addresses.add(ip.address());
                        }
                        PodNat nat = new PodNat(trace, inv, ipam);
                        undo.record("remove the NAT elements", () -> nat.remove(addresses));
                        nat.add(addresses);
                    }
                } else if (!c.disableContainerInterface) {
                    pod.links().setUp(ifname);
                }
                if (!c.disableContainerInterface) {
                    HostSide.waitForOperUp(host, hostVeth);
                }
                Link hostLink = host.links().get(hostVeth);
                Link containerLink = pod.links().get(ifname);
                Link br = host.links().get(bridge.name());
                List<Result.Interface> ifs = new ArrayList<>();
                ifs.add(new Result.Interface(br.name(), String.valueOf(br.mac()), null));
                ifs.add(new Result.Interface(hostVeth, String.valueOf(hostLink.mac()), null));
                ifs.add(new Result.Interface(ifname, String.valueOf(containerLink.mac()), inv.netnsPath()));
                return new Result(ifs, l3.ips(), l3.routes(), c.dns.isEmpty() ? l3.dns() : c.dns);
            } catch (CniError | RuntimeException e) {
                undo.unwind(e, inv::log);
                throw e;
            }
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
        Teardown teardown = new Teardown("DEL");
        // Candidates for the host end, best first: the one named in prevResult, then the stable name.
        List<String> hostVeths = new ArrayList<>();
        List<IpPrefix> addresses = new ArrayList<>();
        try {
            Result prev = inv.prevResult();
            if (prev != null) {
                for (Result.Interface i : prev.interfaces()) {
                    if ((i.sandbox() == null || i.sandbox().isEmpty())
                            && !i.name().equals(c.bridge)) {
                        addOnce(hostVeths, i.name());
                    }
                }
                for (Result.IpConfig ip : prev.ips()) {
                    addresses.add(ip.address());
                }
            }
        } catch (CniError e) {
            inv.log("DEL: ignoring unreadable prevResult: " + e.getMessage());
        }
        addOnce(hostVeths, HostSide.hostVethName(inv));
        // The pair's unregister waits in the kernel for RCU grace periods (about 20 ms, most of a DEL)
        // without using a CPU; the NAT elements do not depend on it and are removed meanwhile. The
        // address is released only once the pair is gone: until then it is still on the old pod's interface.
        List<String> ours = new ArrayList<>();
        Teardown.Alongside pair =
                teardown.alongside("delete the veth pair", () -> ours.addAll(deletePair(inv, hostVeths, teardown)));
        // NAT before IPAM: if DEL dies in between, the retry still finds the elements by their owner.
        if (c.ipMasq) {
            teardown.run("NAT", () -> new PodNat(trace, inv, ipam).remove(addresses));
        }
        pair.join();
        if (ipam != null) {
            teardown.run("IPAM", () -> ipam.del(inv));
        }
        if (c.macspoofchk && !ours.isEmpty()) {
            teardown.run("macspoofchk", () -> new SpoofCheck(trace).remove(ours));
        }
        teardown.finish(CniError.KERNEL_REFUSED);
    }

    /**
     * Deletes the attachment's veth pair; returns the host end's names that were this attachment's
     * (for the spoof check). The host end is looked for first, in the host's own namespace, under
     * its candidate names: deleting a tagged one removes the container end with it, and the pod's
     * namespace is never entered (no thread to enter it, no socket in it). Only when none is left
     * (its name is not among the candidates, or the pair is already gone) is the container
     * interface deleted in the pod's namespace, and then its peer if that is tagged as ours.
     * Without a namespace (CNI_NETNS empty, or gone while the kernel still tears it down) the
     * host end is all there is to delete.
     */
    private List<String> deletePair(Invocation inv, List<String> hostVeths, Teardown teardown) {
        HostSide hostSide = new HostSide(trace);
        List<String> ours = new ArrayList<>();
        HostSide.VethSweep[] sweep = {null};
        teardown.run("delete host veth", () -> sweep[0] = hostSide.deleteTaggedVeths(hostVeths, inv, inv::log));
        if (sweep[0] != null) {
            ours.addAll(sweep[0].ours());
            if (sweep[0].deletedOne()) {
                return ours;
            }
        }
        if (inv.netns() != null) {
            String[] peer = {null};
            teardown.run("delete " + inv.ifname(), () -> peer[0] = new PodSide(trace).deleteInterface(inv));
            if (peer[0] != null && !ours.contains(peer[0])) {
                teardown.run(
                        "delete host veth",
                        () -> ours.addAll(hostSide.deleteTaggedVeths(List.of(peer[0]), inv, inv::log)
                                .ours()));
            }
        }
        return ours;
    }

    private static void addOnce(List<String> names, String name) {
        if (name != null && !names.contains(name)) {
            names.add(name);
        }
    }

    // ------------------------------------------------------------------ CHECK, GC, STATUS

    @Override
    public void check(Invocation inv) throws CniError {
        BridgeConfig c = BridgeConfig.parse(inv);
        BridgeCheck.check(inv, c, c.ipamType == null ? null : Ipam.of(c.ipamType));
    }

    /** Forwards GC to IPAM, then drops the network's NAT elements whose (address, owner) is no longer a reservation. */
    @Override
    public void gc(Invocation inv) throws CniError {
        BridgeConfig c = BridgeConfig.parse(inv);
        if (c.ipamType == null) {
            return;
        }
        Ipam ipam = Ipam.of(c.ipamType);
        Teardown teardown = new Teardown("GC");
        teardown.run("IPAM", () -> ipam.gc(inv));
        if (c.ipMasq) {
            teardown.run("NAT", () -> new PodNat(trace, inv, ipam).collectGarbage());
        }
        teardown.finish(CniError.KERNEL_REFUSED);
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
