package io.jcni.agent.sim;

import java.util.List;
import java.util.Map;

/**
 * A pod on a simulated node: its network namespace {@code /run/netns/<netns>} attached to the
 * node's CNI network by {@code jcni add}, as a kubelet's runtime would. {@link Node#addPod}
 * makes one, {@link Node#removePod} undoes it.
 */
public final class Pod {
    private final String name;
    private final String netns;
    private final String containerId;
    private final String ip;
    private final Node node;
    final List<String> jcniCommand;
    final Map<String, String> env;

    Pod(
            String name,
            String netns,
            String containerId,
            String ip,
            Node node,
            List<String> jcniCommand,
            Map<String, String> env) {
        this.name = name;
        this.netns = netns;
        this.containerId = containerId;
        this.ip = ip;
        this.node = node;
        this.jcniCommand = List.copyOf(jcniCommand);
        this.env = Map.copyOf(env);
    }

    public String name() {
        return name;
    }

    /** The namespace's name under {@code /run/netns}. */
    public String netns() {
        return netns;
    }

    /** The CNI container ID it was added with. */
    public String containerId() {
        return containerId;
    }

    /** Its first IPv4 address from the CNI result, without the prefix length. */
    public String ip() {
        return ip;
    }

    public Node node() {
        return node;
    }

    @Override
    public String toString() {
        return "pod " + name + " " + ip + " on " + node.name();
    }
}
