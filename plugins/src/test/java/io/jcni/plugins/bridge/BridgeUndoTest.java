package io.jcni.plugins.bridge;

import static io.jcni.plugins.bridge.BridgeTests.config;
import static io.jcni.plugins.bridge.BridgeTests.error;
import static io.jcni.plugins.bridge.BridgeTests.ok;
import static io.jcni.plugins.testing.PluginFixture.env;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jcni.cni.CniError;
import io.jcni.cni.PluginResponse;
import io.jcni.netlink.NoSuchObjectException;
import io.jcni.netlink.Trace;
import io.jcni.netlink.nft.NftElement;
import io.jcni.netlink.nft.Nftables;
import io.jcni.netlink.nft.SetKeyType;
import io.jcni.plugins.testing.PluginFixture;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * ADD unwinds exactly what it made, wherever it fails. The fault is injected through the trace,
 * which every kernel change reports to right after the kernel accepted it: a trace that throws at
 * its Nth command is a failure just after the Nth change of an ADD. For every N up to the number
 * of changes a full ADD makes, the failed ADD must leave the node as it found it (links, pod
 * namespace, reservations, NAT and spoof-check elements), a pod attached before keeps everything,
 * and the DEL a runtime sends after a failed ADD succeeds.
 */
class BridgeUndoTest {
    static PluginFixture f;
    static String baseNs;
    static String baseIp;

    /** Counts the commands, and fails once, right after the command numbered {@code failAt} (1-based; 0: never). */
    static final class FailingTrace implements Trace {
        final int failAt;
        final List<String> commands = new ArrayList<>();

        FailingTrace(int failAt) {
            this.failAt = failAt;
        }

        @Override
        public void command(String commandLine) {
            commands.add(commandLine);
            if (commands.size() == failAt) {
                throw new IllegalStateException("injected failure after: " + commandLine);
            }
        }
    }

    static String cfg() {
        return config(f, "1.1.0", "macspoofchk", true);
    }

    @BeforeAll
    static void setUp() {
        f = new PluginFixture("ud");
        baseNs = f.netns("base");
        baseIp = BridgeTests.ip(ok(PluginFixture.call(new Bridge(), env("ADD", "base", baseNs, "eth0"), cfg())), 0);
    }

    @AfterAll
    static void tearDown() {
        f.close();
    }

    @Test
    void aFailureAfterAnyKernelChangeUnwindsThatAdd() {
        // A full ADD on a node where the bridge and its address already exist: its own changes only.
        String probeNs = f.netns("probe");
        FailingTrace counting = new FailingTrace(0);
        ok(PluginFixture.call(new Bridge(counting), env("ADD", "probe", probeNs, "eth0"), cfg()));
        ok(PluginFixture.call(new Bridge(), env("DEL", "probe", probeNs, "eth0"), cfg()));
        int changes = counting.commands.size();
        assertTrue(
                changes >= 6,
                () -> "an ADD makes at least the veth, its port options, the spoof check, "
                        + "addresses, routes and NAT changes: " + counting.commands);

        for (int n = 1; n <= changes; n++) {
            String id = "f" + n;
            String ns = f.netns(id);
            BridgeTests.Snapshot before = BridgeTests.Snapshot.of(f, ns, baseNs);
            FailingTrace failing = new FailingTrace(n);
            PluginResponse r = PluginFixture.call(new Bridge(failing), env("ADD", id, ns, "eth0"), cfg());
            String after = counting.commands.get(n - 1);
            error(r, CniError.INTERNAL);
            assertEquals(
                    before,
                    BridgeTests.Snapshot.of(f, ns, baseNs),
                    "the ADD that failed after \"" + after + "\" left something behind: " + r.stdoutText()
                            + r.stderr());
            String veth = BridgeTests.stableVethName(f.network, id, "eth0");
            assertFalse(
                    BridgeTests.hostHasLink(veth),
                    () -> "host veth " + veth + " left after a failure after \"" + after + "\"");
            assertFalse(
                    spoofCheckHolds(veth), () -> "spoof-check elements of " + veth + " left after \"" + after + "\"");
            assertTrue(
                    r.stderr().contains("injected failure"), () -> "the INTERNAL error logs its cause: " + r.stderr());

            ok(PluginFixture.call(new Bridge(), env("DEL", id, ns, "eth0"), cfg()));
            f.deleteNetns(ns);
        }
        assertEquals(
                List.of(baseIp),
                f.reservations().stream().filter(baseIp::equals).toList(),
                "the base pod's reservation");
        assertTrue(f.natElements().contains(baseIp), "the base pod's NAT element");
        assertTrue(PluginFixture.nsLinks(baseNs).contains("eth0"), "the base pod's eth0");
    }

    /** Whether the spoof check still has {@code port} in its ports or allowed set. */
    static boolean spoofCheckHolds(String port) {
        byte[] name = SetKeyType.ifname(port);
        try (Nftables nft = Nftables.open(Trace.OFF)) {
            for (String set : List.of(SpoofCheck.PORTS, SpoofCheck.ALLOWED)) {
                for (NftElement e : nft.elements(Nftables.BRIDGE, SpoofCheck.TABLE, set)) {
                    if (Arrays.equals(Arrays.copyOf(e.key(), 16), name)) {
                        return true;
                    }
                }
            }
            return false;
        } catch (NoSuchObjectException noTable) {
            return false;
        }
    }
}
