package io.jcni.agent.cluster;

import static io.jcni.agent.cluster.ClusterRig.agentRoutes;
import static org.junit.jupiter.api.Assertions.*;

import io.jcni.agent.Dataplane;
import io.jcni.agent.Handoff;
import io.jcni.agent.sim.AgentProcess;
import io.jcni.agent.sim.Node;
import io.jcni.testkit.Commands;
import java.nio.file.Files;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What an agent that cannot join says, and that it leaves its node untouched: no device, no route,
 * no nftables table, no hand-off (so kubelet never sees a network that does not work). Then, once
 * the cause is gone, it joins by itself.
 */
class ClusterErrorsTest {

    @BeforeAll
    static void removeWhatCrashedRunsLeft() {
        ClusterRig.removeStale();
    }

    @AfterAll
    static void nothingLeft() {
        ClusterRig.assertNothingLeft();
    }

    @Test
    void anAgentThatCannotJoinSaysWhyAndChangesNothing() throws Exception {
        try (ClusterRig rig = ClusterRig.create("e", 1)) {
            Node n1 = rig.addNode("n1", 1), n2 = rig.addNode("n2", 2), n3 = rig.addNode("n3", 3);

            // no configuration at all, then a bad one: the key is named, nothing changes
            AgentProcess a1 = rig.startAgent(n1);
            assertTrue(a1.awaitLog("/jcni.io/network/config is missing", Duration.ofSeconds(60)), a1.logText());
            rig.putConfig("{\"Network\":\"10.244.0.0/16\",\"Backend\":{\"Type\":\"vxlan\",\"VNI\":0}}");
            assertTrue(a1.awaitLog("\"Backend.VNI\" 0 is outside", Duration.ofSeconds(30)), a1.logText());
            assertUntouched(n1, a1);

            // an etcd that does not answer (nothing listens at 198.18.0.9): said once, nothing changes
            AgentProcess a2 = rig.startAgent(n2, "--etcd-endpoints", "http://198.18.0.9:2379");
            assertTrue(a2.awaitLog("etcd unreachable", Duration.ofSeconds(60)), a2.logText());
            assertTrue(
                    a2.logText().contains("http://198.18.0.9:2379")
                            && a2.logText().contains("nothing on this node is changed"),
                    a2.logText());
            assertUntouched(n2, a2);

            // a network with room for one node: the second is told it is exhausted
            rig.putConfig("{\"Network\":\"10.244.0.0/23\",\"Backend\":{\"Type\":\"vxlan\"}}");
            rig.awaitReady(n1, Duration.ofSeconds(30)); // the first agent joins as soon as the config is good
            assertEquals(1, rig.leases().size());
            AgentProcess a3 = rig.startAgent(n3);
            assertTrue(a3.awaitLog("no subnet for this node", Duration.ofSeconds(60)), a3.logText());
            assertTrue(a3.logText().contains("10.244.0.0/23"), a3.logText());
            assertUntouched(n3, a3);
            String problems = a3.logText();
            assertEquals(
                    1,
                    problems.split("no subnet for this node", -1).length - 1,
                    "said once, not on every retry:\n" + problems);

            // the first node leaves: the waiting one takes the subnet by itself
            rig.agent(n1).stop();
            assertEquals(0, rig.cluster(n1, "leave").exitCode());
            rig.awaitReady(n3, Duration.ofSeconds(60));
            assertFalse(Files.exists(n1.cniConfDir().resolve(Handoff.CONFLIST)), "leave removed n1's hand-off");
            assertFalse(ClusterRig.linkExists(n1, Dataplane.vxlanDevice(1)), "and its device");
        }
    }

    /** Nothing of the cluster network exists on {@code node}, and its agent still runs (it retries). */
    private static void assertUntouched(Node node, AgentProcess agent) {
        assertTrue(agent.alive(), "the agent keeps retrying:\n" + agent.logText());
        assertFalse(Files.exists(node.cniConfDir().resolve(Handoff.CONFLIST)), "no conflist");
        assertFalse(Files.exists(node.runDir().resolve("subnet.env")), "no subnet.env");
        assertFalse(ClusterRig.linkExists(node, Dataplane.vxlanDevice(1)), "no VXLAN device");
        assertEquals(0, agentRoutes(node).size(), "no route");
        assertFalse(nodeHasTable(node), "no nftables table");
    }

    private static boolean nodeHasTable(Node node) {
        return Commands.run("ip", "netns", "exec", node.netns(), "nft", "list", "tables")
                .contains(Dataplane.NFT_TABLE);
    }
}
