package io.jcni.plugins.bridge;

import static io.jcni.plugins.bridge.BridgeTests.config;
import static io.jcni.plugins.bridge.BridgeTests.ok;
import static io.jcni.plugins.testing.PluginFixture.call;
import static io.jcni.plugins.testing.PluginFixture.env;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.jcni.cni.PluginResponse;
import io.jcni.netlink.Trace;
import io.jcni.netlink.nft.NftElement;
import io.jcni.netlink.nft.Nftables;
import io.jcni.plugins.hostlocal.HostLocal;
import io.jcni.plugins.testing.PluginFixture;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * DEL removes exactly the NAT elements of its attachment, by each path it can take: addresses
 * from prevResult, addresses from the attachment's reservation (no prevResult), and a walk over
 * every element (neither is left). Every other element of the table stays as it was.
 */
class BridgeNatRemovalTest {
    /** Every element of the masquerade sets: set, key, range end, comment. */
    static Set<String> elements() {
        Set<String> out = new HashSet<>();
        HexFormat hex = HexFormat.of();
        try (Nftables nft = Nftables.open(Trace.OFF)) {
            for (String set : new String[] {"pods4", "pods6", "local4", "local6"}) {
                for (NftElement e : nft.elements(Nftables.INET, "jcni", set)) {
                    out.add(set + " " + hex.formatHex(e.key())
                            + (e.keyEnd() == null ? "" : "-" + hex.formatHex(e.keyEnd())) + " " + e.comment());
                }
            }
        }
        return out;
    }

    static Set<String> ownedBy(Set<String> elements, String owner) {
        Set<String> out = new HashSet<>();
        for (String e : elements) {
            if (e.endsWith(" " + owner)) {
                out.add(e);
            }
        }
        return out;
    }

    @Test
    void delRemovesItsOwnElementsAndNothingElseByEveryPath() throws Exception {
        try (PluginFixture f = new PluginFixture("nr")) {
            String cfg = config(f, "1.1.0");
            PluginResponse[] adds = new PluginResponse[5];
            String[] ns = new String[5];
            for (int i = 0; i < 5; i++) {
                ns[i] = f.netns("p" + i);
                adds[i] = PluginFixture.call(new Bridge(), env("ADD", "p" + i, ns[i], "eth0"), cfg);
                ok(adds[i]);
            }
            String[] how = {"", "prevResult", "reservation", "walk"};
            for (int i = 1; i <= 3; i++) {
                String owner = Attachment.comment(f.network, "p" + i, "eth0");
                Set<String> before = elements();
                Set<String> mine = ownedBy(before, owner);
                assertEquals(2, mine.size(), () -> "pods4 and local4 elements of " + owner + " in " + before);
                String delConfig = cfg;
                if (how[i].equals("prevResult")) {
                    delConfig = BridgeTests.withPrev(cfg, adds[i]);
                } else if (how[i].equals("walk")) {
                    // the reservation is gone already (IPAM released first), and no prevResult names the address
                    ok(call(new HostLocal(), env("DEL", "p" + i, ns[i], "eth0"), cfg));
                }
                ok(call(new Bridge(), env("DEL", "p" + i, ns[i], "eth0"), delConfig));
                Set<String> expected = new HashSet<>(before);
                expected.removeAll(mine);
                assertEquals(expected, elements(), "DEL by " + how[i] + " removed exactly " + owner + "'s elements");
            }
            for (int i : new int[] {0, 4}) {
                assertFalse(ownedBy(elements(), Attachment.comment(f.network, "p" + i, "eth0"))
                        .isEmpty());
                ok(call(new Bridge(), env("DEL", "p" + i, ns[i], "eth0"), cfg));
            }
        }
    }
}
