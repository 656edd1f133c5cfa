package io.jcni.netlink.nft;

import java.util.List;

/**
 * A rule as the kernel lists it: where it lives, its handle (for {@code delete rule … handle N}),
 * its comment (null when none) and the names of its expressions in order ({@code payload},
 * {@code lookup}, {@code masq}, …).
 */
public record NftRule(int family, String table, String chain, long handle, String comment, List<String> expressions) {}
