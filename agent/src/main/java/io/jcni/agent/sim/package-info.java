/**
 * Kubernetes nodes simulated on one machine, the way kind does it with containers: each node is a
 * network namespace plus a private mount namespace (so {@code /etc/cni/net.d}, {@code /run/jcni}
 * and {@code /var/lib/cni} are the node's own), all on one underlay bridge with an "outside" host
 * as their default gateway, and etcd members in namespaces of their own. Used by
 * {@code jcni demo --cluster}, the cluster tests and the benchmark. Start at
 * {@link io.jcni.agent.sim.SimulatedCluster}.
 */
package io.jcni.agent.sim;
