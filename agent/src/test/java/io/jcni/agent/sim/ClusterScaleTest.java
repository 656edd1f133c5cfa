package io.jcni.agent.sim;

import static org.junit.jupiter.api.Assertions.*;

import io.jcni.agent.Dataplane;
import io.jcni.agent.JvmOptions;
import io.jcni.agent.Lease;
import io.jcni.netlink.Trace;
import io.jcni.netlink.ns.NetNs;
import io.jcni.netlink.route.Route;
import io.jcni.netlink.route.RouteNetlink;
import io.jcni.netlink.route.Rtnl;
import io.jcni.testkit.Commands;
import io.jcni.testkit.TestNames;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The scale benchmark's set-up, small and for correctness only: an agent started against an etcd
 * holding 200 leases written by {@link LeaseWriter}'s {@code fill} programs every one of them
 * (route, neighbour, FDB entry), and removes exactly the objects of a lease deleted afterwards.
 */
class ClusterScaleTest {
    private static final int LEASES = 200;

    @Test
    void anAgentProgramsEveryLeaseOfAFilledEtcdAndRemovesADeletedOne() throws Exception {
        String run = ClusterScale.PREFIX + TestNames.RUN;
        Path base = Files.createTempDirectory(run + "-");
        StringBuilder simLog = new StringBuilder();
        try (SimulatedCluster sim = SimulatedCluster.create(run + "t", base.resolve("sim"), Trace.OFF, line -> {
            synchronized (simLog) {
                simLog.append(line).append('\n');
            }
        })) {
            EtcdMembers etcd = sim.startEtcd(1);
            etcd.etcdctl(
                    "put",
                    ClusterBench.ETCD_PREFIX + "/config",
                    "{\"Network\":\"10.244.0.0/16\",\"SubnetLen\":" + ClusterScale.SUBNET_LEN
                            + ",\"Backend\":{\"Type\":\"vxlan\",\"VNI\":" + ClusterScale.VNI + "}}");
            try (ClusterBench.LeaseWriterProcess writer = new ClusterBench.LeaseWriterProcess(etcd)) {
                writer.command("fill " + LEASES + " " + ClusterScale.SUBNET_LEN + " " + ClusterScale.VNI);
                Node node = sim.addNode("n1", 1);
                ClusterScale.prepare(node, true);
                List<String> cmd = new ArrayList<>(SimulatedCluster.javaCommand(
                        "io.jcni.agent.AgentMain", "agent", "--etcd-endpoints", etcd.endpoints(), "--iface", "eth0"));
                cmd.addAll(1, JvmOptions.agent());
                AgentProcess agent = node.startAgent(cmd, base.resolve("agent.log"));
                try (NetNs ns = NetNs.openNamed(node.netns());
                        RouteNetlink nl = RouteNetlink.open(ns, Trace.OFF)) {
                    int[][] seen = {null};
                    boolean all = Procs.await(
                            () -> {
                                seen[0] = ClusterScale.count(nl, true);
                                return seen[0][0] == LEASES && seen[0][1] == LEASES && seen[0][2] == LEASES;
                            },
                            Duration.ofSeconds(90));
                    assertTrue(
                            all,
                            "routes, neighbours, FDB entries: " + Arrays.toString(seen[0]) + "; the agent's log:\n"
                                    + agent.logText());

                    Lease gone = LeaseWriter.fake(
                            0, ClusterScale.SUBNET_LEN, ClusterScale.VNI); // the node came after the fill: it is there
                    assertTrue(hasRoute(nl, gone), gone.subnet() + " routed");
                    writer.command("del " + gone.subnet());
                    boolean removed = Procs.await(
                            () -> {
                                seen[0] = ClusterScale.count(nl, true);
                                return !hasRoute(nl, gone)
                                        && seen[0][0] == LEASES - 1
                                        && seen[0][1] == LEASES - 1
                                        && seen[0][2] == LEASES - 1;
                            },
                            Duration.ofSeconds(30));
                    assertTrue(
                            removed,
                            "after deleting " + gone.subnet() + ": " + Arrays.toString(seen[0]) + "; the agent's log:\n"
                                    + agent.logText());
                    String device = Dataplane.vxlanDevice(ClusterScale.VNI);
                    assertFalse(
                            nl.neighbours().list(device).stream()
                                    .anyMatch(n ->
                                            n.address().equals(gone.subnet().address())),
                            "its neighbour gone");
                    assertFalse(
                            nl.neighbours().listFdb(device).stream()
                                    .anyMatch(e -> e.mac().equals(gone.vtepMac())),
                            "its FDB entry gone");
                    assertTrue(
                            hasRoute(nl, LeaseWriter.fake(1, ClusterScale.SUBNET_LEN, ClusterScale.VNI)),
                            "the others stay");

                    // a lease joining a running agent: programmed on its own (the agent logs it as a pass of 3 changes)
                    Lease joins = LeaseWriter.fake(LEASES + 10, ClusterScale.SUBNET_LEN, ClusterScale.VNI);
                    writer.command("put " + joins.subnet() + " " + joins.publicIp() + " " + joins.vtepMac() + " "
                            + ClusterScale.VNI);
                    boolean added = Procs.await(
                            () -> {
                                seen[0] = ClusterScale.count(nl, true);
                                return hasRoute(nl, joins)
                                        && seen[0][0] == LEASES
                                        && seen[0][1] == LEASES
                                        && seen[0][2] == LEASES;
                            },
                            Duration.ofSeconds(30));
                    assertTrue(
                            added,
                            "after adding " + joins.subnet() + ": " + Arrays.toString(seen[0]) + "; the agent's log:\n"
                                    + agent.logText());
                }
                assertTrue(agent.alive(), "the agent still runs");
            }
        } finally {
            Commands.run("rm", "-rf", base.toString());
        }
    }

    private static boolean hasRoute(RouteNetlink nl, Lease l) {
        for (Route r : nl.routes().list(Rtnl.AF_INET, Rtnl.RT_TABLE_MAIN)) {
            if (r.protocol() == Dataplane.ROUTE_PROTOCOL && r.destination().equals(l.subnet())) {
                return true;
            }
        }
        return false;
    }
}
