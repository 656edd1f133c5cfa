/**
 * nftables for jcni, spoken directly to nf_tables over NETLINK_NETFILTER: no {@code nft}
 * process, no libnftables.
 *
 * <ul>
 *   <li>{@link io.jcni.netlink.nft.Nftables}: a handle on one namespace; listings (tables, chains,
 *       sets, set elements, rules) and {@link io.jcni.netlink.nft.Nftables#batch()}.</li>
 *   <li>{@link io.jcni.netlink.nft.NftBatch}: one transaction, one send, all or nothing; the first
 *       failure comes back as a typed {@link io.jcni.netlink.KernelException} naming the
 *       operation and object ({@link io.jcni.netlink.NoSuchObjectException} for deleting what is
 *       not there).</li>
 *   <li>{@link io.jcni.netlink.nft.Rule}: builds a rule's expressions and its nft text together;
 *       the text is what {@code nft list} prints for the rule and what the trace reports.</li>
 *   <li>Sets and maps ({@link io.jcni.netlink.nft.NftBatch#addSet}, {@link io.jcni.netlink.nft.NftBatch#addMap})
 *       keyed by {@link io.jcni.netlink.nft.SetKeyType} (single fields and concatenations such as
 *       {@code inet_proto . inet_service}); elements with data and comments
 *       ({@link io.jcni.netlink.nft.NftBatch#addElement}), fetched one by key
 *       ({@link io.jcni.netlink.nft.Nftables#element}) or listed; rules look them up
 *       ({@code ip saddr . ip daddr @s}, {@code dnat ip to meta l4proto . th dport map @m}).</li>
 * </ul>
 *
 * Every committed operation is reported to the handle's {@link io.jcni.netlink.Trace} as the
 * {@code nft} command that does the same ({@code nft add element ip jcni pods { 10.1.0.2 }}); the
 * part after {@code nft} is nft syntax and replays through {@code nft -f}.
 */
package io.jcni.netlink.nft;
