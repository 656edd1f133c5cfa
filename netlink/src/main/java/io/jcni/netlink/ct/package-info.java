/**
 * Connection tracking through ctnetlink (NFNL_SUBSYS_CTNETLINK over NETLINK_NETFILTER), no
 * {@code conntrack} process: {@link io.jcni.netlink.ct.Conntrack} lists a namespace's entries and
 * deletes them one by one (by original tuple, zone and id), e.g. the stale UDP entries towards a
 * host port whose DNAT changed. Deletions are reported to the trace as the equivalent
 * {@code conntrack -D} command.
 */
package io.jcni.netlink.ct;
