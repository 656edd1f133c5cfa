package io.jcni.cli;

import java.io.IOException;

/**
 * A process whose command line is a cluster agent's ({@code … io.jcni.agent.AgentMain agent --iface X}),
 * for the views that find the agent among the node's processes and read its flags; it runs until
 * its stdin closes (the test ends or kills it). The real agent needs etcd, which these tests do not.
 */
public final class FakeAgent {
    private FakeAgent() {}

    public static void main(String[] args) throws IOException {
        while (System.in.read() >= 0) {
            // wait for the end of stdin
        }
    }
}
