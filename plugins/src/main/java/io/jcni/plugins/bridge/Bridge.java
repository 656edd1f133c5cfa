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
import io.jcni.netlink.route.RouteEvents;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.netlink.route.Rtnl;
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
        HostSide hostSide = new HostSide(trace);
        HostSide.VethSweep[] sweep = {null};
        teardown.run("find the host veth", () -> sweep[0] = hostSide.findTagged(hostVeths, inv, inv::log));
        List<String> ours = new ArrayList<>(sweep[0] == null ? List.of() : sweep[0].ours());
        List<Link> tagged = sweep[0] == null ? List.of() : sweep[0].tagged();
        // Deleting a tagged host end removes the pair (the container end with it), and the pod's
        // namespace is never entered. The kernel's answer to that request comes only after it has
        // waited for RCU grace periods and for the last references to the two devices (tens of ms,
        // most of a DEL, on no CPU); but the pair is gone for everyone, its addresses, routes and
        // bridge port with it, as soon as the kernel announces the RTM_DELLINK, which comes before
        // those waits. So the request runs on a thread of its own, the NAT elements are removed
        // meanwhile, and DEL goes on at the announcement. (With a trace, which reports the deletion
        // once the kernel has answered, DEL waits for that answer.)
        RouteEvents links = tagged.isEmpty() || trace.enabled() ? null : linkEvents(inv);
        try {
            Teardown.Alongside delete =
                    tagged.isEmpty() ? null : teardown.alongside("delete host veth", () -> hostSide.delete(tagged));
            if (c.ipMasq) {
                teardown.run("NAT", () -> new PodNat(trace, inv, ipam).remove(addresses));
            }
            if (delete == null) {
                // no tagged host end under its candidate names: through the pod's namespace
                deleteThroughPod(inv, hostSide, ours, teardown);
            } else if (links == null) {
                delete.join();
            } else {
                awaitUnregistered(links, tagged, delete);
            }
        } finally {
            if (links != null) {
                links.close();
            }
        }
        // The address is released once the pair is gone: until then the old pod's interface holds it.
        // NAT before IPAM: if DEL dies in between, the retry still finds the elements by their owner.
        if (ipam != null) {
            teardown.run("IPAM", () -> ipam.del(inv));
        }
        if (c.macspoofchk && !ours.isEmpty()) {
            teardown.run("macspoofchk", () -> new SpoofCheck(trace).remove(ours));
        }
        teardown.finish(CniError.KERNEL_REFUSED);
    }

    /**
     * Link notifications of the host's namespace, opened before the deletion so that its
     * announcement cannot be missed; null (DEL then waits for the kernel's answer) when the
     * kernel refuses the subscription.
     */
    private static RouteEvents linkEvents(Invocation inv) {
        try {
            return RouteEvents.openLinks(null, 5);
        } catch (RuntimeException e) {
            inv.log("DEL: no link notifications (" + e.getMessage() + "): waiting for the kernel's answer");
            return null;
        }
    }

    /**
     * Returns when the kernel has announced the unregistering of every veth in {@code veths}
     * (RTM_DELLINK by index), or when {@code delete} has ended (then its outcome is recorded). A
     * request the kernel announced cannot fail any more (a refusal comes before the unregister): a
     * deletion still running then ends on its own, in the kernel, with nothing left to report.
     */
    private static void awaitUnregistered(RouteEvents links, List<Link> veths, Teardown.Alongside delete) {
        java.util.Set<Integer> pending = new java.util.HashSet<>();
        veths.forEach(l -> pending.add(l.index()));
        while (!pending.isEmpty() && !delete.isDone()) {
            List<RouteEvents.Change> changes;
            try {
                changes = links.next();
            } catch (RuntimeException e) {
                break; // the notifications failed: wait for the request's own answer
            }
            if (changes == null) {
                continue; // none within 5 ms: look at the request again
            }
            if (changes.isEmpty()) {
                break; // notifications were dropped: wait for the request's own answer
            }
            for (RouteEvents.Change ch : changes) {
                if (ch.type() == Rtnl.RTM_DELLINK) {
                    pending.remove(ch.linkIndex());
                }
            }
        }
        if (!pending.isEmpty()) {
            delete.join();
        }
    }

    /**
     * The pair through the pod's namespace, for when no tagged host end was found under its
     * candidate names (it was renamed, or the pair is already gone): deletes the container
     * interface, which takes its peer along, then that peer if it is still there and tagged as
     * ours. Adds the host end's name to {@code ours} (for the spoof check). Without a namespace
     * (CNI_NETNS empty, or gone while the kernel still tears it down) there is nothing left to do.
     */
    private void deleteThroughPod(Invocation inv, HostSide hostSide, List<String> ours, Teardown teardown) {
        if (inv.netns() == null) {
            return;
        }
        String[] peer = {null};
        teardown.run("delete " + inv.ifname(), () -> peer[0] = new PodSide(trace).deleteInterface(inv));
        if (peer[0] != null && !ours.contains(peer[0])) {
            teardown.run("delete host veth", () -> {
                HostSide.VethSweep found = hostSide.findTagged(List.of(peer[0]), inv, inv::log);
                hostSide.delete(found.tagged());
                ours.addAll(found.ours());
            });
        }
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
